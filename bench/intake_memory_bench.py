"""Peak memory of `annex-gen archive add` on hostile PDFs: what reading an input can cost.

    .venv/bin/python bench/intake_memory_bench.py [--fields N] [--src DIR]

Builds four PDFs (tests/archive_support.py): a signed annex as a user adds it (the baseline),
a 1 MB file whose embedded annex.json inflates to 1 GiB while declaring 2 bytes, a form with N
filled signature fields (each a copy of a real signature claiming to cover the file), and a
scan of --scan-mb MB (an incompressible image stream: what a large legitimate file costs).
Each is added by `python -m annex_gen archive add` in a child process, into a fresh directory
archive; the child's peak resident set size (VmHWM, as it exits) and wall time are printed
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

# `python -m annex_gen` that writes its own peak resident set (VmHWM) to $HWM_FILE when it exits. VmHWM
# belongs to the process image after exec; ru_maxrss would carry over this (larger) parent's size.
CHILD = """import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["HWM_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
from annex_gen.cli import main
sys.argv[0] = "annex-gen"
raise SystemExit(main())
"""


def add(src: Path, path: Path, archive: Path) -> tuple[int, float, float, str]:
    """(exit code, peak RSS in MiB, seconds, first line of stderr or stdout) of one `archive add`."""
    hwm = archive.parent / f"{archive.name}.hwm"
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore", "HWM_FILE": str(hwm)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, "archive", "add", str(path), "--customer",
                             "nordic-webshop", "--archive", str(archive)], env=env, cwd=path.parent,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = int(hwm.read_text()) / 1024
    first = next((line for line in (result.stderr or result.stdout).splitlines() if line.strip()), "")
    return result.returncode, peak, seconds, first[:110]


def large_scan(size: int) -> bytes:
    """A one-page PDF carrying an incompressible stream of size bytes, like a scanned image."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.ScanData = pikepdf.Stream(pdf, os.urandom(size))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=300, help="signature fields in the form PDF (300)")
    parser.add_argument("--scan-mb", type=int, default=50, help="size of the large scan in MB (50)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ directory to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annex-gen-membench-") as tmp:
        root = Path(tmp)
        inputs = {
            "signed annex (baseline)": sign(annex_pdf("nordic-webshop")),
            "annex.json bomb": annex_json_bomb(),
            f"{args.fields} signature fields": many_signature_fields(args.fields),
            f"{args.scan_mb} MB scan": large_scan(args.scan_mb * 10**6),
        }
        print(f"src: {args.src}")
        print(f"{'input':<27}{'size':>10}{'exit':>6}{'peak RSS':>11}{'seconds':>9}  output")
        for i, (name, data) in enumerate(inputs.items()):
            path = root / f"input{i}.pdf"
            path.write_bytes(data)
            code, peak, seconds, first = add(args.src, path, root / f"archive{i}")
            print(f"{name:<27}{len(data) / 2**20:>8.1f}MB{code:>6}{peak:>8.0f}MiB{seconds:>9.1f}  {first}")


if __name__ == "__main__":
    main()
