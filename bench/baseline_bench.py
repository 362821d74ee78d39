"""Compare this checkout with an earlier one, A/B in turn: per annex, a batch, and the no-op work.

    git worktree add ../annex-gen-base 7edf401      # the release to compare with
    .venv/bin/python bench/baseline_bench.py ../annex-gen-base [--rounds 4] [--batch 200] [--batch-rounds N]
                                             [--noop 10000]

Each side runs as its own processes with its own source tree, registry and examples, with this
checkout's virtualenv, its modules byte-compiled first (as an installed package's are: start-up
then never includes compiling source); the sides alternate, and reverse their order every other
round. Figures:

- PDF per annex: a process renders every example annex once (after one warm-up render) and
  reports the CPU seconds per annex: the WeasyPrint path as `generate` runs it;
- a full `batch` of N synthetic contracts (PDF + DOCX), wall seconds and annexes per second;
- over M synthetic contracts: a no-op `batch` (its output filled beforehand by an in-process
  batch whose renderer writes placeholder files, so only the no-op work is timed), `check`,
  and `diff` against the registry with one entry added.

Medians; the ratio is baseline / this checkout (above 1: this checkout is faster).
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
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from batch_bench import NEW_ENTRY, make_contracts  # noqa: E402

# Run inside a side's process (its src/ first on the path); the earlier layout had flat modules.
PER_ANNEX = """
import sys, time
from pathlib import Path
root = Path(sys.argv[1])
try:
    from annex_gen.inputs.contract import load_contract
    from annex_gen.inputs.registry import load_registry
    from annex_gen.render.pdf import render_pdf
except ImportError:
    from annex_gen.contract import load_contract
    from annex_gen.registry import load_registry
    from annex_gen.render_pdf import render_pdf
from annex_gen.resolve import resolve
registry = load_registry(root / "registry")
contracts = [load_contract(registry, p)[0] for p in sorted((root / "examples").glob("*.yaml"))]
render_pdf(resolve(registry, contracts[0]))
start = time.process_time()
for contract in contracts:
    render_pdf(resolve(registry, contract))
print((time.process_time() - start) / len(contracts))
"""

PLACEHOLDERS = """
import sys
from pathlib import Path
root, contracts, out = (Path(a) for a in sys.argv[1:4])
try:
    import annex_gen.output.generate as generate
    from annex_gen.batch.run import run_batch
    from annex_gen.inputs.registry import load_registry
except ImportError:
    import annex_gen.generate as generate
    from annex_gen.batch import run_batch
    from annex_gen.registry import load_registry
generate.render = lambda annex, fmt, *engine: f"placeholder {annex.customer_id} {fmt}".encode()
run_batch(load_registry(root / "registry"), [contracts], out, jobs=1)
"""

MTA_ENTRY = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"


def run(side: Path, args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of `python ARGS` with side's src/ on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=side, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(side / "src")})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # check and diff exit 1 on warnings or affected customers
        raise SystemExit(f"{side}: {' '.join(args[:4])} failed:\n{done.stderr[-2000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done.stdout


def alternate(rounds: int, sides: dict[str, Path], measure) -> dict[str, list[float]]:
    """measure(name, side) for each side in turn, the order reversed every other round."""
    results: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(rounds):
        for name in list(sides) if round_ % 2 == 0 else reversed(list(sides)):
            results[name].append(measure(name, sides[name]))
    return results


def report(what: str, unit: str, results: dict[str, list[float]]) -> None:
    base, this = (statistics.median(v) for v in results.values())
    runs = "; ".join(f"{name}: {', '.join(f'{v:.2f}' for v in values)}" for name, values in results.items())
    print(f"| {what:34} | {base:9.2f} {unit:4} | {this:9.2f} {unit:4} | {base / this:5.2f}x |  ({runs})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path, help="an earlier checkout of annex-gen (e.g. a git worktree)")
    parser.add_argument("--rounds", type=int, default=4, help="A/B rounds for each figure (default 4)")
    parser.add_argument("--batch", type=int, default=200, help="contracts in the full batch (0: skip)")
    parser.add_argument("--batch-rounds", type=int, help="A/B rounds of the full batch (default: --rounds)")
    parser.add_argument("--noop", type=int, default=10000, help="contracts for no-op batch, check, diff (0: skip)")
    args = parser.parse_args()
    sides = {"baseline": args.baseline.resolve(), "this checkout": ROOT}
    for side in sides.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(side / "src")], check=True, capture_output=True)
    print(f"baseline {sides['baseline']}, this checkout {ROOT}; medians of {args.rounds} alternating rounds")
    print(f"| {'what':34} | {'baseline':>14} | {'this checkout':>14} | speed-up |")
    print(f"|{'-' * 36}|{'-' * 16}|{'-' * 16}|---------:|")
    report("PDF per annex (examples), CPU", "s", alternate(
        args.rounds, sides, lambda name, side: float(run(side, ["-c", PER_ANNEX, str(side)])[2])))
    with tempfile.TemporaryDirectory(prefix="annex-gen-baseline-") as tmp:
        work = Path(tmp)
        if args.batch:
            make_contracts(ROOT / "registry", work / "batch", args.batch)
            count = iter(range(10**6))

            def full_batch(name: str, side: Path) -> float:
                out = work / f"batch-out-{next(count)}"
                return run(side, ["-m", "annex_gen", "batch", str(work / "batch"), "--out", str(out), "--jobs", "2",
                                  "--plain", "--registry", str(side / "registry")])[0]

            results = alternate(args.batch_rounds or args.rounds, sides, full_batch)
            report(f"batch of {args.batch} (PDF+DOCX), --jobs 2", "s", results)
            base, this = (args.batch / statistics.median(v) for v in results.values())
            print(f"| {'  annexes per second':34} | {base:14.2f} | {this:14.2f} | {this / base:5.2f}x |")
        if args.noop:
            contracts = work / "contracts"
            make_contracts(ROOT / "registry", contracts, args.noop)
            for name, side in sides.items():
                run(side, ["-c", PLACEHOLDERS, str(side), str(contracts), str(work / f"out-{name}")])
                changed = work / f"registry-{name}"
                shutil.copytree(side / "registry", changed)
                sections = changed / "sections.yaml"
                text = sections.read_text(encoding="utf-8")
                if MTA_ENTRY not in text:
                    raise SystemExit(f"{sections}: the entry to add a sub-processor before is not there")
                sections.write_text(text.replace(MTA_ENTRY, NEW_ENTRY + MTA_ENTRY, 1), encoding="utf-8")
            commands = {
                f"no-op batch, {args.noop} contracts": lambda name, side: [
                    "-m", "annex_gen", "batch", str(contracts), "--out", str(work / f"out-{name}"), "--jobs", "2",
                    "--plain", "--registry", str(side / "registry")],
                f"check, {args.noop} contracts": lambda name, side: [
                    "-m", "annex_gen", "check", str(contracts), "--registry", str(side / "registry")],
                f"diff, {args.noop} contracts": lambda name, side: [
                    "-m", "annex_gen", "diff", "--from", str(side / "registry"), "--to", str(work / f"registry-{name}"),
                    str(contracts), "--registry", str(side / "registry")],
            }
            for what, command in commands.items():
                report(what + ", wall", "s", alternate(
                    args.rounds, sides, lambda name, side, command=command: run(side, command(name, side))[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
