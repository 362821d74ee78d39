"""The registry's releases a change is compared with, and the one customers were last notified of.

A person compares the current list with a release (its label and date), never with a git
revision: `releases` is the one place that decides which releases exist. Releases legal
approved (recorded elsewhere and passed in) win over the registry's git history when there
are any. The baseline, the release customers last signed or were notified of, moves only when
the notices of a change are written (`record_notified`), never when a batch regenerates annexes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from annex_gen.hashing import canonical_json
from annex_gen.output.write import write_atomic

NOTIFIED_FILE = "notified.json"  # in the notices folder: the release the last notices announced


@dataclass(frozen=True)
class Release:
    """A release of the registry as a person names it: label and date; ref loads it (a git commit)."""

    ref: str
    label: str  # the release label, e.g. 2026.11.1
    version: str  # the label and the content's digest, as annexes print it
    date: dt.date  # the day it was published (its commit) or approved
    approved: bool = False


def releases(registry_dir: Path, approved: Iterable[Release] = ()) -> list[Release]:
    """The releases to compare with, newest first: the approved ones if any, else the published history."""
    chosen = sorted(approved, key=lambda r: r.date, reverse=True)
    if chosen:
        return chosen
    from annex_gen.publish.history import read_history

    history = read_history(registry_dir)
    return [Release(v.commit, v.registry.release, v.registry.version, v.published) for v in reversed(history.versions)]


def notified(notices_dir: Path) -> str | None:
    """The version of the registry the last written notices announced, or None."""
    try:
        data = json.loads((notices_dir / NOTIFIED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("version") if isinstance(data, dict) and isinstance(data.get("version"), str) else None


def record_notified(notices_dir: Path, version: str, notice_date: dt.date) -> None:
    """Remember that customers were notified of version (the comparison's baseline from now on)."""
    write_atomic(notices_dir / NOTIFIED_FILE,
                 canonical_json({"version": version, "notice_date": notice_date.isoformat()}).encode("utf-8"))


def baseline(found: list[Release], notified_version: str | None, current_version: str) -> Release | None:
    """The release the current list is compared with by default: the one last notified, else the newest
    release that is not the current content itself."""
    if notified_version is not None:
        match = next((r for r in found if r.version == notified_version), None)
        if match is not None:
            return match
    return next((r for r in found if r.version != current_version), None)
