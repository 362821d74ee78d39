"""Legal's pages through the framework's test client: archive upload and refusals, history, drift,
verify, registry changes with the batch and notices, and the audit log."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pikepdf
import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.batch.background import BatchRunner
from annex_gen.batch.run import BatchResult
from annex_gen.web import Settings, create_app
from archive_support import annex_pdf, example_annex, flip_signed_byte, scan_pdf, sign
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from web_support import PASSWORD, csrf, login

CUSTOMER = "kauppahuone-aalto"


@pytest.fixture
def site(tmp_path: Path, backend):
    """An application over a registry in git, two example contracts and an empty archive (on both backends)."""
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER, "nordic-webshop")
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        client.settings = settings  # type: ignore[attr-defined]
        client.backend = backend  # type: ignore[attr-defined]
        yield client


def _token(client: TestClient) -> str:
    return csrf(client, "/archive")


def _upload(client: TestClient, data: bytes, name: str = "signed.pdf", customer: str = CUSTOMER):
    return client.post("/archive/upload", data={"csrf_token": _token(client), "customer": customer},
                       files={"file": (name, data, "application/pdf")})


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _store(client: TestClient, review_html: str, **fields: str):
    data = {"csrf_token": _token(client), "token": _hidden(review_html, "token"), "customer": CUSTOMER,
            "action": "store", **fields}
    return client.post("/archive/store", data=data)


def _encrypted(data: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user="user"))
    return out.getvalue()


def _signed() -> bytes:
    return sign(annex_pdf(CUSTOMER), signer="Aalto Legal")


# The archive: upload, read-back, refusals


def test_an_upload_is_read_back_and_stored_only_when_confirmed(site, tmp_path):
    signed = _signed()
    review = _upload(site, signed)
    annex = example_annex(CUSTOMER)
    assert review.status_code == 200
    for fact in (annex.document_id, annex.registry_version, "Aalto Legal", "intact", "signed.pdf",
                 "The file can be archived as shown."):
        assert fact in review.text
    assert not app.archive_exists(site.settings.archive)  # nothing stored yet
    waiting = site.settings.staging_dir / _hidden(review.text, "token") / "signed.pdf"
    assert waiting.read_bytes() == signed  # a URL archive keeps it under the output directory
    assert waiting.is_relative_to(tmp_path / ("output" if site.backend.name == "postgresql" else "archive"))
    stored = _store(site, review.text)
    assert stored.status_code == 303 and stored.headers["location"] == f"/archive/customers/{CUSTOMER}?stored=1"
    assert not waiting.exists()
    history = site.get(stored.headers["location"])
    assert history.status_code == 200 and "signed.pdf" in history.text and annex.document_id in history.text
    (record,) = app.archive_records(site.settings.archive)
    assert (record.customer_id, record.document_id) == (CUSTOMER, annex.document_id)
    download = site.get("/archive/records/1/file")
    assert download.content == signed
    assert download.headers["content-disposition"] == 'attachment; filename="signed.pdf"'
    (entry,) = app.audit_entries(site.settings.archive)
    assert (entry.actor, entry.action, entry.refs) == ("local", "file archived", ("#1", annex.document_id))


@pytest.mark.parametrize(("data", "customer", "message"), [
    (b"PK\x03\x04docx", CUSTOMER, "a ZIP file (a DOCX is one), not a PDF"),
    (b"%PDF-1.7\n1 0 obj", CUSTOMER, "truncated PDF: no %%EOF marker at the end of the file"),
    (None, "nordic-webshop", "this annex is for customer 'kauppahuone-aalto'"),
    ("encrypted", CUSTOMER, "encrypted PDF (a password is needed to open it)"),
])
def test_refusals_are_shown_and_nothing_is_stored(site, data, customer, message):
    if data == "encrypted":
        data = _encrypted(annex_pdf(CUSTOMER))
    review = _upload(site, data or annex_pdf(CUSTOMER), "upload.pdf", customer)
    assert review.status_code == 422
    assert "The archive refuses this file" in review.text and message.replace("'", "&#39;") in review.text
    assert "upload.pdf" in review.text and ".incoming" not in review.text  # named as the person knows it
    assert 'value="store"' not in review.text
    assert not app.archive_exists(site.settings.archive)


def test_a_file_already_archived_is_refused_naming_its_record(site):
    signed = _signed()
    _store(site, _upload(site, signed).text)
    again = _upload(site, signed, "copy.pdf")
    assert again.status_code == 422 and "already archived as record 1" in again.text


def test_a_broken_signature_is_refused_unless_accepted(site):
    review = _upload(site, flip_signed_byte(_signed()), "broken.pdf")
    assert review.status_code == 422 and "the signed bytes were altered after signing" in review.text
    assert 'name="accept_invalid_signature"' in review.text
    refused = _store(site, review.text)
    assert refused.status_code == 422 and not app.archive_records(site.settings.archive)
    stored = _store(site, review.text, accept_invalid_signature="on")
    assert stored.status_code == 303
    history = site.get(f"/archive/customers/{CUSTOMER}")
    assert "archived with a broken signature" in history.text


def test_a_scan_is_linked_to_a_generated_annex_of_the_customer(site):
    document = example_annex(CUSTOMER).document_id
    folder = site.settings.out_dir / CUSTOMER
    folder.mkdir(parents=True)
    (folder / f"{document}.pdf").write_bytes(b"%PDF- generated")
    review = _upload(site, scan_pdf(marker="aalto"), "scan.pdf")
    assert review.status_code == 200 and f'<option value="{document}">' in review.text
    stored = _store(site, review.text, document_id=document, signed_on="2026-10-20")
    assert stored.status_code == 303
    (record,) = app.archive_records(site.settings.archive)
    assert (record.document_id, record.body["link"], str(record.signed_on)) == (document, "given", "2026-10-20")


def test_a_bad_signed_on_date_is_shown_on_the_review_page(site):
    review = _upload(site, scan_pdf(marker="d"), "scan.pdf")
    again = _store(site, review.text, signed_on="20.10.2026", action="inspect")
    assert again.status_code == 422 and "signed on: &#39;20.10.2026&#39; is not a date" in again.text


def test_an_unknown_staging_token_asks_for_the_upload_again(site):
    response = site.post("/archive/store", data={"csrf_token": _token(site), "token": "0" * 64,
                                                 "customer": CUSTOMER, "action": "store"})
    assert response.status_code == 400 and "upload it again" in response.text


def test_an_upload_without_a_file_is_refused_on_the_form(site):
    response = site.post("/archive/upload", data={"csrf_token": _token(site), "customer": CUSTOMER},
                         files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 400 and "Choose a file to upload." in response.text


# History, drift, verify


def test_history_and_drift_after_a_registry_change(site):
    _store(site, _upload(site, _signed()).text)
    page = site.get(f"/archive/customers/{CUSTOMER}")
    assert page.status_code == 200 and "current" in page.text and "Aalto Legal" in page.text
    report = site.get("/archive")
    assert "kauppahuone-aalto" in report.text and "nordic-webshop" in report.text
    # the contracts' warnings (dated before the list) leave no customer out, so no "could not be read" box
    assert "could not be read" not in report.text
    add_mailer_subprocessor(site.settings.registry_dir)
    outdated = site.get("/archive?show=not-current")
    assert "outdated" in outdated.text and "Hetzner Online GmbH" in outdated.text
    assert "no signed annex" in outdated.text  # nordic-webshop: nothing archived
    before = site.get(f"/archive/customers/{CUSTOMER}?on=2020-01-01")
    assert "Nothing was signed on or before this date." in before.text


def test_a_bad_date_is_an_error_page(site):
    response = site.get("/archive?on=tomorrow")
    assert response.status_code == 400 and "date: &#39;tomorrow&#39; is not a date" in response.text


def test_verify_shows_the_chain_head_and_problems(site):
    _store(site, _upload(site, _signed()).text)
    (record,) = app.archive_records(site.settings.archive)
    ok = site.post("/archive/verify", data={"csrf_token": _token(site)})
    assert ok.status_code == 200 and record.record_hash in ok.text and "The archive is intact" in ok.text
    site.backend.alter_object(record.sha256, b"altered")
    failed = site.post("/archive/verify", data={"csrf_token": _token(site)})
    assert failed.status_code == 409 and "file altered" in failed.text
    actions = [e.action for e in app.audit_entries(site.settings.archive)]
    assert actions == ["file archived", "archive verified", "archive verified"]


def test_verify_without_an_archive_says_so(site):
    response = site.post("/archive/verify", data={"csrf_token": _token(site)})
    assert response.status_code == 400 and "there is no archive yet" in response.text


def test_a_form_without_its_csrf_token_is_refused(site):
    response = site.post("/archive/verify", data={})
    assert response.status_code == 403 and not app.audit_entries(site.settings.archive)


def test_a_missing_record_is_a_page_not_a_crash(site):
    _store(site, _upload(site, _signed()).text)
    response = site.get("/archive/records/9/file")
    assert response.status_code == 400 and "no record 9" in response.text


# Registry changes, batch, notices


def test_the_changes_page_shows_the_diff_and_whom_it_reaches(site):
    add_mailer_subprocessor(site.settings.registry_dir)
    page = site.get("/changes?from=HEAD~1")
    assert page.status_code == 200
    assert "added: Hetzner Online GmbH (hetzner) to LianaMailer" in page.text
    assert "1 affected, 1 unaffected, 0 with errors" in page.text
    assert "Sub-processor list as published" in page.text  # the revisions offered


def test_an_unknown_revision_is_shown_on_the_page(site):
    page = site.get("/changes?from=no-such-rev")
    assert page.status_code == 400 and "is neither a registry directory nor a git revision" in page.text


def test_the_batch_runs_in_the_background_and_is_recorded(site):
    started = site.post("/changes/batch", data={"csrf_token": _token(site)})
    assert started.status_code == 303 and started.headers["location"] == "/changes/batch"
    final = site.app.state.batch_runner.wait(300)
    assert final.state == "finished", final.error
    progress = site.get("/changes/batch/progress").json()
    assert (progress["state"], progress["done"], progress["total"], progress["generated"]) == ("finished", 2, 2, 2)
    page = site.get("/changes/batch")
    assert "2 of 2 done: 2 generated" in page.text
    (entry,) = app.audit_entries(site.settings.archive)
    assert entry.action == "batch run" and entry.actor == "local"
    assert set(entry.refs) == {example_annex(CUSTOMER, draft=True).document_id,
                               example_annex("nordic-webshop", draft=True).document_id}
    # the last batch's registry is offered as the one to compare from
    assert "used by the last batch" in site.get("/changes").text


def test_a_second_batch_while_one_runs_is_refused(site):
    import threading

    release = threading.Event()
    runner = site.app.state.batch_runner = BatchRunner()
    runner.start(lambda progress: (release.wait(30), BatchResult())[1], out_dir=site.settings.out_dir,
                 started_by="maija")
    try:
        response = site.post("/changes/batch", data={"csrf_token": _token(site)})
        assert response.status_code == 400 and "in use by another batch (started by maija" in response.text
    finally:
        release.set()
        runner.wait(30)


def test_notices_are_written_listed_and_downloadable(site):
    add_mailer_subprocessor(site.settings.registry_dir)
    written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": "HEAD~1",
                                                  "notice_date": "2026-12-01"})
    assert written.status_code == 303
    page = site.get(written.headers["location"])
    assert page.status_code == 200
    for fact in ("Kauppahuone Aalto &amp; Co. Oy", "2026-12-01", "2026-12-31", "legal@aalto.example"):
        assert fact in page.text
    zipped = site.get("/changes/notices/2026-12-01/notices.zip")
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        names = zf.namelist()
        rows = list(csv.DictReader(io.StringIO(zf.read("notices.csv").decode("utf-8-sig"))))
    assert [r["customer_id"] for r in rows] == [CUSTOMER]
    assert len(names) == 5 and all(n == "notices.csv" or n.startswith(f"{CUSTOMER}/") for n in names)
    notice_pdf = site.get(f"/changes/notices/2026-12-01/files/{rows[0]['notice_pdf']}")
    assert notice_pdf.status_code == 200 and notice_pdf.content.startswith(b"%PDF-")
    assert site.get("/changes/notices/2026-12-01/files/../../../etc/passwd").status_code == 404
    (entry,) = app.audit_entries(site.settings.archive)
    assert entry.action == "notices written" and rows[0]["notice_id"] in entry.refs


def test_notices_need_an_old_registry(site):
    response = site.post("/changes/notices", data={"csrf_token": _token(site), "from": "",
                                                   "notice_date": "2026-12-01"})
    assert response.status_code == 400 and "choose the old registry" in response.text


def test_notices_of_a_date_never_written_are_not_found(site):
    assert site.get("/changes/notices/2020-01-01").status_code == 400
    assert site.get("/changes/notices/..%2f..").status_code == 404


# Audit log


def test_the_audit_page_and_csv(site):
    app.audit_record(site.settings.archive, "maija", "contract saved", "<b>acme</b>.yaml", ["ANX-1"])
    page = site.get("/audit")
    assert page.status_code == 200 and "&lt;b&gt;acme&lt;/b&gt;.yaml" in page.text and "maija" in page.text
    exported = site.get("/audit.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.decode("utf-8-sig").splitlines()[1].startswith("1,")


# Who may see legal's pages


@pytest.mark.parametrize("path", ["/archive", "/archive/upload", "/changes", "/audit", "/audit.csv",
                                  f"/archive/customers/{CUSTOMER}"])
def test_sales_may_not_use_legal_pages_and_strangers_must_sign_in(tmp_path, path):
    users = tmp_path / "users.yaml"
    for name, role in (("sari", "sales"), ("lauri", "legal")):
        app.add_user(users, name, role, PASSWORD)
    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"),
                        customers_dir=example_contracts(tmp_path / "customers", CUSTOMER),
                        out_dir=tmp_path / "output", archive=tmp_path / "archive", users_file=users,
                        host="0.0.0.0")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        assert client.get(path).status_code == 303  # to the sign-in page
        login(client, "sari")
        assert client.get(path).status_code == 403
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        login(client, "lauri")
        assert client.get(path).status_code == 200


def test_a_legal_users_actions_are_recorded_under_their_name(tmp_path, backend):
    users = tmp_path / "users.yaml"
    app.add_user(users, "lauri", "legal", PASSWORD)
    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"),
                        customers_dir=example_contracts(tmp_path / "customers", CUSTOMER),
                        out_dir=tmp_path / "output", archive=backend.location, users_file=users,
                        host="0.0.0.0")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        login(client, "lauri")
        _store(client, _upload(client, _signed()).text)
    (entry,) = app.audit_entries(backend.location)
    assert entry.actor == "lauri"


def test_sales_actions_that_write_are_recorded(site):
    token = csrf(site, "/customers/new")
    saved = site.post("/customers/new", data={
        "csrf_token": token, "action": "save", "customer_id": "testi-oy", "name": "Testi Oy", "date": "2026-11-30",
        "region": "eu", "language": "fi", "products": ["mailer"]})
    assert saved.status_code == 303, saved.text
    first = site.get("/customers/testi-oy/download/pdf")
    again = site.get("/customers/testi-oy/download/pdf")
    assert first.status_code == again.status_code == 200 and first.content == again.content
    entries = app.audit_entries(site.settings.archive)
    assert [(e.actor, e.action) for e in entries] == [("local", "contract saved"), ("local", "annex generated")]
    assert entries[0].refs == ("testi-oy",) and entries[0].what == "testi-oy.yaml (new)"
    assert entries[1].refs[0].startswith("ANX-")  # generated once; the cached download writes nothing
