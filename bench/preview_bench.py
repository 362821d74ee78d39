"""A preview after an edit, in the web application, against the same render in a warm process.

    .venv/bin/python bench/preview_bench.py [--users 1 10] [--previews 6] [--think 5 15]

Starts `annex-gen serve` (this checkout) over synthetic contracts, then for each number of
users lets each user, in a thread of its own, repeat: open the contract form, save it with a
new reference, and ask for the just-edited contract's PDF (rendered by the server's pool of
warm render processes), timed; then pause for a time drawn from --think (seconds: a person
changing the form's fields before the next preview). The reference is this process rendering
the same annexes (the contracts as saved, so the same content) with the library, warmed up
first. Prints, per number of users, the median and 90th percentile of the PDF request's time,
the median in-process render time and their ratio (goal: at most 1.2x).

The preview page's HTML is left out: it is templating in the server's threads, about a
millisecond, so its ratio would measure HTTP, not rendering.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import httpx2  # noqa: E402 - the test client's HTTP library, installed with the test extra
from batch_bench import make_contracts  # noqa: E402
from web_load_bench import Server, save_edit  # noqa: E402

KINDS = ("pdf",)


def in_process(customers: Path, ids: list[str], rounds: int) -> dict[str, float]:
    """Median seconds of rendering each kind for these customers' annexes in this (warmed) process."""
    from annex_gen import app
    from annex_gen.render import render

    registry_dir, out = ROOT / "registry", customers.parent / "reference"
    _, listing = app.contract_listing(registry_dir, customers, out, customers.parent / "archive")
    annexes = [listing.get(cid).annex for cid in ids]
    for kind in KINDS:  # warm: imports, fonts, styles, caches
        render(annexes[0], kind)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for annex in annexes:
            for kind in KINDS:
                start = time.perf_counter()
                render(annex, kind)
                times[kind].append(time.perf_counter() - start)
    return {kind: statistics.median(values) for kind, values in times.items()}


def user(server: Server, cid: str, number: int, args: argparse.Namespace, times: dict[str, list[float]],
         lock: threading.Lock, failures: list[str]) -> None:
    rng = random.Random(number)
    with httpx2.Client(base_url=server.url, timeout=600) as http:
        for edit in range(args.previews):
            if save_edit(http, cid, f"DPA-PREVIEW-{number}-{edit}").status_code != 303:
                failures.append(f"saving {cid} failed")
                return
            for kind, path in (("pdf", f"/customers/{cid}/download/pdf"),):
                start = time.perf_counter()
                ok = http.get(path).status_code == 200
                took = time.perf_counter() - start
                if not ok:
                    failures.append(f"{path} failed")
                    return
                with lock:
                    times[kind].append(took)
            time.sleep(rng.uniform(*args.think))


def one_run(users: int, args: argparse.Namespace) -> tuple[dict[str, list[float]], dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        contracts = Path(tmp) / "contracts"
        make_contracts(ROOT / "registry", contracts, max(users, 2) * 2)
        customers, out = Path(tmp) / "customers", Path(tmp) / "output"
        shutil.copytree(contracts, customers)
        ids = sorted(p.stem for p in customers.glob("*.yaml"))[:users]
        server = Server(ROOT, customers, out, Path(tmp) / "server.log")
        try:
            with httpx2.Client(base_url=server.url, timeout=600) as http:  # the pool warms as it starts
                assert http.get(f"/customers/{ids[-1]}/download/pdf").status_code == 200
            times: dict[str, list[float]] = defaultdict(list)
            lock, failures = threading.Lock(), []
            threads = [threading.Thread(target=user, args=(server, cid, i, args, times, lock, failures))
                       for i, cid in enumerate(ids)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if failures:
                raise SystemExit(failures[0])
        finally:
            server.stop()
        return times, in_process(customers, ids, args.reference_rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--previews", type=int, default=6, help="edits and previews per user")
    parser.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"))
    parser.add_argument("--reference-rounds", type=int, default=3)
    args = parser.parse_args()
    print("| users | preview | requests | p50 | p90 | in-process render (median) | p50 / in-process | goal |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for users in args.users:
        times, reference = one_run(users, args)
        for kind in KINDS:
            values = sorted(times[kind])
            p50, p90 = statistics.median(values), values[min(len(values) - 1, int(0.9 * len(values)))]
            print(f"| {users} | {kind} | {len(values)} | {p50 * 1000:.0f} ms | {p90 * 1000:.0f} ms | "
                  f"{reference[kind] * 1000:.0f} ms | {p50 / reference[kind]:.2f}x | <= 1.2x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
