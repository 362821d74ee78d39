"""Proposals as the change log's events make them: propose, edit and withdraw a change of the registry.

A proposal is open until it is withdrawn or approved. Saving one checks the change against the
registry as it is now (the same checks as `annex-gen check`); two open proposals never change
the same item, so approving one cannot silently undo the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.errors import Diagnostic, EditConflict, InvalidInput, NotFound
from annex_gen.registry_edit.changes import Change, change_sources, item_key, merge_summary
from annex_gen.registry_edit.log import ChangeLog, Event
from annex_gen.registry_edit.staged import stage

OPEN, WITHDRAWN, APPROVED = "open", "withdrawn", "approved"


@dataclass
class Proposal:
    """A proposed change, who proposed and edited it, and what became of it."""

    id: int
    proposer: str
    proposed_at: str
    changes: list[Change]
    reason: str
    status: str = OPEN
    editors: list[str] = field(default_factory=list)
    updated_at: str = ""
    closed_by: str = ""  # who withdrew or approved it
    closed_at: str = ""
    approval: dict[str, Any] = field(default_factory=dict)  # the approval event's data
    events: list[Event] = field(default_factory=list)

    @property
    def revision(self) -> int:
        """The number of its last event: what an approver saw is this revision of it."""
        return self.events[-1].seq if self.events else 0

    @property
    def authors(self) -> list[str]:
        """Everyone who wrote the change: none of them may approve it."""
        return list(dict.fromkeys([self.proposer, *self.editors]))

    @property
    def sources(self) -> list[dict[str, str]]:
        """Every source the change names."""
        found = [s for c in self.changes for s in change_sources(c)]
        # once each; a source another one says more of (the same address, with its words) is left out
        return [s for i, s in enumerate(found) if s not in found[:i]
                and not any(o != s and s.items() <= o.items() for o in found)]

    @property
    def summary(self) -> str:
        """The change in one line."""
        return merge_summary(self.changes)

    @property
    def keys(self) -> set[tuple[str, ...]]:
        """The items the proposal changes."""
        return {item_key(c) for c in self.changes}


def fold(events: Sequence[Event]) -> dict[int, Proposal]:
    """Every proposal, by number (1, 2, ... in the order they were proposed)."""
    out: dict[int, Proposal] = {}
    for e in events:
        d = e.data
        if e.kind == "proposed":
            pid = len(out) + 1
            out[pid] = Proposal(pid, e.actor, e.at, list(d["changes"]), d.get("reason", ""), updated_at=e.at,
                                 events=[e])
        elif e.kind == "edited" and d.get("proposal") in out:
            p = out[d["proposal"]]
            p.changes, p.reason, p.updated_at = list(d["changes"]), d.get("reason", p.reason), e.at
            p.editors.append(e.actor)
            p.events.append(e)
        elif e.kind == "withdrawn" and d.get("proposal") in out:
            p = out[d["proposal"]]
            p.status, p.closed_by, p.closed_at = WITHDRAWN, e.actor, e.at
            p.events.append(e)
        elif e.kind == "approved":
            for pid in d.get("proposals", []):
                if pid in out:
                    p = out[pid]
                    p.status, p.closed_by, p.closed_at, p.approval = APPROVED, e.actor, e.at, dict(d)
                    p.events.append(e)
    return out


def proposals(log: ChangeLog) -> list[Proposal]:
    """Every proposal, newest first."""
    return sorted(fold(log.events()).values(), key=lambda p: -p.id)


def proposal(log: ChangeLog, pid: int) -> Proposal:
    """One proposal; NotFound when there is none with that number."""
    found = fold(log.events()).get(pid)
    if found is None:
        raise NotFound(f"there is no registry change proposal #{pid}", code="editor.no_proposal", params={"id": pid})
    return found


def _checked(registry_dir: Path, changes: Sequence[Change], reason: str) -> str:
    """The reason, trimmed; InvalidInput with every problem of the reason and the changes at once."""
    reason = " ".join(reason.split())
    problems = [] if reason else [Diagnostic("proposal", None, None, "reason",
                                             "say why the list changes (the reason is shown to the approver and kept)",
                                             code="editor.reason_missing")]
    if not changes:
        raise InvalidInput([*problems, Diagnostic("proposal", None, None, "", "the proposal holds no change",
                                                                code="editor.empty")])
    staged = stage(registry_dir, changes)
    if staged.errors:
        problems += staged.diagnostics
    elif not staged.changed:
        problems.append(Diagnostic("proposal", None, None, "", "this changes nothing in the list",
                                   code="editor.no_change"))
    if problems:
        raise InvalidInput(problems)
    return reason


def _open_guard(pid: int | None, changes: Sequence[Change]):
    """Refuse (under the log's lock) when the proposal is closed, or another open one changes the same item."""
    def guard(events: list[Event]) -> None:
        current = fold(events)
        if pid is not None and current.get(pid) is not None and current[pid].status != OPEN:
            raise EditConflict(f"proposal #{pid} is {current[pid].status} already; nothing was saved",
                               code="editor.closed", params={"id": pid})
        keys = {item_key(c) for c in changes}
        for other in current.values():
            if other.id != pid and other.status == OPEN and other.keys & keys:
                raise EditConflict(f"proposal #{other.id} ({other.summary}) changes the same item and is still "
                                   "open: edit or withdraw that one", code="editor.same_item", params={"id": other.id})
    return guard


def propose(log: ChangeLog, registry_dir: Path, actor: str, changes: Sequence[Change], reason: str) -> Proposal:
    """Check changes against the registry and keep them as a new open proposal."""
    reason = _checked(registry_dir, changes, reason)
    event = log.append("proposed", actor, {"changes": list(changes), "reason": reason},
                       guard=_open_guard(None, changes))
    return next(p for p in fold(log.events()).values() if p.events[0].seq == event.seq)


def edit(log: ChangeLog, registry_dir: Path, actor: str, pid: int, changes: Sequence[Change],
         reason: str) -> Proposal:
    """Replace an open proposal's changes and reason (the editor becomes one of its authors)."""
    proposal(log, pid)
    reason = _checked(registry_dir, changes, reason)
    log.append("edited", actor, {"proposal": pid, "changes": list(changes), "reason": reason},
               guard=_open_guard(pid, changes))
    return proposal(log, pid)


def withdraw(log: ChangeLog, actor: str, pid: int, reason: str = "") -> Proposal:
    """Close an open proposal without changing the registry."""
    current = proposal(log, pid)
    log.append("withdrawn", actor, {"proposal": pid, "reason": " ".join(reason.split())},
               guard=_open_guard(pid, current.changes))
    return proposal(log, pid)
