"""Measure `archive add` throughput on both backends: a directory (SQLite + files) and PostgreSQL.

    .venv/bin/python bench/archive_bench.py [--adds N] [--rounds N]

Each round adds N distinct scanned-annex PDFs (about 1 KB each, no signature, so the figure is
the archive's own cost: reading the PDF, the duplicate and document checks, storing the file,
the chained record and, for SQLite, the WAL checkpoint) through `app.archive_add`, one open
archive per add as the CLI and the web application do, into a fresh archive. Rounds alternate
the backends (A/B, B/A, ...) so drift hits both alike; medians are reported.
PostgreSQL is a throwaway local cluster on a Unix socket, started as the tests do but with fsync
on (durable, like a real server); a server across a network adds its round trips.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from annex_gen import app  # noqa: E402
from annex_gen.archive.intake import AddRequest  # noqa: E402
from archive_backends import PostgresServer  # noqa: E402
from archive_support import scan_pdf  # noqa: E402


def one_round(location: str, files: list[Path]) -> float:
    """Seconds to add every file to the archive at location."""
    start = time.perf_counter()
    for path in files:
        app.archive_add(location, AddRequest(path=path, customer="bench-oy", signed_on=dt.date(2025, 1, 1)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=200, help="adds per round (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per backend (default 5)")
    args = parser.parse_args()

    import psycopg

    server = PostgresServer().start(durable=True)

    times: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                files = []
                for i in range(args.adds):
                    path = Path(tmp) / f"round{r}" / f"scan{i}.pdf"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(scan_pdf(marker=f"bench {r} {i}"))
                    files.append(path)
                database = f"archive_bench_{r}"
                with psycopg.connect(server.url(), autocommit=True) as con:
                    con.execute(f"CREATE DATABASE {database}")
                locations = {"sqlite": str(Path(tmp) / f"archive{r}"), "postgresql": server.url(database)}
                order = ["sqlite", "postgresql"] if r % 2 == 0 else ["postgresql", "sqlite"]
                for name in order:
                    app.archive_migrate(locations[name])  # schema made outside the timing, as in a deployment
                    times[name].append(one_round(locations[name], files))
                    print(f"round {r + 1}: {name:<10} {args.adds / times[name][-1]:7.1f} adds/s", flush=True)
    finally:
        server.stop()
    print()
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:<10} median {args.adds / median:7.1f} adds/s ({1000 * median / args.adds:.1f} ms per add)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
