"""Time annex rendering against bare WeasyPrint on the same HTML, in one process.

    .venv/bin/python bench/render_bench.py [--rounds N]

Reports, per annex: annex-gen's PDF time (resolve, HTML, WeasyPrint, PDF/A and the embedded
JSON), bare WeasyPrint's time for the same HTML with default options, their ratio, and the
DOCX time as a fraction of the PDF time. Rounds alternate so drift hits both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import weasyprint  # noqa: E402

from annex_gen.inputs.contract import load_contract  # noqa: E402
from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.render.docx import render_docx  # noqa: E402
from annex_gen.render.html import render_html  # noqa: E402
from annex_gen.render.pdf import render_pdf  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402
from annex_gen.resources import TEMPLATES_DIR  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all examples (default 3)")
    args = parser.parse_args()

    registry = load_registry(ROOT / "registry")
    contracts = [load_contract(registry, p)[0] for p in sorted((ROOT / "examples").glob("*.yaml"))]
    htmls = [render_html(resolve(registry, c)) for c in contracts]
    base = str(TEMPLATES_DIR) + "/"

    def ours() -> None:
        for contract in contracts:
            render_pdf(resolve(registry, contract))

    def bare() -> None:
        for html in htmls:
            weasyprint.HTML(string=html, base_url=base).write_pdf()

    def docx() -> None:
        for contract in contracts:
            render_docx(resolve(registry, contract))

    ours()
    bare()
    docx()  # warm caches (fonts, templates) before timing
    timings: dict[str, list[float]] = {"ours": [], "bare": [], "docx": []}
    for _ in range(args.rounds):
        for name, fn in (("bare", bare), ("ours", ours), ("docx", docx)):
            start = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - start) / len(contracts))
    med = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{len(contracts)} example annexes x {args.rounds} rounds (median seconds per annex)")
    print(f"  bare WeasyPrint, same HTML : {med['bare'] * 1000:8.1f} ms")
    print(f"  annex-gen PDF              : {med['ours'] * 1000:8.1f} ms   ratio {med['ours'] / med['bare']:.3f}x")
    print(f"  annex-gen DOCX             : {med['docx'] * 1000:8.1f} ms   {med['docx'] / med['ours']:.3f} of a PDF")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
