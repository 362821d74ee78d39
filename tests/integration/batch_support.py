"""Helpers of the batch, diff and notices CLI tests: run the CLI, make contracts, read outputs back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import docx
import pdfplumber

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
NEW_MAILER_ENTRY = """      - entity: hetzner
        location: germany
        purpose: {fi: Sähköpostiarkisto, en: Email archive}
"""
UPCLOUD_MTA = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"
EU_MAILER_EXAMPLES = {"esimerkki-oy", "kaikki-tuotteet", "kauppahuone-aalto"}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "annex_gen", *map(str, args)]


def cli(*args: str | Path, timeout: float = 300, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run `python -m annex_gen ARGS` in the project root (env: variables added to this process's)."""
    return subprocess.run(command(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False, env={**os.environ, **(env or {})})


def start(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m annex_gen ARGS` in the background."""
    return subprocess.Popen(command(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})


def add_mailer_entry(registry_dir: Path) -> None:
    """A new sub-processor for LianaMailer in the EU."""
    path = registry_dir / "sections.yaml"
    text = path.read_text(encoding="utf-8")
    assert UPCLOUD_MTA in text
    path.write_text(text.replace(UPCLOUD_MTA, NEW_MAILER_ENTRY + UPCLOUD_MTA, 1), encoding="utf-8")


def make_contracts(directory: Path, n: int, *, start_at: int = 0) -> list[Path]:
    """n small valid contracts over regions, products and languages (EU mailer every third)."""
    shapes = [("eu", "mailer", "fi"), ("uae", "automation", "en"), ("hk", "cms", "fi"),
              ("eu", "press", "en"), ("eu", "cms", "fi"), ("hk", "mailer", "en")]
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start_at, start_at + n):
        region, product, language = shapes[i % len(shapes)]
        path = directory / f"c{i:03d}.yaml"
        path.write_text(f"customer: {{id: c{i:03d}, name: Customer {i} Oy}}\n"
                        f"contract: {{date: 2026-12-01, region: {region}, language: {language}, "
                        f"products: [{product}]}}\n", encoding="utf-8")
        paths.append(path)
    return paths


def manifest(out: Path) -> dict:
    """The customers of OUT/manifest.json."""
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["customers"]


def wait_for_records(out: Path, count: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    """Wait until the manifest lists at least count customers (the batch flushes it once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = len(manifest(out))
        except (FileNotFoundError, json.JSONDecodeError):
            found = 0
        if found >= count:
            return found
        assert proc.poll() is None, f"the batch ended early: {proc.communicate()}"
        time.sleep(0.05)
    raise AssertionError(f"the manifest did not reach {count} customers in {timeout} s")


def assert_consistent(out: Path) -> dict:
    """Every file the manifest lists is on disk as recorded; no partial or unlisted annex is."""
    records = manifest(out)
    listed = set()
    for cid, rec in records.items():
        for f in rec["files"].values():
            path = out / f["path"]
            data = path.read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (f["size"], f["sha256"]), path
            assert path.parent.name == cid and path.stem == rec["document_id"]
            listed.add(path)
    on_disk = {p for p in out.rglob("*") if p.is_file() and p.parent != out}
    assert not [p for p in out.rglob("*.part")]
    assert on_disk == listed
    return records


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF."""
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def docx_text(path: Path) -> str:
    """The text of a DOCX: paragraphs, then table cells, then the footer."""
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    parts += [p.text for p in document.sections[0].footer.paragraphs]
    return "\n".join(parts)
