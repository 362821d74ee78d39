"""The journal of a recorded batch run: what a run killed before its audit entry was written did.

A batch whose acts go to an audit log writes `OUT/.annex-gen.run` when it starts (who, when)
and removes it after the run's entry is written. A run killed (kill -9, power loss) or stopped
before that leaves the journal behind; the next recorded run into the same folder (a batch, or
the web server starting) finds it and writes the entry the killed run could not: the annexes
the manifest lists as generated since it started, which are the files it left in place (the
files it had not yet recorded are deleted by the manifest's sweep).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from annex_gen.batch.manifest import Manifest
from annex_gen.counts import Counted
from annex_gen.output.write import write_atomic

JOURNAL_NAME = ".annex-gen.run"


@dataclass(frozen=True)
class RunLog:
    """Where a batch's acts are recorded: `ready` raises unless an entry can be written; `record(what, refs)`
    appends a "batch run" entry."""

    ready: Callable[[], None]
    record: Callable[..., None]  # record(what, refs, params=None)
    started_by: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def begin(out_dir: Path, started_by: str) -> str:
    """Write the journal of a run starting now; return its start time."""
    started_at = _now()
    write_atomic(out_dir / JOURNAL_NAME,
                 (json.dumps({"started_by": started_by, "started_at": started_at}) + "\n").encode("utf-8"))
    return started_at


def end(out_dir: Path) -> None:
    """Remove the journal once the run's entry is written."""
    with contextlib.suppress(FileNotFoundError):
        (out_dir / JOURNAL_NAME).unlink()


def generated_since(manifest: Manifest, started_at: str) -> list[str]:
    """The document IDs of the annexes the manifest lists as generated at or after started_at."""
    return sorted(r.document_id for r in manifest.records.values() if r.generated_at >= started_at)


def reconcile(manifest: Manifest, log: RunLog) -> str | None:
    """Write the entry of a run that left its journal behind (killed or stopped unrecorded); return its text."""
    path = manifest.out_dir / JOURNAL_NAME
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
        started_by, started_at = str(journal["started_by"]), str(journal["started_at"])
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        started_by, started_at = "unknown", ""  # an unreadable journal: name every annex it could concern
    documents = generated_since(manifest, started_at)
    what = (f"interrupted: the run started by {started_by} at {started_at or 'an unknown time'} stopped before "
            f"it was recorded; what it generated ({Counted(len(documents)):annex|annexes}) is in {manifest.out_dir}")
    log.record(what, documents)
    end(manifest.out_dir)
    return what
