"""What a PDF says about itself: the embedded annex.json, and whether its signatures are intact.

The PDF is opened strictly (qpdf's repair is off), so a truncated or damaged file is refused
rather than silently patched up. Signatures are checked offline with pyHanko: the bytes each
signature covers still hash to the signed digest, the signature value matches the signer's
certificate, and nothing but further signatures or validation data was added after signing.
Certificate trust (a chain to a known CA, revocation) is not evaluated: that needs the network
and trust lists, and says who vouches for the signer, not whether the file is the one signed.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import pikepdf

from annex_gen.counts import Counted
from annex_gen.errors import ArchiveError, Diagnostic, InvalidInput
from annex_gen.model.annex import READABLE_SCHEMAS
from annex_gen.resolve import document_id

ANNEX_ATTACHMENT = "annex.json"
ANNEX_SCHEMA = READABLE_SCHEMAS[0]  # the oldest; signed copies of every version exist
ANNEX_SCHEMA_RE = re.compile(r"^annex-gen/annex/[1-9][0-9]*$")  # later versions add fields; all are read
# What a PDF may hold before it is refused unread: every figure is far above what a signed annex
# or a scan has, and bounds what reading a hostile file costs (see docs/operators/security.md).
MAX_ANNEX_JSON_BYTES = 8 * 1024 * 1024  # the embedded annex.json, decompressed
MAX_OBJECTS = 200_000  # objects in the cross-reference table
MAX_SIGNATURES = 50  # filled signature fields (an annex has two or three)
MAX_FORM_FIELDS = 10_000  # form fields walked while counting them
# Checking what changed after each signature costs about revisions x objects they change: a 3 MB
# file of 50 signed revisions of 1,000 objects each took 2 GiB and 2 minutes. An annex signed by
# both parties has a revision per signature, each a few objects.
MAX_REVISIONS = 12  # the original and its incremental updates
MAX_UPDATED_OBJECTS = 2_000  # objects written by the updates after the original, in all

# pyHanko logs every certificate it cannot chain to a trust root, with a traceback; we do not
# evaluate trust, so keep that out of the terminal (an application that configures logging
# still receives the records).
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class SignatureCheck:
    """The offline integrity check of one digital signature in a PDF."""

    field: str
    kind: str  # "signature" or "timestamp" (a document timestamp)
    signer: str | None
    certificate_sha256: str | None
    signing_time: str | None  # ISO 8601, as the signer's own clock reported it
    timestamp: str | None  # ISO 8601, from an embedded timestamp token, if any
    intact: bool  # the covered bytes still hash to the signed digest
    valid: bool  # the signature value matches the signer's certificate
    coverage: str | None  # "entire file", "entire revision", "part of a revision"
    changes_after: str | None  # pyHanko's modification level of later revisions
    problem: str | None  # why the signature is broken; None when it checks out
    trusted: bool | None = None  # the certificate chains to a configured trust root (None: none configured)

    @property
    def ok(self) -> bool:
        """Whether the signature checks out."""
        return self.problem is None

    @property
    def time(self) -> str | None:
        """The best signing time known: the timestamp token's, else the signer's own."""
        return self.timestamp or self.signing_time

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in the archive record."""
        out = {**asdict(self), "ok": self.ok}
        if self.trusted is None:  # no trust root configured: records stay as they were
            del out["trusted"]
        return out


@dataclass(frozen=True)
class PdfFacts:
    """What was read from a PDF: its embedded annex (if any) and its signature checks."""

    annex: dict[str, Any] | None
    signatures: tuple[SignatureCheck, ...]


def refuse(shown: str, message: str, key: str = "", *, code: str, params: dict[str, Any] | None = None
           ) -> InvalidInput:
    """The error for an input file that cannot be archived, as `file: [key:] message`; code names its web text."""
    return InvalidInput([Diagnostic(shown, None, None, key, message, code=code, params=params or {})])


def _qpdf_message(exc: Exception) -> str:
    """qpdf's message without the in-memory stream's repr, which means nothing to a user.

    qpdf writes `stream <_io.BytesIO object at 0x…> (offset 39378): xref not found`; this
    gives `xref not found (offset 39378)`.
    """
    text = re.sub(r"<_io\.\w+ object at 0x[0-9a-fA-F]+>", "", str(exc)).strip()
    text = re.sub(r"^stream\b\s*:?\s*", "", text)
    located = re.match(r"^\(([^)]*)\):\s*(.+)$", text, re.S)
    if located:
        text = f"{located.group(2).strip()} ({located.group(1)})"
    return text or type(exc).__name__


def open_pdf(data: bytes, shown: str) -> pikepdf.Pdf:
    """Open PDF bytes strictly; refuse non-PDF, truncated, damaged and encrypted files."""
    if b"%PDF-" not in data[:1024]:
        raise refuse(shown, "not a PDF file (no %PDF- header)", code="archive.not_pdf")
    if b"%%EOF" not in data[-1024:]:
        raise refuse(shown, "truncated PDF: no %%EOF marker at the end of the file", code="archive.truncated")
    try:
        pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise refuse(
            shown, "encrypted PDF (a password is needed to open it); archive the unencrypted original",
            code="archive.encrypted") from None
    except (pikepdf.PdfError, ValueError, RecursionError) as exc:
        raise refuse(shown, f"damaged PDF: {_qpdf_message(exc)}", code="archive.damaged") from None
    if pdf.is_encrypted:
        pdf.close()
        raise refuse(shown, "encrypted PDF; archive the unencrypted original, readable without a key",
                     code="archive.encrypted")
    return pdf


def read_annex_json(pdf: pikepdf.Pdf, shown: str) -> dict[str, Any] | None:
    """The embedded annex.json, checked against its own document ID; None when there is none."""
    try:
        spec = pdf.attachments.get(ANNEX_ATTACHMENT)
        if spec is None:
            return None
        raw = bounded_stream_bytes(spec.get_file().obj, MAX_ANNEX_JSON_BYTES, shown, ANNEX_ATTACHMENT)
    except (pikepdf.PdfError, KeyError, AttributeError, ValueError) as exc:
        message = f"embedded file cannot be read: {_qpdf_message(exc)}"
        raise refuse(shown, message, ANNEX_ATTACHMENT, code="archive.annex_json.invalid") from None
    try:
        annex = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(shown, f"embedded file is not UTF-8 JSON: {exc}", ANNEX_ATTACHMENT,
                     code="archive.annex_json.invalid") from None
    except RecursionError:  # the PDF itself is fine: its attachment is not an annex
        raise refuse(shown, "embedded file is JSON nested too deeply to be an annex", ANNEX_ATTACHMENT,
                     code="archive.annex_json.invalid") from None
    problem = annex_problem(annex)
    if problem:
        altered = problem.startswith("content does not match")
        raise refuse(shown, problem, ANNEX_ATTACHMENT,
                     code="archive.annex_json.altered" if altered else "archive.annex_json.invalid")
    return annex


def bounded_stream_bytes(stream: pikepdf.Stream, limit: int, shown: str, key: str) -> bytes:
    """A stream's decoded bytes, decompressed at most limit + 1 bytes far: a larger one is refused.

    The size a PDF declares for a stream is not trusted; only no filter or Flate (how every PDF
    writer stores an attachment) is read, so no other decoder ever runs on the data.
    """
    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    params = stream.get("/DecodeParms")
    if names not in ([], [pikepdf.Name.FlateDecode]) or (
            params is not None and not isinstance(params, pikepdf.Dictionary | pikepdf.Array)) or (
            isinstance(params, pikepdf.Dictionary) and int(params.get("/Predictor", 1)) > 1):
        shown_filters = " ".join(str(n) for n in names) or "none"
        raise refuse(shown, f"embedded file is encoded with {shown_filters} (predictors included); expected "
                            "Flate or no encoding", key, code="archive.annex_json.encoding")
    raw = stream.read_raw_bytes()
    if not names:
        data = raw
    else:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error as exc:
            raise refuse(shown, f"embedded file is damaged: {exc}", key, code="archive.annex_json.invalid") from None
    if len(data) > limit:
        raise refuse(shown, f"embedded file is larger than {limit // 2**20} MiB when decompressed (the PDF "
                            f"declares {stream.get('/Length')} bytes compressed); refused unread", key,
                    code="archive.annex_json.too_large", params={"limit_bytes": limit})
    return data


def annex_problem(annex: Any) -> str | None:
    """Why a parsed annex.json is not one of ours (or was edited), or None."""
    if not isinstance(annex, dict):
        return "expected a JSON object"
    if not isinstance(annex.get("schema"), str) or not ANNEX_SCHEMA_RE.match(annex["schema"]):
        return f"unsupported schema {annex.get('schema')!r}; expected {ANNEX_SCHEMA!r} or a later version"
    customer = annex.get("customer")
    if not isinstance(customer, dict) or not isinstance(customer.get("id"), str):
        return "customer.id is missing"
    for key in ("document_id", "registry_version"):
        if not isinstance(annex.get(key), str):
            return f"{key} is missing"
    for key in ("subprocessors", "sections"):
        items = annex.get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str)
                                                   for i in items):
            return f"{key} is not a list of objects with an id"
    # The document ID is a hash of the content: a mismatch means the JSON was edited.
    expected = document_id(annex)
    if annex["document_id"] != expected:
        return (f"content does not match its document ID {annex['document_id']} (it hashes to {expected}); "
                "the embedded data was altered")
    return None


def signature_value_count(pdf: pikepdf.Pdf, shown: str) -> int:
    """How many filled signature fields the PDF's form holds (0 for most scans); refuse an implausible form.

    At most MAX_FORM_FIELDS fields are walked and MAX_SIGNATURES signatures accepted, so a form
    built to exhaust the signature checker is refused before it runs.
    """
    acroform = pdf.Root.get("/AcroForm")
    if not isinstance(acroform, pikepdf.Dictionary):
        return 0
    fields = acroform.get("/Fields")
    stack = list(fields) if isinstance(fields, pikepdf.Array) else []
    seen: set[tuple[int, int]] = set()
    count = walked = 0
    while stack:
        field = stack.pop()
        walked += 1
        if walked > MAX_FORM_FIELDS or len(stack) > MAX_FORM_FIELDS:
            raise refuse(shown, f"the PDF's form has more than {MAX_FORM_FIELDS} fields; refused unread "
                                "(a signed annex has a few)",
                    code="archive.pdf.too_many_fields", params={"limit": MAX_FORM_FIELDS})
        if not isinstance(field, pikepdf.Dictionary):
            continue
        if field.is_indirect:
            if field.objgen in seen:
                continue
            seen.add(field.objgen)
        value = field.get("/V")
        if isinstance(value, pikepdf.Dictionary) and "/ByteRange" in value:
            count += 1
            if count > MAX_SIGNATURES:
                raise refuse(shown, f"the PDF has more than {MAX_SIGNATURES} filled signature fields; refused "
                                    "unchecked (a signed annex has two or three)",
                    code="archive.pdf.too_many_signatures", params={"limit": MAX_SIGNATURES})
        kids = field.get("/Kids")
        if isinstance(kids, pikepdf.Array):
            stack.extend(kids)
    return count


def check_object_count(pdf: pikepdf.Pdf, shown: str) -> None:
    """Refuse a PDF whose cross-reference table declares more objects than any annex or scan has."""
    size = pdf.trailer.get("/Size")
    if not isinstance(size, int) or size > MAX_OBJECTS:
        raise refuse(shown, f"the PDF has more than {MAX_OBJECTS} objects; refused unread",
                    code="archive.pdf.too_many_objects", params={"limit": MAX_OBJECTS})


def check_revisions(data: bytes, shown: str) -> None:
    """Refuse a signed PDF with more saved revisions, or objects changed by them, than a signed annex has:
    checking the changes after each signature would cost minutes and gigabytes."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        xrefs = PdfFileReader(io.BytesIO(data)).xrefs
    except Exception:  # noqa: BLE001 - unreadable here: the signature check reports it as broken
        return
    if xrefs.total_revisions > MAX_REVISIONS:
        raise refuse(shown, f"the PDF was saved {xrefs.total_revisions} times over (revisions), more than "
                            f"{MAX_REVISIONS}; refused unchecked (a signed annex has one per signature)",
                     code="archive.pdf.too_many_revisions",
                     params={"count": xrefs.total_revisions, "limit": MAX_REVISIONS})
    updated = sum(len(list(xrefs.explicit_refs_in_revision(r))) for r in range(1, xrefs.total_revisions))
    if updated > MAX_UPDATED_OBJECTS:
        raise refuse(shown, f"the PDF's later revisions change {updated} objects, more than {MAX_UPDATED_OBJECTS}; "
                            "refused unchecked (a signature changes a few)",
                     code="archive.pdf.too_many_updates", params={"count": updated, "limit": MAX_UPDATED_OBJECTS})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _broken(field: str, message: str) -> SignatureCheck:
    return SignatureCheck(field, "signature", None, None, None, None, False, False, None, None, message)


def _signer(cert: Any) -> tuple[str | None, str | None]:
    if cert is None:
        return None, None
    names = cert.subject.native
    name = names.get("common_name") or names.get("organization_name") or cert.subject.human_friendly
    return str(name), cert.sha256.hex()


_CHANGES = {
    "FORM_FILLING": "form fields filled",
    "ANNOTATIONS": "annotations added",
    "OTHER": "content changed",
}


# The beginnings of _problem's messages (stored in records) and their codes for the web's catalogs.
_SIGNATURE_PROBLEMS = (
    ("the signed bytes were altered", "signature.altered"),
    ("the signature value does not match", "signature.invalid"),
    ("the signature does not cover", "signature.partial"),
    ("the file was changed after signing in a way", "signature.forbidden_change"),
    ("the file was changed after signing", "signature.changed"),
)


def signature_problem_code(problem: str) -> str:
    """The message code of a signature problem as _problem writes it ('' for another text)."""
    return next((code for start, code in _SIGNATURE_PROBLEMS if problem.startswith(start)), "")


def _problem(status: Any, later_signature_covers_file: bool) -> str | None:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if not status.intact:
        return "the signed bytes were altered after signing (digest mismatch)"
    if not status.valid:
        return "the signature value does not match the signer's certificate"
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return None
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return "the signature does not cover a whole revision of the file"
    level = status.modification_level
    allowed = level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES) or (
        # a co-signer's signature, itself covering the rest of the file
        level == ModificationLevel.FORM_FILLING and later_signature_covers_file
    )
    if allowed:
        if status.docmdp_ok is False:
            return "the file was changed after signing in a way its certifying signature forbids"
        return None
    changed = _CHANGES.get(level.name if level is not None else "", "unexplained changes")
    return f"the file was changed after signing ({changed} in a later, unsigned revision)"


TRUST_ROOTS_ENV = "ANNEX_GEN_TRUST_ROOTS"


def trust_roots() -> list[Any] | None:
    """The certificates in the PEM file $ANNEX_GEN_TRUST_ROOTS, or None when none is configured.

    With trust roots, a signature whose certificate chains to one of them (checked offline, no
    revocation fetched) is shown as validated; without, a signature says only that the file is unchanged.
    """
    import os

    path = os.environ.get(TRUST_ROOTS_ENV)
    if not path:
        return None
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    try:
        data = open(path, "rb").read()  # noqa: SIM115, PTH123 - a small file read once per check
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read the trust roots ({TRUST_ROOTS_ENV}): {exc.strerror}") from None
    certs = [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)] \
        if pem.detect(data) else []
    if not certs:
        raise ArchiveError(f"{path}: no PEM certificate in the trust roots file ({TRUST_ROOTS_ENV})")
    return certs


def check_signatures(data: bytes, expected: int) -> tuple[SignatureCheck, ...]:
    """Check every signature offline; a signature that cannot be checked counts as broken."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        embedded = PdfFileReader(io.BytesIO(data)).embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any parse failure means the signatures cannot be checked
        return (_broken("?", f"the signatures cannot be read: {exc}"),)
    statuses: list[tuple[Any, Any]] = []
    roots = trust_roots()
    for sig in embedded:
        context = ValidationContext(trust_roots=roots or [], allow_fetching=False)
        try:
            if sig.sig_object_type == "/DocTimeStamp":
                status = validate_pdf_timestamp(sig, validation_context=context)
            else:
                status = validate_pdf_signature(sig, context)
        except Exception as exc:  # noqa: BLE001 - a malformed signature is a broken one
            status = exc
        statuses.append((sig, status))
    checks: list[SignatureCheck] = []
    for i, (sig, status) in enumerate(statuses):
        field = str(sig.field_name)
        if isinstance(status, Exception):
            checks.append(_broken(field, f"the signature cannot be checked: {status}"))
            continue
        later_covers_file = any(
            not isinstance(s, Exception) and s.intact and s.valid
            and s.coverage == SignatureCoverageLevel.ENTIRE_FILE
            for _, s in statuses[i + 1:]
        )
        is_timestamp = sig.sig_object_type == "/DocTimeStamp"
        signer, fingerprint = _signer(getattr(status, "signing_cert", None))
        token = getattr(status, "timestamp_validity", None)
        checks.append(SignatureCheck(
            field=field,
            kind="timestamp" if is_timestamp else "signature",
            signer=signer,
            certificate_sha256=fingerprint,
            signing_time=None if is_timestamp else _iso(getattr(status, "signer_reported_dt", None)),
            timestamp=_iso(status.timestamp) if is_timestamp else _iso(getattr(token, "timestamp", None)),
            intact=bool(status.intact),
            valid=bool(status.valid),
            coverage=status.coverage.name.lower().replace("_", " ") if status.coverage is not None else None,
            changes_after=(status.modification_level.name.lower()
                           if status.modification_level is not None else None),
            problem=_problem(status, later_covers_file),
            trusted=bool(getattr(status, "trusted", False)) if roots else None,
        ))
    if len(embedded) < expected:
        missing = expected - len(embedded)
        checks.append(_broken("?", f"{Counted(missing):signature|signatures} in a format that cannot be checked"))
    return tuple(checks)


def read_pdf(data: bytes, shown: str) -> PdfFacts:
    """Open a PDF strictly, read its embedded annex.json and check its digital signatures.

    Every size that decides what reading costs is checked against a limit before the part is
    read; should a library still run out of memory, the file is refused like any other.
    """
    try:
        pdf = open_pdf(data, shown)
        try:
            try:
                check_object_count(pdf, shown)
                annex = read_annex_json(pdf, shown)
                signed = signature_value_count(pdf, shown)
            except (pikepdf.PdfError, RecursionError) as exc:
                raise refuse(shown, f"damaged PDF: {_qpdf_message(exc)}", code="archive.damaged") from None
        finally:
            pdf.close()
        if signed:
            check_revisions(data, shown)
        signatures = check_signatures(data, signed) if signed else ()
    except MemoryError:
        raise refuse(shown, "reading this PDF needs more memory than is available; refused (a file built to "
                            "exhaust memory?)", code="archive.pdf.memory") from None
    return PdfFacts(annex=annex, signatures=signatures)
