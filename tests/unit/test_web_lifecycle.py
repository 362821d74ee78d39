"""The customer's life through the web application's test client: send, upload without typing, notices,
objections, timeline, states and the evidence download; a real SMTP server receives the messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.lifecycle.events import open_event_log
from annex_gen.web import Settings, create_app
from archive_support import approve_release, example_annex, pdf_with_annex_json, scan_pdf, sign, with_document_id
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from smtp_support import smtp_server  # noqa: F401 - fixture
from web_support import csrf

CUSTOMER = "kauppahuone-aalto"
TODAY = dt.date.today()


@pytest.fixture(autouse=True)
def _today() -> None:
    """TODAY as each test starts: a run may pass midnight, and the tool dates by the day it runs."""
    global TODAY
    TODAY = dt.date.today()


@contextmanager
def _application(tmp_path: Path, backend, smtp_server, monkeypatch, *contracts: str):  # noqa: F811
    """An application over example contracts, an empty archive (both backends) and a test SMTP server."""
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    monkeypatch.setenv("ANNEX_GEN_MAIL_FROM", "legal@liana.example")
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", *contracts)
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        client.settings = settings  # type: ignore[attr-defined]
        client.smtp = smtp_server  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def site(tmp_path: Path, backend, smtp_server, monkeypatch):  # noqa: F811
    with _application(tmp_path, backend, smtp_server, monkeypatch, CUSTOMER, "nordic-webshop") as client:
        yield client


def _token(client: TestClient) -> str:
    return csrf(client, "/objections")


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _upload(client: TestClient, data: bytes, name: str = "signed.pdf"):
    return client.post("/archive/upload", data={"csrf_token": _token(client)},
                       files={"file": (name, data, "application/pdf")})


def _store(client: TestClient, review_html: str, **fields: str):
    return client.post("/archive/store", data={"csrf_token": _token(client), "token": _hidden(review_html, "token"),
                                               "action": "store", **fields})


def test_send_sign_notice_object_resolve_and_evidence(site):
    approve_release(site.settings.registry_dir, site.settings.archive)  # the annex sent is final
    # sales sends the annex
    form = site.get(f"/customers/{CUSTOMER}/send")
    assert form.status_code == 200 and "legal@aalto.example" in form.text
    sent = site.post(f"/customers/{CUSTOMER}/send", data={"csrf_token": _token(site), "formats": "pdf"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/customers/{CUSTOMER}/timeline?done=sent"
    (message,) = site.smtp.received
    document_id = example_annex(CUSTOMER).document_id
    attachment = next(message.message.iter_attachments())
    assert attachment.get_filename() == f"{document_id}.pdf" and attachment.get_content()[:5] == b"%PDF-"
    timeline = site.get(sent.headers["location"])
    assert "sent, awaiting signature" in timeline.text and message.message["Message-ID"].strip("<>") in timeline.text
    listing = site.get("/customers")
    assert "sent, awaiting signature" in listing.text and "no annex sent" in listing.text  # nordic-webshop

    # legal uploads the signed copy without typing anything
    signed = sign(attachment.get_content(), signer="Aalto Legal")
    review = _upload(site, signed)
    assert review.status_code == 200 and f'name="customer" value="{CUSTOMER}"' in review.text
    assert "unchanged since signing; signer&#39;s identity not verified" in review.text
    stored = _store(site, review.text, customer=CUSTOMER)
    assert stored.status_code == 303 and stored.headers["location"].startswith(f"/customers/{CUSTOMER}/timeline")
    assert "signed, current" in site.get(stored.headers["location"]).text

    # a registry change, its notice sent from the notices page
    add_mailer_subprocessor(site.settings.registry_dir)
    assert "outdated: no notice sent" in site.get(f"/customers/{CUSTOMER}/timeline").text
    approve_release(site.settings.registry_dir, site.settings.archive)  # legal approves the change first
    choices = app.release_choices(site.settings.registry_dir, site.settings.out_dir / "_notices")
    before = next(r.ref for r in choices.releases if r.label == "2026.11.1")  # the release customers signed
    written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": before,
                                                  "notice_date": TODAY.isoformat()})
    assert written.status_code == 303, written.text
    notices_page = site.get(written.headers["location"])
    assert "Send 1 notice by e-mail" in notices_page.text
    report = site.post(f"/changes/notices/{TODAY.isoformat()}/send", data={"csrf_token": _token(site)})
    assert report.status_code == 200 and "The mail server accepted 1 of 1 message." in report.text
    notice_mail = site.smtp.received[1].message
    assert [p.get_filename()[:4] for p in notice_mail.iter_attachments()] == ["NTC-", "ANX-"]
    deadline = TODAY + dt.timedelta(days=15)
    ends = f"outdated: notice sent, objection period ends {deadline.day} {deadline:%b %Y}"
    assert ends in site.get("/customers").text

    # an objection with its letter, then its outcome
    page = site.get("/objections")
    assert "Objection periods running (1)" in page.text and f"{deadline.day} {deadline:%b %Y}" in page.text
    notice_id = re.search(r"NTC-[0-9A-F-]{19}", page.text).group(0)
    assert f"{notice_id} (given {TODAY.day} {TODAY:%b %Y})</option>" in page.text  # the page's way with dates
    added = site.post("/objections", data={"csrf_token": _token(site), "notice": f"{CUSTOMER}/{notice_id}",
                                           "received_on": TODAY.isoformat(), "sender": "Aino Aalto",
                                           "text": "We do not accept <b>Hetzner</b>."},
                      files={"letter": ("objection.pdf", b"%PDF-1.4 letter", "application/pdf")})
    assert added.status_code == 303, added.text
    timeline = site.get(added.headers["location"])
    assert "We do not accept &lt;b&gt;Hetzner&lt;/b&gt;." in timeline.text and "objection OBJ-" in timeline.text
    # dates as the page's language writes them, as everywhere else on the page
    effective = TODAY + dt.timedelta(days=30)
    assert f"objections by {deadline.day} {deadline:%b %Y}" in timeline.text
    assert f"takes effect {effective.day} {effective:%b %Y})" in timeline.text and str(deadline) not in timeline.text
    objection_id = re.search(r"OBJ-\d+", timeline.text).group(0)
    assert "Open objections (1)" in site.get("/objections").text
    resolved = site.post(f"/objections/{objection_id}/resolve", data={
        "csrf_token": _token(site), "outcome": "accepted", "resolved_on": TODAY.isoformat(),
        "note": "Hetzner is not used for Aalto"})
    assert resolved.status_code == 303
    timeline = site.get(resolved.headers["location"]).text
    for step in ("generated", "sent", "signed", "outdated", "notice_sent", "objection_received",
                 "objection_resolved"):
        assert f'data-kind="{step}"' in timeline, step
    assert "accepted: the change is not applied to this customer" in timeline
    assert site.get(f"/objections/{objection_id}/letter").content == b"%PDF-1.4 letter"

    # the evidence, checked as sha256sum would
    download = site.get(f"/customers/{CUSTOMER}/evidence.zip")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        files = {name.split("/", 1)[1]: zf.read(name) for name in zf.namelist()}
    for line in files["MANIFEST.sha256"].decode().splitlines():
        digest, path = line.split("  ", 1)
        assert hashlib.sha256(files[path]).hexdigest() == digest, path
    assert signed in files.values() and message.data in files.values()
    actions = [e.action for e in app.audit_entries(site.settings.archive)]
    for action in ("message sent", "file archived", "notices written", "objection recorded", "objection resolved",
                   "evidence exported"):
        assert action in actions, action
    assert open_event_log(site.settings.archive).check().problems == []


def test_a_send_run_exists_only_with_a_team_database(site):
    for url in ("/send/runs/1", "/send/runs/1/progress"):
        page = site.get(url)
        assert page.status_code == 404 and "Traceback" not in page.text


def test_a_file_for_a_customer_without_a_contract_is_refused(site):
    content = example_annex(CUSTOMER).to_dict()
    content["customer"] = {**content["customer"], "id": "oljy-sahk-oy"}
    review = _upload(site, pdf_with_annex_json(with_document_id(content)), "typo.pdf")
    assert review.status_code == 422
    assert "customer oljy-sahk-oy, who has no contract here" in review.text and 'value="store"' not in review.text
    assert not app.archive_exists(site.settings.archive)


def test_a_scan_is_attached_to_a_customer_chosen_by_name_and_only_as_an_unsigned_copy(site):
    review = _upload(site, scan_pdf(marker="aalto"), "scan.pdf")
    assert review.status_code == 200 and "does not say whose annex it is" in review.text
    assert "Kauppahuone Aalto &amp; Co. Oy (kauppahuone-aalto)" in review.text and 'value="store"' not in review.text
    chosen = site.post("/archive/store", data={"csrf_token": _token(site), "token": _hidden(review.text, "token"),
                                                "customer": CUSTOMER, "action": "inspect"})
    assert "This file carries no digital signature" in chosen.text
    refused = _store(site, chosen.text, customer=CUSTOMER, signed_on="2026-10-20")
    assert refused.status_code == 422 and not app.archive_exists(site.settings.archive)
    stored = _store(site, chosen.text, customer=CUSTOMER, signed_on="2026-10-20", unsigned_copy="on")
    assert stored.status_code == 303
    (record,) = app.archive_records(site.settings.archive)
    assert record.customer_id == CUSTOMER and record.body["note"].startswith("Recorded as a scanned or unsigned")


def test_sending_without_a_server_says_so_and_sends_nothing(site, monkeypatch):
    monkeypatch.delenv("ANNEX_GEN_SMTP")
    response = site.post(f"/customers/{CUSTOMER}/send", data={"csrf_token": _token(site), "formats": "pdf"})
    assert response.status_code == 422 and "Sending e-mail is not set up on this server" in response.text
    assert site.smtp.received == []


def test_a_refused_message_is_shown_and_sent_again(site):
    site.smtp.mailbox.refuse.add("legal@aalto.example")
    sent = site.post(f"/customers/{CUSTOMER}/send", data={"csrf_token": _token(site), "formats": "pdf+docx"})
    timeline = site.get(sent.headers["location"])
    assert "The server did not accept the message" in timeline.text and "Not delivered (1)" in timeline.text
    assert "550 5.1.1 mailbox unavailable" in timeline.text
    site.smtp.mailbox.refuse.clear()
    again = site.post(f"/customers/{CUSTOMER}/retry", data={"csrf_token": _token(site)})
    assert again.headers["location"].endswith("done=sent")
    (message,) = site.smtp.received
    assert [p.get_filename()[-4:] for p in message.message.iter_attachments()] == [".pdf", "docx"]
    assert "Not delivered" not in site.get(f"/customers/{CUSTOMER}/timeline").text


def test_a_signature_is_validated_only_against_a_configured_trust_root(site, tmp_path, monkeypatch):
    from asn1crypto import pem

    from archive_support import _signer

    signed = sign(example_pdf(), signer="Aino Aalto")
    plain = _upload(site, signed)
    assert "unchanged since signing; signer&#39;s identity not verified" in plain.text
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pem.armor("CERTIFICATE", _signer("Aino Aalto").signing_cert.dump()))
    monkeypatch.setenv("ANNEX_GEN_TRUST_ROOTS", str(roots))
    trusted = _upload(site, signed)
    assert "signer&#39;s certificate validated against the configured trust roots" in trusted.text
    other = _upload(site, sign(example_pdf(), signer="Someone Else"))
    assert "signer&#39;s identity not verified" in other.text and "validated against" not in other.text


def example_pdf() -> bytes:
    from archive_support import annex_pdf

    return annex_pdf(CUSTOMER)


def test_one_customers_notice_is_sent_alone_from_the_notices_page(tmp_path, backend, smtp_server, monkeypatch):  # noqa: F811
    with _application(tmp_path, backend, smtp_server, monkeypatch, CUSTOMER, "esimerkki-oy") as site:
        registry, settings = site.settings.registry_dir, site.settings
        approve_release(registry, settings.archive)  # the release the customers have
        choices = app.release_choices(registry, settings.out_dir / "_notices")
        before = next(r.ref for r in choices.releases if r.label == "2026.11.1")
        add_mailer_subprocessor(registry)
        written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": before,
                                                      "notice_date": TODAY.isoformat()})
        page = site.get(written.headers["location"])  # written from content legal has not approved: not sent
        assert "These notices enclose DRAFT annexes" in page.text and ">Send this one</button>" not in page.text
        refused = site.post(f"/changes/notices/{TODAY.isoformat()}/send",
                            data={"csrf_token": _token(site), "customer": "esimerkki-oy"})
        assert refused.status_code == 400 and "enclosed for esimerkki-oy is a DRAFT" in refused.text
        assert smtp_server.received == []
        approve_release(registry, settings.archive)  # the change approved, its notices written again
        written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": before,
                                                      "notice_date": TODAY.isoformat()})
        assert written.status_code == 303, written.text
        page = site.get(written.headers["location"])
        assert "Send 2 notices by e-mail" in page.text and page.text.count(">Send this one</button>") == 2
        assert 'aria-label="Send only the notice to Esimerkki Oy"' in page.text
        report = site.post(f"/changes/notices/{TODAY.isoformat()}/send",
                           data={"csrf_token": _token(site), "customer": "esimerkki-oy"})
        assert report.status_code == 200 and "The mail server accepted 1 of 1 message." in report.text
        (received,) = smtp_server.received
        assert received.message["To"] == "it@esimerkki.fi"
        queued = [e.customer_id for e in open_event_log(backend.location).events() if e.kind == "message queued"]
        assert queued == ["esimerkki-oy"]
        unknown = site.post(f"/changes/notices/{TODAY.isoformat()}/send",
                            data={"csrf_token": _token(site), "customer": "nobody-oy"})
        assert unknown.status_code == 400 and "These notices include none for the customer nobody-oy." in unknown.text
        assert len(smtp_server.received) == 1
        page = site.get(written.headers["location"])  # the one sent is marked, and the rest goes without it
        assert "Send 1 notice by e-mail" in page.text and ">Sent</span>" in page.text
        assert ">Send this one</button>" not in page.text
        rest = site.post(f"/changes/notices/{TODAY.isoformat()}/send", data={"csrf_token": _token(site)})
        assert rest.status_code == 200 and "The mail server accepted 1 of 1 message." in rest.text
        assert "Sent before and not again: 1 notice (esimerkki-oy)." in rest.text
        assert [m.message["To"] for m in smtp_server.received] == ["it@esimerkki.fi", "legal@aalto.example"]
        again = site.post(f"/changes/notices/{TODAY.isoformat()}/send", data={"csrf_token": _token(site)})
        assert again.status_code == 400 and "These notices were sent before" in again.text
        assert len(smtp_server.received) == 2
