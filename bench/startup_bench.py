"""What a user waits for: whole `annex-gen` processes against their references, A/B in turn.

    .venv/bin/python bench/startup_bench.py [--rounds 7]

Each row times two commands as whole processes (wall and CPU seconds of the child), one after the
other in each round, the order reversed every other round so drift hits both sides alike. The
ratio is the median of the rounds' own ratios; the goal is the one the project set for it:

- `generate` one contract, PDF, default engine   vs  a Python process that imports WeasyPrint and
  writes a one-line PDF (goal: at most 1.6x);
- the same with `--engine typst`                  vs  a Python process that imports typst and
  compiles one line (goal: at most 4x);
- `generate` 12 contracts, PDF, default engine   vs  LibreOffice converting the same 12 DOCX in one
  invocation (goal: at most 1.0x); with Typst (goal: at most 0.1x);
- `resolve` and `check` of one contract           vs  `python -c pass` (goal: at most 0.1 s more).

The CPU figure is the child's user + system time; on a shared machine it moves less than wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ANNEX_GEN = [str(Path(PYTHON).parent / "annex-gen")]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ONE = ROOT / "examples" / "nordic-webshop.yaml"

BARE_WEASYPRINT = "import weasyprint; weasyprint.HTML(string='<p>One line.</p>').write_pdf(sys.argv[1])"
BARE_TYPST = "import typst; open(sys.argv[1], 'wb').write(typst.compile(sys.argv[2].encode()))"


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode(errors='replace')}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def twelve_contracts(work: Path) -> list[Path]:
    """The nine examples and three more (copies under other ids), as the issue's twelve."""
    folder = work / "contracts"
    folder.mkdir()
    paths = []
    for path in EXAMPLES:
        paths.append(folder / path.name)
        shutil.copy(path, paths[-1])
    for i, path in enumerate(EXAMPLES[:3]):
        text = path.read_text(encoding="utf-8")
        customer_id = path.stem
        paths.append(folder / f"{customer_id}-{i}.yaml")
        paths[-1].write_text(text.replace(f"id: {customer_id}", f"id: {customer_id}-{i}", 1), encoding="utf-8")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each pair (default: 7)")
    args = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("soffice not found: install LibreOffice (scripts/install-system-packages)")
    # as installed: the checkout's modules byte-compiled, so none is compiled again in every timed process
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src")], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    with tempfile.TemporaryDirectory(prefix="annex-gen-startup-") as tmp:
        work = Path(tmp)
        env["ANNEX_GEN_CACHE_DIR"] = str(work / "cache")
        contracts = twelve_contracts(work)
        docx = work / "docx"
        subprocess.run([*ANNEX_GEN, "generate", *map(str, contracts), "--format", "docx", "--out", str(docx)],
                       env=env, check=True, capture_output=True, cwd=ROOT)
        docx_files = sorted(str(p) for p in docx.rglob("*.docx"))
        profile = (work / "lo-profile").as_uri()
        out = str(work / "out")
        pairs = [
            ("one annex, PDF, default engine", 1.6, "x",
             [*ANNEX_GEN, "generate", str(ONE), "--format", "pdf", "--out", out],
             [PYTHON, "-c", "import sys; " + BARE_WEASYPRINT, str(work / "bare.pdf")], "bare WeasyPrint, one line"),
            ("one annex, PDF, Typst", 4.0, "x",
             [*ANNEX_GEN, "generate", str(ONE), "--format", "pdf", "--engine", "typst", "--out", out],
             [PYTHON, "-c", "import sys; " + BARE_TYPST, str(work / "bare-typst.pdf"), "One line."],
             "bare typst, one line"),
            ("12 annexes, PDF, default engine", 1.0, "x",
             [*ANNEX_GEN, "generate", *map(str, contracts), "--format", "pdf", "--out", out],
             [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
              str(work / "lo"), *docx_files], "LibreOffice, 12 DOCX, one invocation"),
            ("12 annexes, PDF, Typst", 0.1, "x",
             [*ANNEX_GEN, "generate", *map(str, contracts), "--format", "pdf", "--engine", "typst", "--out", out],
             [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
              str(work / "lo"), *docx_files], "LibreOffice, 12 DOCX, one invocation"),
            ("resolve one contract", 0.1, "s", [*ANNEX_GEN, "resolve", str(ONE)], [PYTHON, "-c", "pass"],
             "python -c pass"),
            ("check one contract", 0.1, "s", [*ANNEX_GEN, "check", str(ONE)], [PYTHON, "-c", "pass"],
             "python -c pass"),
        ]
        for _, _, _, a, b, _ in pairs:  # warm up: caches, LibreOffice's profile, the page cache
            run(a, env)
            run(b, env)
        print(f"whole processes, {args.rounds} rounds A/B in turn; medians (wall s / CPU s); ratio or difference"
              " = median of the rounds' own")
        print("| what | annex-gen | reference | vs | goal | met |")
        print("|---|---:|---:|---:|---:|:-:|")
        for name, goal, kind, a, b, reference in pairs:
            a_times: list[tuple[float, float]] = []
            b_times: list[tuple[float, float]] = []
            for round_ in range(args.rounds):
                order = [(a, a_times), (b, b_times)] if round_ % 2 == 0 else [(b, b_times), (a, a_times)]
                for command, times in order:
                    times.append(run(command, env))
            walls = [(x[0], y[0]) for x, y in zip(a_times, b_times, strict=True)]
            if kind == "x":
                figure = statistics.median(x / y for x, y in walls)
                shown, target = f"{figure:.2f}x", f"<= {goal:.1f}x"
            else:
                figure = statistics.median(x - y for x, y in walls)
                shown, target = f"+{figure:.3f} s", f"<= +{goal:.1f} s"
            med = [statistics.median(t[i] for t in a_times) for i in (0, 1)]
            ref = [statistics.median(t[i] for t in b_times) for i in (0, 1)]
            print(f"| {name} | {med[0]:.3f} / {med[1]:.3f} | {ref[0]:.3f} / {ref[1]:.3f} ({reference}) | {shown} "
                  f"| {target} | {'yes' if figure <= goal else 'no'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
