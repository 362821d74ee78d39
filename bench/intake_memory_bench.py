"""Peak memory of `annex-gen archive add` on hostile PDFs: what reading an input can cost.

    .venv/bin/python bench/intake_memory_bench.py [--fields N] [--src DIR]

Builds three PDFs (tests/archive_support.py): a signed annex as a user adds it (the baseline),
a 1 MB file whose embedded annex.json inflates to 1 GiB while declaring 2 bytes, and a form
with N filled signature fields (each a copy of a real signature claiming to cover the file).
Each is added by `python -m annex_gen archive add` in a child process, into a fresh directory
archive; the child's peak resident set size (ru_maxrss, from wait4) and wall time are printed
with its exit code and first line of output. --src runs another checkout's src/ (e.g. the code
before a change, extracted with `git archive REV src | tar -x -C DIR`) with this environment.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from archive_support import annex_json_bomb, annex_pdf, many_signature_fields, sign  # noqa: E402


def add(src: Path, path: Path, archive: Path) -> tuple[int, float, float, str]:
    """(exit code, peak RSS in MiB, seconds, first line of stderr or stdout) of one `archive add`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "annex_gen", "archive", "add", str(path), "--customer",
                              "nordic-webshop", "--archive", str(archive)], env=env, cwd=path.parent,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.stdout.read(), child.stderr.read()  # small: a few lines each
    _, status, usage = os.wait4(child.pid, 0)  # reaped here, with the child's own resource usage
    child.returncode = code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    peak = usage.ru_maxrss / 1024
    first = next((line for line in (err or out).splitlines() if "Warning" not in line and line.strip()), "")
    return code, peak, seconds, first[:110]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=2000, help="signature fields in the form PDF (2000)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ directory to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annex-gen-membench-") as tmp:
        root = Path(tmp)
        inputs = {
            "signed annex (baseline)": sign(annex_pdf("nordic-webshop")),
            "annex.json bomb": annex_json_bomb(),
            f"{args.fields} signature fields": many_signature_fields(args.fields),
        }
        print(f"src: {args.src}")
        print(f"{'input':<26}{'size':>10}{'exit':>6}{'peak RSS':>11}{'seconds':>9}  output")
        for i, (name, data) in enumerate(inputs.items()):
            path = root / f"input{i}.pdf"
            path.write_bytes(data)
            code, peak, seconds, first = add(args.src, path, root / f"archive{i}")
            print(f"{name:<26}{len(data) / 2**20:>8.1f}MB{code:>6}{peak:>8.0f}MiB{seconds:>9.1f}  {first}")


if __name__ == "__main__":
    main()
