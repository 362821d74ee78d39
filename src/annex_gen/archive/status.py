"""Which signed annex is in force for a customer on a date, and how it differs from today's.

The drift report: after a registry change, legal compares each customer's annex in force
with what the current registry resolves for that customer's contract.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annex_gen.archive.store import Archive, Record
from annex_gen.errors import UsageError
from annex_gen.model import PROVENANCE, Contract, Registry
from annex_gen.resolve import resolve

# Provenance is not content (as in `diff`); sections and sub-processors are compared field by field.
_DETAILED = {*PROVENANCE, "schema", "sections", "subprocessors"}

CURRENT = "current"  # the annex in force lists what the registry resolves today
OUTDATED = "outdated"  # it differs; the changes are listed
UNKNOWN = "unknown"  # a scan whose content is not known and whose document ID differs
NO_ANNEX = "no-annex"  # nothing signed on or before the date
NO_CONTRACT = "no-contract"  # archived, but no contract file for the customer any more


@dataclass(frozen=True)
class Change:
    """A sub-processor added, removed or changed since the annex in force was signed."""

    change: str  # "added", "removed" or "changed"
    id: str
    name: str
    legal_id: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"change": self.change, "id": self.id, "name": self.name, "legal_id": self.legal_id,
                "details": list(self.details)}


@dataclass(frozen=True)
class CustomerStatus:
    """One customer's annex in force on a date, compared with what the registry resolves now."""

    customer_id: str
    state: str
    record: Record | None = None
    current_document_id: str | None = None
    changes: tuple[Change, ...] = ()
    other_changes: tuple[str, ...] = ()  # top-level annex fields that differ, e.g. "notice_period_days"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        r = self.record
        return {
            "customer": self.customer_id,
            "state": self.state,
            "record": r.seq if r else None,
            "document_id": r.document_id if r else None,
            "signed_on": r.body.get("signed_on") if r else None,
            "current_document_id": self.current_document_id,
            "changes": [c.to_dict() for c in self.changes],
            "other_changes": list(self.other_changes),
        }


def in_force(records: Iterable[Record], on: dt.date) -> Record | None:
    """The latest annex signed on or before the date (the later record wins a tie)."""
    best: Record | None = None
    for r in records:
        if r.kind != "annex" or r.signed_on is None or r.signed_on > on:
            continue
        if best is None or (r.signed_on, r.seq) > (best.signed_on, best.seq):
            best = r
    return best


def _purposes(annex: Mapping[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for section in annex.get("sections") or []:
        for entry in section.get("entries") or []:
            text = entry.get("purpose") or ""
            items = entry.get("purpose_items") or []
            if items:
                text += " (" + "; ".join(items) + ")"
            out.setdefault(entry.get("subprocessor"), set()).add(text)
    return out


def _set_change(label: str, old: Iterable[str], new: Iterable[str]) -> str | None:
    old_set, new_set = set(old), set(new)
    if old_set == new_set:
        return None
    parts = [f"added {', '.join(repr(x) for x in sorted(new_set - old_set))}" if new_set - old_set else "",
             f"removed {', '.join(repr(x) for x in sorted(old_set - new_set))}" if old_set - new_set else ""]
    return f"{label}: " + "; ".join(p for p in parts if p)


def _party_details(old: Mapping[str, Any], new: Mapping[str, Any], old_purposes: set[str],
                   new_purposes: set[str]) -> tuple[str, ...]:
    details: list[str | None] = []
    for key, label in (("name", "name"), ("legal_id", "legal ID"), ("country", "country"),
                       ("address", "registered address"), ("privacy_contact", "data-protection contact")):
        if old.get(key) != new.get(key):
            details.append(f"{label}: {old.get(key)!r} -> {new.get(key)!r}")
    details.append(_set_change("locations", old.get("locations") or [], new.get("locations") or []))
    if bool(old.get("outside_eea")) != bool(new.get("outside_eea")):
        details.append(f"outside the EEA: {'yes' if old.get('outside_eea') else 'no'} -> "
                       f"{'yes' if new.get('outside_eea') else 'no'}")
    details.append(_set_change("transfer basis", old.get("transfers") or [], new.get("transfers") or []))
    details.append(_set_change("purpose", old_purposes, new_purposes))
    details.append(_set_change("sections", old.get("sections") or [], new.get("sections") or []))
    return tuple(d for d in details if d)


def diff_annex(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[tuple[Change, ...], tuple[str, ...]]:
    """Sub-processors added, removed and changed from old to new, and other top-level fields that differ."""
    old_parties = {p["id"]: p for p in old.get("subprocessors") or []}
    new_parties = {p["id"]: p for p in new.get("subprocessors") or []}
    old_purposes, new_purposes = _purposes(old), _purposes(new)
    changes: list[Change] = []
    for pid, p in new_parties.items():
        if pid not in old_parties:
            changes.append(Change("added", pid, p.get("name", ""), p.get("legal_id", "")))
    for pid, p in old_parties.items():
        if pid not in new_parties:
            changes.append(Change("removed", pid, p.get("name", ""), p.get("legal_id", "")))
    for pid, p in new_parties.items():
        if pid in old_parties:
            details = _party_details(old_parties[pid], p, old_purposes.get(pid, set()),
                                     new_purposes.get(pid, set()))
            if details:
                changes.append(Change("changed", pid, p.get("name", ""), p.get("legal_id", ""), details))
    # Section-level changes that no sub-processor shows (a title, a note) still change the annex.
    def headings(annex: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return {s["id"]: {k: v for k, v in s.items() if k != "entries"} for s in annex.get("sections") or []}

    other = [k for k in sorted((set(old) | set(new)) - _DETAILED) if old.get(k) != new.get(k)]
    if headings(old) != headings(new):
        other.append("sections")
    return tuple(changes), tuple(other)


def annex_content(archive: Archive, record: Record) -> Mapping[str, Any] | None:
    """What an annex record lists: its embedded annex, or that of another record of its document."""
    if record.annex is not None:
        return record.annex
    if record.document_id:
        for other in archive.with_document(record.document_id):
            if other.annex is not None and other.customer_id == record.customer_id:
                return other.annex
    return None


def customer_status(archive: Archive, registry: Registry, contract: Contract, on: dt.date) -> CustomerStatus:
    """The annex in force for one contract's customer, compared with the current resolution."""
    cid = contract.customer_id
    current = resolve(registry, contract).to_dict()
    record = in_force(archive.records(cid), on)
    if record is None:
        return CustomerStatus(cid, NO_ANNEX, current_document_id=current["document_id"])
    status = CustomerStatus(cid, CURRENT, record, current["document_id"])
    if record.document_id == current["document_id"]:
        return status
    content = annex_content(archive, record)
    if content is None:
        return CustomerStatus(cid, UNKNOWN, record, current["document_id"])
    changes, other = diff_annex(content, current)
    if not changes and not other:
        return status  # only the registry version differs: the same annex, resolved by a later release
    return CustomerStatus(cid, OUTDATED, record, current["document_id"], changes, other)


def archive_status(archive: Archive, registry: Registry, contracts: Iterable[Contract], on: dt.date,
                   customer: str | None = None) -> list[CustomerStatus]:
    """Every contract's status (or one customer's), plus archived customers with no contract left."""
    contracts = [c for c in contracts if customer in (None, c.customer_id)]
    out = [customer_status(archive, registry, c, on) for c in sorted(contracts, key=lambda c: c.customer_id)]
    known = {c.customer_id for c in contracts}
    archived = {r.customer_id for r in archive.records(customer) if r.kind == "annex"}
    if customer is not None and not known and not archived:
        raise UsageError(f"customer {customer!r} has neither a contract nor an archived annex")
    for cid in sorted(archived - known):
        out.append(CustomerStatus(cid, NO_CONTRACT, in_force(archive.records(cid), on)))
    return out
