"""Document facts of every generated annex.

PDF: PDF/A-3b, Title/Author/Subject (document info and XMP agree), /Lang of the contract, the
running header and the footer (document ID, 'Page X of Y' / 'Sivu X / Y') on every page, only the
bundled fonts. DOCX: core properties, header and footer with PAGE and NUMPAGES fields and the
document ID, repeating header rows and unsplittable rows in every data table, the language.
"""

from __future__ import annotations

import re

import docx
import pikepdf
import pytest
import render_support as rs
from docx.oxml.ns import qn

NAMES = [p.stem for p in rs.EXAMPLES]
PAGE_PATTERNS = {"en": r"Page (\d+) of (\d+)", "fi": r"Sivu (\d+) / (\d+)"}
DOCX_LANG = {"en": "en-GB", "fi": "fi-FI"}
FINNISH = [p.stem for p in rs.EXAMPLES if "language: fi" in p.read_text(encoding="utf-8")]


@pytest.fixture(scope="session")
def session(tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory)


@pytest.fixture(scope="session", params=rs.ENGINES)
def pdf_session(request, tmp_path_factory) -> rs.Session:
    """The examples rendered with each PDF engine."""
    return rs.render_examples(tmp_path_factory, request.param)


def _subject(annex: dict) -> str:
    return rs.catalog(annex["language"]).format("document.subject", company=annex["company"],
                                                 customer=annex["customer"]["name"])


@pytest.mark.parametrize("name", NAMES)
def test_pdf_is_pdfa3b_with_document_metadata(pdf_session, name):
    ex = pdf_session.examples[name]
    annex = ex.annex
    cat = rs.catalog(ex.language)
    with pikepdf.open(ex.files["pdf"]) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "3B"
        info = pdf.docinfo
        # the title as the DPA names the annex, and the customer; the document ID in Keywords
        title = cat.format("document.pdf_title", title=annex["annex_title"], customer=annex["customer"]["name"])
        assert str(info["/Title"]) == title
        assert str(info["/Keywords"]) == annex["document_id"]
        assert str(info["/Author"]) == annex["company"]
        assert str(info["/Subject"]) == _subject(annex)
        assert annex["customer"]["name"] in str(info["/Subject"])
        # PDF/A: the XMP metadata repeats the document information.
        assert meta["dc:title"] == title
        assert meta["dc:creator"] == [annex["company"]]
        assert meta["dc:description"] == _subject(annex)
        assert str(pdf.Root.Lang) == ex.language
        assert pdf.Root.MarkInfo.Marked is True, "the PDF should be tagged"
        assert "/StructTreeRoot" in pdf.Root
        assert len(pdf.Root.OutputIntents) >= 1


@pytest.mark.parametrize("name", NAMES)
def test_pdf_every_page_has_running_header_and_footer(pdf_session, name):
    ex = pdf_session.examples[name]
    cat = rs.catalog(ex.language)
    pages = rs.pdf_document(ex.files["pdf"]).pages
    total = len(pages)
    assert total >= 2
    footer_id = cat.format("document.footer_document_id", document_id=ex.document_id)
    for page in pages:
        footer = rs.squash(page.footer_text)
        assert ex.document_id in footer, f"page {page.number}: {footer!r}"
        match = re.fullmatch(re.escape(footer_id) + " " + PAGE_PATTERNS[ex.language], footer)
        assert match, f"page {page.number} footer: {footer!r}"
        assert (int(match[1]), int(match[2])) == (page.number, total)
        header = rs.squash(page.header_text)
        assert header == f"{ex.annex['company']} {ex.annex['annex_title']}", f"page {page.number}: {header!r}"


@pytest.mark.parametrize("name", NAMES)
def test_pdf_uses_only_the_bundled_fonts(pdf_session, name):
    pages = rs.pdf_document(pdf_session.examples[name].files["pdf"]).pages
    fonts = set().union(*(page.fontnames for page in pages))
    assert fonts, "no text in the PDF"
    # Subset names look like ABCDEF+Annex-Sans-Bold (WeasyPrint names the CSS family) or
    # ABCDEF+NotoSans-Bold (Typst, the font's own name): templates/fonts, nothing from the system.
    family = {"weasyprint": r"Annex-Sans(-Bold|-Italic)?", "typst": r"NotoSans-(Regular|Bold|Italic)"}
    assert all(re.fullmatch(r"[A-Z]{6}\+" + family[pdf_session.engine], f) for f in fonts), fonts


@pytest.mark.parametrize("name", FINNISH)
def test_finnish_letters_survive_in_pdf_and_docx(pdf_session, name):
    """ä and ö come through text extraction (å is covered by test_render_untrusted.py: no example has it)."""
    ex = pdf_session.examples[name]
    cat = rs.catalog("fi")
    pdf_text = "\n".join(p.text for p in rs.pdf_document(ex.files["pdf"]).pages)
    docx_text = "\n".join(rs.docx_text_lines(ex.files["docx"]))
    for text in (pdf_text, docx_text):
        assert "ä" in text and "ö" in text
        assert ex.annex["annex_title"] in text  # 'Tietojenkäsittelysopimuksen liite: Alikäsittelijät'
        assert cat["summary.title"] in rs.squash(text)  # 'Asiakkaan tietoja käsittelevät oikeushenkilöt'
        assert "\ufffd" not in text


@pytest.mark.parametrize("name", NAMES)
def test_docx_core_properties(session, name):
    ex = session.examples[name]
    annex = ex.annex
    props = docx.Document(str(ex.files["docx"])).core_properties
    assert props.title == rs.catalog(ex.language).format(
        "document.pdf_title", title=annex["annex_title"], customer=annex["customer"]["name"])
    assert props.keywords == ex.document_id
    assert props.subject == _subject(annex)
    assert props.language == DOCX_LANG[ex.language]
    assert props.author == annex["company"]
    assert props.identifier == ex.document_id
    assert props.created.date().isoformat() == annex["contract"]["date"]
    assert props.modified.date().isoformat() == annex["contract"]["date"]


def _field_instructions(paragraph) -> list[str]:
    return [" ".join(t.text.split()) for t in paragraph._p.iter(qn("w:instrText"))]


@pytest.mark.parametrize("name", NAMES)
def test_docx_header_and_footer(session, name):
    ex = session.examples[name]
    cat = rs.catalog(ex.language)
    document = docx.Document(str(ex.files["docx"]))
    assert len(document.sections) == 1
    section = document.sections[0]
    header = "\n".join(p.text for p in section.header.paragraphs)
    assert ex.annex["company"] in header and ex.annex["annex_title"] in header
    paragraphs = section.footer.paragraphs
    footer = "\n".join(p.text for p in paragraphs)
    assert cat.format("document.footer_document_id", document_id=ex.document_id) in footer
    instructions = [i for p in paragraphs for i in _field_instructions(p)]
    assert instructions == ["PAGE", "NUMPAGES"]
    # 'Page {PAGE} of {NUMPAGES}' / 'Sivu {PAGE} / {NUMPAGES}': the label, PAGE, the word between, NUMPAGES.
    before, _, rest = cat["document.page"].partition("{page}")
    between = rest.partition("{pages}")[0]
    sequence = []
    for p in paragraphs:
        for node in p._p.iter(qn("w:t"), qn("w:instrText")):
            if node.tag == qn("w:instrText"):
                sequence.append("{" + node.text.strip() + "}")
            elif node.text.strip():
                sequence.append(node.text.strip())
    # The field results (cached '1's) follow each instruction.
    assert sequence[-6:] == [before.strip(), "{PAGE}", "1", between.strip(), "{NUMPAGES}", "1"], sequence
    # Each field is complete: begin, instruction, separate, end.
    for p in paragraphs:
        types = [c.get(qn("w:fldCharType")) for c in p._p.iter(qn("w:fldChar"))]
        assert types == ["begin", "separate", "end"] * (len(types) // 3)


@pytest.mark.parametrize("name", NAMES)
def test_docx_tables_repeat_header_rows_and_keep_rows_whole(session, name):
    ex = session.examples[name]
    document = docx.Document(str(ex.files["docx"]))
    annex = ex.annex
    cat = rs.catalog(ex.language)
    company = cat["table.company"]
    data_tables = [t for t in document.tables if t.rows[0].cells[0].text == company]
    # One table per section, the summary and the customer register.
    assert len(data_tables) == len(annex["sections"]) + 2
    for table in data_tables:
        rows = table.rows
        assert len(rows) >= 2
        for i, row in enumerate(rows):
            tr_pr = row._tr.trPr
            assert tr_pr is not None and tr_pr.find(qn("w:cantSplit")) is not None, f"row {i} may split"
            is_header = tr_pr.find(qn("w:tblHeader")) is not None
            assert is_header == (i == 0), f"row {i}: tblHeader={is_header}"


@pytest.mark.parametrize("name", NAMES)
def test_docx_language_and_fonts(session, name):
    ex = session.examples[name]
    document = docx.Document(str(ex.files["docx"]))
    normal = document.styles["Normal"].element
    lang = normal.rPr.find(qn("w:lang"))
    assert lang is not None and lang.get(qn("w:val")) == DOCX_LANG[ex.language]
    fonts = normal.rPr.find(qn("w:rFonts"))
    assert fonts is not None and fonts.get(qn("w:ascii")) == "Noto Sans"
