"""Load on `annex-gen serve`: 20 clients on loopback, this checkout against an earlier one, A/B in turn.

    .venv/bin/python bench/web_load_bench.py --before /path/to/earlier/worktree [--clients 20]
        [--contracts 100] [--seconds 20] [--rounds 2]

Each run starts the checkout's server (`python -m annex_gen serve`, its own src/ first on the
path, this environment's packages) over a fresh copy of N synthetic contracts, downloads the
PDFs of a fifth of them once (the cached downloads), then lets the clients loop for a fixed
time, each step one of:

    list      the customer list, 40 %
    static    the stylesheet, 20 %
    cached    a PDF generated before, 25 %
    edit      the contract form, a save with a new reference, then that PDF (a fresh render), 15 %

Meanwhile a probe, a process of its own, asks for the list and the stylesheet one at a time, four
requests a second: what a person opening a page waits while the clients load the server, measured
where the clients' 20 threads (one interpreter, one lock) cannot add their own waiting to it.
It prints p50 and p99 per kind (edit: the fresh PDF's request alone, and the three requests),
how many of each finished, and the server's resident memory (itself and its children, sampled
every half second: the highest). Runs alternate before/after; the table shows each side's
median over its rounds and the ratio after/before. Bounded: --seconds per run, at most
--max-requests per run.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
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

KINDS = (("list", 40), ("static", 20), ("cached", 25), ("edit", 15))
SHOWN = ("list", "static", "cached", "edit: fresh PDF", "edit: form, save, PDF", "list (probe)", "static (probe)")
# A process of its own that asks for the list and the stylesheet in turn, one request at a time, four a
# second: what a person opening a page meanwhile waits, without the clients' threads sharing its interpreter.
PROBE = """
import http.client, json, sys, time
host, port, until = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
times = {"list (probe)": [], "static (probe)": []}
con = http.client.HTTPConnection(host, port, timeout=600)
while time.monotonic() < until:
    for kind, path in (("list (probe)", "/customers"), ("static (probe)", "/static/web.css")):
        start = time.perf_counter()
        con.request("GET", path)
        response = con.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status)
        times[kind].append((time.perf_counter() - start) * 1000)
        time.sleep(0.125)
print(json.dumps(times))
"""


class FormFields(html.parser.HTMLParser):
    """The fields a browser would send from the page's contract form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.fields.append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def save_edit(http: httpx2.Client, cid: str, reference: str) -> httpx2.Response:
    """Open a contract's form and save it as a browser would, with a new reference."""
    form = FormFields()
    form.feed(http.get(f"/customers/{cid}/edit").text)
    data: dict[str, list[str]] = defaultdict(list)
    for k, v in form.fields:
        data[k].append(v)
    data.update(reference=[reference], action=["save"])
    return http.post(f"/customers/{cid}/edit", data=data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of pid and all its descendants, KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


class Server:
    def __init__(self, checkout: Path, customers: Path, out: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(checkout / "src"), "PYTHONUNBUFFERED": "1"}
        self._log = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "annex_gen", "serve", "--port", str(self.port), "--customers", str(customers),
             "--out", str(out), "--registry", str(checkout / "registry"), "--archive", str(out.parent / "archive")],
            cwd=checkout, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx2.get(self.url + "/static/web.css", timeout=2)
                return
            except httpx2.HTTPError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise SystemExit(f"the server in {checkout} did not start: see {log}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def customer_ids(customers: Path) -> list[str]:
    return sorted(p.stem for p in customers.glob("*.yaml"))


def one_run(checkout: Path, contracts: Path, args: argparse.Namespace) -> tuple[dict[str, list[float]], int]:
    """Latencies (ms) per kind and the highest RSS (KiB) of one server run."""
    with tempfile.TemporaryDirectory() as tmp:
        customers, out = Path(tmp) / "customers", Path(tmp) / "output"
        shutil.copytree(contracts, customers)
        ids = customer_ids(customers)
        cached, editable = ids[: len(ids) // 5], ids[len(ids) // 5:]
        server = Server(checkout, customers, out, Path(tmp) / "server.log")
        try:
            with httpx2.Client(base_url=server.url, timeout=600) as warmup:
                for cid in cached:
                    assert warmup.get(f"/customers/{cid}/download/pdf").status_code == 200
            times: dict[str, list[float]] = defaultdict(list)
            lock = threading.Lock()
            stop_at = time.monotonic() + args.seconds
            budget = [args.max_requests]
            peak = [rss_kib(server.process.pid)]
            done = threading.Event()
            failures: list[str] = []

            def sample() -> None:
                while not done.wait(0.5):
                    peak[0] = max(peak[0], rss_kib(server.process.pid))

            def client(number: int) -> None:
                rng = random.Random(number)
                mine = editable[number::args.clients] or editable
                edits = 0
                with httpx2.Client(base_url=server.url, timeout=600) as http:
                    while time.monotonic() < stop_at:
                        with lock:
                            if budget[0] <= 0:
                                return
                            budget[0] -= 1
                        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
                        start = time.perf_counter()
                        if kind == "list":
                            ok = http.get("/customers").status_code == 200
                        elif kind == "static":
                            ok = http.get("/static/web.css").status_code == 200
                        elif kind == "cached":
                            ok = http.get(f"/customers/{rng.choice(cached)}/download/pdf").status_code == 200
                        else:
                            cid = mine[edits % len(mine)]
                            edits += 1
                            saved = save_edit(http, cid, f"DPA-LOAD-{number}-{edits}")
                            fresh = time.perf_counter()
                            ok = saved.status_code == 303 and \
                                http.get(f"/customers/{cid}/download/pdf").status_code == 200
                            with lock:
                                times["edit: fresh PDF"].append((time.perf_counter() - fresh) * 1000)
                            kind = "edit: form, save, PDF"
                        if not ok:
                            failures.append(f"{kind}: a request failed on {checkout}")
                            return
                        with lock:
                            times[kind].append((time.perf_counter() - start) * 1000)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            probe = subprocess.Popen([sys.executable, "-c", PROBE, "127.0.0.1", str(server.port), str(args.seconds)],
                                     stdout=subprocess.PIPE, text=True)
            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.set()
            probed, _ = probe.communicate(timeout=600)
            if probe.returncode != 0:
                raise SystemExit(f"the probe failed on {checkout}")
            times.update(json.loads(probed))
            if failures:
                raise SystemExit(failures[0])
            return times, peak[0]
        finally:
            server.stop()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="an earlier checkout (a git worktree)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--contracts", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0, help="clients' time per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side, alternating")
    parser.add_argument("--max-requests", type=int, default=20000, help="per run")
    args = parser.parse_args()
    sides = {"before": args.before.resolve(), "after": ROOT}
    results: dict[str, list[tuple[dict[str, list[float]], int]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        contracts = Path(tmp) / "contracts"
        make_contracts(ROOT / "registry", contracts, args.contracts)
        for round_ in range(args.rounds):
            for side, checkout in sides.items():
                print(f"round {round_ + 1}: {side} ({checkout}) ...", file=sys.stderr, flush=True)
                results[side].append(one_run(checkout, contracts, args))
    print(f"{args.clients} clients, {args.contracts} contracts, {args.seconds:.0f} s per run, "
          f"{args.rounds} run(s) per side, medians over runs; ms; {os.cpu_count()} cores")
    print(f"{'kind':24} {'side':7} {'count':>6} {'p50':>8} {'p99':>8}")
    summary: dict[tuple[str, str], tuple[float, float, float]] = {}
    for kind in SHOWN:
        for side in sides:
            runs = [times.get(kind, []) for times, _ in results[side]]
            row = (statistics.median(len(r) for r in runs), statistics.median(percentile(r, 50) for r in runs),
                   statistics.median(percentile(r, 99) for r in runs))
            summary[kind, side] = row
            print(f"{kind:24} {side:7} {row[0]:6.0f} {row[1]:8.0f} {row[2]:8.0f}")
        b, a = summary[kind, "before"], summary[kind, "after"]
        print(f"{'':24} {'ratio':7} {a[0] / b[0] if b[0] else float('nan'):6.2f} {a[1] / b[1]:8.2f} "
              f"{a[2] / b[2]:8.2f}")
    for side in sides:
        print(f"server RSS, highest ({side}): {statistics.median(p for _, p in results[side]) / 1024:.0f} MiB "
              "(itself and its render processes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
