"""Benchmark the web application's pages over N synthetic contracts, in process (Starlette's test client).

    .venv/bin/python bench/web_bench.py [--contracts 1000] [--rounds 5]

Times, per page, the mean over the rounds: the customer list (first request: every contract
parsed and resolved; then: files re-read and hashed, nothing re-parsed), a contract's form and
preview, the annex HTML, the registry page, and a PDF and DOCX download (first: rendered and
written to the output folder; then: served from it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from batch_bench import make_contracts  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from annex_gen.web import Settings, create_app  # noqa: E402


def timed(client: TestClient, path: str, rounds: int) -> float:
    """Mean milliseconds of GET path over rounds, failing on any status but 200."""
    start = time.perf_counter()
    for _ in range(rounds):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return (time.perf_counter() - start) / rounds * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        customers, out = Path(tmp) / "customers", Path(tmp) / "output"
        make_contracts(ROOT / "registry", customers, args.contracts)
        some = sorted(customers.glob("*.yaml"))[0]
        customer = next(line.split(":", 1)[1].strip() for line in some.read_text().splitlines()
                        if line.strip().startswith("id:"))
        app = create_app(Settings(registry_dir=ROOT / "registry", customers_dir=customers, out_dir=out))
        client = TestClient(app, base_url="http://127.0.0.1")
        rows = [("customer list, first request", timed(client, "/customers", 1)),
                ("customer list", timed(client, "/customers", args.rounds)),
                ("contract form", timed(client, f"/customers/{customer}/edit", args.rounds)),
                ("preview page", timed(client, f"/customers/{customer}", args.rounds)),
                ("annex HTML", timed(client, f"/customers/{customer}/annex/annex.html", args.rounds)),
                ("registry page", timed(client, "/registry", args.rounds)),
                ("PDF download, first", timed(client, f"/customers/{customer}/download/pdf", 1)),
                ("PDF download, cached", timed(client, f"/customers/{customer}/download/pdf", args.rounds)),
                ("DOCX download, first", timed(client, f"/customers/{customer}/download/docx", 1))]
        print(f"{args.contracts} contracts, mean of {args.rounds} rounds")
        for label, ms in rows:
            print(f"{label:32} {ms:9.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
