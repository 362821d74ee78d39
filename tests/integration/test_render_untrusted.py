"""Untrusted contract text is printed as text, never interpreted, and never makes the renderer fetch.

Three contracts written into a temporary directory are generated (pdf, docx, html) in-process, with
the WeasyPrint URL fetcher and the socket layer watched:

- markup and template syntax in the customer name and the contract reference (`<b>`, `&`,
  `{{ 7*7 }}`, quotes, `<script>`) come out literally in the HTML (escaped), the PDF and the DOCX;
- an `<img src="http://...">` in the customer name is text: nothing outside templates/ is fetched,
  no socket is opened, and the PDF holds no image;
- Finnish letters (å, ä, ö, upper and lower case) come through in every format.
"""

from __future__ import annotations

import dataclasses
import json
import socket

import docx
import lxml.html
import pikepdf
import pytest
import render_support as rs

from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.output.generate import generate
from annex_gen.render import pdf as render_pdf
from annex_gen.resolve import resolve
from annex_gen.resources import TEMPLATES_DIR

MARKUP_NAME = '<b>Acme</b> & {{ 7*7 }} "Oy"'
SCRIPT_REFERENCE = '<script>alert("x")</script> {% raw %}'
IMG_NAME = 'Pixel <img src="http://example.com/x.png"> Ltd'
TYPST_NAME = '*Bold* _x_ #eval("1+1") $a^2$ <lbl> @ref `raw` = Oy'
FINNISH_NAME = "Åbo Äänitys ja Öljy Oy"
FINNISH_REFERENCE = "SOP-ÅÄÖ-åäö-1"

CONTRACTS = {
    "markup": {"customer": {"id": "markup-test", "name": MARKUP_NAME},
               "contract": {"reference": SCRIPT_REFERENCE, "date": "2026-11-29", "region": "eu",
                            "language": "en", "products": ["mailer"]}},
    "img": {"customer": {"id": "img-test", "name": IMG_NAME},
            "contract": {"date": "2026-11-29", "region": "eu", "language": "en", "products": ["mailer"]}},
    "typst": {"customer": {"id": "typst-test", "name": TYPST_NAME},
              "contract": {"date": "2026-11-29", "region": "eu", "language": "en", "products": ["mailer"]}},
    "finnish": {"customer": {"id": "aabo-test", "name": FINNISH_NAME},
                "contract": {"reference": FINNISH_REFERENCE, "date": "2026-11-29", "region": "eu",
                             "language": "fi", "products": ["cms"]}},
}


def contract_yaml(data: dict) -> str:
    """YAML text of a contract; every scalar is a JSON (= YAML double-quoted) string."""
    lines = []
    for part, fields in data.items():
        lines.append(f"{part}:")
        for key, value in fields.items():
            lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


class Generated:
    def __init__(self, annex, files, fetched, engine):
        self.annex, self.files, self.fetched, self.engine = annex, files, fetched, engine


@pytest.fixture(scope="module", params=rs.ENGINES)
def generated(request, tmp_path_factory) -> dict[str, Generated]:
    engine = request.param
    base = tmp_path_factory.mktemp(f"untrusted-{engine}")
    # final annexes, so the customer's name is printed in the signature block too
    registry = dataclasses.replace(load_registry(rs.ROOT / "registry"), status="final")
    out: dict[str, Generated] = {}
    connections: list[object] = []
    original_fetch = render_pdf.TemplatesOnlyFetcher.fetch

    def no_network(*args, **kwargs):
        connections.append(args)
        raise OSError("network access during rendering")

    with pytest.MonkeyPatch.context() as mp:
        fetched: list[str] = []

        def spy(self, url, headers=None):
            fetched.append(url)
            return original_fetch(self, url, headers)

        mp.setattr(render_pdf.TemplatesOnlyFetcher, "fetch", spy)
        mp.setattr(socket.socket, "connect", no_network)
        mp.setattr(socket, "getaddrinfo", no_network)
        mp.setattr(socket, "gethostbyname", no_network)
        for key, data in CONTRACTS.items():
            path = base / f"{key}.yaml"
            path.write_text(contract_yaml(data), encoding="utf-8")
            contract, warnings = load_contract(registry, path)
            assert not warnings
            fetched.clear()
            render_pdf.shared_style.cache_clear()  # so this render fetches the stylesheet and fonts through the spy
            result = generate(registry, contract, base / "out", ("pdf", "docx", "html"), engine=engine)
            out[key] = Generated(resolve(registry, contract).to_dict(), result.files, list(fetched), engine)
    assert connections == [], "rendering opened a network connection"
    return out


def _html_tree(path):
    return lxml.html.fromstring(path.read_bytes())


def _meta_value(tree, label: str) -> str:
    cells = tree.xpath("//table[@class='meta']//tr[th[normalize-space()=$label]]/td", label=label)
    assert len(cells) == 1, label
    return cells[0].text_content()


def _pdf_text(path) -> str:
    return rs.squash("\n".join(p.text for p in rs.pdf_document(path).pages))


def _docx_meta(path) -> dict[str, str]:
    front, _ = rs.docx_blocks(path)
    return {row[0][0]: row[1][0] for row in front[0]}


# Markup and template syntax --------------------------------------------------------------------------


def test_markup_is_escaped_in_html(generated):
    g = generated["markup"]
    raw = g.files["html"].read_text(encoding="utf-8")
    assert "<b>" not in raw and "</b>" not in raw
    assert "<script" not in raw.lower()
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; {{ 7*7 }}" in raw
    assert "&lt;script&gt;" in raw
    tree = _html_tree(g.files["html"])
    assert tree.xpath("//script | //b") == []
    cat = rs.catalog("en")
    assert _meta_value(tree, cat["meta.customer"]) == MARKUP_NAME
    assert _meta_value(tree, cat["meta.reference"]) == SCRIPT_REFERENCE
    description = tree.xpath("//meta[@name='description']/@content")
    assert description == [cat.format("document.subject", company=g.annex["company"], customer=MARKUP_NAME)]
    # Template syntax in data is not evaluated: no '49' stands where '{{ 7*7 }}' was.
    assert "49" not in _meta_value(tree, cat["meta.customer"])
    assert "Acme</b> & 49" not in tree.text_content()
    assert tree.text_content().count(MARKUP_NAME) >= 3  # metadata, introduction, signatures


def test_markup_is_literal_in_pdf(generated):
    g = generated["markup"]
    text = _pdf_text(g.files["pdf"])
    cat = rs.catalog("en")
    assert f"{cat['meta.customer']} {MARKUP_NAME}" in text
    assert f"{cat['meta.reference']} {SCRIPT_REFERENCE}" in text
    assert cat.format("signatures.customer", customer=MARKUP_NAME) in text
    assert "& 49" not in text
    with pikepdf.open(g.files["pdf"]) as pdf:
        assert MARKUP_NAME in str(pdf.docinfo["/Subject"])
        embedded = json.loads(pdf.attachments["annex.json"].get_file().read_bytes())
    assert embedded["customer"]["name"] == MARKUP_NAME
    assert embedded["contract"]["reference"] == SCRIPT_REFERENCE


def test_markup_is_literal_in_docx(generated):
    g = generated["markup"]
    cat = rs.catalog("en")
    meta = _docx_meta(g.files["docx"])
    assert meta[cat["meta.customer"]] == MARKUP_NAME
    assert meta[cat["meta.reference"]] == SCRIPT_REFERENCE
    lines = rs.docx_text_lines(g.files["docx"])
    # The introduction (a paragraph longer than the name) names the customer too.
    assert any(MARKUP_NAME in line and line != MARKUP_NAME for line in lines)
    assert not any("& 49" in line for line in lines)
    document = docx.Document(str(g.files["docx"]))
    assert MARKUP_NAME in document.core_properties.subject
    body_xml = document.element.xml
    assert "<b>" not in body_xml and "<script" not in body_xml
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; {{ 7*7 }}" in body_xml


# No fetching ------------------------------------------------------------------------------------------


def test_img_markup_in_name_fetches_nothing(generated):
    g = generated["img"]
    root = TEMPLATES_DIR.resolve().as_uri() + "/"
    if g.engine == "typst":  # the view comes in sys.inputs, files from templates/ only: WeasyPrint fetches nothing
        assert g.fetched == []
        return
    # The spy works: the stylesheet and the fonts were fetched through it, all from templates/.
    assert any(url.endswith("/annex.css") for url in g.fetched)
    assert any(url.endswith(".ttf") for url in g.fetched)
    assert all(url.startswith(root) for url in g.fetched), g.fetched
    assert not any("example.com" in url for url in g.fetched)


def test_img_markup_in_name_is_text_everywhere(generated):
    g = generated["img"]
    cat = rs.catalog("en")
    raw = g.files["html"].read_text(encoding="utf-8")
    assert "<img" not in raw
    tree = _html_tree(g.files["html"])
    assert tree.xpath("//img") == []
    assert _meta_value(tree, cat["meta.customer"]) == IMG_NAME
    assert f"{cat['meta.customer']} {IMG_NAME}" in _pdf_text(g.files["pdf"])
    assert _docx_meta(g.files["docx"])[cat["meta.customer"]] == IMG_NAME
    with pikepdf.open(g.files["pdf"]) as pdf:
        assert all(len(page.get_images()) == 0 for page in pdf.pages), "the PDF holds an image"


def test_typst_markup_in_name_is_text_in_every_format(generated):
    """Typst's own markup (strong, emphasis, code, maths, labels, references) prints literally."""
    g = generated["typst"]
    cat = rs.catalog("en")
    assert f"{cat['meta.customer']} {TYPST_NAME}" in _pdf_text(g.files["pdf"])
    assert _docx_meta(g.files["docx"])[cat["meta.customer"]] == TYPST_NAME
    assert _meta_value(_html_tree(g.files["html"]), cat["meta.customer"]) == TYPST_NAME


# Finnish letters ----------------------------------------------------------------------------------------


def test_finnish_letters_in_every_format(generated):
    g = generated["finnish"]
    cat = rs.catalog("fi")
    tree = _html_tree(g.files["html"])
    assert _meta_value(tree, cat["meta.customer"]) == FINNISH_NAME
    assert _meta_value(tree, cat["meta.reference"]) == FINNISH_REFERENCE
    text = _pdf_text(g.files["pdf"])
    assert f"{cat['meta.customer']} {FINNISH_NAME}" in text
    assert f"{cat['meta.reference']} {FINNISH_REFERENCE}" in text
    for letter in "åäöÅÄÖ":
        assert letter in text
    meta = _docx_meta(g.files["docx"])
    assert meta[cat["meta.customer"]] == FINNISH_NAME
    assert meta[cat["meta.reference"]] == FINNISH_REFERENCE
    # Drawn with the bundled Noto Sans, not a fallback font.
    fonts = set().union(*(p.fontnames for p in rs.pdf_document(g.files["pdf"]).pages))
    family = "Annex-Sans" if g.engine == "weasyprint" else "NotoSans"  # the bundled fonts either way
    assert fonts and all(family in f for f in fonts), fonts
