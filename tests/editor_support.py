"""Helpers for the registry editor's tests: a registry copy in its own git repository, the example customers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import EXAMPLES_DIR, REGISTRY_DIR

# The sub-processor the editor's tests add to LianaMailer in the EU: a made-up company, whose VAT number
# only has to pass the format and checksum check, and a source at example.com.
NEW_ENTITY = {"id": "mailmetrics", "name": "MailMetrics Oy", "vat": "FI12345698", "country": "FI"}
SOURCE_URL = "https://example.com/mailmetrics/data-processing-agreement"
SOURCE_QUOTE = "MailMetrics Oy processes e-mail engagement data in its data centre in Finland."


def git(repo: Path, *args: str) -> str:
    """Run git in repo (the test's own identity); return its output."""
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout


def registry_checkout(root: Path) -> Path:
    """A copy of the project's registry as root/registry in a new git repository with one commit."""
    root.mkdir(parents=True, exist_ok=True)
    registry = root / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "registry")
    git(root, "commit", "-q", "-m", "Registry as published")
    return registry


def customers_copy(dest: Path) -> Path:
    """The example contracts, copied."""
    shutil.copytree(EXAMPLES_DIR, dest)
    return dest


def eu_mailer_customers(customers: Path) -> set[str]:
    """The customers whose contract is in the EU and includes LianaMailer, read from the files themselves."""
    from annex_gen.inputs.yamlio import load

    found = set()
    for path in customers.glob("*.yaml"):
        data = load(path).data
        if data["contract"]["region"] == "eu" and "mailer" in data["contract"]["products"]:
            found.add(data["customer"]["id"])
    return found
