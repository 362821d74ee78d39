"""Render the annex view to DOCX with python-docx: real styles, fields, fixed bytes."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import uuid
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu, Mm, Pt, RGBColor

from annex_gen.fonts import BASE_FILES, docx_subset_file, fallbacks_for
from annex_gen.render import docx_package
from annex_gen.views import view_of
from annex_gen.views.annex import AnnexView, EntryView
from annex_gen.views.notice import NoticeView

ACCENT = RGBColor(0x1F, 0x3A, 0x5F)
MARK = RGBColor(0x8A, 0x3B, 0x00)
TEXT_WIDTH_MM = 174  # A4 less two 18 mm margins
# Column shares of the text width, as annex.css gives them, so both formats lay tables out alike.
WIDTHS = {
    "entries": (22, 21, 18, 39),
    "summary": (20, 21, 18, 17, 24),
    "changed": (28, 23, 49),
    "meta": (32, 68),
}
NBSP = "\u00a0"
UNBREAKABLE = re.compile(r"\bLiana [A-Z]\w+")
MUTED = RGBColor(0x55, 0x55, 0x55)
DRAFT_RED = RGBColor(0xB0, 0x00, 0x20)
FONT = "Noto Sans"
MAX_PROPERTY_CHARS = 255  # the OOXML core properties' limit (python-docx enforces it)
CUSTOM_XML_NS = "urn:annex-gen:annex:1"
APP_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    b"<Application>annex-gen</Application><DocSecurity>0</DocSecurity></Properties>"
)


def _field(paragraph, instruction: str) -> None:
    """A Word field such as PAGE or NUMPAGES."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run._r.append(begin)
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    run = paragraph.add_run()
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run._r.append(sep)
    paragraph.add_run("1")
    run = paragraph.add_run()
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)


def _styles(doc, language: str) -> None:
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(9)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), {"fi": "fi-FI", "en": "en-GB"}.get(language, language))
    rpr.append(lang)
    normal.paragraph_format.space_after = Pt(4)
    for name, size in (("Title", 16), ("Heading 1", 12), ("Heading 2", 10)):
        style = styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.color.rgb = ACCENT
        style.font.bold = True
        style.paragraph_format.keep_with_next = True
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
        style.element.get_or_add_rPr()
        style_fonts = style.element.rPr.find(qn("w:rFonts"))
        if style_fonts is not None:
            for attr in list(style_fonts.attrib):
                if attr.endswith("Theme"):
                    del style_fonts.attrib[attr]
            for attr in ("w:ascii", "w:hAnsi", "w:cs"):
                style_fonts.set(qn(attr), FONT)
    title = styles["Title"]
    title_ppr = title.element.get_or_add_pPr()
    for border in title_ppr.findall(qn("w:pBdr")):
        title_ppr.remove(border)


def _styled(doc, text: str, style_id: str):
    """A paragraph with a style set by id (python-docx's lookup by name scans every style)."""
    paragraph = doc.add_paragraph(text)
    paragraph._p.get_or_add_pPr().style = style_id
    return paragraph


def _note(doc, text: str, *, italic: bool = False) -> None:
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.italic = italic
    run.font.color.rgb = RGBColor(0x33, 0x33, 0x33)
    p.paragraph_format.keep_with_next = True


# Tables are written as WordprocessingML text and parsed once: python-docx builds each cell
# through several element lookups, which made the tables half of a DOCX's time. The XML is
# what python-docx wrote for the same calls, so the bytes are the same. A cell is a list of
# paragraphs, a paragraph a (properties, runs) pair of XML fragments.
Paragraph = tuple[str, str]
TABLE_LOOK = ('<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" '
              'w:noVBand="1" w:val="04A0"/>')
GRID_TABLE = ('<w:tblStyle w:val="TableGrid"/><w:tblW w:type="auto" w:w="0"/><w:jc w:val="center"/>'
              '<w:tblLayout w:type="fixed"/>' + TABLE_LOOK)
PLAIN_TABLE = '<w:tblW w:type="auto" w:w="0"/>' + TABLE_LOOK
FIXED_TABLE = '<w:tblW w:type="auto" w:w="0"/><w:tblLayout w:type="fixed"/>' + TABLE_LOOK
ROW_FLAGS = "<w:cantSplit/>"  # no row split across pages
HEAD_RUN = f'<w:b/><w:color w:val="{ACCENT}"/><w:sz w:val="16"/>'
HEAD_SHADE = '<w:shd w:val="clear" w:color="auto" w:fill="E8EEF5"/>'
MARK_RUN = (f'<w:b/><w:color w:val="{MARK}"/><w:sz w:val="14"/><w:bdr w:val="single" w:sz="4" w:space="0" '
            'w:color="8A3B00"/><w:shd w:val="clear" w:color="auto" w:fill="FBEFE6"/>')
BULLET_INDENT = f'<w:ind w:left="{Mm(3).twips}"/>'
MUTED_RUN = f'<w:color w:val="{MUTED}"/>'
MUTED_SMALL_RUN = MUTED_RUN + '<w:sz w:val="15"/>'
SIGNATURE_LINE = f'<w:spacing w:before="{Pt(18).twips}" w:after="0"/>'
RUN_BREAKS = re.compile(r"([\t\r\n])")
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _run(text: str = "", props: str = "") -> str:
    """A w:r as python-docx's add_run writes it: a tab is w:tab, a line break w:br."""
    if NOT_XML.search(text):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    content = []
    for piece in RUN_BREAKS.split(text):
        if piece == "\t":
            content.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            content.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            content.append(f"<w:t{space}>{escape(piece)}</w:t>")
    return f"<w:r>{f'<w:rPr>{props}</w:rPr>' if props else ''}{''.join(content)}</w:r>"


def _cell(value: str | list[Paragraph]) -> list[Paragraph]:
    return [("", _run(value))] if isinstance(value, str) else value


def _kept(cells: list[list[Paragraph]]) -> list[list[Paragraph]]:
    """The cells with every paragraph kept with the next one."""
    return [[("<w:keepNext/>" + props, runs) for props, runs in paragraphs] for paragraphs in cells]


def _insert_table(doc, properties: str, twips: list[int], rows: list[tuple[str, str, list[list[Paragraph]]]]) -> None:
    """Append a w:tbl; rows are (row properties, cell properties after the width, cells)."""
    out = [f"<w:tbl {nsdecls('w')}><w:tblPr>{properties}</w:tblPr><w:tblGrid>",
           *(f'<w:gridCol w:w="{t}"/>' for t in twips), "</w:tblGrid>"]
    for row_props, cell_props, cells in rows:
        out.append(f"<w:tr><w:trPr>{row_props}</w:trPr>" if row_props else "<w:tr>")
        for paragraphs, width in zip(cells, twips, strict=True):
            out.append(f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>{cell_props}</w:tcPr>')
            out += [f"<w:p><w:pPr>{props}</w:pPr>{runs}</w:p>" if props else f"<w:p>{runs}</w:p>"
                    for props, runs in paragraphs]
            out.append("</w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    doc.element.body._insert_tbl(parse_xml("".join(out)))


def _table(doc, headers: list[str], rows: list[list], widths: list[float], *, keep_together: bool = False) -> None:
    head = [[("", "<w:r/>" + _run(text, HEAD_RUN))] for text in headers]
    body = [[_cell(value) for value in values] for values in rows]
    if keep_together:  # a short table is never split, so no few rows are left alone on a page
        head, body = _kept(head), [_kept(cells) for cells in body[:-1]] + body[-1:]
    _insert_table(doc, GRID_TABLE, [Mm(width).twips for width in widths],
                  [(ROW_FLAGS + "<w:tblHeader/>", HEAD_SHADE, head), *((ROW_FLAGS, "", cells) for cells in body)])
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def widths(kind: str) -> list[float]:
    """Column widths in mm of a table kind: the same shares as the PDF's."""
    return [round(TEXT_WIDTH_MM * share / 100, 1) for share in WIDTHS[kind]]


def unbroken(text: str) -> str:
    """Text whose identifier ('UK CRN 08790783') or product name ('Liana WordPress') never wraps inside."""
    return UNBREAKABLE.sub(lambda m: m.group(0).replace(" ", NBSP), text)


def _text_runs(text: str) -> str:
    """Runs in which a suspended hyphen ('ja -autentikointi') is Word's non-breaking hyphen, bound to its word."""
    pieces = re.split(r"(?<= )-(?=\w)", text)
    runs = []
    for i, piece in enumerate(pieces):
        if i:
            runs.append("<w:r><w:noBreakHyphen/></w:r>")
        if i + 1 < len(pieces) and piece.endswith(" "):
            piece = piece[:-1] + NBSP  # 'ja' stays on the line of '-autentikointi'
        runs.append(_run(piece))
    return "".join(runs)


def _mark(text: str) -> str:
    """The outside-EU/EEA mark, boxed and tinted as in the PDF: a run."""
    return _run(text, MARK_RUN)


def _small(text: str, *, italic: bool = False) -> Paragraph:
    slant = "<w:i/>" if italic else '<w:i w:val="0"/>'
    return ("", _run(text, slant + '<w:sz w:val="15"/>'))


def _entry_cells(e: EntryView, labels: dict[str, str]) -> list:
    location = [("", _run(e.location))]
    if e.outside_eea:
        location.append(("", _mark(labels["outside_eea_mark"])))
    if e.registered_outside_eea:
        location.append(("", _mark(labels["registered_outside_eea_mark"])))
    purpose = [("", _text_runs(e.purpose))]
    purpose += [(BULLET_INDENT, _run(f"• {item}")) for item in e.purpose_items]
    if e.transfer:
        purpose.append(_small(e.transfer))
    if e.gated:
        purpose.append(_small(e.gated, italic=True))
    return [e.name, e.legal_id.replace(" ", NBSP), location, purpose]


def _entries(doc, entries: tuple[EntryView, ...], labels: dict[str, str], *, keep_together: bool = False) -> None:
    headers = [labels["company"], labels["identifier"], labels["location"], labels["purpose"]]
    _table(doc, headers, [_entry_cells(e, labels) for e in entries], widths("entries"), keep_together=keep_together)


def _header_footer(doc, view: AnnexView) -> None:
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    header.text = ""
    run = header.add_run(view.company)
    run.bold = True
    run.font.size = Pt(8)
    run.font.color.rgb = ACCENT
    header.add_run("\t\t")
    run = header.add_run(view.title)
    run.font.size = Pt(8)
    run.font.color.rgb = MUTED
    draft = getattr(view, "draft", None)
    if draft:  # a draft's mark, on every page
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        mark = section.header.add_paragraph()
        mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _draft_run(mark, draft["banner"])
    footer = section.footer.paragraphs[0]
    footer.text = ""
    run = footer.add_run(view.footer_id)
    run.font.size = Pt(7.5)
    footer.add_run("\t\t")
    footer.add_run(f"{view.page_label} ")
    _field(footer, "PAGE")
    footer.add_run(f" {view.page_of} ")
    _field(footer, "NUMPAGES")
    for run in footer.runs:
        run.font.size = Pt(7.5)
        run.font.color.rgb = MUTED


def _custom_xml(doc, payload: bytes, root: str) -> None:
    """Keep the resolved JSON inside the DOCX as a custom XML part."""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{root} xmlns="{CUSTOM_XML_NS}" format="application/json">{escape(payload.decode("utf-8"))}</{root}>\n'
    ).encode()
    partname = doc.part.package.next_partname("/customXml/item%d.xml")
    part = Part(partname, "application/xml", xml, doc.part.package)
    doc.part.relate_to(part, RT.CUSTOM_XML)


@lru_cache(maxsize=4)
def _blank(language: str) -> Document:
    """The empty A4 document with the annex's styles in a language; new_document copies it."""
    doc = Document()
    _drop_template_leftovers(doc)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin, section.bottom_margin = Mm(22), Mm(20)
    _styles(doc, language)
    return doc


def new_document(view) -> Document:
    """An empty A4 document with the annex look: styles, header, footer with page fields.

    A copy of the blank one of the view's language (opening python-docx's template and setting
    the styles took a third of a DOCX's time); the copy shares nothing that a document changes.
    """
    doc = copy.deepcopy(_blank(view.language))
    _header_footer(doc, view)
    return doc


def heading(doc, text: str, level: int = 1):
    """A Heading 1/2 paragraph (Title for level 0)."""
    return _styled(doc, text, "Title" if level == 0 else f"Heading{level}")


def note(doc, text: str, *, italic: bool = False) -> None:
    """A short explanatory paragraph kept with what follows."""
    _note(doc, text, italic=italic)


def table(doc, headers: list[str], rows: list[list], widths: list[float]) -> None:
    """A table with a repeating, shaded header row and rows that never split."""
    _table(doc, headers, rows, widths)


def entries_table(doc, entries: tuple[EntryView, ...], labels: dict[str, str], *, keep_together: bool = False) -> None:
    """The company / identifier / location / purpose table."""
    _entries(doc, entries, labels, keep_together=keep_together)


def meta_table(doc, rows) -> None:
    """The label / value block under the title."""
    cells = [[[("", _run(row.label, MUTED_RUN))], [("", _run(unbroken(row.value), "<w:b/>"))]] for row in rows]
    _insert_table(doc, FIXED_TABLE, [Mm(width).twips for width in widths("meta")],
                  [("", "", pair) for pair in cells])
    doc.add_paragraph()


def signature_table(doc, parties: list[str], labels: list[str]) -> None:
    """One row per line, so both columns stay level whatever the length of the names; kept on one page."""
    section = doc.sections[-1]
    column = Emu((section.page_width - section.left_margin - section.right_margin) // len(parties)).twips
    rows = [[[("", _run(party, "<w:b/>"))] for party in parties]]
    rows += [[[(SIGNATURE_LINE, _run("_" * 38)), ("", _run(label, MUTED_SMALL_RUN))] for _ in parties]
             for label in labels]
    # every paragraph kept with the next: the block stays on one page (nothing follows it)
    _insert_table(doc, PLAIN_TABLE, [column] * len(parties), [(ROW_FLAGS, "", _kept(cells)) for cells in rows])


def property_text(text: str) -> str:
    """text shortened to what a core property holds, with an ellipsis where it was cut."""
    return text if len(text) <= MAX_PROPERTY_CHARS else text[:MAX_PROPERTY_CHARS - 1].rstrip() + "\u2026"


def _declare_fallback_fonts(doc) -> None:
    """Runs with Chinese, Arabic or Hebrew text name the bundled font that has it (Word's eastAsia/cs slots)."""
    for run in doc.element.body.iter(qn("w:r")):
        needed = fallbacks_for("".join(t.text or "" for t in run.iter(qn("w:t"))))
        if not needed:
            continue
        fonts = run.get_or_add_rPr().get_or_add_rFonts()
        for fallback in reversed(needed):  # one complex-script slot: the first script in FALLBACKS wins
            if fallback.script == "cjk":
                fonts.set(qn("w:eastAsia"), fallback.docx_name)
                fonts.set(qn("w:hint"), "eastAsia")
            else:
                fonts.set(qn("w:cs"), fallback.docx_name)


OBFUSCATED_FONT = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
RT_FONT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"


@lru_cache(maxsize=4)
def _obfuscated(path: str) -> tuple[str, bytes]:
    """A font file as Word embeds it: a key derived from its content, the first 32 bytes XORed with it."""
    data = bytearray(open(path, "rb").read())  # noqa: SIM115 - read once per process, cached
    key = "{" + str(uuid.UUID(bytes=hashlib.sha256(data).digest()[:16])).upper() + "}"
    key_bytes = bytes.fromhex(key.strip("{}").replace("-", ""))[::-1]
    for i in range(32):
        data[i] ^= key_bytes[i % 16]
    return key, bytes(data)


def _embed_fonts(doc) -> None:
    """Embed Noto Sans (regular, bold, italic; cut to Latin text) as Word does, so the look needs no install."""
    font_table = doc.part.part_related_by(RT.FONT_TABLE)
    element = parse_xml(font_table.blob)
    font = next((f for f in element.findall(qn("w:font")) if f.get(qn("w:name")) == FONT), None)
    if font is None:
        font = OxmlElement("w:font")
        font.set(qn("w:name"), FONT)
        element.append(font)
        for tag, value in (("w:charset", "00"), ("w:family", "swiss"), ("w:pitch", "variable")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
    for tag, base_file in zip(("w:embedRegular", "w:embedBold", "w:embedItalic"), BASE_FILES, strict=True):
        key, blob = _obfuscated(str(docx_subset_file(base_file)))
        name = base_file.replace(".ttf", ".odttf")
        part = Part(PackURI(f"/word/fonts/{name}"), OBFUSCATED_FONT, blob, doc.part.package)
        embed = OxmlElement(tag)
        embed.set(qn("r:id"), font_table.relate_to(part, RT_FONT))
        embed.set(qn("w:fontKey"), key)
        embed.set(qn("w:subsetted"), "1")
        font.append(embed)
    font_table._blob = serialize_part_xml(element)
    settings = doc.settings.element
    flags = [OxmlElement("w:embedTrueTypeFonts"), OxmlElement("w:saveSubsetFonts")]
    zoom = settings.find(qn("w:zoom"))
    for flag in reversed(flags):  # the schema wants them right after zoom
        if zoom is not None:
            zoom.addnext(flag)
        else:
            settings.insert(0, flag)


def finish(doc, view, date: dt.date, payload: bytes, root: str = "annex") -> bytes:
    """Set the document properties, keep payload (JSON) as custom XML, and save with fixed bytes."""
    _declare_fallback_fonts(doc)
    _embed_fonts(doc)
    props = doc.core_properties
    props.title = property_text(view.pdf_title)
    props.subject = property_text(view.subject)
    props.author = property_text(view.company)
    props.last_modified_by = view.company
    props.language = {"fi": "fi-FI", "en": "en-GB"}.get(view.language, view.language)
    props.identifier = view.document_id
    props.keywords = view.document_id
    props.comments = ""
    props.revision = 1
    moment = dt.datetime.combine(date, dt.time(0, 0))
    props.created = moment
    props.modified = moment
    props.last_printed = moment
    _custom_xml(doc, payload, root)
    return docx_package.save(doc)


# Word 2010's copy of styles.xml, 440 kB that Word 2013 and later and LibreOffice ignore
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _drop_template_leftovers(doc) -> None:
    """Remove the default template's thumbnail, empty bibliography and stylesWithEffects; say who made the file."""
    package = doc.part.package
    for rels, reltype in ((package.rels, RT.THUMBNAIL), (doc.part.rels, RT.CUSTOM_XML),
                          (doc.part.rels, STYLES_WITH_EFFECTS)):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == reltype]:
            rels.pop(rid)
    for rel in package.rels.values():
        if rel.reltype == RT.EXTENDED_PROPERTIES:
            rel.target_part._blob = APP_XML


def build_docx(view: AnnexView, payload: bytes, date: dt.date) -> bytes:
    """DOCX bytes of one view; identical input gives identical bytes."""
    doc = new_document(view)
    heading(doc, view.title, 0)
    meta_table(doc, view.meta)
    doc.add_paragraph(view.intro)
    for text in view.authorisation:
        doc.add_paragraph(text)

    for sec in view.sections:
        heading(doc, unbroken(sec.title))
        if sec.note:
            note(doc, sec.note)
        if sec.rule:
            note(doc, sec.rule, italic=True)
        entries_table(doc, sec.entries, view.labels)

    labels = view.labels
    heading(doc, view.summary["title"])
    note(doc, view.summary["intro"])
    table(
        doc,
        [labels["company"], labels["identifier"], labels["country"], labels["locations"], labels["outside_eea"]],
        [_party_cells(p, labels) for p in view.summary["parties"]],
        widths("summary"),
    )
    doc.add_paragraph(view.summary["footnote"])

    if view.transfer_clause:
        heading(doc, view.transfer_clause["title"])
        doc.add_paragraph(view.transfer_clause["text"])

    heading(doc, view.notice["title"])
    for text in view.notice["paragraphs"]:
        doc.add_paragraph(text)

    # informational, so it comes before the signatures: nothing follows them
    heading(doc, view.register["title"])
    note(doc, view.register["intro"], italic=True)
    if view.register["note"]:
        note(doc, view.register["note"])
    entries_table(doc, view.register["entries"], labels, keep_together=True)

    if view.draft:  # not for signature: the statement instead of the signature block
        if view.signatures:
            heading(doc, view.signatures["title"])
        _draft_run(doc.add_paragraph(), view.draft["banner"])
        doc.add_paragraph(view.draft["statement"])
    elif view.signatures:  # a replacement issued by a notice takes effect without signature
        heading(doc, view.signatures["title"])
        signature = view.signatures
        signature_table(doc, list(signature["parties"]),
                        [signature["signature"], signature["name"], signature["place_date"]])
    return finish(doc, view, date, payload)


def _draft_run(paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(10)
    run.font.color.rgb = DRAFT_RED


def _party_cells(p, labels: dict[str, str]) -> list:
    """One row of the summary of legal entities."""
    name = [("", _run(p.name)), *(_small(line) for line in p.details)]
    if not p.outside_eea:
        outside = [("", _run(labels["no"]))]
    else:
        outside = [("", _mark(labels["yes"]))]
        if p.transfers:
            outside.append(_small(p.transfers))
    return [name, p.legal_id.replace(" ", NBSP), p.country, p.locations, outside]


def build_notice_docx(view: NoticeView, payload: bytes, date: dt.date) -> bytes:
    """DOCX bytes of a notice view, with the annex's look; notice.json is kept as custom XML."""
    doc = new_document(view)
    heading(doc, view.title, 0)
    meta_table(doc, view.meta)
    doc.add_paragraph(view.intro)
    for part in view.parts:
        heading(doc, part["title"])
        note(doc, part["intro"])
        for sec in part["sections"]:
            heading(doc, unbroken(sec.title), 2)
            entries_table(doc, sec.entries, view.labels)
    if view.changed:
        heading(doc, view.changed["title"])
        note(doc, view.changed["intro"])
        table(doc, [view.labels["company"], view.changed["service"], view.changed["change"]],
                 [[f"{r.name}\n{r.legal_id.replace(' ', NBSP)}", unbroken(r.section), "\n".join(r.lines)]
                  for r in view.changed["rows"]],
                 widths("changed"))
    if view.other:
        heading(doc, view.other["title"])
        for line in view.other["lines"]:
            doc.add_paragraph(f"• {line}")
    heading(doc, view.objection["title"])
    for text in view.objection["paragraphs"]:
        doc.add_paragraph(text)
    heading(doc, view.annex["title"])
    doc.add_paragraph(view.annex["text"])
    if view.draft:
        _draft_run(doc.add_paragraph(), view.draft["banner"])
        doc.add_paragraph(view.draft["statement"])
    return finish(doc, view, date, payload, root="notice")


def render_docx(document: Any) -> bytes:
    """An annex or a notice as DOCX, with its JSON kept as a custom XML part."""
    view = view_of(document)
    build = build_docx if isinstance(view, AnnexView) else build_notice_docx
    return build(view, document.to_json_bytes(), document.issued)


render = render_docx


