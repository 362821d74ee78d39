"""Benchmark legal's web pages over N synthetic contracts, in process (Starlette's test client).

    .venv/bin/python bench/web_legal_bench.py [--contracts 1000] [--records 1000] [--rounds 3]

Builds a registry in a throwaway git repository (two commits: as published, then one new
LianaMailer sub-processor in the EU), N contracts, an archive of R scans linked to their
customers' document IDs and R audit entries, then times each page (best of the rounds):
the drift report (`/archive`), one customer's history, the changes page (`/changes?from=HEAD~1`,
the registry diff and every customer's impact) and the audit log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import pikepdf  # noqa: E402
from batch_bench import NEW_ENTRY, make_contracts  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from annex_gen import app  # noqa: E402
from annex_gen.archive.intake import AddRequest, add_file  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402
from annex_gen.web import Settings, create_app  # noqa: E402

ANCHOR = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


def scan(marker: str) -> bytes:
    """A one-page PDF without embedded data, unique by marker."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Title"] = marker
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def build(work: Path, contracts: int, records: int) -> Settings:
    """The registry repository, the contracts, the archive and the audit log."""
    registry = work / "repo" / "registry"
    shutil.copytree(ROOT / "registry", registry)
    git(work / "repo", "init", "-q")
    git(work / "repo", "add", "-A")
    git(work / "repo", "commit", "-qm", "as published")
    customers = work / "customers"
    make_contracts(registry, customers, contracts)
    report = app.check(registry, [customers])
    archive = work / "archive"
    staged = work / "scan.pdf"
    with app.open_archive(archive, create=True) as store:
        for i, contract in enumerate(report.contracts[:records]):
            staged.write_bytes(scan(f"scan {i}"))
            document = resolve(report.registry, contract).document_id
            add_file(store, AddRequest(staged, contract.customer_id, signed_on=dt.date(2026, 11, 1),
                                       document_id=document))
    for i in range(records):
        app.audit_record(archive, "bench", "file archived", f"scan {i}", [f"#{i + 1}"])
    sections = registry / "sections.yaml"
    sections.write_text(sections.read_text(encoding="utf-8").replace(ANCHOR, NEW_ENTRY + ANCHOR, 1),
                        encoding="utf-8")
    git(work / "repo", "commit", "-qam", "Hetzner archives LianaMailer email")
    return Settings(registry_dir=registry, customers_dir=customers, out_dir=work / "output", archive=archive)


def timed(client: TestClient, path: str, rounds: int) -> tuple[float, int]:
    """The best time of rounds GETs of path, and its status."""
    best, status = float("inf"), 0
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(path)
        best = min(best, time.perf_counter() - start)
        status = response.status_code
    return best, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="annex-gen-web-bench-"))
    try:
        start = time.perf_counter()
        settings = build(work, args.contracts, min(args.records, args.contracts))
        print(f"set-up: {args.contracts} contracts, {min(args.records, args.contracts)} archived scans and audit "
              f"entries in {time.perf_counter() - start:.1f} s")
        client = TestClient(create_app(settings), base_url="http://127.0.0.1")
        first = app.check(settings.registry_dir, [settings.customers_dir]).contracts[0].customer_id
        for label, path in (("drift report /archive", "/archive"),
                            ("drift report, not current only", "/archive?show=not-current"),
                            ("one customer's history", f"/archive/customers/{first}"),
                            ("changes page, diff and impact", "/changes?from=HEAD~1"),
                            ("audit log", "/audit")):
            seconds, status = timed(client, path, args.rounds)
            print(f"{label:34s} {seconds * 1000:8.0f} ms  (HTTP {status})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
