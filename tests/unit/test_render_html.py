"""HTML rendering (annex_gen.render.html) and what the PDF renderer may fetch (render_pdf).

- the Jinja environment: templates/ only, autoescaping, strict about undefined names;
- the HTML's structure equals the resolved annex: sections, rows and cells in order, the summary,
  the register, the running header/footer strings;
- contract text is escaped, never evaluated;
- the HTML references nothing but templates/annex.css, whose url()s are the bundled fonts;
- TemplatesOnlyFetcher serves templates/ files and refuses everything else, and html_to_pdf fails
  rather than fetch a URL outside templates/.
"""

from __future__ import annotations

import datetime as dt
import re
import socket

import jinja2
import lxml.html
import pytest
import weasyprint

from annex_gen.model import Contract
from annex_gen.render import pdf as render_pdf
from annex_gen.render.html import environment, render_html
from annex_gen.resolve import resolve
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views.catalog import load_catalogs


def _contract(*, name="Acme Oy", language="en", region="eu", products=("mailer", "automation"), options=None,
              reference="DPA-1") -> Contract:
    return Contract(customer_id="acme", customer_name=name, date=dt.date(2026, 11, 29), region=region,
                    language=language, products=tuple(products), options=dict(options or {}),
                    reference=reference)


@pytest.fixture
def annex_of(registry):
    def _annex(**kwargs):
        return resolve(registry, _contract(**kwargs))

    return _annex


def _text(element) -> str:
    """The element's text, its text nodes separated by spaces (list items are blocks)."""
    return " ".join(" ".join(element.itertext()).split())


def _entry_cells(cat, e, option_names) -> list[str]:
    location = e.location + (f" {cat['table.outside_eea_mark']}" if e.outside_eea else "")
    location += f" {cat['table.registered_outside_eea_mark']}" if e.registered_outside_eea else ""
    purpose = " ".join([e.purpose, *e.purpose_items])
    if e.transfer:
        purpose += " " + cat.format("transfer_basis", basis=e.transfer)
    if e.option:
        purpose += " " + cat.format("table.option_gated", option=option_names[e.option])
    return [e.name, e.legal_id or cat["meta.none"], location, purpose]


# The environment ----------------------------------------------------------------------------------------


def test_environment_is_autoescaped_strict_and_limited_to_templates():
    env = environment()
    assert env.autoescape is True or env.autoescape("annex.html.j2") is True
    assert env.undefined is jinja2.StrictUndefined
    assert isinstance(env.loader, jinja2.FileSystemLoader)
    assert [str(p) for p in env.loader.searchpath] == [str(TEMPLATES_DIR)]
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ doc.missing }}").render(doc={})
    with pytest.raises(jinja2.TemplateNotFound):
        env.get_template("../pyproject.toml")


# Structure --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fi"])
def test_html_structure_equals_the_annex(annex_of, language):
    annex = annex_of(language=language, options={"dedicated_mta": True})
    cat = load_catalogs()[language]
    names = dict(annex.option_names)
    html = render_html(annex)
    assert html.startswith("<!DOCTYPE html>")
    tree = lxml.html.fromstring(html)
    assert tree.get("lang") == language
    assert _text(tree.find("head/title")) == f"{annex.annex_title} – {annex.customer_name}"
    assert tree.xpath("//meta[@name='author']/@content") == [annex.company_name]
    assert tree.xpath("//meta[@name='keywords']/@content") == [annex.document_id]
    assert _text(tree.xpath("//h1")[0]) == annex.annex_title
    # every header cell of a data table has a scope; the signature layout is no table
    assert tree.xpath("//th[not(@scope)]") == []
    assert tree.xpath("//div[@class='signatures']//table") == []
    # One div per section, in order, each with its title and a row per entry.
    divs = tree.xpath("//div[@class='section']")
    assert [d.get("id") for d in divs] == [f"section-{s.id}" for s in annex.sections]
    for div, section in zip(divs, annex.sections, strict=True):
        assert _text(div.xpath(".//h2")[0]) == section.title
        head = [_text(th) for th in div.xpath(".//table[@class='entries']/thead/tr/th")]
        assert head == [cat[f"table.{k}"] for k in ("company", "identifier", "location", "purpose")]
        body = div.xpath(".//table[@class='entries']/tbody/tr")
        rows = [[_text(td) for td in tr.xpath("td")] for tr in body]
        assert rows == [_entry_cells(cat, e, names) for e in section.entries]
    # The summary: one row per distinct legal entity.
    summary = tree.xpath("//table[@class='summary']/tbody/tr")
    # the name, then its details (legal name, address, contact) as recorded
    names_cells = [_text(tr.xpath("td")[0]) for tr in summary]
    assert [c.split(" ", len(p.name.split()))[: len(p.name.split())] for c, p in
            zip(names_cells, annex.subprocessors, strict=True)] == [p.name.split() for p in annex.subprocessors]
    assert [_text(tr.xpath("td")[4]) for tr in summary] == [
        " ".join([cat["table.yes"], "; ".join(p.transfers)]).strip() if p.outside_eea else cat["table.no"]
        for p in annex.subprocessors]
    # The register, before the signatures and headed as the published list heads it.
    register = tree.xpath("//div[@class='register']")[0]
    register_title = cat.format("register.title", company=annex.company_name)
    assert _text(register.xpath("h2")[0]) == register_title
    rows = [[_text(td) for td in tr.xpath("td")] for tr in register.xpath(".//tbody/tr")]
    assert rows == [_entry_cells(cat, e, names) for e in annex.customer_register.entries]
    h2 = [_text(h) for h in tree.xpath("//h2")]
    clause = [cat.format("transfer_clause.title", region=annex.region_name)] if annex.transfer_clause else []
    assert h2 == [*(s.title for s in annex.sections), cat["summary.title"], *clause, cat["notice.title"],
                  register_title, cat["signatures.title"]]


def test_running_header_and_footer_strings(annex_of):
    annex = annex_of(language="fi")
    tree = lxml.html.fromstring(render_html(annex))
    running = tree.xpath("//div[@class='running']")[0]
    spans = {s.get("class"): s.text_content() for s in running.xpath("span")}
    assert spans == {
        "company": annex.company_name,
        "doctitle": "Tietojenkäsittelysopimuksen liite: Alikäsittelijät",
        "docid": f"Asiakirjatunnus {annex.document_id}",
        "pagelabel": "Sivu",
        "pageof": "/",
    }
    css = (TEMPLATES_DIR / "annex.css").read_text(encoding="utf-8")
    assert 'string(pagelabel) " " counter(page) " " string(pageof) " " counter(pages)' in css
    assert "string(docid)" in css


def test_outside_eea_rows_are_marked(annex_of):
    annex = annex_of(region="uae", products=("mailer",))
    tree = lxml.html.fromstring(render_html(annex))
    for div, section in zip(tree.xpath("//div[@class='section']"), annex.sections, strict=True):
        for tr, e in zip(div.xpath(".//tbody/tr"), section.entries, strict=True):
            assert len(tr.xpath("td[3]/span[@class='mark']")) == e.outside_eea + e.registered_outside_eea
    assert any(e.outside_eea for s in annex.sections for e in s.entries)


# Escaping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    '<b>Acme</b> & {{ 7*7 }} "Oy"',
    "Acme {% if true %}X{% endif %} {# c #} Oy",
    '<img src="http://example.com/x.png"> Ltd',
    "O'Brien & Sons <!-- x --> ]]> Ltd",
])
def test_contract_text_is_escaped_not_evaluated(annex_of, name):
    reference = '<script>alert("x")</script>'
    annex = annex_of(name=name, reference=reference)
    html = render_html(annex)
    for tag in ("<b>", "<img", "<script", "<!-- x"):
        assert tag not in html
    tree = lxml.html.fromstring(html)
    meta = {_text(tr.xpath("th")[0]): tr.xpath("td")[0].text_content()
            for tr in tree.xpath("//table[@class='meta']//tr")}
    assert meta["Customer"] == name
    assert meta["Contract reference"] == reference
    assert tree.xpath("//script | //img | //b") == []
    assert "49" not in meta["Customer"]
    assert _text(tree).count(" ".join(name.split())) >= 3  # metadata, introduction, signatures


# Nothing but templates/ ------------------------------------------------------------------------------


def test_html_and_css_reference_only_bundled_files(annex_of):
    html = render_html(annex_of())
    tree = lxml.html.fromstring(html)
    refs = tree.xpath("//@src | //@href | //@srcset | //@data | //@poster")
    assert refs == ["annex.css"]
    assert "url(" not in html and "@import" not in html
    css = (TEMPLATES_DIR / "annex.css").read_text(encoding="utf-8")
    assert "@import" not in css
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    assert urls and all(u.startswith("fonts/") for u in urls)
    for url in urls:
        assert (TEMPLATES_DIR / url).is_file(), url


@pytest.fixture
def fetcher():
    return render_pdf.TemplatesOnlyFetcher()


@pytest.fixture
def no_network(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network access in a unit test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    return calls


def test_fetcher_serves_templates_files(fetcher, no_network):
    path = TEMPLATES_DIR / "annex.css"
    response = fetcher.fetch(path.as_uri())
    try:
        assert response.read() == path.read_bytes()
    finally:
        response.close()
    font = TEMPLATES_DIR / "fonts" / "NotoSans-Regular.ttf"
    response = fetcher(font.as_uri())  # WeasyPrint calls the fetcher itself
    try:
        assert response.read(4) in (b"\x00\x01\x00\x00", b"true", b"OTTO")
    finally:
        response.close()
    assert no_network == []


@pytest.mark.parametrize("url", [
    "http://example.com/x.png",
    "https://example.com/annex.css",
    "ftp://example.com/x",
    "file:///etc/passwd",
    "data:text/css,body{color:red}",
    f"file://{TEMPLATES_DIR}/../pyproject.toml",
    f"file://{TEMPLATES_DIR}/%2e%2e/pyproject.toml",
    f"file://{TEMPLATES_DIR}-evil/annex.css",
])
def test_fetcher_refuses_urls_outside_templates(fetcher, no_network, url):
    with pytest.raises(weasyprint.urls.FatalURLFetchingError, match="outside templates"):
        fetcher.fetch(url)
    assert no_network == []


def test_fetcher_refuses_file_urls_naming_another_host(fetcher, no_network):
    with pytest.raises(weasyprint.urls.FatalURLFetchingError, match="outside templates"):
        fetcher.fetch(f"file://example.com{TEMPLATES_DIR}/annex.css")
    assert no_network == []


@pytest.mark.parametrize("html", [
    '<p>x <img src="http://example.com/x.png"></p>',
    '<link rel="stylesheet" href="file:///etc/passwd"><p>x</p>',
    '<p style="background: url(https://example.com/a.png)">x</p>',
])
def test_pdf_rendering_fails_rather_than_fetch_outside_templates(html, no_network):
    with pytest.raises(render_pdf.RenderError, match="refused to fetch .*outside templates"):
        render_pdf.html_to_pdf(html, date=dt.date(2026, 11, 29), attachments={})
    assert no_network == []


def test_a_suspended_hyphen_stays_with_its_word_and_text_stays_escaped():
    from annex_gen.render.html import keep_suspended_hyphens

    assert str(keep_suspended_hyphens("käyttäjähallinta ja -autentikointi")) == (
        'käyttäjähallinta <span class="nobr">ja -autentikointi</span>')
    assert str(keep_suspended_hyphens("<b>x</b> ja -y")) == '&lt;b&gt;x&lt;/b&gt; <span class="nobr">ja -y</span>'
    assert str(keep_suspended_hyphens("a - b")) == "a - b"


def test_liana_wordpress_never_breaks_between_its_words(annex_of):
    annex = annex_of(language="fi", products=("cms", "wordpress", "commerce"))
    html = render_html(annex)
    assert '<h2>LianaCMS, <span class="nobr">Liana WordPress</span> ja LianaCommerce</h2>' in html
    # the register and footnote stay with what they belong to
    css = (TEMPLATES_DIR / "annex.css").read_text(encoding="utf-8")
    assert re.search(r"\.register \{ break-inside: avoid;", css)
    assert re.search(r"\.footnote \{ break-before: avoid; \}", css)


def test_the_pdf_path_drops_whitespace_between_block_tags_only():
    html = ('<body>\n  <div class="section">\n    <h2>Otsikko</h2>\n  <table>\n  <tr>\n    <td>Google</td>\n'
            '    <td>Lianan <span class="nobr">ja -autentikointi</span> <span>x</span>\n<p>loppu</p></td>\n'
            '  </tr>\n</table>\n</div>\n</body>')
    assert render_pdf.BLOCK_GAP.sub("><", html) == (
        '<body><div class="section"><h2>Otsikko</h2><table><tr><td>Google</td>'
        '<td>Lianan <span class="nobr">ja -autentikointi</span> <span>x</span><p>loppu</p></td>'
        '</tr></table></div></body>')
