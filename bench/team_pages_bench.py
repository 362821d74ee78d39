"""Benchmark a team instance's pages with its database connections kept (as `serve` does) and without.

    .venv/bin/python bench/team_pages_bench.py [--contracts 20] [--rounds 15]

Starts a throwaway PostgreSQL cluster (its socket in a temporary directory), makes the team
schema and the archive, imports N synthetic contracts (the same generator as batch_bench.py) and
serves them in process (Starlette's test client). Each round times every page once with the
connections kept and once with each call opening its own, the order reversed every other round;
it prints per page the medians, the ratio (the median of the rounds' own) and how many
connections one request of the page opened.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from batch_bench import make_contracts  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from annex_gen import pgconnections  # noqa: E402
from annex_gen.web import Settings, create_app  # noqa: E402
from archive_backends import PostgresServer  # noqa: E402

PAGES = ("/", "/customers", "/customers/customer-00001", "/archive", "/audit", "/registry")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    made = [0]
    connect = psycopg.connect

    def counting(*a, **k):
        made[0] += 1
        return connect(*a, **k)

    psycopg.connect = counting
    server = PostgresServer().start()
    try:
        url = server.database()
        annex_gen = [str(Path(sys.executable).parent / "annex-gen")]
        subprocess.run([*annex_gen, "archive", "migrate", "--archive", url], check=True, capture_output=True,
                       cwd=ROOT)
        with tempfile.TemporaryDirectory(prefix="annex-gen-team-pages-") as tmp:
            work = Path(tmp)
            contracts = work / "contracts"
            make_contracts(ROOT / "registry", contracts, args.contracts)
            subprocess.run([*annex_gen, "contracts", "import", str(contracts), "--archive", url], check=True,
                           capture_output=True, cwd=ROOT)
            settings = Settings(registry_dir=ROOT / "registry", customers_dir=work / "customers",
                                out_dir=work / "out", archive=url, team_url=url)
            with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
                times: dict[tuple[str, bool], list[float]] = {}
                opened: dict[tuple[str, bool], int] = {}

                def once(path: str, keep: bool) -> None:
                    pgconnections.keep_idle(keep)
                    if keep:
                        assert client.get(path).status_code == 200  # warm: the connections are made
                    before = made[0]
                    start = time.perf_counter()
                    response = client.get(path)
                    times.setdefault((path, keep), []).append(time.perf_counter() - start)
                    opened[(path, keep)] = made[0] - before
                    if response.status_code != 200:
                        raise SystemExit(f"GET {path}: {response.status_code}")

                for round_ in range(args.rounds):
                    for path in PAGES:
                        for keep in ((True, False) if round_ % 2 == 0 else (False, True)):
                            once(path, keep)
            pgconnections.keep_idle(False)
    finally:
        server.stop()
    print(f"{args.contracts} contracts in the team database, {args.rounds} rounds A/B in turn; medians")
    print("| page | connections kept, ms | opened per call, ms | ratio | connections opened (kept / not) |")
    print("|---|---:|---:|---:|---:|")
    for path in PAGES:
        kept, fresh = times[(path, True)], times[(path, False)]
        ratio = statistics.median(k / f for k, f in zip(kept, fresh, strict=True))
        print(f"| {path} | {statistics.median(kept) * 1000:.1f} | {statistics.median(fresh) * 1000:.1f} | "
              f"{ratio:.2f}x | {opened[(path, True)]} / {opened[(path, False)]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
