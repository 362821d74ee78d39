"""Adding a file to the archive: read it, check it against what the user says, then store it.

Everything is checked before anything is written: a refused file leaves the archive as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annex_gen.archive.chain import VerifyReport
from annex_gen.archive.pdfinfo import PdfFacts, SignatureCheck, read_pdf, refuse
from annex_gen.archive.store import Archive, ArchiveError, Record
from annex_gen.errors import AnnexGenError, InvalidInput, UsageError
from annex_gen.inputs.schema import ID_RE

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_NOTE_CHARS = 2000
DOCUMENT_ID_RE = re.compile(r"^ANX-[0-9A-F]{4}(?:-[0-9A-F]{4}){3}$")
PDF_MEDIA_TYPE = "application/pdf"

_MAGIC = (
    (b"PK\x03\x04", "a ZIP file (a DOCX is one)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


@dataclass(frozen=True)
class AddRequest:
    """What the user asked `archive add` to do."""

    path: Path
    customer: str
    signed_on: dt.date | None = None
    note: str | None = None
    document_id: str | None = None
    accept_invalid_signature: bool = False
    attach_to: str | None = None
    signed_draft: bool = False  # legal states the customer signed a draft (not for signature): recorded as such
    unsigned_copy: bool = False  # legal keeps the annex as annex-gen wrote it, unsigned: not a signed copy


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n} bytes"


def read_input(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes; refuse a missing, special or oversized file without reading it all."""
    shown = str(path)
    try:
        if not path.exists():
            raise refuse(shown, "no such file", code="archive.file.missing")
        if not path.is_file():
            raise refuse(shown, "is a directory, expected a file" if path.is_dir() else "not a regular file",
                         code="archive.file.not_file")
        if path.stat().st_size > max_bytes:
            raise refuse(shown, f"file is larger than the archive's limit of {_size(max_bytes)}",
                         code="archive.file.too_large", params={"limit_bytes": max_bytes})
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise refuse(shown, f"cannot read: {exc.strerror}", code="archive.file.unreadable") from None
    if len(data) > max_bytes:  # it grew while we looked
        raise refuse(shown, f"file is larger than the archive's limit of {_size(max_bytes)}",
                         code="archive.file.too_large", params={"limit_bytes": max_bytes})
    if not data:
        raise refuse(shown, "file is empty", code="archive.file.empty")
    return data


def describe_format(data: bytes) -> str:
    """A guess at what a non-PDF file is, for error messages."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return "a file of an unrecognised format"


def _check_options(request: AddRequest, today: dt.date) -> None:
    if not ID_RE.match(request.customer):
        raise UsageError(f"customer ID {request.customer!r} is not valid: lower-case letters, digits and "
                         "hyphens, starting and ending with a letter or digit",
                         code="archive.customer_id.invalid", params={"value": request.customer})
    if request.signed_on and request.signed_on > today:
        raise UsageError(f"signed-on date {request.signed_on} is in the future", code="archive.signed_on.future",
                         params={"date": request.signed_on})
    if request.note is not None and len(request.note) > MAX_NOTE_CHARS:
        raise UsageError(f"the note is longer than {MAX_NOTE_CHARS} characters", code="archive.note.too_long",
                         params={"max": MAX_NOTE_CHARS})
    if request.document_id is not None and not DOCUMENT_ID_RE.match(request.document_id):
        raise UsageError(f"document ID {request.document_id!r} is not valid; "
                         "expected ANX-XXXX-XXXX-XXXX-XXXX (as printed on the annex)",
                         code="archive.document_id.invalid", params={"value": request.document_id})


def add_file(archive: Archive, request: AddRequest, *, today: dt.date | None = None,
             max_bytes: int = MAX_FILE_BYTES, before_commit: Callable[[Record], None] | None = None) -> Record:
    """Check a file against the request and append it to the archive; return its record.

    before_commit(record) runs last before the record commits (see Archive.append).
    """
    request = _normalised(request)
    today = today or dt.date.today()
    _check_options(request, today)
    data = read_input(request.path, max_bytes)
    if request.attach_to is not None:
        return _add_attachment(archive, request, data, before_commit)
    shown = str(request.path)
    fields = _annex_record(request, _read_annex_pdf(data, shown), shown, today)
    return archive.append(fields, data, name=request.path.name, media_type=PDF_MEDIA_TYPE, shown=shown,
                          check=_document_owner_check(fields["document_id"], request.customer, shown),
                          before_commit=before_commit)


def _read_annex_pdf(data: bytes, shown: str) -> PdfFacts:
    if b"%PDF-" not in data[:1024]:
        raise refuse(shown, f"{describe_format(data)}, not a PDF; only PDFs are archived as signed annexes. "
                             "To keep it with an archived annex, add it with --attach-to RECORD",
                     code="archive.not_pdf")
    return read_pdf(data, shown)


def _annex_record(request: AddRequest, facts: PdfFacts, shown: str, today: dt.date) -> dict[str, Any]:
    fields = _annex_fields(request, facts, shown)
    if facts.annex is not None and not facts.signatures and not request.unsigned_copy:
        raise refuse(shown, "the annex as generated, without a digital signature, is not a signed copy: archive "
                             "the one the customer signed (digitally, or a scan of the signed paper), or keep "
                             "this one recorded as unsigned (--unsigned-copy; in the web application, the box "
                             "that says so)", code="archive.annex.unsigned",
                     params={"document": facts.annex["document_id"]})
    fields["unsigned_copy"] = facts.annex is not None and not facts.signatures  # kept unsigned, as legal said
    fields.update(_signature_fields(request, facts.signatures, shown, today))
    return fields


@dataclass(frozen=True)
class Inspection:
    """What the archive reads from a file and would record, or why it would refuse it; nothing stored."""

    sha256: str | None
    size: int
    facts: PdfFacts | None  # None when the file could not be read as a PDF
    fields: dict[str, Any] | None  # the record add_file would store (without seq, prev, file)
    refusal: AnnexGenError | None

    @property
    def acceptable(self) -> bool:
        """Whether add_file would store the file as it stands."""
        return self.refusal is None


def inspect_file(archive: Archive, request: AddRequest, *, today: dt.date | None = None,
                 max_bytes: int = MAX_FILE_BYTES) -> Inspection:
    """Everything add_file checks for an annex PDF, without storing: the read-back shown before archiving."""
    request = _normalised(request)
    today = today or dt.date.today()
    shown = str(request.path)
    sha256, size, facts = None, 0, None
    try:
        _check_options(request, today)
        data = read_input(request.path, max_bytes)
        sha256, size = hashlib.sha256(data).hexdigest(), len(data)
        facts = _read_annex_pdf(data, shown)
        fields = _annex_record(request, facts, shown, today)
        _document_owner_check(fields["document_id"], request.customer, shown)(archive)
        archive._refuse_duplicate(sha256, shown)  # the checks append makes
    except AnnexGenError as exc:
        return Inspection(sha256, size, facts, None, exc)
    return Inspection(sha256, size, facts, fields, None)


def _document_owner_check(document_id: str | None, customer: str, shown: str) -> Callable[[Archive], None]:
    """A check that no other customer's annex has this document ID (run again under the write lock)."""

    def check(archive: Archive) -> None:
        if not document_id:
            return
        for other in archive.with_document(document_id):
            if other.customer_id != customer:
                raise refuse(shown, f"document {document_id} is archived for customer {other.customer_id!r} "
                                     f"(record {other.seq}), not {customer!r}", code="archive.document.other_customer",
                             params={"document": document_id, "customer": other.customer_id, "seq": other.seq})

    return check


def _normalised(request: AddRequest) -> AddRequest:
    note = (request.note.strip() or None) if request.note is not None else None
    document_id = request.document_id.strip().upper() if request.document_id else None
    return replace(request, note=note, document_id=document_id, customer=request.customer.strip())


def _annex_fields(request: AddRequest, facts: PdfFacts, shown: str) -> dict[str, Any]:
    """Document ID, registry version and annex content, cross-checked with the request."""
    annex = facts.annex
    if annex is not None:
        embedded_customer = annex["customer"]["id"]
        if embedded_customer != request.customer:
            raise refuse(shown, f"this annex is for customer {embedded_customer!r} "
                                 f"({annex['customer'].get('name')}), not {request.customer!r}", "annex.json",
                         code="archive.annex.other_customer",
                         params={"customer": embedded_customer, "name": annex["customer"].get("name") or "",
                                 "chosen": request.customer})
        if request.document_id and request.document_id != annex["document_id"]:
            raise refuse(shown, f"the embedded document ID is {annex['document_id']}, "
                                 f"not {request.document_id}", "annex.json", code="archive.annex.other_document",
                         params={"document": annex["document_id"], "given": request.document_id})
        document_id, link = annex["document_id"], "embedded"
        draft = annex.get("status") == "draft"
        if draft and not request.signed_draft:
            raise refuse(shown, f"annex {document_id} is a DRAFT, not for signature: it was made from registry "
                                 "content legal has not approved. If the customer signed this draft, archive it "
                                 "recorded as a signed draft (--signed-draft; in the web application, the box "
                                 "that names the draft)", "annex.json",
                         code="archive.annex.draft", params={"document": document_id})
        if request.signed_draft and not draft:
            raise refuse(shown, f"--signed-draft was given, but annex {document_id} is final, not a draft",
                         "annex.json", code="archive.annex.not_draft", params={"document": document_id})
    elif request.document_id:
        document_id, link = request.document_id, "given"
    else:
        document_id, link = None, "unlinked"
    return {
        "kind": "annex",
        "customer_id": request.customer,
        "parent": None,
        "note": request.note,
        "document_id": document_id,
        "link": link,
        "registry_version": annex["registry_version"] if annex else None,
        "annex": annex,
        "signed_draft": bool(annex and annex.get("status") == "draft"),
    }


def _signature_fields(request: AddRequest, signatures: tuple[SignatureCheck, ...], shown: str,
                      today: dt.date) -> dict[str, Any]:
    """The signature checks and the signing date; refuse a broken signature unless accepted."""
    broken = [s for s in signatures if not s.ok]
    if broken and not request.accept_invalid_signature:
        lines = "; ".join(f"signature {s.field}{f' by {s.signer}' if s.signer else ''}: {s.problem}"
                          for s in broken)
        raise refuse(shown, f"{lines}. Nothing was archived; give --accept-invalid-signature to archive it "
                             "anyway, recorded as invalid", code="archive.signature.broken",
                     params={"signers": [s.signer or s.field for s in broken]})
    if request.signed_on:
        signed_on, source = request.signed_on, "given"
    else:
        times = [s.time for s in signatures if s.kind == "signature" and s.ok and s.time]
        times = times or [s.time for s in signatures if s.kind == "signature" and s.time]
        if times:
            latest = max(dt.datetime.fromisoformat(t).astimezone(dt.UTC) for t in times)
            signed_on, source = latest.date(), "signature"
        else:
            signed_on, source = today, "archived"
    return {
        "signatures": [s.to_dict() for s in signatures],
        "accepted_invalid_signature": bool(broken),
        "signed_on": signed_on.isoformat(),
        "signed_on_from": source,
    }


def _add_attachment(archive: Archive, request: AddRequest, data: bytes,
                    before_commit: Callable[[Record], None] | None) -> Record:
    shown = str(request.path)
    assert request.attach_to is not None
    parent = archive.get(request.attach_to)
    if parent.kind != "annex":
        raise ArchiveError(f"record {parent.seq} is an attachment; attach files to an annex record")
    if parent.customer_id != request.customer:
        raise refuse(shown, f"record {parent.seq} belongs to customer {parent.customer_id!r}, "
                             f"not {request.customer!r}", code="archive.attachment.other_customer",
                     params={"seq": parent.seq, "customer": parent.customer_id})
    if request.document_id or request.signed_on or request.accept_invalid_signature:
        raise UsageError("an attachment takes only --customer and --note; the document ID, signing date and "
                         f"signatures are those of record {parent.seq}")
    media_type = PDF_MEDIA_TYPE if data.startswith(b"%PDF-") else (
        mimetypes.guess_type(request.path.name)[0] or "application/octet-stream")
    fields = {
        "kind": "attachment",
        "customer_id": request.customer,
        "parent": parent.seq,
        "note": request.note,
        "document_id": None,
        "signed_on": None,
    }
    return archive.append(fields, data, name=request.path.name, media_type=media_type, shown=shown,
                          before_commit=before_commit)


def recheck(archive: Archive, report: VerifyReport) -> None:
    """Read every archived annex PDF again and report a record that says what `archive add` would not have.

    The chain proves records were not changed after they were appended; this catches a record
    appended behind the tool's back (a forged record), whose hashes can be made to fit.
    """
    for record in archive.records():
        if record.kind != "annex" or record.body.get("file", {}).get("media_type") != PDF_MEDIA_TYPE:
            continue
        where = f"{archive.index.location}: record {record.seq}"
        forged = "; the record was not made by `archive add` from this file"
        try:
            data = archive.read_file(record)
        except ArchiveError:
            continue  # reported by verify already
        try:
            facts = read_pdf(data, record.file_name)
        except InvalidInput as exc:
            report.add(where, f"its file is not a PDF `archive add` accepts ({exc}){forged}")
            continue
        body = record.body
        if facts.annex != body.get("annex"):
            report.add(where, f"its annex data is not the file's embedded annex.json{forged}")
        elif facts.annex is not None and (facts.annex["customer"]["id"] != record.customer_id
                                          or facts.annex["document_id"] != record.document_id):
            report.add(where, f"its customer or document ID is not the file's{forged}")
        said = [(s.get("field"), bool(s.get("ok"))) for s in record.signatures]
        found = [(s.field, s.ok) for s in facts.signatures]
        if said != found:
            shown = ", ".join(f"{f} {'intact' if ok else 'BROKEN'}" for f, ok in found) or "none"
            report.add(where, f"its signature checks are not the file's (the file's: {shown}){forged}")
        elif facts.annex is not None and facts.annex.get("status") == "draft" and not body.get("signed_draft"):
            report.add(where, f"a draft recorded as a signed final annex (without --signed-draft){forged}")
        elif any(not ok for _, ok in found) and not body.get("accepted_invalid_signature"):
            report.add(where, f"a broken signature recorded without --accept-invalid-signature{forged}")
