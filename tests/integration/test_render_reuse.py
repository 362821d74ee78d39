"""The WeasyPrint path's per-process reuse changes no byte.

One parsed stylesheet and one font configuration: every PDF rendered with them, after other
documents, equals one rendered from scratch through the stylesheet link, as the HTML preview has it.
Computed styles and line measurements kept across documents (render.style_cache, render.line_cache):
every example annex and a change notice, rendered after the others with the caches filled, equal
their renders without them.
Layout contexts released as their render ends (render.context_release): the same bytes.
The templates' markup parsed by expat instead of WeasyPrint's tinyhtml5: the same tree, the same bytes.
"""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import render_support as rs
import tinyhtml5
import weasyprint
from tests.conftest import copy_registry, make_contract, replace_once

from annex_gen.changes.impact import impact
from annex_gen.changes.notices import build_notice, notice_dates
from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.render import context_release, line_cache, style_cache
from annex_gen.render import pdf as render_pdf
from annex_gen.render.html import render_html
from annex_gen.resolve import resolve


def test_shared_stylesheet_and_fonts_give_the_uncached_bytes():
    registry = load_registry(rs.ROOT / "registry")
    # Two languages and regions, rendered in turn, so the second reuses what the first set up.
    annexes = [resolve(registry, load_contract(registry, rs.EXAMPLES_DIR / f"{name}.yaml")[0])
               for name in ("nordic-webshop", "kaikki-tuotteet", "dubai-events")]
    render_pdf.shared_style.cache_clear()
    reused = [render_pdf.render_pdf(annex) for annex in annexes]
    assert render_pdf.shared_style.cache_info().misses == 1, "the stylesheet should be parsed once"
    for annex, data in zip(annexes, reused, strict=True):
        fresh = render_pdf.html_to_pdf(render_html(annex), date=annex.issued,
                                       attachments={annex.ATTACHMENT: annex.to_json_bytes()})
        assert data[:5] == b"%PDF-" and data == fresh, f"{annex.customer_id}: reuse changed the PDF"


def a_notice(tmp_path, registry):
    """The change notice of an EU LianaMailer customer after an entry is added."""
    directory = copy_registry(tmp_path / "registry-new")
    replace_once(directory / "sections.yaml",
                 "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n",
                 "      - entity: hetzner\n        location: germany\n"
                 "        purpose: {fi: Sähköpostiarkisto, en: Email archive}\n"
                 "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n")
    new = load_registry(directory)
    report = impact(registry, new, [make_contract("eu", ["mailer"], customer_id="eu-mailer-fi")])
    (customer,) = report.customers
    return build_notice(report, customer, notice_dates(registry, new, dt.date(2026, 12, 1)))


@contextmanager
def without(*caches) -> Iterator[None]:
    """Renders inside run with these caches uninstalled; the first render after it installs them afresh."""
    render_pdf.shared_style()  # set up now, or the first render inside would install them again
    for cache in caches:
        cache.uninstall()
    try:
        yield
    finally:
        render_pdf.shared_style.cache_clear()


def renders_without_and_with(cache, documents) -> tuple[list[bytes], list[bytes], int, int]:
    """Each document rendered without the cache, then with it after every document filled it;
    with the hits and misses of that last round."""
    with without(cache):
        counts = cache.hits, cache.misses
        plain = [render_pdf.render_pdf(document) for document in documents]
        assert (cache.hits, cache.misses) == counts, "uninstalled, the cache should not be asked"
    try:
        for document in documents:
            render_pdf.render_pdf(document)
        hits, misses = cache.hits, cache.misses
        kept = [render_pdf.render_pdf(document) for document in documents]
        return plain, kept, cache.hits - hits, cache.misses - misses
    finally:
        render_pdf.shared_style.cache_clear()


def examples_and_a_notice(tmp_path):
    registry = load_registry(rs.ROOT / "registry")
    documents = [resolve(registry, load_contract(registry, path)[0]) for path in rs.EXAMPLES]
    return [*documents, a_notice(tmp_path, registry)]


def test_kept_computed_styles_give_the_uncached_bytes(tmp_path):
    documents = examples_and_a_notice(tmp_path)
    plain, kept, hits, misses = renders_without_and_with(style_cache, documents)
    assert misses == 0, "the second round should find every element's style kept"
    assert hits > 1000 * len(documents), "each document should reuse its styles"
    for document, before, after in zip(documents, plain, kept, strict=True):
        assert after[:5] == b"%PDF-" and after == before, f"{document.customer_id}: the style cache changed the PDF"


def test_kept_line_measurements_give_the_uncached_bytes(tmp_path):
    assert line_cache.supported(), (
        f"WeasyPrint {weasyprint.__version__} is not one render.line_cache was verified with "
        f"({', '.join(line_cache.VERIFIED_VERSIONS)}): check it as this test does, then add it")
    documents = examples_and_a_notice(tmp_path)
    plain, kept, hits, _ = renders_without_and_with(line_cache, documents)
    assert hits > 0, "the second round should reuse kept measurements"
    assert line_cache._struts, "the styles' struts should be kept"
    for document, before, after in zip(documents, plain, kept, strict=True):
        assert after[:5] == b"%PDF-" and after == before, f"{document.customer_id}: the line cache changed the PDF"


STYLES = ("", "font-weight: bold", "font-style: italic", "font-size: 12pt", "letter-spacing: 1pt",
          "word-spacing: 4pt", "width: 25mm; white-space: nowrap", "hyphens: auto", "font-kerning: none",
          "text-decoration: underline", "width: 25mm", "width: 25mm; overflow-wrap: anywhere")


def test_the_kept_measurements_tell_text_styles_apart():
    # The same words in every text style, right-aligned so a wrong width would move them.
    words = "Alikäsittelijäluettelon tietojenkäsittelysopimus Lianan"
    body = "".join(f'<p lang="fi" style="text-align: right; {style}">{words}</p>' for style in STYLES)
    html = f'<!DOCTYPE html><html lang="fi"><head><meta charset="utf-8"></head><body>{body}</body></html>'

    def render() -> bytes:
        return render_pdf.html_to_pdf(html, date=dt.date(2026, 11, 30), attachments={}, styled=True)

    with without(line_cache, style_cache):
        counts = line_cache.misses, style_cache.misses
        plain = render()
        assert (line_cache.misses, style_cache.misses) == counts, "uninstalled, the caches should not be asked"
    try:
        render()
        misses, style_misses = line_cache.misses, style_cache.misses
        kept = render()
        assert line_cache.misses == misses, "the second render should be measured from the cache alone"
        assert style_cache.misses == style_misses, "the second render should take every style from the cache"
    finally:
        render_pdf.shared_style.cache_clear()
    assert kept == plain


# Documents alike but for one declaration, on the element or on its parent: a style kept from one
# must never serve another.
VARIANTS = ('<div><p>{words}</p></div>', '<div style="font-size: 12pt"><p>{words}</p></div>',
            '<div style="color: #c00"><p>{words}</p></div>', '<div><p style="margin-left: 20mm">{words}</p></div>',
            '<div><p class="rule">{words}</p></div>',
            '<div><p class="rule" style="font-style: normal">{words}</p></div>',
            '<div><p style="width: 22mm; hyphens: auto">{words}</p></div>',
            '<div lang="en"><p style="width: 22mm; hyphens: auto">{words}</p></div>',
            '<ul><li>{words}</li><li style="text-decoration: underline">{words}</li></ul>',
            '<div><p style="box-sizing: border-box; width: 40mm; padding: 2mm; border: 1pt solid">{words}</p></div>',
            '<table><tr><td style="border: 2pt solid; padding: 1mm 2mm">{words}</td><td>{words}</td></tr></table>')


def test_kept_styles_serve_only_documents_that_cascade_alike():
    words = "Alikäsittelijäluettelon tietojenkäsittelysopimus Lianan"
    page = '<!DOCTYPE html><html lang="fi"><head><meta charset="utf-8"></head><body>{}</body></html>'
    htmls = [page.format(v.format(words=words)) for v in VARIANTS]

    def render(html: str) -> bytes:
        return render_pdf.html_to_pdf(html, date=dt.date(2026, 11, 30), attachments={}, styled=True)

    with without(style_cache):
        plain = [render(html) for html in htmls]
    try:
        for html in htmls:
            render(html)
        hits = style_cache.hits
        kept = [render(html) for html in reversed(htmls)][::-1]
        assert style_cache.hits > hits
    finally:
        render_pdf.shared_style.cache_clear()
    assert len(set(plain)) == len(VARIANTS), "every variant should print differently"
    for variant, before, after in zip(VARIANTS, plain, kept, strict=True):
        assert after == before, f"{variant}: a kept style changed the PDF"


def test_released_layout_contexts_give_the_same_bytes_and_need_no_collector(tmp_path):
    documents = examples_and_a_notice(tmp_path)
    render_pdf.render_pdf(documents[0])  # installs it
    try:
        context_release.uninstall()
        kept = [render_pdf.render_pdf(document) for document in documents]
    finally:
        assert context_release.install()
    released = [render_pdf.render_pdf(document) for document in documents]
    for document, before, after in zip(documents, kept, released, strict=True):
        assert after[:5] == b"%PDF-" and after == before, f"{document.customer_id}: releasing changed the PDF"
    # The context (and with it the render's styles and boxes) is gone when the render returns.
    contexts = []
    original = context_release._original_init

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        contexts.append(weakref.ref(self))

    context_release._original_init = remember
    gc.disable()  # so only reference counting can have freed it
    try:
        render_pdf.render_pdf(documents[0])
        assert len(contexts) == 1 and contexts[0]() is None, "the layout context outlived its render"
    finally:
        gc.enable()
        context_release._original_init = original


HOSTILE_NAME = '<b>Acme</b> & {{ 7*7 }} "Oy" \'s <img src="http://example.com/x.png"> ]]> <!-- x --> <![CDATA[y]]>'


def test_markup_parsed_by_expat_gives_the_tree_and_bytes_of_weasyprints_parser(tmp_path, monkeypatch, registry):
    documents = [*examples_and_a_notice(tmp_path),
                 resolve(registry, make_contract("eu", ["mailer"], language="en", customer_name=HOSTILE_NAME))]
    parsed = []
    expat = render_pdf.parse_html

    def recording(html, **kwargs):
        parsed.append((html, expat(html, **kwargs)))
        return parsed[-1][1]

    monkeypatch.setattr(render_pdf, "parse_html", recording)
    fast = [render_pdf.render_pdf(document) for document in documents]
    for document, (html, result) in zip(documents, parsed, strict=True):
        assert isinstance(result, render_pdf._ParsedHTML), f"{document.customer_id}: expat refused the markup"
        assert trees_differ(tinyhtml5.parse(html, namespace_html_elements=False), result.etree_element) is None
    assert HOSTILE_NAME in "".join(result.etree_element.itertext())
    monkeypatch.setattr(render_pdf, "parse_html", lambda html, **kwargs: weasyprint.HTML(string=html, **kwargs))
    for document, before in zip(documents, fast, strict=True):
        assert render_pdf.render_pdf(document) == before, f"{document.customer_id}: expat's tree changed the PDF"


def test_markup_expat_refuses_goes_to_weasyprints_parser():
    fetcher = render_pdf.TemplatesOnlyFetcher()
    document = render_pdf.parse_html("<html><body><p>a&nbsp;b<br></p></body></html>", base_url="/", url_fetcher=fetcher)
    assert not isinstance(document, render_pdf._ParsedHTML)
    assert "".join(document.etree_element.itertext()) == "a\xa0b"


def trees_differ(a, b, path: str = "html") -> str | None:
    """Where two element trees differ (tag, attributes, text, tail, children), or None."""
    for what, x, y in (("tag", a.tag, b.tag), ("attributes", dict(a.attrib), dict(b.attrib)),
                       ("text", a.text or "", b.text or ""), ("tail", a.tail or "", b.tail or ""),
                       ("children", [c.tag for c in a], [c.tag for c in b])):
        if x != y:
            return f"{path}: {what} {x!r} != {y!r}"
    children = (trees_differ(x, y, f"{path}/{x.tag}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True)))
    return next((d for d in children if d), None)
