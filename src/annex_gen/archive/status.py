"""Which signed annex is in force for a customer on a date, and how it differs from today's.

The drift report: after a registry change, legal compares each customer's annex in force
with what the current registry resolves for that customer's contract.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annex_gen.archive.store import Archive, Record
from annex_gen.changes.annex_diff import PartyChange, diff_annexes
from annex_gen.errors import UsageError
from annex_gen.model import Annex, Contract, Registry
from annex_gen.resolve import resolve

CURRENT = "current"  # the annex in force lists what the registry resolves today
OUTDATED = "outdated"  # it differs; the changes are listed
UNKNOWN = "unknown"  # a scan whose content is not known and whose document ID differs
NO_ANNEX = "no-annex"  # nothing signed on or before the date
NO_CONTRACT = "no-contract"  # archived, but no contract file for the customer any more


@dataclass(frozen=True)
class CustomerStatus:
    """One customer's annex in force on a date, compared with what the registry resolves now."""

    customer_id: str
    state: str
    record: Record | None = None
    current_document_id: str | None = None
    changes: tuple[PartyChange, ...] = ()
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


def diff_annex(old: Mapping[str, Any] | Annex, new: Mapping[str, Any] | Annex,
               ) -> tuple[tuple[PartyChange, ...], tuple[str, ...]]:
    """Sub-processors added, removed and changed from old to new, and the other annex fields that differ.

    Either side may be annex JSON (an archived annex.json, of any schema version) or an Annex;
    both are compared by `changes.annex_diff.diff_annexes`, the one annex diff.
    """
    new_annex = new if isinstance(new, Annex) else Annex.from_dict(new)
    register = new_annex.customer_register.id
    old_annex = old if isinstance(old, Annex) else Annex.from_dict(old, customer_register_id=register)
    diff = diff_annexes(old_annex, new_annex)
    keys: set[str] = set()
    sections = [s.id for s in old_annex.sections] != [s.id for s in new_annex.sections]
    for o in diff.other:
        if o.key.startswith(f"sections.{register}."):
            continue  # the register's title and note are the top-level customer_register_* keys
        if o.key.startswith("sections.") or o.key == "content":
            sections = True
        else:
            keys.add(o.key)
    if any(r.section == register for r in diff.rows):
        keys.add("customer_register")
    return diff.parties, tuple(sorted(keys)) + (("sections",) if sections else ())


def annex_content(archive: Archive, record: Record) -> Mapping[str, Any] | None:
    """What an annex record lists: its embedded annex, or that of another record of its document."""
    if record.annex is not None:
        return record.annex
    if record.document_id:
        for other in archive.with_document(record.document_id):
            if other.annex is not None and other.customer_id == record.customer_id:
                return other.annex
    return None


def customer_status(archive: Archive, registry: Registry, contract: Contract, on: dt.date,
                    resolved: Annex | None = None) -> CustomerStatus:
    """The annex in force for one contract's customer, compared with the current resolution (resolved, if given)."""
    cid = contract.customer_id
    resolved = resolved or resolve(registry, contract)
    document_id = resolved.document_id
    record = in_force(archive.records(cid), on)
    if record is None:
        return CustomerStatus(cid, NO_ANNEX, current_document_id=document_id)
    status = CustomerStatus(cid, CURRENT, record, document_id)
    if record.document_id == document_id:
        return status
    content = annex_content(archive, record)
    if content is None:
        return CustomerStatus(cid, UNKNOWN, record, document_id)
    changes, other = diff_annex(content, resolved)
    if not changes and not other:
        return status  # only the registry version differs: the same annex, resolved by a later release
    return CustomerStatus(cid, OUTDATED, record, document_id, changes, other)


def archive_status(archive: Archive, registry: Registry, contracts: Iterable[Contract], on: dt.date,
                   customer: str | None = None, annex_of: Callable[[Contract], Annex] | None = None,
                   ) -> list[CustomerStatus]:
    """Every contract's status (or one customer's), plus archived customers with no contract left
    (annex_of gives a contract's resolved annex where the caller has it)."""
    contracts = [c for c in contracts if customer in (None, c.customer_id)]
    out = [customer_status(archive, registry, c, on, annex_of(c) if annex_of else None)
           for c in sorted(contracts, key=lambda c: c.customer_id)]
    known = {c.customer_id for c in contracts}
    archived = {r.customer_id for r in archive.records(customer) if r.kind == "annex"}
    if customer is not None and not known and not archived:
        raise UsageError(f"customer {customer!r} has neither a contract nor an archived annex",
                         code="archive.customer.unknown", params={"customer": customer})
    for cid in sorted(archived - known):
        out.append(CustomerStatus(cid, NO_CONTRACT, in_force(archive.records(cid), on)))
    return out
