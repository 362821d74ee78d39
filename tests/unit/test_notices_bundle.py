"""Reading back a notices folder: its table and a deterministic zip of everything notices.csv lists."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.errors import UsageError
from conftest import build_file_tree

CSV = ("\ufeffcustomer_id,customer_name,language,contact_email,notice_date,effective_date,objection_deadline,"
       "notice_id,annex_document_id,added,removed,changed,notice_pdf,notice_docx,annex_pdf,annex_docx\r\n"
       "acme,'=Acme Oy,fi,it@acme.fi,2026-12-01,2026-12-31,2026-12-31,NTC-1,ANX-2,1,0,0,"
       "acme/NTC-1.pdf,acme/NTC-1.docx,acme/ANX-2.pdf,acme/ANX-2.docx\r\n")


def _folder(tmp_path: Path) -> Path:
    return build_file_tree(tmp_path / "notices", {"notices.csv": CSV.encode("utf-8"), "acme": {
        "NTC-1.pdf": b"%PDF-notice", "NTC-1.docx": b"docx", "ANX-2.pdf": b"%PDF-annex", "ANX-2.docx": b"adocx",
        "ANX-OLD.pdf": b"not listed"}})


def test_rows_read_back_the_csv(tmp_path: Path):
    (row,) = app.notice_rows(_folder(tmp_path))
    assert (row.customer_id, row.customer_name, row.effective_date, row.objection_deadline, row.added) == (
        "acme", "=Acme Oy", "2026-12-31", "2026-12-31", 1)
    assert row.files["notice_pdf"] == "acme/NTC-1.pdf"


def test_the_zip_holds_exactly_the_listed_files_and_is_deterministic(tmp_path: Path):
    folder = _folder(tmp_path)
    data = app.notices_zip(folder)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["notices.csv", "acme/ANX-2.docx", "acme/ANX-2.pdf", "acme/NTC-1.docx",
                                 "acme/NTC-1.pdf"]
        assert zf.read("acme/NTC-1.pdf") == b"%PDF-notice"
    (folder / "acme" / "NTC-1.pdf").touch()
    assert app.notices_zip(folder) == data


def test_no_notices_yet_is_a_clear_error(tmp_path: Path):
    with pytest.raises(UsageError, match="notices.csv: no notices have been written there"):
        app.notices_zip(tmp_path)
