"""Inspecting a file before it is archived: what add would read and record, or why it would refuse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from annex_gen import app
from annex_gen.archive.intake import AddRequest, add_file, inspect_file
from annex_gen.archive.store import Archive
from archive_support import annex_pdf, example_annex, flip_signed_byte, scan_pdf, sign, write

TODAY = dt.date(2026, 11, 29)


def _inspect(archive: Archive, path: Path, customer: str = "nordic-webshop", **options):
    return inspect_file(archive, AddRequest(path=path, customer=customer, **options), today=TODAY)


def test_a_signed_annex_is_read_back_without_storing(tmp_path: Path):
    path = write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop"), signer="Asiakas"))
    with Archive.open(tmp_path / "archive", create=True) as archive:
        seen = _inspect(archive, path)
        assert archive.records() == []
        record = add_file(archive, AddRequest(path=path, customer="nordic-webshop"), today=TODAY)
    annex = example_annex("nordic-webshop")
    assert seen.acceptable and seen.refusal is None
    assert (seen.fields["document_id"], seen.fields["registry_version"]) == (annex.document_id,
                                                                             annex.registry_version)
    assert [s.signer for s in seen.facts.signatures] == ["Asiakas"]
    assert seen.sha256 == record.sha256 and seen.size == len(path.read_bytes())
    # the read-back is exactly what was then stored
    assert {k: v for k, v in record.body.items() if k in seen.fields} == seen.fields


def test_refusals_are_reported_with_what_could_be_read(tmp_path: Path):
    signed = sign(annex_pdf("nordic-webshop"), signer="Asiakas")
    broken = write(tmp_path / "broken.pdf", flip_signed_byte(signed))
    docx = write(tmp_path / "annex.docx", b"PK\x03\x04rest")
    wrong = write(tmp_path / "wrong.pdf", signed)
    with Archive.open(tmp_path / "archive", create=True) as archive:
        seen = _inspect(archive, broken)
        assert not seen.acceptable and seen.fields is None
        assert "the signed bytes were altered after signing" in str(seen.refusal)
        assert [s.ok for s in seen.facts.signatures] == [False]
        assert _inspect(archive, broken, accept_invalid_signature=True).acceptable
        assert "a ZIP file (a DOCX is one), not a PDF" in str(_inspect(archive, docx).refusal)
        assert "this annex is for customer 'nordic-webshop'" in str(_inspect(archive, wrong, "acme").refusal)
        add_file(archive, AddRequest(path=wrong, customer="nordic-webshop"), today=TODAY)
        again = _inspect(archive, wrong)
        assert "already archived as record 1" in str(again.refusal)
        assert len(archive.records()) == 1


def test_app_inspects_without_creating_an_archive(tmp_path: Path):
    scan = write(tmp_path / "scan.pdf", scan_pdf())
    seen = app.archive_inspect(tmp_path / "archive", AddRequest(path=scan, customer="acme",
                                                               signed_on=dt.date(2026, 1, 2)))
    assert seen.acceptable and seen.fields["link"] == "unlinked" and seen.facts.annex is None
    assert not (tmp_path / "archive").exists()
