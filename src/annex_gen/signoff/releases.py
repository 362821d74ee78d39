"""Releases legal approved: records in the archive's append-only chain, looked up by registry digest.

An approval is a record of kind `release` whose file is the registry's content as approved (each
file's text, as JSON), so the archive keeps exactly what legal signed off and `archive verify`
checks it like every other record. An annex is final when the registry it is made from has the
digest of an approved release; otherwise it is a draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.hashing import canonical_json
from annex_gen.model import Registry

KIND = "release"
MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class Release:
    """One approval: the registry content (label, digest, version), who approved it, when, from when it applies."""

    seq: int
    label: str
    digest: str
    version: str
    approved_by: str
    approved_on: dt.date
    effective: dt.date | None  # None: the approval set no date (the registry's `effective`, if any, applies)
    facts: int

    @classmethod
    def of(cls, record) -> Release:
        """The release a chain record states."""
        b = record.body
        effective = dt.date.fromisoformat(b["effective"]) if b.get("effective") else None
        return cls(record.seq, b["release"], b["registry_digest"], b["registry_version"], b["approved_by"],
                   dt.date.fromisoformat(b["approved_on"]), effective, int(b.get("facts_confirmed") or 0))

    def to_dict(self) -> dict:
        """JSON form."""
        return {"record": self.seq, "release": self.label, "registry_digest": self.digest,
                "registry_version": self.version, "approved_by": self.approved_by,
                "approved_on": self.approved_on.isoformat(),
                "effective": self.effective.isoformat() if self.effective else None, "facts_confirmed": self.facts}


def releases(archive) -> list[Release]:
    """Every approved release of an archive, oldest first."""
    return [Release.of(r) for r in archive.index.releases()]


def approved(archive, digest: str) -> Release | None:
    """The latest approval of exactly this registry content, if any."""
    return next((r for r in reversed(releases(archive)) if r.digest == digest), None)


def effective_refusal(approved: list[Release], registry_dir: Path, effective: dt.date | None, on: dt.date,
                      notice_days: int) -> Diagnostic | None:
    """Why an approval on `on` cannot take effect on `effective` (None: no date given); None when it can.

    The first release may take effect the day it is approved. A later one changes what customers were
    given, and its notices go out once it is approved: legal sets its date, no sooner than the notice
    customers are owed from the approval, and never before the release it follows takes effect."""
    if not approved:
        return None
    last = approved[-1]
    in_effect = last.effective or last.approved_on
    earliest = max(on + dt.timedelta(days=notice_days), in_effect)
    if effective is not None and effective >= earliest:
        return None
    params = {"label": last.label, "in_effect": in_effect.isoformat(), "earliest": earliest.isoformat(),
              "days": notice_days, "given": effective.isoformat() if effective else ""}
    if effective is None:
        return Diagnostic(str(registry_dir / "registry.yaml"), None, None, "", (
            f"this content follows release {last.label} (in effect from {in_effect}): set the day it takes effect "
            f"(--effective DATE), {earliest} or later: customers are owed {notice_days} days' notice of a change"),
            code="signoff.effective_needed", params=params)
    return Diagnostic(str(registry_dir / "registry.yaml"), None, None, "", (
        f"--effective {effective} is too early: customers are owed {notice_days} days' notice of a change and "
        f"release {last.label} is in effect from {in_effect}, so this one takes effect on {earliest} or later"),
        code="signoff.effective_early", params=params)


def blockers(registry: Registry, strict_diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """What keeps a release from approval: every problem `check --strict` reports (each unconfirmed printed
    fact, each missing Annex III detail, each other warning or error)."""
    return list(strict_diagnostics)


def snapshot(registry_dir: Path, registry: Registry) -> bytes:
    """The registry content as approved: each file's text, with the label and digest (canonical JSON)."""
    from annex_gen.inputs.registry import FILES

    files = {name: (registry_dir / name).read_text(encoding="utf-8") for name in FILES}
    return canonical_json({"release": registry.release, "registry_digest": registry.digest,
                           "files": files}).encode("utf-8")


def record_approval(archive, registry_dir: Path, registry: Registry, *, by: str, on: dt.date,
                    effective: dt.date | None, before_commit=None) -> Release:
    """Append the approval to the archive's chain; refuse content already approved. before_commit(record)
    runs last before the record commits (the audit entry)."""
    existing = approved(archive, registry.digest)
    if existing is not None:
        raise InvalidInput([Diagnostic(str(registry_dir), None, None, "", (
            f"this registry content ({registry.version}) was already approved as release {existing.label} "
            f"by {existing.approved_by} on {existing.approved_on} (record {existing.seq})"),
            code="signoff.already_approved",
            params={"version": registry.version, "label": existing.label, "by": existing.approved_by,
                    "on": existing.approved_on, "record": existing.seq})])
    facts = sum(1 for f in registry.facts if f.printed)
    fields = {"kind": KIND, "release": registry.release, "registry_digest": registry.digest,
              "registry_version": registry.version, "approved_by": by, "approved_on": on.isoformat(),
              "effective": effective.isoformat() if effective else None, "facts_confirmed": facts}
    data = snapshot(registry_dir, registry)
    record = archive.append(fields, data, name=f"registry-{registry.version}.json", media_type=MEDIA_TYPE,
                            shown=f"registry {registry.version}", before_commit=before_commit)
    return Release.of(record)
