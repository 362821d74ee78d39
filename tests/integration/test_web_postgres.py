"""`annex-gen serve` on a PostgreSQL archive, end to end: upload, history, download, audit log."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import httpx2
import pypdf
import pytest

from annex_gen import app
from annex_gen.archive.index import ARCHIVE_ENV
from archive_support import annex_pdf, example_annex, sign
from browser_support import Server
from legal_web_support import example_contracts
from web_support import csrf

CUSTOMER = "kauppahuone-aalto"
PASSWORD_IN_URL = "s3cret-pw"


def test_serve_on_a_postgresql_archive_uploads_lists_and_audits(tmp_path: Path, postgres_server, monkeypatch) -> None:
    # The test cluster trusts local connections; the password is there to prove it is never shown.
    url = postgres_server.database().replace(f"{postgres_server.user}@", f"{postgres_server.user}:{PASSWORD_IN_URL}@")
    monkeypatch.setenv(ARCHIVE_ENV, url)
    assert os.environ[ARCHIVE_ENV] == url
    customers = example_contracts(tmp_path / "customers", CUSTOMER)
    signed = sign(annex_pdf(CUSTOMER), signer="Aalto Legal")
    annex = example_annex(CUSTOMER)
    server = Server(customers, tmp_path / "output")  # the archive comes from ANNEX_GEN_ARCHIVE
    try:
        with httpx2.Client(base_url=server.url, follow_redirects=False, timeout=60) as client:
            review = client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"), "customer": CUSTOMER},
                                 files={"file": ("signed.pdf", signed, "application/pdf")})
            assert review.status_code == 200 and annex.document_id in review.text
            token = re.search(r'name="token" value="([0-9a-f]{64})"', review.text).group(1)
            assert (tmp_path / "output" / ".incoming" / token / "signed.pdf").read_bytes() == signed
            stored = client.post("/archive/store", data={"csrf_token": csrf(client, "/archive"), "token": token,
                                                         "customer": CUSTOMER, "action": "store"})
            assert stored.status_code == 303, stored.text
            history = client.get(stored.headers["location"])
            assert history.status_code == 200 and "signed.pdf" in history.text and annex.document_id in history.text
            download = client.get("/archive/records/1/file")
            assert download.content == signed
            text = pypdf.PdfReader(io.BytesIO(download.content)).pages[0].extract_text()
            assert "Kauppahuone Aalto" in text
            audit = client.get("/audit")
            assert audit.status_code == 200 and "#1" in audit.text and annex.document_id in audit.text
            verified = client.post("/archive/verify", data={"csrf_token": csrf(client, "/archive")})
            assert verified.status_code == 200 and "The archive is intact" in verified.text
            pages = [review.text, history.text, audit.text, verified.text]
    finally:
        server.stop()
    assert not (tmp_path / "output" / ".incoming" / token).exists()
    entries = app.audit_entries(url)
    assert [(e.actor, e.action, e.refs) for e in entries] == [
        ("local", "file archived", ("#1", annex.document_id)), ("local", "archive verified", ("#1",))]
    (record,) = app.archive_records(url)
    assert (record.customer_id, record.document_id, record.sha256) == (CUSTOMER, annex.document_id,
                                                                       app.archive_file(url, 1)[0].sha256)
    log = server.log.read_text(encoding="utf-8")
    assert "***@" in log  # the server names its archive without the password
    assert all(PASSWORD_IN_URL not in text for text in [log, *pages])


@pytest.mark.parametrize("path", ["/audit", "/archive", "/archive/customers/x"])
def test_an_unreachable_database_is_a_page_without_its_password(tmp_path: Path, path: str) -> None:
    from starlette.testclient import TestClient

    from annex_gen.web import Settings, create_app

    url = f"postgresql://lauri:{PASSWORD_IN_URL}@/nowhere?host={tmp_path / 'no-socket'}"
    settings = Settings(registry_dir=Path("registry"), customers_dir=example_contracts(tmp_path / "c", CUSTOMER),
                        out_dir=tmp_path / "output", archive=url)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.get(path)
        verify = client.post("/archive/verify", data={"csrf_token": csrf(client, "/customers")})
    assert response.status_code == 503 and PASSWORD_IN_URL not in response.text
    # not "no archive yet": whether there is one is not known while its database does not answer
    assert verify.status_code == 503 and "postgresql://lauri:***@/nowhere" in verify.text
    assert "The archive is not available" in verify.text and "no archive yet" not in verify.text
    assert PASSWORD_IN_URL not in verify.text
    if path == "/audit":  # the log is read from the database: the page says it cannot be reached now
        assert response.status_code == 503 and "cannot connect to the archive database" in response.text
        assert "The archive is not available" in response.text
