"""Benchmark `annex-gen batch` over N synthetic contracts.

    .venv/bin/python bench/batch_bench.py [--contracts 1000] [--jobs N] [--sample 20] [--keep DIR]

Makes N contracts spread over the registry's regions, products, languages and options, then
times, each as a real `python -m annex_gen batch` process:

1. a full batch (annexes per second, per core, and the time per annex per core against bare
   WeasyPrint rendering the same HTML in one process, measured on a sample);
2. a no-op batch over the same output (nothing changed);
3. a batch after a one-entry registry change (a new sub-processor for LianaMailer in the
   EU): how many annexes were regenerated, how many the diff predicts, and the time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.output.processes import default_jobs  # noqa: E402

NEW_ENTRY = """      - entity: hetzner
        location: germany
        purpose: {fi: Sähköpostiarkisto, en: Email archive}
"""


def make_contracts(registry_dir: Path, out: Path, n: int, seed: int = 2026) -> None:
    """N contract files: 70 % EU, 15 % UAE, 15 % Hong Kong; random products, language and option."""
    registry = load_registry(registry_dir)
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    regions = ["eu"] * 14 + ["uae"] * 3 + ["hk"] * 3
    for i in range(n):
        region = rng.choice(regions)
        offered = registry.regions[region].products
        products = rng.sample(offered, rng.randint(1, min(3, len(offered))))
        language = rng.choice(registry.languages)
        options = ""
        if region == "eu" and "mailer" in products and rng.random() < 0.3:
            options = "  options:\n    dedicated_mta: true\n"
        (out / f"customer-{i:05d}.yaml").write_text(
            f"customer:\n  id: customer-{i:05d}\n  name: Synthetic Customer {i} Oy\n"
            f"  contact_email: dpo{i}@customer.example\n"
            f"contract:\n  reference: DPA-BENCH-{i:05d}\n  date: 2026-12-{1 + i % 28:02d}\n"
            f"  region: {region}\n  language: {language}\n  products: [{', '.join(products)}]\n{options}",
            encoding="utf-8",
        )


def run_batch(contracts: Path, out: Path, registry: Path, jobs: int) -> tuple[float, str]:
    """Seconds and summary line of one batch process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "annex_gen", "batch", str(contracts), "--out", str(out),
         "--registry", str(registry), "--jobs", str(jobs), "--plain"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout.strip().splitlines()[0]


def counts(summary: str) -> dict[str, int]:
    """{'generated': n, 'unchanged': n, 'failed': n} from the summary line."""
    return {k: int(v) for v, k in re.findall(r"(\d+) (generated|unchanged|failed)", summary)}


def bare_weasyprint(registry_dir: Path, contracts: list[Path]) -> dict[str, float]:
    """Seconds per annex in one process: bare WeasyPrint on annex-gen's HTML, annex-gen's PDF and DOCX."""
    import weasyprint

    from annex_gen.inputs.contract import load_contract
    from annex_gen.render.docx import render_docx
    from annex_gen.render.html import render_html
    from annex_gen.render.pdf import render_pdf
    from annex_gen.resolve import resolve
    from annex_gen.resources import TEMPLATES_DIR

    registry = load_registry(registry_dir)
    annexes = [resolve(registry, load_contract(registry, p)[0]) for p in contracts]
    htmls = [render_html(a) for a in annexes]
    base = str(TEMPLATES_DIR) + "/"
    weasyprint.HTML(string=htmls[0], base_url=base).write_pdf()  # warm fonts and caches
    render_pdf(annexes[0])
    render_docx(annexes[0])
    out = {}
    for name, fn in (
        ("bare", lambda: [weasyprint.HTML(string=h, base_url=base).write_pdf() for h in htmls]),
        ("pdf", lambda: [render_pdf(a) for a in annexes]),
        ("docx", lambda: [render_docx(a) for a in annexes]),
    ):
        start = time.perf_counter()
        fn()
        out[name] = (time.perf_counter() - start) / len(annexes)
    return out


def affected_by_diff(old: Path, new: Path, contracts: Path) -> int:
    """How many customers `annex-gen diff` says the change reaches."""
    proc = subprocess.run(
        [sys.executable, "-m", "annex_gen", "diff", "--from", str(old), "--to", str(new), str(contracts),
         "--json"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=True,
    )
    return json.loads(proc.stdout)["summary"]["affected"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=1000,
                        help="number of synthetic contracts (default 1000)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="worker processes (default: one per core)")
    parser.add_argument("--sample", type=int, default=20,
                        help="annexes timed against bare WeasyPrint (default 20)")
    parser.add_argument("--keep", metavar="DIR",
                        help="work in DIR and keep it (default: a temporary directory)")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="annex-gen-bench-"))
    if work.exists():
        shutil.rmtree(work)
    contracts, out, registry = work / "contracts", work / "out", work / "registry"
    shutil.copytree(ROOT / "registry", registry)
    make_contracts(registry, contracts, args.contracts)
    n, jobs = args.contracts, args.jobs
    print(f"{n} synthetic contracts, {jobs} worker process(es), {os.cpu_count()} CPU(s) on this machine")

    full, summary = run_batch(contracts, out, registry, jobs)
    c = counts(summary)
    rate = c["generated"] / full
    print(f"full batch     : {full:7.1f} s  {c['generated']} annexes (PDF+DOCX)  {rate:.2f} annexes/s  "
          f"{rate / jobs:.2f} annexes/s per core")

    sample = sorted(contracts.glob("*.yaml"))[: args.sample]
    t = bare_weasyprint(registry, sample)
    per_core = jobs / rate
    print(f"one process, {len(sample)} sample annexes: bare WeasyPrint {t['bare'] * 1000:.0f} ms, "
          f"annex-gen PDF {t['pdf'] * 1000:.0f} ms, DOCX {t['docx'] * 1000:.0f} ms per annex")
    print(f"batch seconds per annex per core {per_core:.3f} = {per_core / t['bare']:.2f}x bare WeasyPrint "
          f"(PDF alone {t['pdf'] / t['bare']:.2f}x; the batch also writes the DOCX)")

    noop, summary = run_batch(contracts, out, registry, jobs)
    print(f"no-op batch    : {noop:7.2f} s  ({summary.split(':', 1)[1].strip()})")

    old = work / "registry-old"
    shutil.copytree(registry, old)
    sections = registry / "sections.yaml"
    text = sections.read_text(encoding="utf-8")
    anchor = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"
    assert anchor in text
    sections.write_text(text.replace(anchor, NEW_ENTRY + anchor, 1), encoding="utf-8")
    expected = affected_by_diff(old, registry, contracts)
    changed, summary = run_batch(contracts, out, registry, jobs)
    c = counts(summary)
    print(f"one-entry change: {changed:7.1f} s  {c['generated']} regenerated, {c['unchanged']} unchanged "
          f"(diff predicts {expected} affected: the EU LianaMailer customers)")
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
