"""What the bundled fallback fonts (Chinese, Arabic, Hebrew) cost a Latin-only annex's PDF, in one process.

    .venv/bin/python bench/fonts_bench.py [--rounds N]

Three ways to render the same Latin-only example annexes, alternated round by round so drift
hits all alike, medians per annex:
  A  no fallback fonts at all (the page as it was before they were bundled);
  B  annex-gen as it is: fallback faces declared only when the text needs them (a scan of the text);
  C  the fallback faces always declared (what a plain unicode-range stylesheet would cost,
     since WeasyPrint reads every @font-face file whether or not a character uses it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from markupsafe import Markup  # noqa: E402

from annex_gen.fonts import FALLBACKS, fallbacks_for, font_face_css  # noqa: E402
from annex_gen.inputs.contract import load_contract  # noqa: E402
from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.render.html import environment  # noqa: E402
from annex_gen.render.pdf import html_to_pdf, render_pdf  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402
from annex_gen.views import view_of  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all examples (default 5)")
    args = parser.parse_args()

    registry = load_registry(ROOT / "registry")
    contracts = [load_contract(registry, p)[0] for p in sorted((ROOT / "examples").glob("*.yaml"))]
    annexes = [resolve(registry, c) for c in contracts]
    assert not any(fallbacks_for(a.to_json_bytes().decode("utf-8")) for a in annexes), "examples must be Latin-only"
    template = environment().get_template("annex.html.j2")
    always = Markup(font_face_css(FALLBACKS))

    def pdf_with(font_faces: str):
        def run() -> None:
            for annex in annexes:
                html = template.render(doc=view_of(annex), font_faces=font_faces)
                html_to_pdf(html, date=annex.issued, attachments={annex.ATTACHMENT: annex.to_json_bytes()})
        return run

    def ours() -> None:
        for annex in annexes:
            render_pdf(annex)

    variants = {"A": pdf_with(""), "B": ours, "C": pdf_with(always)}
    for fn in variants.values():
        fn()  # warm caches (fonts, templates) before timing
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - start) / len(annexes))
    med = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{len(annexes)} Latin-only example annexes x {args.rounds} rounds (median per annex)")
    print(f"  A no fallback fonts            : {med['A'] * 1000:8.1f} ms")
    print(f"  B annex-gen (only when needed) : {med['B'] * 1000:8.1f} ms   ratio B/A {med['B'] / med['A']:.3f}")
    print(f"  C fallbacks always declared    : {med['C'] * 1000:8.1f} ms   ratio C/A {med['C'] / med['A']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
