"""Helpers for the archive tests: real annex-gen PDFs, a throwaway signing key, tampering.

PDFs are rendered once per test process (WeasyPrint takes about a second each) and signed
with a self-signed certificate made here; nothing is read from or written to the repository.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pikepdf

from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.model import Annex, Registry
from annex_gen.resolve import document_id, resolve
from conftest import EXAMPLES_DIR, REGISTRY_DIR


@lru_cache(maxsize=1)
def project_registry() -> Registry:
    """The project's registry as an approved release, loaded once per process: the archive keeps signed
    final annexes (a draft is archived only as a signed draft; tests make one with draft_registry())."""
    return replace(load_registry(REGISTRY_DIR), status="final")


def draft_registry() -> Registry:
    """The project's registry as it is until legal approves it: its annexes are drafts."""
    return replace(project_registry(), status="draft")


def example_annex(name: str, *, draft: bool = False, **contract_changes: Any) -> Annex:
    """The resolved annex of examples/<name>.yaml (final, or a draft), with fields of the contract replaced."""
    registry = draft_registry() if draft else project_registry()
    contract, _ = load_contract(registry, EXAMPLES_DIR / f"{name}.yaml")
    if "options" in contract_changes:
        contract_changes["options"] = {**contract.options, **contract_changes["options"]}
    return resolve(registry, replace(contract, **contract_changes))


@cache
def _rendered(name: str, options: tuple[tuple[str, bool], ...]) -> bytes:
    from annex_gen.render import render

    return render(example_annex(name, **({"options": dict(options)} if options else {})), "pdf")


def annex_pdf(name: str, **options: bool) -> bytes:
    """A PDF of examples/<name>.yaml rendered by annex-gen (annex.json embedded), cached."""
    return _rendered(name, tuple(sorted(options.items())))


def pdf_with_annex_json(content: dict[str, Any]) -> bytes:
    """A one-page PDF embedding content as annex.json (for contents no contract resolves to)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    raw = json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")
    pdf.attachments["annex.json"] = pikepdf.AttachedFileSpec(pdf, raw, mime_type="application/json")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def with_document_id(content: dict[str, Any]) -> dict[str, Any]:
    """content with its document_id recomputed, as resolve() would."""
    return {**content, "document_id": document_id(content)}


def scan_pdf(pages: int = 1, marker: str = "scan") -> bytes:
    """A PDF like a scanner's: pages and no embedded annex.json (marker makes the bytes unique)."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    pdf.docinfo["/Title"] = marker
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@cache
def _signer(name: str):
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=None,
    )


def sign(data: bytes, *, signer: str = "Test Signer", field: str = "Signature1") -> bytes:
    """data signed (as an incremental update) with a throwaway self-signed certificate."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)),
                     signers.PdfSignatureMetadata(field_name=field), signer=_signer(signer), output=out)
    return out.getvalue()


def signed_revisions(count: int, objects: int = 0) -> bytes:
    """A scan signed count times over, each signature an incremental update; with objects, the first update
    also writes that many new objects (what checking the changes after a signature must compare)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    data = scan_pdf(marker="revisions")
    for i in range(count):
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        if objects and i == 0:
            junk = generic.ArrayObject([writer.add_object(generic.DictionaryObject(
                {generic.NameObject("/X"): generic.NumberObject(j)})) for j in range(objects)])
            writer.root[generic.NameObject("/Junk")] = writer.add_object(junk)
            writer.update_root()
        out = io.BytesIO()
        signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=f"Signature{i + 1}"),
                         signer=_signer("Test Signer"), output=out)
        data = out.getvalue()
    return data


def flip_signed_byte(data: bytes) -> bytes:
    """A copy with one bit flipped in the binary comment after the header: a PDF still, not as signed."""
    assert data[9:10] == b"%", "expected a binary comment on the PDF's second line"
    out = bytearray(data)
    out[10] ^= 0x01
    return bytes(out)


def update_after_signing(data: bytes) -> bytes:
    """An incremental update appended after the signature: page 1 rotated, unsigned."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    """Write bytes to path (parents created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# Hostile PDFs: small files that cost a careless reader far more memory than their size.


def annex_json_bomb(decompressed: int = 1024 * 2**20) -> bytes:
    """A PDF whose embedded annex.json is a Flate stream of `decompressed` spaces (about 1 MB per GiB),
    declaring a size of 2 bytes: a reader that trusts the declared size inflates it whole."""
    import zlib

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["annex.json"] = pikepdf.AttachedFileSpec(pdf, b"{}", mime_type="application/json")
    stream = pdf.attachments["annex.json"].obj.EF.F
    packer = zlib.compressobj(9)
    chunk = b" " * 2**20
    parts = [packer.compress(chunk) for _ in range(decompressed // len(chunk))]
    stream.write(b"".join(parts) + packer.flush(), filter=pikepdf.Name.FlateDecode)
    stream.Params = pikepdf.Dictionary(Size=2)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def many_signature_fields(count: int) -> bytes:
    """A PDF whose form holds count filled signature fields, each holding a copy of a real signature
    (a few KB) that covers nothing of this file: what a signature checker must not read all of."""
    with pikepdf.open(io.BytesIO(sign(scan_pdf(marker="signature to copy")))) as signed:
        contents = bytes(signed.Root.AcroForm.Fields[0].V.Contents)
    pdf = pikepdf.new()
    pdf.add_blank_page()
    fields = pikepdf.Array()
    values = []
    for i in range(count):
        value = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"),
            SubFilter=pikepdf.Name("/adbe.pkcs7.detached"), ByteRange=pikepdf.Array([0, 0, 0, 0]),
            Contents=pikepdf.String(contents)))
        values.append(value)
        fields.append(pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String(f"Sig{i}"),
                                                           V=value)))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=fields, SigFlags=3)

    def saved(length: int) -> bytes:
        for value in values:  # each signature claims to cover the whole file
            value.ByteRange = pikepdf.Array([0, length, length, 0])
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()

    guess = len(saved(10**9))
    for _ in range(3):  # the length's digits change the length
        data = saved(guess)
        if len(data) == guess:
            break
        guess = len(data)
    return data


def approve_release(registry_dir: Path, archive: str | Path, *, by: str = "Test Legal",
                    effective: dt.date | None = None) -> None:
    """Legal's approval of a registry's content in an archive, so what is made from it is final (the library's
    own record; `release approve` and its checks, which always set the effective date, are tested in
    test_signoff_cli.py). Without `effective` the approval sets no date: the registry's own applies."""
    from annex_gen import app
    from annex_gen.signoff.releases import record_approval

    with app.open_archive(archive, create=True) as opened:
        record_approval(opened, registry_dir, app.load_registry(registry_dir), by=by,
                        on=dt.date(2026, 12, 1), effective=effective)
