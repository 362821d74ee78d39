"""Helpers of the legal pages' tests: a served registry in a git repository with a change, contracts, PDFs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from conftest import EXAMPLES_DIR, REGISTRY_DIR

NEW_MAILER_ENTRY = """      - entity: hetzner
        location: germany
        purpose: {fi: Sähköpostiarkisto, en: Email archive}
"""
UPCLOUD_MTA = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"


def git(repo: Path, *args: str) -> str:
    """Run git in repo as a throwaway committer; fail the test with git's message if it fails."""
    proc = subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def registry_repo(root: Path) -> Path:
    """A git repository holding a copy of the project's registry, committed once; returns the registry folder."""
    registry = root / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Sub-processor list as published")
    return registry


def add_mailer_subprocessor(registry: Path, *, commit: bool = True, release: str | None = "2026.12.1") -> None:
    """A new sub-processor for LianaMailer in the EU (Hetzner, email archive), as a new release (committed if
    asked; release None keeps the label, an unreleased edit)."""
    path = registry / "sections.yaml"
    text = path.read_text(encoding="utf-8")
    assert UPCLOUD_MTA in text, "the registry no longer has the entry the change is placed before"
    path.write_text(text.replace(UPCLOUD_MTA, NEW_MAILER_ENTRY + UPCLOUD_MTA, 1), encoding="utf-8")
    if release is not None:
        meta = registry / "registry.yaml"
        meta.write_text(re.sub(r'^release: "[^"]*"', f'release: "{release}"', meta.read_text(encoding="utf-8"),
                               count=1, flags=re.M), encoding="utf-8")
    if commit:
        git(registry.parent, "commit", "-qam", "Hetzner archives LianaMailer email")


def example_contracts(directory: Path, *names: str) -> Path:
    """Copies of examples/<name>.yaml in directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(EXAMPLES_DIR / f"{name}.yaml", directory / f"{name}.yaml")
    return directory
