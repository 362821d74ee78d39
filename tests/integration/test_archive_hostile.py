"""Files built to exhaust memory: refused with one clear message, before they cost what they ask.

The PDFs are built here (archive_support): a 1 MB annex.json that inflates to 1 GiB while
declaring 2 bytes, and a form with more filled signature fields than any annex has. What each
costs in memory is measured by bench/intake_memory_bench.py, not here.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.archive.pdfinfo import MAX_REVISIONS, MAX_SIGNATURES, MAX_UPDATED_OBJECTS, read_pdf
from annex_gen.archive.staging import Staging
from annex_gen.errors import InvalidInput, UsageError
from archive_support import annex_json_bomb, many_signature_fields, signed_revisions, write
from legal_web_support import example_contracts, registry_repo
from web_support import csrf

BOMB_MESSAGE = ("bomb.pdf: annex.json: embedded file is larger than 8 MiB when decompressed (the PDF declares "
                "{size} bytes compressed); refused unread")
FIELDS_MESSAGE = (f"fields.pdf: the PDF has more than {MAX_SIGNATURES} filled signature fields; refused unchecked "
                  "(a signed annex has two or three)")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return annex_json_bomb()


@pytest.fixture(scope="module")
def fields() -> bytes:
    return many_signature_fields(MAX_SIGNATURES + 1)


def _bomb_message(data: bytes) -> str:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        size = int(pdf.attachments["annex.json"].obj.EF.F.Length)
    return BOMB_MESSAGE.format(size=size)


def test_the_bomb_is_about_a_megabyte_and_refused_by_the_reader(bomb):
    assert len(bomb) < 1_100_000
    with pytest.raises(InvalidInput) as refused:
        read_pdf(bomb, "bomb.pdf")
    assert str(refused.value) == _bomb_message(bomb)


def test_too_many_signature_fields_are_refused_before_any_is_checked(fields, monkeypatch):
    import annex_gen.archive.pdfinfo as pdfinfo

    def never(*args, **kwargs):
        raise AssertionError("the signature checker ran")

    monkeypatch.setattr(pdfinfo, "check_signatures", never)
    with pytest.raises(InvalidInput) as refused:
        read_pdf(fields, "fields.pdf")
    assert str(refused.value) == FIELDS_MESSAGE


def test_too_many_revisions_or_updated_objects_are_refused_before_any_signature_is_checked(monkeypatch):
    import annex_gen.archive.pdfinfo as pdfinfo

    assert len(read_pdf(signed_revisions(3), "three.pdf").signatures) == 3  # signed by each party: checked

    def never(*args, **kwargs):
        raise AssertionError("the signature checker ran")

    monkeypatch.setattr(pdfinfo, "check_signatures", never)
    with pytest.raises(InvalidInput) as refused:
        read_pdf(signed_revisions(MAX_REVISIONS), "revisions.pdf")  # the scan and 12 updates: 13
    assert str(refused.value) == (
        f"revisions.pdf: the PDF was saved {MAX_REVISIONS + 1} times over (revisions), more than {MAX_REVISIONS}; "
        "refused unchecked (a signed annex has one per signature)")
    with pytest.raises(InvalidInput) as refused:
        read_pdf(signed_revisions(1, objects=MAX_UPDATED_OBJECTS), "updates.pdf")
    assert str(refused.value).startswith("updates.pdf: the PDF's later revisions change ")
    assert refused.value.diagnostics[0].params["count"] > MAX_UPDATED_OBJECTS


def test_the_cli_refuses_each_with_one_message(tmp_path: Path, backend, bomb, fields):
    write(tmp_path / "bomb.pdf", bomb)
    write(tmp_path / "fields.pdf", fields)
    for name, message in (("bomb.pdf", _bomb_message(bomb)), ("fields.pdf", FIELDS_MESSAGE)):
        result = subprocess.run([sys.executable, "-m", "annex_gen", "archive", "add", name, "--customer", "acme",
                                 "--archive", backend.location], cwd=tmp_path, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [message, "annex-gen: 1 error; nothing was written"]
        assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr
    assert not app.archive_exists(backend.location) or app.archive_records(backend.location) == []


def test_the_web_upload_refuses_each_with_a_page(tmp_path: Path, backend, bomb, fields):
    from annex_gen.web import Settings, create_app

    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"),
                        customers_dir=example_contracts(tmp_path / "customers", "nordic-webshop"),
                        out_dir=tmp_path / "output", archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        # the page words each refusal for a person (the catalog's text), not as the command line does
        for name, data, message in (("bomb.pdf", bomb, "would be larger than 8\u00a0MB when unpacked"),
                                    ("fields.pdf", fields, "more than 50 filled signature fields"),
                                    ("revisions.pdf", signed_revisions(MAX_REVISIONS), "saved 13 times over")):
            review = client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"),
                                                          "customer": "nordic-webshop"},
                                 files={"file": (name, data, "application/pdf")})
            assert review.status_code == 422
            assert message.replace("'", "&#39;") in review.text
            assert 'name="action" value="store"' not in review.text  # nothing to confirm


def test_an_upload_is_copied_to_disk_in_chunks_under_the_file_limit(tmp_path: Path):
    class Source(io.RawIOBase):
        """An upload that says how much was asked of it at once."""

        def __init__(self, size: int) -> None:
            self.left, self.largest = size, 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            self.largest = max(self.largest, n)
            assert n > 0, "the whole upload was asked for at once"
            n = min(n, self.left)
            self.left -= n
            return b"x" * n

    source = Source(5 * 2**20)
    staged = Staging(tmp_path).put_stream(source, "big.pdf")
    assert staged.path.stat().st_size == 5 * 2**20 and source.largest <= 2**20
    with pytest.raises(UsageError, match=r"^huge.pdf: the file is larger than the archive's limit of 3 MiB$"):
        Staging(tmp_path).put_stream(Source(4 * 2**20), "huge.pdf", max_bytes=3 * 2**20)
    assert [p.name for p in tmp_path.iterdir()] == [staged.token]  # nothing of the refused one is left


def test_uploads_waiting_stay_under_the_quota(tmp_path: Path):
    staging = Staging(tmp_path, quota=3 * 2**20)
    first = staging.put(b"a" * 2**20, "first.pdf")
    staging.put(b"b" * 2**20, "second.pdf")
    with pytest.raises(UsageError, match=r"^third.pdf: too many uploads are waiting to be archived \(the limit is "
                                         r"3 MiB in all\)"):
        staging.put(b"c" * (2**20 + 1), "third.pdf")
    staging.discard(first.token)  # stored: room again
    assert staging.put(b"c" * (2**20 + 1), "third.pdf").path.is_file()
