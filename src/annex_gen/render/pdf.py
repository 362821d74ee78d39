"""Render HTML to PDF/A-3b with WeasyPrint, fetching nothing outside templates/.

The stylesheet is parsed, and its fonts loaded, once per process (`shared_style`) and handed to
every render through WeasyPrint's public `stylesheets` and `font_config` arguments, so a batch
worker pays for them once, computed styles and line measurements are kept across documents
(`style_cache`, `line_cache`), and a render's objects are freed as it ends (`context_release`);
the PDF is byte-identical to one rendered from the linked stylesheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree

import cssselect2
import pydyf
import weasyprint
from weasyprint.text.fonts import FontConfiguration

from annex_gen import collector
from annex_gen.errors import RenderError
from annex_gen.render import context_release, line_cache, style_cache
from annex_gen.render.html import render_html
from annex_gen.resources import TEMPLATES_DIR


class TemplatesOnlyFetcher(weasyprint.URLFetcher):
    """Serves file: URLs inside templates/ and refuses everything else (no network)."""

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        super().__init__(allowed_protocols=("file",), fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url, headers=None):  # noqa: D102 - WeasyPrint's interface
        parsed = urlparse(url)
        path = Path(unquote(parsed.path)).resolve()
        local = parsed.netloc in ("", "localhost")
        if parsed.scheme != "file" or not local or not path.is_relative_to(self.root):
            raise weasyprint.urls.FatalURLFetchingError(f"refused to fetch {url}: outside templates/")
        return super().fetch(url, headers)


STYLESHEET = "annex.css"

# Whitespace between block-level tags prints nothing, but WeasyPrint builds and lays out boxes for
# it; dropped, every example prints the same pixels and text in about 6% less time. Text never
# holds a raw '<' or '>' (the templates escape it), and whitespace between inline tags is kept.
BLOCK_GAP = re.compile(r">\s+<(?=/?(?:html|head|body|meta|title|style|link|div|p|h[1-6]|table|colgroup|col"
                       r"|thead|tbody|tr|th|td|ul|li)[\s>])")


@cache
def shared_style() -> tuple[FontConfiguration, weasyprint.CSS]:
    """The font configuration and the parsed stylesheet (its @font-face fonts loaded) of this process."""
    font_config = FontConfiguration()
    line_cache.install(font_config)
    style_cache.install(font_config)
    context_release.install()
    try:
        css = weasyprint.CSS(url=(TEMPLATES_DIR / STYLESHEET).resolve().as_uri(), url_fetcher=TemplatesOnlyFetcher(),
                             font_config=font_config)
    except weasyprint.urls.FatalURLFetchingError as exc:
        raise RenderError(str(exc)) from None
    return font_config, css


def html_to_pdf(html: str, *, date: dt.date, attachments: dict[str, bytes], styled: bool = False) -> bytes:
    """PDF/A-3b bytes of html; attachments are embedded with relationship Source.

    styled: add the shared stylesheet (for HTML rendered without its stylesheet link).
    """
    html = BLOCK_GAP.sub("><", html).rstrip()  # trailing whitespace: a text node in the body for tinyhtml5 only
    # no collection while the render's boxes are built (each would scan them again: a sixth of its time);
    # reference counting frees them as it ends (context_release)
    with collector.paused(), context_release.released():
        data = with_identifier(_write_pdf(html, date=date, attachments=attachments, styled=styled))
        if data is None:  # not written as the verified pydyf writes it: WeasyPrint's own (slower) identifier
            data = _write_pdf(html, date=date, attachments=attachments, styled=styled, identifier=True)
    return data


def _write_pdf(html: str, *, date: dt.date, attachments: dict[str, bytes], styled: bool,
               identifier: bool = False) -> bytes:
    moment = dt.datetime.combine(date, dt.time(0, 0), tzinfo=dt.UTC)
    fetcher = TemplatesOnlyFetcher()
    font_config, css = shared_style() if styled else (None, None)
    files = [
        weasyprint.Attachment(string=data, name=name, description=name, created=moment,
                              modified=moment, relationship="Source", url_fetcher=fetcher)
        for name, data in attachments.items()
    ]
    document = parse_html(html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher)
    try:
        return document.write_pdf(
            attachments=files,
            stylesheets=[css] if css else None,
            font_config=font_config,
            pdf_variant="pdf/a-3b",
            pdf_identifier=identifier,  # else with_identifier() writes it
            pdf_tags=True,
            uncompressed_pdf=False,
            finisher=header_scopes,
        )
    except weasyprint.urls.FatalURLFetchingError as exc:
        raise RenderError(str(exc)) from None


class _ParsedHTML(weasyprint.HTML):
    """A weasyprint.HTML of a tree already parsed: what HTML.__init__ sets after parsing (WeasyPrint 70)."""

    def __init__(self, root: ElementTree.Element, base_url: str, url_fetcher: weasyprint.URLFetcher) -> None:
        self.base_url = weasyprint.urls.ensure_url(base_url)  # the templates write no <base>
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element


def parse_html(html: str, *, base_url: str, url_fetcher: weasyprint.URLFetcher) -> weasyprint.HTML:
    """The document, parsed by expat (C) when it is well-formed XML, as the templates write it.

    WeasyPrint's parser, tinyhtml5, is pure Python: a twentieth of a render. The templates close
    their void elements and write every table body, so both parsers build the same tree
    (test_render_reuse.py compares them for every example and notice, and hostile text); markup
    expat refuses, or another WeasyPrint than the pinned one, goes to WeasyPrint's own parser.
    """
    if line_cache.supported():
        try:
            root = ElementTree.fromstring(html)
        except ElementTree.ParseError:
            pass
        else:
            return _ParsedHTML(root, base_url, url_fetcher)
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=url_fetcher)


def header_scopes(document: weasyprint.Document, pdf: pydyf.PDF) -> None:
    """Give every tagged table header cell its Scope: Column in a header row, Row elsewhere.

    WeasyPrint tags <th> without it, and a screen reader needs it to read a cell with its
    header. A `finisher` (WeasyPrint's hook for the PDF objects before they are written).
    """
    elements = {obj.reference: obj for obj in pdf.objects if isinstance(obj, pydyf.Dictionary)}
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Dictionary) and obj.get("S") == "/TH":
            parent, in_head = elements.get(obj.get("P")), False
            while parent is not None and not in_head:
                in_head = parent.get("S") == "/THead"
                parent = elements.get(parent.get("P"))
            attributes = obj.get("A")
            if not isinstance(attributes, pydyf.Dictionary):
                attributes = obj["A"] = pydyf.Dictionary({"O": "/Table"})
            attributes["Scope"] = "/Column" if in_head else "/Row"


_XREF_STREAM = re.compile(rb"\d+ 0 obj\s*<<(?=\s*/Type /XRef\b)")


def with_identifier(data: bytes) -> bytes | None:
    """The PDF with the file identifier PDF/A asks for: a digest of the file written without it.

    Written into the cross-reference stream's dictionary, the last object, after its offset, so
    no offset moves. (Asked for one, WeasyPrint serialises and compresses every object a second
    time to hash it: a sixth of a render.) The same bytes in give the same bytes out. None if
    the file does not end in a cross-reference stream, as pydyf 0.11-0.13 writes it.
    """
    try:
        offset = int(data[data.rindex(b"startxref") + len(b"startxref"):].split()[0])
    except (ValueError, IndexError):
        return None
    head = _XREF_STREAM.match(data, offset)
    if head is None:
        return None
    digest = hashlib.sha256(data).hexdigest()[:32].encode()
    return data[:head.end()] + b" /ID [<" + digest + b"> <" + digest + b">]" + data[head.end():]


def render_pdf(document: Any) -> bytes:
    """An annex or a notice as a PDF/A-3b with its JSON embedded."""
    return html_to_pdf(render_html(document, link_stylesheet=False), date=document.issued,
                       attachments={document.ATTACHMENT: document.to_json_bytes()}, styled=True)


render = render_pdf
