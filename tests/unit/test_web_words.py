"""The web application in its users' words: the form's gaps (region switch, language, focus, conflicts),
the audit log's local times, texts and links, and readable archive pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from conftest import EXAMPLES_DIR
from web_support import csrf, web_client

CUSTOMERS = {"esimerkki-oy.yaml": (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8")}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    client = web_client(tmp_path, CUSTOMERS, archive=tmp_path / "archive")
    client.archive = tmp_path / "archive"  # type: ignore[attr-defined]
    return client


def _finnish(client: TestClient) -> None:
    assert client.post("/language", data={"lang": "fi", "csrf_token": csrf(client), "next": "/"}).status_code == 303


def _form(client: TestClient, **values: object) -> dict[str, object]:
    return {"csrf_token": csrf(client), "name": "Uusi Oy", "customer_id": "uusi-oy", "date": "2026-11-30",
            "region": "eu", "language": "fi", "products": ["mailer"], **values}


def test_switching_region_says_which_product_was_unticked(client):
    _finnish(client)
    page = client.post("/customers/new", data=_form(client, region="hk", products=["mailer", "press"],
                                                   action="refresh")).text
    assert "Alue Hongkong ei tarjoa tuotetta LianaPress, joten sen valinta poistettiin." in page
    assert 'value="press"' not in page and re.search(r'value="mailer"[^>]*checked', page)


def test_update_the_choices_is_for_pages_without_javascript(client):
    page = client.get("/customers/new").text
    assert re.search(r'<p class="help muted nojs" id="refresh-help">', page)
    assert ".js .nojs { display: none; }" in client.get("/static/web.css").text
    assert 'document.documentElement.classList.add("js")' in client.get("/static/web.js").text


def test_a_failed_save_focuses_the_error_summary(client):
    page = client.post("/customers/new", data=_form(client, name="", action="save")).text
    summary = re.search(r'<div class="error-summary"[^>]*>', page).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary and "data-focus-first" in summary
    assert "This required field is empty." in page  # an empty required field is called required


def test_required_fields_are_marked(client):
    page = client.get("/customers/new").text
    for name in ("name", "customer_id", "date"):
        assert re.search(rf'<input id="{name}"[^>]* required', page), name
    assert re.search(r'<select id="region"[^>]* required', page)
    assert re.search(r'<select id="language"[^>]* required', page)
    assert 'id="products" aria-required="true"' in page


def test_the_annex_language_follows_the_customer_not_the_interface(client):
    _finnish(client)
    registry = app.load_registry(client.app.state.settings.registry_dir)
    page = client.get("/customers/new", headers={"accept-language": "en"}).text
    assert re.search(rf'<option value="{registry.languages[0]}" selected>', page)
    # an English-speaking customer's business ID, the language not chosen by hand: the annex is in English
    page = client.post("/customers/new", data=_form(client, business_id="SE556677889901", language="fi",
                                                   language_proposed="fi", action="refresh")).text
    assert '<option value="en" selected>' in page
    # chosen by hand: kept
    page = client.post("/customers/new", data=_form(client, business_id="SE556677889901", language="fi",
                                                   language_proposed="en", action="refresh")).text
    assert '<option value="fi" selected>' in page


def test_a_language_switch_keeps_what_was_typed(client):
    page = client.get("/customers/new").text
    assert 'form="contract-form" formaction="/customers/new"' in page  # the header's buttons post the form
    response = client.post("/customers/new", data=_form(client, name="Kirjoitettu Oy", lang="fi"))
    assert response.status_code == 200
    assert 'value="Kirjoitettu Oy"' in response.text and '<html lang="fi">' in response.text
    assert client.get("/customers").text.startswith("<!DOCTYPE html>\n<html lang=\"fi\">")


def test_the_audit_log_in_finnish_local_time_and_linked(client):
    assert client.post("/customers/new", data=_form(client, action="save")).status_code == 303
    (entry,) = app.audit_entries(client.archive)
    assert entry.params == {"variant": "new", "file": "uusi-oy.yaml", "name": "Uusi Oy"}
    _finnish(client)
    page = client.get("/audit").text
    assert "Uusi sopimus Uusi Oy (uusi-oy.yaml)" in page and "(new)" not in page
    assert "Aika (Europe/Helsinki)" in page
    hour = int(entry.at[11:13])
    local = re.search(r"klo (\d+)\.(\d\d)", page)
    assert local and (int(local.group(1)) - hour) % 24 in (2, 3)  # Helsinki is UTC+2 or +3
    assert '<a class="ref" href="/customers/uusi-oy">uusi-oy</a>' in page


def test_records_and_documents_in_the_log_lead_to_their_pages(client):
    app.audit_record(client.archive, "maija", "annex generated", "x", ["ANX-0000-0000-0000-0000", "#7"])
    page = client.get("/audit").text
    assert 'href="/archive/documents/ANX-0000-0000-0000-0000"' in page and 'href="/archive/records/7"' in page
    assert client.get("/archive/documents/ANX-0000-0000-0000-0000").status_code == 404
    preview = client.get("/customers/esimerkki-oy").text
    document = re.search(r"ANX(?:-[0-9A-F]{4}){4}", preview).group(0)
    assert client.get("/customers/esimerkki-oy/download/pdf").status_code == 200
    response = client.get(f"/archive/documents/{document}")
    assert response.status_code == 303 and response.headers["location"] == "/customers/esimerkki-oy"


def test_an_entry_written_without_params_shows_its_text(client):
    app.audit_record(client.archive, "maija", "contract saved", "<b>old</b>.yaml", [])
    assert "&lt;b&gt;old&lt;/b&gt;.yaml" in client.get("/audit").text


def test_the_archive_names_customers_and_separates_its_states(tmp_path):
    from annex_gen.web import Settings, create_app
    from archive_support import annex_pdf, sign
    from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo

    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", "kauppahuone-aalto", "nordic-webshop")
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=tmp_path / "archive")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        signed = sign(annex_pdf("kauppahuone-aalto"), signer="Aalto Legal")
        review = client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"),
                                                      "customer": "kauppahuone-aalto"},
                             files={"file": ("signed.pdf", signed, "application/pdf")})
        # a human size
        assert re.search(r"signed\.pdf <span class=\"muted\">\(\d+(\.\d)?\u00a0KB\)</span>", review.text)
        token = re.search(r'name="token" value="([^"]*)"', review.text).group(1)
        assert client.post("/archive/store", data={"csrf_token": csrf(client, "/archive"), "token": token,
                                                   "customer": "kauppahuone-aalto",
                                                   "action": "store"}).status_code == 303
        add_mailer_subprocessor(registry)
        page = client.get("/archive").text
        assert ">Kauppahuone Aalto &amp; Co. Oy</a><br><span class=\"muted\">kauppahuone-aalto</span>" in page
        assert ">Nordic Webshop AB</a>" in page
        outdated = client.get("/archive?state=outdated").text
        assert "Kauppahuone Aalto" in outdated and "Nordic Webshop" not in outdated
        missing = client.get("/archive?state=no-annex").text
        assert "Nordic Webshop" in missing and "Kauppahuone Aalto &amp;" not in missing
        history = client.get("/archive/customers/kauppahuone-aalto").text
        assert "<h1>Archive: Kauppahuone Aalto &amp; Co. Oy</h1>" in history
        assert "Customer id kauppahuone-aalto" in history
        assert re.search(r"\(\d+(\.\d)?\u00a0KB, SHA-256", history)


@pytest.mark.parametrize("batch_before_notices", [True, False])
def test_the_notice_encloses_the_annex_the_batch_generated(tmp_path, batch_before_notices):
    import csv
    import io

    from annex_gen.web import Settings, create_app
    from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo

    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", "kauppahuone-aalto", "nordic-webshop")
    out = tmp_path / "output"
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=out, archive=tmp_path / "archive")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:

        def batch() -> None:
            assert client.post("/changes/batch", data={"csrf_token": csrf(client)}).status_code == 303
            assert client.app.state.batch_runner.wait(300).state == "finished"

        batch()  # the annexes of the list before the change: the new ones name them as replaced
        add_mailer_subprocessor(registry)
        if batch_before_notices:
            batch()
        choices = app.release_choices(registry, out / "_notices")
        written = client.post("/changes/notices", data={"csrf_token": csrf(client), "from": choices.baseline.ref,
                                                        "notice_date": "2026-12-01"})
        assert written.status_code == 303
        if not batch_before_notices:
            batch()
    rows = list(csv.DictReader(io.StringIO((out / "_notices" / "2026-12-01" / "notices.csv")
                                           .read_text(encoding="utf-8-sig"))))
    (row,) = rows
    batch_annex = out / row["customer_id"] / f"{row['annex_document_id']}.pdf"
    assert batch_annex.is_file(), "the notice's annex is not the document the batch generated"
    enclosed = out / "_notices" / "2026-12-01" / row["annex_pdf"]
    assert enclosed.read_bytes() == batch_annex.read_bytes()
    from annex_gen.changes.notices import _contract_in

    assert _contract_in(enclosed)["replaces"], "the new annex names the annex it replaces, as the batch writes it"


def test_the_batch_page_tells_why_a_contract_failed_in_finnish(tmp_path):
    client = web_client(tmp_path, {**CUSTOMERS, "rikki.yaml": "customer: {id: x\n"}, archive=tmp_path / "archive")
    _finnish(client)
    assert client.post("/changes/batch", data={"csrf_token": csrf(client)}).status_code == 303
    assert client.app.state.batch_runner.wait(300).state == "finished"
    page = client.get("/changes/batch").text
    assert "rikki.yaml: Tiedoston rakenne ei ole kelvollista YAML-muotoa rivillä" in page
    assert "invalid YAML" not in page
