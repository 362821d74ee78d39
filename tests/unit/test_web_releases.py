"""The Releases page (legal) and the signed-draft checkbox of the archive upload, through the web application."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.render import render
from annex_gen.resolve import resolve
from annex_gen.web import Settings, create_app
from archive_support import draft_registry, sign
from conftest import EXAMPLES_DIR
from legal_web_support import example_contracts, registry_repo
from web_support import csrf

CUSTOMER = "kauppahuone-aalto"


@pytest.fixture
def site(tmp_path: Path, backend):
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER)
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        client.settings = settings  # type: ignore[attr-defined]
        yield client


def test_the_page_lists_each_unconfirmed_fact_with_its_sources_in_both_languages(site):
    page = site.get("/releases")
    assert page.status_code == 200
    text = html.unescape(page.text)
    registry = load_registry(site.settings.registry_dir)
    open_facts = [f for f in registry.facts if f.printed and f.confirmed is None]
    assert f"Facts to confirm ({len(open_facts)})" in text
    assert "Not approved: annexes made from it are drafts, not for signature." in text
    assert "Alicloud Global: legal name" in text and "Alibaba (Netherlands) B.V." in text
    assert "https://cyclr.com/legal/terms" in text  # a source's address, and its words
    assert "“Cyclr” is a trading name of Cyclr Systems Limited" in text
    finnish = html.unescape(site.get("/releases", headers={"accept-language": "fi"}).text)
    assert f"Vahvistettavat tiedot ({len(open_facts)})" in finnish
    assert "Ei hyväksytty: siitä laaditut liitteet ovat luonnoksia" in finnish


def test_confirming_a_fact_writes_the_registry_and_the_audit_log(site):
    token = csrf(site, "/releases")
    done = site.post("/releases/confirm", data={
        "csrf_token": token, "key": "entities.alicloud-global.legal_name",
        "value": "Alibaba Cloud (Singapore) Private Limited", "current": "",
        "source": "Alibaba Cloud invoice 2026-11 (issuer)"})
    assert done.status_code == 303
    assert done.headers["location"] == "/releases?confirmed=entities.alicloud-global.legal_name"
    registry = load_registry(site.settings.registry_dir)
    fact = next(f for f in registry.facts if f.key == "entities.alicloud-global.legal_name")
    assert (fact.value, fact.status, fact.confirmed.by, fact.confirmed.source) == (
        "Alibaba Cloud (Singapore) Private Limited", "confirmed", "local", "Alibaba Cloud invoice 2026-11 (issuer)")
    assert [c.value for c in fact.candidates] == ["Alibaba (Netherlands) B.V."]  # the other side stays visible
    entries = app.audit_entries(site.settings.archive)
    assert [(e.actor, e.action, e.refs) for e in entries] == [
        ("local", "fact confirmed", ("entities.alicloud-global.legal_name",))]
    page = html.unescape(site.get("/releases?confirmed=entities.alicloud-global.legal_name").text)
    assert "Confirmed Alicloud Global: legal name." in page  # the fact by its name, not its key


def test_a_confirmation_without_a_source_and_an_approval_with_open_facts_are_refused(site):
    before = (site.settings.registry_dir / "entities.yaml").read_bytes()
    token = csrf(site, "/releases")
    refused = site.post("/releases/confirm", data={"csrf_token": token, "key": "entities.cyclr.address",
                                                   "value": "", "current": "", "source": ""})
    assert refused.status_code == 422
    assert "name the source you checked the fact against" in refused.text
    approve = site.post("/releases/approve", data={"csrf_token": token, "label": "2026.12.1", "effective": ""})
    assert approve.status_code == 422
    assert "The release was not approved:" in approve.text
    assert "entities.cyclr.address" in html.unescape(approve.text)
    assert (site.settings.registry_dir / "entities.yaml").read_bytes() == before
    assert app.release_list(site.settings.archive) == []


def _draft_pdf() -> tuple[str, bytes]:
    registry = draft_registry()
    contract, _ = load_contract(registry, EXAMPLES_DIR / f"{CUSTOMER}.yaml")
    annex = resolve(registry, contract)
    return annex.document_id, sign(render(annex, "pdf"), signer="Aalto Legal")


def test_a_signed_draft_is_archived_only_with_the_box_that_names_it(site):
    document_id, data = _draft_pdf()
    token = csrf(site, "/archive")
    review = site.post("/archive/upload", data={"csrf_token": token, "customer": CUSTOMER},
                       files={"file": ("signed.pdf", data, "application/pdf")})
    text = html.unescape(review.text)
    assert review.status_code == 422
    assert f"Annex {document_id} is a DRAFT, not for signature" in text  # the page's words (msg.archive.annex.draft)
    assert f"The customer signed the draft {document_id}: archive it, recorded as a signed draft" in text
    upload_token = re.search(r'name="token" value="([^"]*)"', review.text).group(1)
    store = {"csrf_token": token, "token": upload_token, "customer": CUSTOMER, "action": "store"}
    assert site.post("/archive/store", data=store).status_code == 422  # without the box: nothing stored
    assert app.archive_records(site.settings.archive) == []
    stored = site.post("/archive/store", data={**store, "signed_draft": "on"})
    assert stored.status_code == 303, stored.text
    [record] = app.archive_records(site.settings.archive)
    assert record.body["signed_draft"] is True and record.document_id == document_id
    history = html.unescape(site.get(f"/archive/customers/{CUSTOMER}").text)  # the customer's archive page
    assert "DRAFT, not for signature" in history
