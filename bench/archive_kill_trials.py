"""Kill `annex-gen archive add` at random moments and check the archive each time, on both backends.

    .venv/bin/python bench/archive_kill_trials.py [--trials N]

Each trial starts an add of a new scan and sends SIGKILL after a random delay of 1.2-2.6 s
(on a 2-core machine a whole add, start-up included, takes about 2 s), then checks: `verify`
finds no error, the file is either archived (exactly once) or not at all, and adding it again
completes the archive. Prints the counts per backend; exits 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOW = (1.2, 2.6)  # seconds after the start, around the commit
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from annex_gen import app  # noqa: E402
from archive_backends import PostgresServer  # noqa: E402
from archive_support import scan_pdf  # noqa: E402


def add(location: str, path: Path) -> subprocess.Popen:
    """Start `annex-gen archive add` of path."""
    return subprocess.Popen([sys.executable, "-m", "annex_gen", "archive", "add", str(path), "--customer", "acme",
                             "--signed-on", "2025-01-01", "--archive", location],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})


def trials(location: str, tmp: Path, n: int, rng: random.Random) -> tuple[int, int, list[str]]:
    """Run n kill trials; return (killed before commit, killed after commit, failures)."""
    before = after = 0
    failures: list[str] = []
    for i in range(n):
        path = tmp / f"scan{i}.pdf"
        path.write_bytes(scan_pdf(marker=f"kill trial {location} {i}"))
        proc = add(location, path)
        time.sleep(rng.uniform(*WINDOW))
        proc.kill()
        proc.wait()
        report = app.archive_verify(location)
        kept = [r for r in app.archive_records(location) if r.file_name == path.name]
        if report.errors:
            failures.append(f"trial {i}: verify: {[str(e) for e in report.errors]}")
        if len(kept) > 1:
            failures.append(f"trial {i}: archived {len(kept)} times")
        if kept:
            after += 1
            continue
        before += 1
        again = add(location, path)
        if again.wait() != 0:
            failures.append(f"trial {i}: adding again failed: {again.stderr.read().decode()[-300:]}")
    final = app.archive_verify(location)
    if final.errors:
        failures.append(f"final verify: {[str(e) for e in final.errors]}")
    return before, after, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per backend (default 20)")
    args = parser.parse_args()
    rng = random.Random(14)
    server = PostgresServer().start(durable=True)
    failed = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            import psycopg

            with psycopg.connect(server.url(), autocommit=True) as con:
                con.execute("CREATE DATABASE kill_trials")
            for name, location in (("sqlite", str(Path(tmp) / "archive")),
                                   ("postgresql", server.url("kill_trials"))):
                app.archive_migrate(location)
                work = Path(tmp) / name
                work.mkdir()
                before, after, failures = trials(location, work, args.trials, rng)
                print(f"{name:<10} {args.trials} kills: {before} before the commit (nothing recorded, added again), "
                      f"{after} after it (recorded once); {len(failures)} failure(s)")
                for f in failures:
                    print(f"  {f}")
                failed = failed or bool(failures)
    finally:
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
