"""The DOCX zip writer: what zipfile writes with a fixed date and mode, and python-docx's members."""

from __future__ import annotations

import io
import zipfile

from docx import Document

from annex_gen.render import docx_package


def zipfile_bytes(items: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, blob in items:
            info = zipfile.ZipInfo(name, date_time=docx_package.ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = docx_package.UNIX
            info.external_attr = docx_package.MODE << 16
            package.writestr(info, blob)
    return out.getvalue()


def test_the_zip_is_byte_for_byte_what_zipfile_writes():
    items = [("[Content_Types].xml", b"<Types/>"), ("word/styles.xml", b"<w:styles>" + b"x" * 70_000 + b"</w:styles>"),
             ("word/fonts/a.odttf", bytes(range(256)) * 300), ("empty", b"")]
    assert docx_package.zip_bytes(items) == zipfile_bytes(items)
    # a kept part compressed once is reused only for the same bytes
    changed = [*items[:1], ("word/styles.xml", b"<w:styles>other</w:styles>"), *items[2:]]
    assert docx_package.zip_bytes(changed) == zipfile_bytes(changed)
    assert docx_package.zip_bytes(items) == zipfile_bytes(items)


def test_the_members_are_python_docx_s_in_its_order():
    doc = Document()
    doc.add_paragraph("Hei")
    saved = io.BytesIO()
    doc.save(saved)
    with zipfile.ZipFile(saved) as package:
        expected = [(info.filename, package.read(info)) for info in package.infolist()]
    assert docx_package.members(doc) == expected
    with zipfile.ZipFile(io.BytesIO(docx_package.save(doc))) as package:
        assert package.testzip() is None
        assert [(i.filename, package.read(i)) for i in package.infolist()] == expected
        assert {i.date_time for i in package.infolist()} == {docx_package.ZIP_DATE}
