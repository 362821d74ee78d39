"""`archive add`: what is checked before a file is stored, and what its record says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from annex_gen.archive.intake import AddRequest, add_file, inspect_file
from annex_gen.archive.store import Archive, ArchiveError
from annex_gen.errors import InvalidInput, UsageError
from archive_support import annex_pdf, example_annex, flip_signed_byte, scan_pdf, sign, write

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def archive(backend):
    with Archive.open(backend.location, create=True) as a:
        a.backend = backend
        yield a


def _add(archive: Archive, path: Path, customer: str = "nordic-webshop", **options):
    return add_file(archive, AddRequest(path=path, customer=customer, **options), today=TODAY)


def _nothing_stored(archive: Archive) -> bool:
    return archive.records() == [] and archive.backend.stored_objects() == []


def test_a_signed_annex_is_recorded_with_its_annex_json_and_signature(archive, tmp_path):
    path = write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop"), signer="Asiakas"))
    record = _add(archive, path, note="  countersigned copy  ")
    annex = example_annex("nordic-webshop")
    body = record.body
    assert (record.kind, record.customer_id, record.document_id, body["link"]) == (
        "annex", "nordic-webshop", annex.document_id, "embedded")
    assert body["registry_version"] == annex.registry_version
    assert [p["id"] for p in record.annex["subprocessors"]] == [p.id for p in annex.subprocessors]
    (sig,) = record.signatures
    assert (sig["signer"], sig["ok"], sig["coverage"]) == ("Asiakas", True, "entire file")
    assert body["signed_on"] == sig["signing_time"][:10] and body["signed_on_from"] == "signature"
    assert (body["note"], body["accepted_invalid_signature"]) == ("countersigned copy", False)
    assert archive.read_file(record) == path.read_bytes()


def test_a_customer_that_contradicts_the_embedded_annex_is_refused(archive, tmp_path):
    path = write(tmp_path / "a.pdf", annex_pdf("nordic-webshop"))
    with pytest.raises(InvalidInput) as exc:
        _add(archive, path, customer="esimerkki-oy")
    assert str(exc.value) == (f"{path}: annex.json: this annex is for customer 'nordic-webshop' "
                              "(Nordic Webshop AB), not 'esimerkki-oy'")
    assert _nothing_stored(archive)


def test_a_document_id_that_contradicts_the_embedded_one_is_refused(archive, tmp_path):
    path = write(tmp_path / "a.pdf", annex_pdf("nordic-webshop"))
    with pytest.raises(InvalidInput, match="the embedded document ID is ANX-.*, not ANX-0000-0000-0000-0000"):
        _add(archive, path, document_id="ANX-0000-0000-0000-0000")
    assert _nothing_stored(archive)


def test_a_broken_signature_is_refused_unless_accepted_and_then_recorded_as_invalid(archive, tmp_path):
    path = write(tmp_path / "flipped.pdf", flip_signed_byte(sign(annex_pdf("nordic-webshop"))))
    with pytest.raises(InvalidInput) as exc:
        _add(archive, path)
    assert str(exc.value) == (
        f"{path}: signature Signature1 by Test Signer: the signed bytes were altered after signing (digest "
        "mismatch). Nothing was archived; give --accept-invalid-signature to archive it anyway, "
        "recorded as invalid")
    assert _nothing_stored(archive)

    record = _add(archive, path, accept_invalid_signature=True)
    assert record.body["accepted_invalid_signature"] is True
    assert [s["ok"] for s in record.signatures] == [False]


def test_a_scan_is_linked_to_a_given_document_id_or_recorded_as_unlinked(archive, tmp_path):
    linked = _add(archive, write(tmp_path / "scan1.pdf", scan_pdf(marker="1")),
                  document_id="anx-1234-5678-9abc-def0", signed_on=dt.date(2025, 3, 1))
    assert (linked.document_id, linked.body["link"], linked.annex) == (
        "ANX-1234-5678-9ABC-DEF0", "given", None)
    assert (linked.body["signed_on"], linked.body["signed_on_from"]) == ("2025-03-01", "given")

    unlinked = _add(archive, write(tmp_path / "scan2.pdf", scan_pdf(marker="2")))
    assert (unlinked.document_id, unlinked.body["link"]) == (None, "unlinked")
    assert (unlinked.body["signed_on"], unlinked.body["signed_on_from"]) == ("2026-11-29", "archived")


def test_a_document_id_archived_for_another_customer_is_refused(archive, tmp_path):
    _add(archive, write(tmp_path / "a.pdf", sign(annex_pdf("nordic-webshop"))))
    document = example_annex("nordic-webshop").document_id
    with pytest.raises(InvalidInput) as exc:
        _add(archive, write(tmp_path / "scan.pdf", scan_pdf()), customer="esimerkki-oy", document_id=document)
    assert str(exc.value) == (f"{tmp_path / 'scan.pdf'}: document {document} is archived for customer "
                              "'nordic-webshop' (record 1), not 'esimerkki-oy'")


def test_a_docx_is_refused_as_an_annex_and_kept_as_an_attachment_when_asked(archive, tmp_path):
    docx = write(tmp_path / "annex.docx", b"PK\x03\x04 pretend docx")
    with pytest.raises(InvalidInput) as exc:
        _add(archive, docx)
    assert str(exc.value) == (f"{docx}: a ZIP file (a DOCX is one), not a PDF; only PDFs are archived as "
                              "signed annexes. To keep it with an archived annex, add it with "
                              "--attach-to RECORD")
    assert _nothing_stored(archive)

    annex = _add(archive, write(tmp_path / "a.pdf", sign(annex_pdf("nordic-webshop"))))
    attachment = _add(archive, docx, attach_to=str(annex.seq), note="Word copy")
    assert (attachment.kind, attachment.parent, attachment.body["file"]["media_type"]) == (
        "attachment", annex.seq,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert archive.attachments(annex.seq) == [attachment]


def test_an_attachment_must_belong_to_an_annex_of_the_same_customer(archive, tmp_path):
    annex = _add(archive, write(tmp_path / "a.pdf", sign(annex_pdf("nordic-webshop"))))
    docx = write(tmp_path / "x.docx", b"PK\x03\x04 other")
    with pytest.raises(InvalidInput, match="record 1 belongs to customer 'nordic-webshop', not 'esimerkki"):
        _add(archive, docx, customer="esimerkki-oy", attach_to="1")
    attachment = _add(archive, docx, attach_to=str(annex.seq))
    with pytest.raises(ArchiveError, match="record 2 is an attachment"):
        _add(archive, write(tmp_path / "y.txt", b"more"), attach_to=str(attachment.seq))
    with pytest.raises(UsageError, match="an attachment takes only --customer and --note"):
        _add(archive, write(tmp_path / "z.txt", b"z"), attach_to="1", signed_on=dt.date(2025, 1, 1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"customer": "Nordic Webshop"}, "customer ID 'Nordic Webshop' is not valid"),
        ({"signed_on": dt.date(2026, 11, 30)}, "signed-on date 2026-11-30 is in the future"),
        ({"document_id": "12345"}, "document ID '12345' is not valid; expected ANX-XXXX-XXXX-XXXX-XXXX"),
    ],
)
def test_bad_options_are_refused_before_reading(archive, tmp_path, options, message):
    with pytest.raises(UsageError, match=message):
        add_file(archive, AddRequest(**{"path": tmp_path / "missing.pdf", "customer": "acme", **options}),
                 today=TODAY)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "file is empty"),
        (b"%PDF-" + b"x" * 2000, "file is larger than the archive's limit of 1024 bytes"),
    ],
)
def test_unreadable_empty_and_huge_files_are_refused(archive, tmp_path, content, message):
    path = tmp_path / "in.pdf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput) as exc:
        add_file(archive, AddRequest(path=path, customer="acme"), today=TODAY, max_bytes=1024)
    assert str(exc.value) == f"{path}: {message}"
    assert _nothing_stored(archive)


def test_the_annex_as_generated_is_stored_only_as_an_unsigned_copy(archive, tmp_path):
    path = write(tmp_path / "as-generated.pdf", annex_pdf("nordic-webshop"))  # annex.json inside, no signature
    with pytest.raises(InvalidInput) as refused:
        _add(archive, path)
    (problem,) = refused.value.diagnostics
    assert problem.code == "archive.annex.unsigned" and "is not a signed copy" in problem.message
    assert _nothing_stored(archive)
    inspection = inspect_file(archive, AddRequest(path=path, customer="nordic-webshop"), today=TODAY)
    assert inspection.refusal is not None and inspection.refusal.diagnostics[0].code == "archive.annex.unsigned"
    record = _add(archive, path, unsigned_copy=True)
    assert record.signatures == [] and record.document_id == example_annex("nordic-webshop").document_id
    assert record.body["unsigned_copy"] is True
    scan = _add(archive, write(tmp_path / "scan.pdf", scan_pdf()), signed_on=dt.date(2026, 11, 1))  # no annex.json
    assert scan.seq == record.seq + 1 and scan.body["unsigned_copy"] is False  # a scan: no data inside to keep
