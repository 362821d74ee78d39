"""Benchmark a team's regeneration: N annexes rendered by 1 and by 2 worker processes over PostgreSQL.

    .venv/bin/python bench/team_bench.py [--contracts 200] [--rounds 1] [--engine weasyprint|typst]

Starts a throwaway, durable PostgreSQL cluster (fsync on), makes N synthetic contracts (the
same generator as batch_bench.py) and, per round, for 1 worker then 2 (the order alternated
round by round): a fresh database (`annex-gen archive migrate`), that many `annex-gen worker`
processes started and waiting, the run queued (`batch --archive URL --detach`, timed apart),
and the time from queued to the run's end in the database. It prints annexes per second for
each, the scaling ratio (2 workers / 1, the median of the rounds' ratios), what the database
took per annex, then times the document store alone (a stored annex's files under new
document IDs and with new bytes, one transaction each, as a worker stores) to show how far
the database is from being the limit.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
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

from archive_backends import PostgresServer  # noqa: E402


def cli(*args: str | Path) -> str:
    done = subprocess.run([sys.executable, "-m", "annex_gen", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"annex-gen {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # the fields after the command name, from field 3 (state)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (all its threads)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK


def cluster_cpu(server: PostgresServer) -> float:
    """CPU time of the PostgreSQL cluster so far: the postmaster, its live backends and those already ended."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    fields = _stat(postmaster)
    total = sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime (ended children)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = _stat(int(entry.name))
            except (OSError, ValueError):
                continue
            if int(child[1]) == postmaster:
                total += (int(child[11]) + int(child[12])) / TICK
    return total


def one_run(server: PostgresServer, contracts: Path, workers: int, engine: str, logs: Path) -> dict:
    url = server.database()
    cli("archive", "migrate", "--archive", url)
    procs = [subprocess.Popen([sys.executable, "-m", "annex_gen", "worker", "--archive", url, "--name", f"w{i}"],
                              cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=open(logs / f"w{workers}-{i}.log", "wb"))  # noqa: SIM115
             for i in range(workers)]
    with psycopg.connect(url, autocommit=True) as con:
        empty = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        while con.execute("SELECT count(*) FROM annex_queue.procrastinate_workers").fetchone()[0] < workers:
            time.sleep(0.1)  # every worker started and waiting for jobs
        start = time.perf_counter()
        cli("batch", "--archive", url, "--detach", "--engine", engine, contracts)
        queued = time.perf_counter()
        cpu0, db0 = sum(cpu_seconds(p.pid) for p in procs), cluster_cpu(server)
        while con.execute("SELECT finished_at FROM annex_team.runs WHERE id = 1").fetchone()[0] is None:
            time.sleep(0.1)
        end = time.perf_counter()
        cpu, db_cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0, cluster_cpu(server) - db0
        counts = dict(con.execute("SELECT status, count(*) FROM annex_team.run_items GROUP BY status").fetchall())
        stored = con.execute("SELECT count(*), coalesce(sum(size), 0) FROM annex_team.blobs").fetchone()
        db_bytes = con.execute("SELECT pg_database_size(current_database())").fetchone()[0] - empty
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)
    return {"url": url, "seconds": end - queued, "plan_seconds": queued - start, "counts": counts,
            "worker_cpu": cpu, "db_cpu": db_cpu,
            "blobs": stored[0], "blob_bytes": int(stored[1]), "db_bytes": db_bytes}


def store_rate(url: str, n: int) -> tuple[float, float]:
    """Annexes per second and MB/s of the document store alone, on files of a stored annex."""
    sys.path.insert(0, str(ROOT / "src"))
    from annex_gen.team import documents
    from annex_gen.team.schema import connect

    con = connect(url)
    row = con.execute("SELECT document_id FROM annex_team.documents LIMIT 1").fetchone()
    files = {fmt: documents.read_file(con, sha) for fmt, (sha, _s) in
             documents.list_documents(con)[0].files.items()} if row else {}
    size = sum(len(d) for d in files.values())
    start = time.perf_counter()
    for i in range(n):
        unique = {fmt: data + f"%{i}".encode() for fmt, data in files.items()}  # new bytes: nothing deduplicated
        with con.transaction():
            documents.store(con, document_id=f"BENCH-{i}", customer_id="bench", content_hash=hashlib.sha256(
                str(i).encode()).hexdigest(), templates="bench", registry_version="bench", run_id=None, files=unique)
    seconds = time.perf_counter() - start
    con.close()
    return n / seconds, n * size / seconds / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engine", default="weasyprint")
    args = parser.parse_args()
    os.environ.setdefault("ANNEX_GEN_CACHE_DIR", tempfile.mkdtemp(prefix="annex-gen-bench-cache-"))
    work = Path(tempfile.mkdtemp(prefix="annex-gen-team-bench-"))
    contracts = work / "contracts"
    make_contracts(ROOT / "registry", contracts, args.contracts)
    server = PostgresServer().start(durable=True)
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    db_cpus: list[float] = []
    last: dict = {}
    try:
        for round_ in range(args.rounds):
            for workers in ((1, 2) if round_ % 2 == 0 else (2, 1)):
                r = one_run(server, contracts, workers, args.engine, work)
                assert r["counts"] == {"generated": args.contracts}, r["counts"]
                rates[workers].append(args.contracts / r["seconds"])
                cpus[workers].append(r["worker_cpu"] / args.contracts)
                db_cpus.append(r["db_cpu"] / args.contracts)
                print(f"round {round_ + 1}, {workers} worker(s): {args.contracts} annexes rendered and stored in "
                      f"{r['seconds']:.1f} s = {rates[workers][-1]:.2f} annexes/s (planned and queued in "
                      f"{r['plan_seconds']:.1f} s before); CPU per annex: workers {cpus[workers][-1] * 1000:.0f} ms, "
                      f"database {db_cpus[-1] * 1000:.0f} ms", flush=True)
                last = r
        one, two = statistics.median(rates[1]), statistics.median(rates[2])
        ratios = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
        per_annex = last["blob_bytes"] / args.contracts
        cpu1, cpu2, db = statistics.median(cpus[1]), statistics.median(cpus[2]), statistics.median(db_cpus)
        print(f"median CPU per annex: 1 worker {cpu1 * 1000:.0f} ms, 2 workers {cpu2 * 1000:.0f} ms each annex "
              f"(ratio {cpu1 / cpu2:.2f}: 1.00 is no extra work from a second worker); database {db * 1000:.0f} ms")
        print(f"on idle cores: {1 / cpu2:.2f} annexes/s per worker core; one database core serves "
              f"{1 / db:.0f} annexes/s, about {cpu2 / db:.0f} worker cores")
        print(f"\nmedian throughput: 1 worker {one:.2f} annexes/s, 2 workers {two:.2f} annexes/s; "
              f"scaling ratio {statistics.median(ratios):.2f} (of 2.00)")
        print(f"stored per annex: {per_annex / 1024:.0f} KiB of files (PDF + DOCX), database "
              f"{last['db_bytes'] / args.contracts / 1024:.0f} KiB per annex in all (with the run's rows and jobs); "
              "rows per annex: 1 document, 2 files, 2 blobs, 1 run row, 1 job")
        rate, mbps = store_rate(last["url"], min(200, args.contracts))
        print(f"document store alone: {rate:.0f} annexes/s ({mbps:.1f} MB/s) on one connection, fsync on")
        print(f"the store alone keeps up with about {rate * cpu2:.0f} worker cores on idle cores "
              f"({1 / cpu2:.2f} annexes/s each) before one connection's writes are the limit")
        print(f"cores: {os.cpu_count()}; load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
