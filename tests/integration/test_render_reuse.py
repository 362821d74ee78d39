"""The WeasyPrint path's per-process reuse changes no byte.

One parsed stylesheet and one font configuration: every PDF rendered with them, after other
documents, equals one rendered from scratch through the stylesheet link, as the HTML preview has it.
Line measurements kept across documents (render.line_cache): every example annex and a change
notice, rendered after the others with the cache filled, equal their renders without the cache.
Layout contexts released as their render ends (render.context_release): the same bytes.
"""

from __future__ import annotations

import datetime as dt
import gc
import weakref

import render_support as rs
import weasyprint
from tests.conftest import copy_registry, make_contract, replace_once

from annex_gen.changes.impact import impact
from annex_gen.changes.notices import build_notice, notice_dates
from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
from annex_gen.render import context_release, line_cache
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


def test_kept_line_measurements_give_the_uncached_bytes(tmp_path):
    assert line_cache.supported(), (
        f"WeasyPrint {weasyprint.__version__} is not one render.line_cache was verified with "
        f"({', '.join(line_cache.VERIFIED_VERSIONS)}): check it as this test does, then add it")
    registry = load_registry(rs.ROOT / "registry")
    documents = [resolve(registry, load_contract(registry, path)[0]) for path in rs.EXAMPLES]
    documents.append(a_notice(tmp_path, registry))
    try:
        line_cache.uninstall()
        counts = line_cache.hits, line_cache.misses
        uncached = [render_pdf.render_pdf(document) for document in documents]
        assert (line_cache.hits, line_cache.misses) == counts, "uninstalled, the cache should not be asked"
        render_pdf.shared_style.cache_clear()  # installs the cache with a new font configuration
        for document in documents:  # fill it with every document first
            render_pdf.render_pdf(document)
        before = line_cache.hits
        cached = [render_pdf.render_pdf(document) for document in documents]
        assert line_cache.hits > before, "the second round should reuse kept measurements"
    finally:
        render_pdf.shared_style.cache_clear()
    for document, plain, kept in zip(documents, uncached, cached, strict=True):
        assert kept[:5] == b"%PDF-" and kept == plain, f"{document.customer_id}: the line cache changed the PDF"


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

    try:
        line_cache.uninstall()
        plain = render()
        render_pdf.shared_style.cache_clear()
        render()
        misses = line_cache.misses
        kept = render()
        assert line_cache.misses == misses, "the second render should be measured from the cache alone"
    finally:
        render_pdf.shared_style.cache_clear()
    assert kept == plain


def test_released_layout_contexts_give_the_same_bytes_and_need_no_collector(tmp_path):
    registry = load_registry(rs.ROOT / "registry")
    documents = [resolve(registry, load_contract(registry, path)[0]) for path in rs.EXAMPLES]
    documents.append(a_notice(tmp_path, registry))
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
