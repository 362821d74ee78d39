"""One error hierarchy for the library: data-carrying, never printed where raised.

Every interface maps these to what it shows in one place: the CLI to messages and exit
codes (`annex_gen.cli`), the web application to error pages. `str(error)` is the message
for a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.counts import Counted

# A message's code names its text in the web catalogs (templates/web/i18n, key "msg.<code>"); its params
# fill the text's {placeholders}. The English message stays for the command line.


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input file, located like a compiler message."""

    file: str
    line: int | None
    col: int | None
    key: str
    message: str
    severity: str = "error"
    code: str = field(default="", compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {prefix}{self.message}"


class AnnexGenError(Exception):
    """Base of every error annex-gen raises on purpose; code and params name its text for the web."""

    code: str = ""
    params: dict[str, Any] = {}  # noqa: RUF012 - replaced, never changed, per instance

    def __init__(self, *args: object, code: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(*args)
        if code:
            self.code = code
        if params:
            self.params = params


@dataclass
class InvalidInput(AnnexGenError):
    """One or more input files are invalid; every problem found is listed."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)


class UsageError(AnnexGenError):
    """The command was asked for something it cannot do (bad option value, missing file)."""


class OutputError(AnnexGenError):
    """An output could not be written."""


class ResolutionError(AnnexGenError):
    """The contract does not fit the registry (only reachable with an unvalidated Contract)."""


class RenderError(AnnexGenError):
    """A document could not be rendered."""


class ManifestError(AnnexGenError):
    """A batch manifest cannot be read."""


class ArchiveError(AnnexGenError):
    """The archive cannot do what was asked (no archive there, no such record, newer schema)."""


class NoArchive(ArchiveError):
    """Nothing at the location is an archive (no index, no schema): where an archive is optional, none."""


class ArchiveUnavailable(ArchiveError):
    """The archive's database cannot be reached now: nothing was read from it or done."""


class NotRecorded(ArchiveError):
    """An act whose audit entry cannot be written (the log's database is down, its file unwritable): not made."""


class OutputLocked(AnnexGenError):
    """Another batch is writing the same output directory."""

    def __init__(self, *, out_dir: Path, holder: str) -> None:
        super().__init__(f"{out_dir} is in use by another batch ({holder}); "
                         "wait for it to finish or use another --out directory",
                         code="batch.locked", params={"holder": holder})
        self.out_dir, self.holder = out_dir, holder


class NoticeDateError(UsageError):
    """The notice date leaves less than the notice period before the effective date: the one asked for
    (given "asked"), the one legal approved for the release ("approved") or registry.yaml's ("registry")."""

    _SAID = {"asked": ("notices.date_too_late", "the effective date {effective}",
                       "let the change take effect on {earliest} or later"),
             "approved": ("notices.date_too_late_approved", "{effective}, the day legal approved the release to take "
                          "effect", "give the notices an effective date of {earliest} or later"),
             "registry": ("notices.date_too_late_registry", "the effective date {effective} in registry.yaml",
                          "set it to {earliest} or later")}

    def __init__(self, *, notice_date: dt.date, effective_date: dt.date, period_days: int,
                 given: str = "asked") -> None:
        left = (effective_date - notice_date).days
        earliest = notice_date + dt.timedelta(days=period_days)
        send_by = effective_date - dt.timedelta(days=period_days)
        code, which, remedy = (part.format(effective=effective_date, earliest=earliest) for part in self._SAID[given])
        super().__init__(
            f"a notice sent on {notice_date} leaves {Counted(left):day|days} before {which}, but the registry's "
            f"notice period is {period_days} days: send the notice by {send_by} or {remedy}",
            code=code,
            params={"notice_date": notice_date, "effective_date": effective_date, "days": period_days,
                    "left": left, "send_by": send_by, "earliest": earliest},
        )
        self.notice_date, self.effective_date, self.period_days = notice_date, effective_date, period_days


class BatchInterrupted(AnnexGenError):
    """The batch was interrupted; everything finished so far is recorded."""

    def __init__(self, *, result: Any) -> None:
        done = Counted(len(result.generated))
        super().__init__(f"interrupted; what it generated before the interruption ({done:annex|annexes}) is recorded, "
                         "the next run continues from there",
                         code="batch.interrupted", params={"count": len(result.generated)})
        self.result = result


class NotFound(AnnexGenError):
    """What was asked for does not exist (no contract with that customer id)."""


class EditConflict(AnnexGenError):
    """A file changed since it was read for editing; saving would overwrite someone's change."""
