"""kill -9 one worker process of a running batch, N times, and check that nothing is lost or left.

    .venv/bin/python bench/worker_kill_trials.py [--trials N] [--contracts N]

Each trial starts `annex-gen batch` with two workers on fresh contracts, waits until a worker
process is rendering, kills it with SIGKILL, and checks: the batch finishes with its summary
and no traceback, every contract is generated (retried in a new pool) or listed as failed,
and the output holds exactly the files the manifest lists, with their recorded hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workers(pid: int) -> list[int]:
    """The multiprocessing workers among pid's children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                continue
    return found


def consistent(out: Path) -> bool:
    records = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["customers"]
    listed = set()
    for rec in records.values():
        for f in rec["files"].values():
            data = (out / f["path"]).read_bytes()
            if (len(data), hashlib.sha256(data).hexdigest()) != (f["size"], f["sha256"]):
                return False
            listed.add(out / f["path"])
    on_disk = {p for p in out.rglob("*") if p.is_file() and p.parent != out}
    return on_disk == listed


def trial(n: int, base: Path) -> tuple[bool, str]:
    contracts = base / "contracts"
    contracts.mkdir()
    for i in range(n):
        (contracts / f"c{i:03d}.yaml").write_text(
            f"customer: {{id: c{i:03d}, name: Customer {i} Oy}}\n"
            "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}\n", encoding="utf-8")
    out = base / "out"
    proc = subprocess.Popen([sys.executable, "-m", "annex_gen", "batch", str(contracts), "--out", str(out),
                             "--jobs", "2", "--plain"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 300
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        found = workers(proc.pid)
        if len(found) == 2 and any(out.glob("c*/")):  # the workers are rendering
            time.sleep(0.5)
            os.kill(found[0], signal.SIGKILL)
            killed = True
            break
        time.sleep(0.1)
    stdout, stderr = proc.communicate(timeout=600)
    summary = next((line for line in stdout.splitlines() if " contracts in " in line or " contract in " in line), "")
    finished = f"{n} generated" in summary or "failed:" in stdout
    ok = proc.returncode in (0, 1) and summary and "Traceback" not in stderr and finished and consistent(out)
    retried = stderr.count("a worker process died while this contract was being rendered")
    detail = f"worker killed: {killed}, contracts retried: {retried}, exit {proc.returncode}: "
    return bool(ok and killed), detail + summary.split(": ", 1)[-1].split(" (output", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--contracts", type=int, default=6)
    args = parser.parse_args()
    passed = 0
    for i in range(args.trials):
        with tempfile.TemporaryDirectory() as tmp:
            ok, detail = trial(args.contracts, Path(tmp))
        passed += ok
        print(f"trial {i + 1}: {'clean' if ok else 'NOT CLEAN'} ({detail})", flush=True)
    print(f"{passed}/{args.trials} trials clean")
    return 0 if passed == args.trials else 1


if __name__ == "__main__":
    raise SystemExit(main())
