"""Reading what a PDF says about itself: the embedded annex.json and its signatures."""

from __future__ import annotations

import io
import json

import pikepdf
import pytest

from annex_gen.archive.pdfinfo import read_pdf
from annex_gen.errors import InvalidInput
from archive_support import (
    annex_pdf,
    example_annex,
    flip_signed_byte,
    pdf_with_annex_json,
    scan_pdf,
    sign,
    update_after_signing,
    with_document_id,
)


def _message(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return str(exc.value)


def test_a_generated_annex_carries_its_annex_json_and_no_signature():
    facts = read_pdf(annex_pdf("nordic-webshop"), "a.pdf")
    expected = example_annex("nordic-webshop").to_dict()
    assert facts.annex == json.loads(json.dumps(expected))
    assert facts.signatures == ()


def test_a_signed_annex_checks_out():
    facts = read_pdf(sign(annex_pdf("nordic-webshop"), signer="Maija Meikäläinen"), "signed.pdf")
    assert facts.annex is not None and facts.annex["customer"]["id"] == "nordic-webshop"
    (sig,) = facts.signatures
    assert sig.ok and sig.intact and sig.valid
    assert (sig.field, sig.kind, sig.signer, sig.coverage) == ("Signature1", "signature", "Maija Meikäläinen",
                                                               "entire file")
    assert sig.signing_time and sig.time == sig.signing_time
    assert len(sig.certificate_sha256 or "") == 64


def test_a_flipped_byte_breaks_the_signature():
    facts = read_pdf(flip_signed_byte(sign(annex_pdf("nordic-webshop"))), "flipped.pdf")
    (sig,) = facts.signatures
    assert not sig.ok and not sig.intact
    assert sig.problem == "the signed bytes were altered after signing (digest mismatch)"


def test_an_unsigned_update_after_signing_breaks_the_signature():
    facts = read_pdf(update_after_signing(sign(annex_pdf("nordic-webshop"))), "updated.pdf")
    (sig,) = facts.signatures
    assert sig.intact and sig.valid and not sig.ok
    assert sig.coverage == "entire revision"
    assert sig.problem == "the file was changed after signing (content changed in a later, unsigned revision)"


def test_a_co_signed_annex_checks_out_for_both_signers():
    customer_signed = sign(annex_pdf("nordic-webshop"), signer="Customer CEO")
    data = sign(customer_signed, signer="Our CEO", field="Signature2")
    first, second = read_pdf(data, "cosigned.pdf").signatures
    assert (first.signer, first.coverage, first.ok) == ("Customer CEO", "entire revision", True)
    assert (second.signer, second.coverage, second.ok) == ("Our CEO", "entire file", True)


def test_a_scan_has_neither_annex_json_nor_signatures():
    facts = read_pdf(scan_pdf(), "scan.pdf")
    assert facts.annex is None and facts.signatures == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 a docx", "x.pdf: not a PDF file (no %PDF- header)"),
        (b"", "x.pdf: not a PDF file (no %PDF- header)"),
    ],
)
def test_non_pdf_bytes_are_refused(data, message):
    with pytest.raises(InvalidInput) as exc:
        read_pdf(data, "x.pdf")
    assert _message(exc) == message


def test_a_truncated_pdf_is_refused():
    data = annex_pdf("nordic-webshop")
    with pytest.raises(InvalidInput) as exc:
        read_pdf(data[: len(data) // 2], "cut.pdf")
    assert _message(exc) == "cut.pdf: truncated PDF: no %%EOF marker at the end of the file"


def test_a_pdf_missing_its_middle_is_refused_not_repaired():
    data = annex_pdf("nordic-webshop")
    with pytest.raises(InvalidInput) as exc:
        read_pdf(data[:2000] + data[-300:], "holed.pdf")
    assert _message(exc).startswith("holed.pdf: damaged PDF: ")


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_an_encrypted_pdf_is_refused(user_password):
    pdf = pikepdf.open(io.BytesIO(annex_pdf("nordic-webshop")))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user=user_password))
    with pytest.raises(InvalidInput) as exc:
        read_pdf(out.getvalue(), "locked.pdf")
    assert _message(exc).startswith("locked.pdf: encrypted PDF")


def test_an_edited_annex_json_is_refused():
    content = example_annex("nordic-webshop").to_dict()
    content["subprocessors"] = content["subprocessors"][1:]
    with pytest.raises(InvalidInput) as exc:
        read_pdf(pdf_with_annex_json(content), "edited.pdf")
    assert _message(exc).startswith(
        "edited.pdf: annex.json: content does not match its document ID "
        f"{content['document_id']} (it hashes to ANX-")
    assert _message(exc).endswith("the embedded data was altered")


def test_an_annex_json_of_another_schema_is_refused():
    content = with_document_id({**example_annex("nordic-webshop").to_dict(), "schema": "someone-else/2"})
    with pytest.raises(InvalidInput) as exc:
        read_pdf(pdf_with_annex_json(content), "other.pdf")
    assert _message(exc) == ("other.pdf: annex.json: unsupported schema 'someone-else/2'; "
                             "expected 'annex-gen/annex/1' or a later version")


def test_an_annex_json_of_a_later_schema_version_is_read():
    content = with_document_id({**example_annex("nordic-webshop").to_dict(), "schema": "annex-gen/annex/3",
                                "new_field": {"with": "a default"}})
    assert read_pdf(pdf_with_annex_json(content), "v2.pdf").annex == content


def test_a_damaged_pdf_is_described_without_python_internals():
    data = annex_pdf("nordic-webshop")
    messages = []
    for offset in range(len(data) - 1500, len(data) - 20, 9):  # the cross-reference table and trailer
        damaged = bytearray(data)
        damaged[offset] ^= 0x20
        try:
            read_pdf(bytes(damaged), "flipped.pdf")
        except InvalidInput as exc:
            messages.append(str(exc))
    assert any(m.startswith("flipped.pdf: damaged PDF: ") for m in messages)
    assert [m for m in messages if "<_io" in m or " 0x" in m or "object at" in m] == []


def test_deeply_nested_json_in_the_attachment_is_not_called_a_damaged_pdf():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["annex.json"] = pikepdf.AttachedFileSpec(pdf, b"[" * 200_000 + b"]" * 200_000)
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(InvalidInput) as exc:
        read_pdf(out.getvalue(), "nested.pdf")
    assert _message(exc) == "nested.pdf: annex.json: embedded file is JSON nested too deeply to be an annex"


def test_an_annex_json_that_is_not_json_is_refused():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["annex.json"] = pikepdf.AttachedFileSpec(pdf, b"{not json")
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(InvalidInput) as exc:
        read_pdf(out.getvalue(), "bad.pdf")
    assert _message(exc).startswith("bad.pdf: annex.json: embedded file is not UTF-8 JSON: ")
