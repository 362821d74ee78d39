"""Helpers for the registry editor's tests: the sub-processor they add, the example customers, whom it reaches."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import EXAMPLES_DIR
from legal_web_support import git, registry_repo

__all__ = ["NEW_ENTITY", "SOURCE_QUOTE", "SOURCE_URL", "customers_copy", "eu_mailer_customers", "git",
           "registry_repo"]

# The sub-processor the editor's tests add to LianaMailer in the EU: a made-up company, whose VAT number
# only has to pass the format and checksum check, and a source at example.com.
NEW_ENTITY = {"id": "mailmetrics", "name": "MailMetrics Oy", "vat": "FI12345698", "country": "FI"}
SOURCE_URL = "https://example.com/mailmetrics/data-processing-agreement"
SOURCE_QUOTE = "MailMetrics Oy processes e-mail engagement data in its data centre in Finland."


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
