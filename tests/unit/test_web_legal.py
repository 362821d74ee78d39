"""Legal's pages through the framework's test client: archive upload and refusals, history, drift,
verify, registry changes with the batch and notices, and the audit log."""

from __future__ import annotations

import csv
import datetime as dt
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
from archive_support import annex_pdf, approve_release, example_annex, flip_signed_byte, scan_pdf, sign
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
    for fact in (annex.document_id, annex.registry_version, "Aalto Legal",
                 "unchanged since signing; signer&#39;s identity not verified", "signed.pdf",
                 "The file can be archived as shown."):
        assert fact in review.text
    assert not app.archive_exists(site.settings.archive)  # nothing stored yet
    waiting = site.settings.staging_dir / _hidden(review.text, "token") / "signed.pdf"
    assert waiting.read_bytes() == signed  # a URL archive keeps it under the output directory
    assert waiting.is_relative_to(tmp_path / ("output" if site.backend.name == "postgresql" else "archive"))
    stored = _store(site, review.text)
    assert stored.status_code == 303
    assert stored.headers["location"] == f"/customers/{CUSTOMER}/timeline?done=stored&stored=1"
    assert not waiting.exists()
    timeline = site.get(stored.headers["location"])
    assert timeline.status_code == 200 and "The signed copy was archived." in timeline.text
    assert f"Signed copy of {annex.document_id} archived as record 1" in timeline.text
    history = site.get(f"/archive/customers/{CUSTOMER}")
    assert history.status_code == 200 and "signed.pdf" in history.text and annex.document_id in history.text
    (record,) = app.archive_records(site.settings.archive)
    assert (record.customer_id, record.document_id) == (CUSTOMER, annex.document_id)
    download = site.get("/archive/records/1/file")
    assert download.content == signed
    assert download.headers["content-disposition"] == 'attachment; filename="signed.pdf"'
    (entry,) = app.audit_entries(site.settings.archive)
    assert (entry.actor, entry.action, entry.refs) == ("local", "file archived", ("#1", annex.document_id))


@pytest.mark.parametrize(("data", "customer", "message"), [
    (b"PK\x03\x04docx", CUSTOMER, "The file is not a PDF. Only PDFs are archived as signed annexes."),
    (b"%PDF-1.7\n1 0 obj", CUSTOMER, "The PDF file is cut short (its end is missing); upload the whole file."),
    (None, "nordic-webshop", "(kauppahuone-aalto), not to the chosen customer nordic-webshop."),
    ("encrypted", CUSTOMER, "The PDF is encrypted; upload the unencrypted original"),
    # refused at once, before a customer is chosen
    (b"PK\x03\x04docx", "", "The file is not a PDF. Only PDFs are archived as signed annexes."),
    (b"%PDF-1.7\n1 0 obj", "", "The PDF file is cut short (its end is missing); upload the whole file."),
])
def test_refusals_are_shown_and_nothing_is_stored(site, data, customer, message):
    if data == "encrypted":
        data = _encrypted(annex_pdf(CUSTOMER))
    review = _upload(site, data or annex_pdf(CUSTOMER), "upload.pdf", customer)
    assert review.status_code == 422
    assert "The archive refuses this file" in review.text and message.replace("'", "&#39;") in review.text
    assert "upload.pdf" in review.text and ".incoming" not in review.text  # named as the person knows it
    assert 'value="store"' not in review.text
    if data is None:  # a readable annex for another customer: choose again and check again
        assert 'name="customer"' in review.text and 'value="inspect"' in review.text
    else:  # no PDF that can be read: nothing to choose or check again, only another file
        assert 'name="customer"' not in review.text and 'value="inspect"' not in review.text
        assert ">Upload another file</a>" in review.text
    assert not app.archive_exists(site.settings.archive)


def test_a_file_already_archived_is_refused_naming_its_record(site):
    signed = _signed()
    _store(site, _upload(site, signed).text)
    again = _upload(site, signed, "copy.pdf")
    assert again.status_code == 422 and "This file is already archived as record #1 (customer" in again.text


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
    assert "This file carries no digital signature" in review.text and 'name="unsigned_copy"' in review.text
    refused = _store(site, review.text, document_id=document, signed_on="2026-10-20")
    assert refused.status_code == 422 and not app.archive_exists(site.settings.archive)
    stored = _store(site, review.text, document_id=document, signed_on="2026-10-20", unsigned_copy="on")
    assert stored.status_code == 303
    (record,) = app.archive_records(site.settings.archive)
    assert (record.document_id, record.body["link"], str(record.signed_on)) == (document, "given", "2026-10-20")


def test_a_bad_signed_on_date_is_shown_on_the_review_page(site):
    review = _upload(site, scan_pdf(marker="d"), "scan.pdf")
    again = _store(site, review.text, signed_on="20.10.2026", action="inspect")
    assert again.status_code == 422 and "“20.10.2026” is not a date; write it as YYYY-MM-DD" in again.text


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
    assert response.status_code == 400 and "“tomorrow” is not a date; write it as YYYY-MM-DD" in response.text


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
    assert response.status_code == 400 and "yet; upload a signed annex first." in response.text


def test_a_form_without_its_csrf_token_is_refused(site):
    response = site.post("/archive/verify", data={})
    assert response.status_code == 403 and not app.audit_entries(site.settings.archive)


def test_a_missing_record_is_a_page_not_a_crash(site):
    _store(site, _upload(site, _signed()).text)
    response = site.get("/archive/records/9/file")
    assert response.status_code == 400 and "The archive has no record #9." in response.text


# Registry changes, batch, notices


def _release_ref(site, label: str) -> str:
    choices = app.release_choices(site.settings.registry_dir, site.settings.out_dir / "_notices")
    return next(r.ref for r in choices.releases if r.label == label)


def test_the_changes_page_shows_the_diff_and_whom_it_reaches(site):
    add_mailer_subprocessor(site.settings.registry_dir)
    page = site.get("/changes")  # the release before the current one, by default
    assert page.status_code == 200
    assert "Added: Hetzner Online GmbH to LianaMailer (Germany: Email archive)" in page.text
    assert "1 affected, 1 unaffected, 0 with errors" in page.text
    # releases by label and date, never git revisions
    assert re.search(r'<option value="[0-9a-f]{40}" selected>2026\.11\.1, published \d', page.text)
    assert "2026.12.1, published" in page.text and "HEAD" not in page.text and "git" not in page.text.lower()


def test_only_a_release_is_compared(site):
    page = site.get("/changes?from=HEAD~1")
    assert page.status_code == 400 and "The chosen release is not a release of the sub-processor list" in page.text


def test_the_baseline_moves_when_the_notices_are_written_not_with_the_batch(site):
    approve_release(site.settings.registry_dir, site.settings.archive)  # the release customers have
    add_mailer_subprocessor(site.settings.registry_dir)
    started = site.post("/changes/batch", data={"csrf_token": _token(site)})
    assert started.status_code == 303 and site.app.state.batch_runner.wait(300).state == "finished"
    page = site.get("/changes")
    assert "1 affected" in page.text and "Added: Hetzner Online GmbH" in page.text  # the batch did not move it
    baseline = _release_ref(site, "2026.11.1")
    drafts = site.post("/changes/notices", data={"csrf_token": _token(site), "from": baseline,
                                                 "notice_date": "2026-12-01"})
    assert drafts.status_code == 303
    page = site.get("/changes")  # notices of content not yet approved are drafts: the baseline stays
    assert "1 affected" in page.text and "Added: Hetzner Online GmbH" in page.text
    approve_release(site.settings.registry_dir, site.settings.archive, effective=dt.date(2026, 12, 31))
    # the form proposes the day legal approved the change to take effect
    assert re.search(r'<input type="date" id="effective_date" [^>]*value="2026-12-31">', site.get("/changes").text)
    written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": baseline,
                                                  "notice_date": "2026-12-01"})
    assert written.status_code == 303
    page = site.get("/changes")
    assert re.search(r"2026\.12\.1, approved [^<]* · the list customers were last notified of", page.text)
    assert "Changes in the list (0)" in page.text


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
    # the batch does not move what the change is compared with
    assert " · the list customers were last notified of" not in site.get("/changes").text


def test_a_second_batch_while_one_runs_is_refused(site):
    import threading

    release = threading.Event()
    runner = site.app.state.batch_runner = BatchRunner()
    runner.start(lambda progress: (release.wait(30), BatchResult())[1], out_dir=site.settings.out_dir,
                 started_by="maija")
    try:
        response = site.post("/changes/batch", data={"csrf_token": _token(site)})
        assert response.status_code == 400 and "Another batch (started by maija" in response.text
    finally:
        release.set()
        runner.wait(30)


def test_notices_are_written_listed_and_downloadable(site):
    add_mailer_subprocessor(site.settings.registry_dir)
    written = site.post("/changes/notices", data={"csrf_token": _token(site), "from": _release_ref(site, "2026.11.1"),
                                                  "notice_date": "2026-12-01"})
    assert written.status_code == 303
    page = site.get(written.headers["location"])
    assert page.status_code == 200
    for fact in ("Kauppahuone Aalto &amp; Co. Oy", "1 Dec 2026", "31 Dec 2026", "legal@aalto.example"):
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
    assert response.status_code == 400 and "Choose the release to compare the current list with." in response.text


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
    signed_in, stored = app.audit_entries(backend.location)
    assert (signed_in.action, signed_in.actor) == ("signed in", "lauri")
    assert (stored.action, stored.actor) == ("file archived", "lauri")


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
