"""Time annex-gen's renderers against their peers, A/B in turn, and a batch's throughput.

    .venv/bin/python bench/perf_bench.py [--rounds 5] [--batch 200] [--jobs 2] [--check 10000]

Per round, in alternating order (reversed every other round, so drift and other processes on the
machine hit every side alike), over the example contracts:

- annex-gen's PDF with each engine (resolve, view, render, PDF/A-3b with annex.json, tagged);
- bare WeasyPrint on the same HTML (default options, a fresh stylesheet and fonts per document);
- LibreOffice converting annex-gen's DOCX files to PDF, all files in one `soffice` invocation
  (the path of docassemble and Carbone), with its own profile directory;
- annex-gen's DOCX.

CPU seconds per document (this process, or the soffice child) are the figure compared, each
side's time including the collection of the garbage it leaves; wall time is shown beside it.
Medians over the rounds; the spread (min-max as % of the median) says how noisy the machine was;
a ratio is the median of the rounds' own ratios, so a slow spell that hits both sides of one
round does not move it. Then `annex-gen batch` over N synthetic contracts (PDF + DOCX) with each
engine, and `check` over the synthetic contracts with the libyaml fast path and with the pure
parser alone.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import weasyprint  # noqa: E402
from batch_bench import make_contracts  # noqa: E402

from annex_gen.inputs import yamlio  # noqa: E402
from annex_gen.inputs.check import check  # noqa: E402
from annex_gen.inputs.contract import load_contract  # noqa: E402
from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.render import pdf as weasy_pdf  # noqa: E402
from annex_gen.render import typst_pdf  # noqa: E402
from annex_gen.render.docx import render_docx  # noqa: E402
from annex_gen.render.html import render_html  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402
from annex_gen.resources import TEMPLATES_DIR  # noqa: E402


def child_cpu() -> float:
    """CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(CPU seconds of this process and its children, wall seconds) of fn(), collecting its garbage too.

    The collection belongs to the side that left the garbage: bare WeasyPrint leaves each render to
    Python's cycle collector (0.1-0.17 s for the nine examples here), which would otherwise run
    during whichever side comes next. What was alive before the rounds is frozen (gc.freeze), so
    a collection looks at the objects made since, not at every cache and module of the process.
    """
    cpu, children, wall = time.process_time(), child_cpu(), time.perf_counter()
    fn()
    gc.collect()
    return time.process_time() - cpu + child_cpu() - children, time.perf_counter() - wall


def spread(values: list[float]) -> str:
    """max-min as a percentage of the median."""
    return f"{(max(values) - min(values)) / statistics.median(values) * 100:.0f}%"


def render_table(args: argparse.Namespace, work: Path) -> None:
    """The A/B rounds over the example annexes."""
    registry = load_registry(ROOT / "registry")
    contracts = [load_contract(registry, p)[0] for p in sorted((ROOT / "examples").glob("*.yaml"))]
    n = len(contracts)
    htmls = [render_html(resolve(registry, c)) for c in contracts]
    docx_dir, pdf_dir = work / "docx", work / "lo-pdf"
    docx_dir.mkdir()
    for contract in contracts:
        (docx_dir / f"{contract.customer_id}.docx").write_bytes(render_docx(resolve(registry, contract)))
    docx_files = sorted(str(p) for p in docx_dir.glob("*.docx"))
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    profile = (work / "lo-profile").as_uri()

    def ours_weasyprint() -> None:
        for c in contracts:
            weasy_pdf.render_pdf(resolve(registry, c))

    def ours_typst() -> None:
        for c in contracts:
            typst_pdf.render_pdf(resolve(registry, c))

    def bare_weasyprint() -> None:
        for html in htmls:
            weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + "/").write_pdf()

    def libreoffice() -> None:
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(pdf_dir), *docx_files], check=True, capture_output=True)

    def ours_docx() -> None:
        for c in contracts:
            render_docx(resolve(registry, c))

    sides: dict[str, Callable[[], None]] = {
        "annex-gen PDF, WeasyPrint engine": ours_weasyprint,
        "annex-gen PDF, Typst engine": ours_typst,
        "bare WeasyPrint, same HTML": bare_weasyprint,
        "LibreOffice, annex-gen's DOCX -> PDF": libreoffice,
        "annex-gen DOCX": ours_docx,
    }
    if soffice is None:
        raise SystemExit("soffice not found: install LibreOffice (scripts/install-system-packages)")
    for fn in sides.values():  # warm up: fonts, templates, compilers, LibreOffice's profile
        fn()
    gc.collect()
    gc.freeze()
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    wall: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for round_ in range(args.rounds):
        for name in order if round_ % 2 == 0 else reversed(order):
            c, w = timed(sides[name])
            cpu[name].append(c / n)
            wall[name].append(w / n)
    peer = cpu["LibreOffice, annex-gen's DOCX -> PDF"]
    weasy = cpu["annex-gen PDF, WeasyPrint engine"]

    def ratio(values: list[float], to: list[float]) -> float:
        """The median of the round-by-round ratios: sides timed in the same round met the same machine."""
        return statistics.median(v / t for v, t in zip(values, to, strict=True))

    print(f"{n} example annexes x {args.rounds} rounds, A/B in alternating order; per document, medians"
          " (ratios: medians of each round's ratio)")
    print(f"| {'what':38} | CPU ms | wall ms | spread (CPU) | vs LibreOffice | vs annex-gen WeasyPrint |")
    print(f"|{'-' * 40}|-------:|--------:|-------------:|---------------:|------------------------:|")
    for name in sides:
        m = statistics.median(cpu[name])
        print(f"| {name:38} | {m * 1000:6.0f} | {statistics.median(wall[name]) * 1000:7.0f} | "
              f"{spread(cpu[name]):>12} | {ratio(cpu[name], peer):13.2f}x | {ratio(cpu[name], weasy):22.2f}x |")


def batch_run(args: argparse.Namespace, work: Path) -> None:
    """`annex-gen batch` over synthetic contracts, each engine, PDF + DOCX."""
    contracts = work / "contracts"
    make_contracts(ROOT / "registry", contracts, args.batch)
    print(f"\nbatch of {args.batch} synthetic contracts (PDF + DOCX), --jobs {args.jobs}, alternating engines")
    results: dict[str, list[float]] = {"weasyprint": [], "typst": []}
    for round_ in range(2):
        for engine in ("weasyprint", "typst") if round_ == 0 else ("typst", "weasyprint"):
            out = work / f"batch-{engine}-{round_}"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "annex_gen", "batch", str(contracts), "--out", str(out),
                            "--jobs", str(args.jobs), "--engine", engine, "--plain"], cwd=ROOT, check=True,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
            results[engine].append(time.perf_counter() - start)
    for engine, seconds in results.items():
        m = statistics.median(seconds)
        print(f"  {engine:10}: {m:7.1f} s  {args.batch / m:6.1f} annexes/s  {args.batch / m / args.jobs:6.2f} per core"
              f"  (runs: {', '.join(f'{s:.1f}' for s in seconds)})")


def check_run(args: argparse.Namespace, work: Path) -> None:
    """`check` over synthetic contracts: libyaml fast path against the pure parser alone, in turn."""
    contracts = work / "check-contracts"
    make_contracts(ROOT / "registry", contracts, args.check)
    results: dict[bool, list[float]] = {True: [], False: []}
    available = yamlio._FAST
    for round_ in range(2):
        for fast in (True, False) if round_ == 0 else (False, True):
            yamlio._FAST = fast and available
            cpu, _ = timed(lambda: check(ROOT / "registry", [contracts]))
            results[fast].append(cpu)
    yamlio._FAST = available
    fast, pure = statistics.median(results[True]), statistics.median(results[False])
    print(f"\ncheck over {args.check} synthetic contracts, CPU seconds (median of 2, alternating)")
    print(f"  pure parser: {pure:6.2f} s   libyaml fast path: {fast:6.2f} s   {pure / fast:.1f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="A/B rounds over the examples (default 5)")
    parser.add_argument("--batch", type=int, default=200, help="synthetic contracts for the batch run (0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="batch worker processes (default 2)")
    parser.add_argument("--check", type=int, default=10000, help="synthetic contracts for check (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annex-gen-bench-") as tmp:
        work = Path(tmp)
        render_table(args, work)
        if args.batch:
            batch_run(args, work)
        if args.check:
            check_run(args, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
