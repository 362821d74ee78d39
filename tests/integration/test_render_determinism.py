"""Determinism: two separate `annex-gen generate` processes (different hash seeds and time zones,
different output directories) write byte-identical PDF, DOCX and HTML files, and the DOCX zip
members carry fixed timestamps and attributes."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pikepdf
import pytest
import render_support as rs

from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.render import pdf as render_pdf
from annex_gen.render.pdf import with_identifier
from annex_gen.resolve import resolve

NAMES = [p.stem for p in rs.EXAMPLES]


@pytest.fixture(scope="session", params=rs.ENGINES)
def session(request, tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory, request.param)


@pytest.mark.parametrize("fmt", rs.FORMATS)
@pytest.mark.parametrize("name", NAMES)
def test_two_processes_write_identical_bytes(session, name, fmt):
    ex = session.examples[name]
    a, b = ex.files[fmt], ex.files_b[fmt]
    assert a.is_relative_to(session.out_a) and b.is_relative_to(session.out_b)
    assert a.is_file() and b.is_file()
    assert a.read_bytes() == b.read_bytes(), f"{a.name}: run A and run B differ"


def test_runs_wrote_to_separate_directories(session):
    files_a = sorted(p.relative_to(session.out_a) for p in session.out_a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(session.out_b) for p in session.out_b.rglob("*") if p.is_file())
    assert files_a == files_b
    stylesheets = len(NAMES) if "html" in rs.FORMATS else 0  # annex.css beside each HTML
    assert len(files_a) == len(NAMES) * len(rs.FORMATS) + stylesheets


@pytest.mark.parametrize("name", NAMES)
def test_docx_zip_members_have_fixed_timestamps(session, name):
    with zipfile.ZipFile(session.examples[name].files["docx"]) as zf:
        infos = zf.infolist()
        assert infos, "empty DOCX"
        assert zf.testzip() is None
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.external_attr >> 16 == 0o644, info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
        names = [i.filename for i in infos]
        assert names[0] == "[Content_Types].xml"
        assert len(names) == len(set(names))


@pytest.mark.parametrize("name", NAMES)
def test_pdf_dates_and_identifier_come_from_the_contract(session, name):
    """No clock time leaks into the PDF: its dates are the contract date, and the /ID is stable."""
    ex = session.examples[name]
    compact = ex.annex["contract"]["date"].replace("-", "")
    with pikepdf.open(ex.files["pdf"]) as pdf:
        assert str(pdf.docinfo["/CreationDate"]).startswith(f"D:{compact}")
        assert str(pdf.docinfo["/ModDate"]).startswith(f"D:{compact}")
        embedded = pdf.attachments["annex.json"].get_file()
        if session.engine == "weasyprint":  # Typst records only the attachment's modification date
            assert embedded.creation_date.date().isoformat() == ex.annex["contract"]["date"]
        assert embedded.mod_date.date().isoformat() == ex.annex["contract"]["date"]
        ids = [bytes(x) for x in pdf.trailer.ID]
        assert len(ids) == 2 and all(ids)
        if session.engine == "weasyprint":  # the digest of the file as WeasyPrint wrote it, without the /ID
            data = ex.files["pdf"].read_bytes()
            entry = b" /ID [<" + ids[0].hex().encode() + b"> <" + ids[1].hex().encode() + b">]"
            assert data.count(entry) == 1
            assert ids[0] == ids[1] == hashlib.sha256(data.replace(entry, b"")).digest()[:16]
            assert pdf.check_pdf_syntax() == []


def test_an_identifier_is_written_only_where_pydyf_puts_the_trailer(monkeypatch):
    body = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    plain = body + b"xref\n0 2\ntrailer\n<< /Size 2 >>\nstartxref\n" + str(len(body)).encode() + b"\n%%EOF"
    assert with_identifier(plain) is None  # a classic cross-reference table
    assert with_identifier(b"%PDF-1.7\n") is None
    # Then the render asks WeasyPrint for its own identifier: still a PDF/A with an /ID.
    monkeypatch.setattr(render_pdf, "with_identifier", lambda data: None)
    registry = load_registry(rs.ROOT / "registry")
    annex = resolve(registry, load_contract(registry, rs.EXAMPLES[0])[0])
    with pikepdf.open(io.BytesIO(render_pdf.render_pdf(annex))) as pdf:
        assert len(pdf.trailer.ID) == 2 and pdf.open_metadata().pdfa_status == "3B"
