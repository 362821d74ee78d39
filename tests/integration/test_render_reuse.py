"""The WeasyPrint path's per-process reuse (one parsed stylesheet, one font configuration) changes
no byte: every PDF rendered with them, after other documents, equals one rendered from scratch
through the stylesheet link, as the HTML preview has it."""

from __future__ import annotations

import render_support as rs

from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.registry import load_registry
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
