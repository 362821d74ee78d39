"""How a registry change reaches each customer: affected, unaffected or an error, and why."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from annex_gen.changes.annex_diff import AnnexDiff, diff_annexes
from annex_gen.changes.registry_diff import RegistryChange, diff_registries, footprint
from annex_gen.errors import AnnexGenError, Diagnostic
from annex_gen.model import Annex, Contract, Registry
from annex_gen.resolve import resolve


@dataclass(frozen=True)
class CustomerImpact:
    """How a registry change reaches one customer: affected, unaffected or an error."""

    customer_id: str
    source: str
    status: str
    customer_name: str = ""
    language: str = ""
    changes: tuple[int, ...] = ()
    annex: AnnexDiff = AnnexDiff()
    error: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)  # the error's, for other languages
    cause: AnnexGenError | None = field(default=None, compare=False)  # why it does not resolve, for other languages
    against: str = ""  # the registry it does not resolve against: "new" or "old"
    contract: Contract | None = None
    old_annex: Annex | None = None
    new_annex: Annex | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "source": self.source,
            "language": self.language,
            "status": self.status,
            "changes": list(self.changes),
            "annex": self.annex.to_dict(),
            "error": self.error,
        }


def old_contract(old: Registry, contract: Contract) -> Contract:
    """The contract as read against the old registry: options unknown to it and off are dropped."""
    return replace(contract, options={k: v for k, v in contract.options.items() if v or k in old.options})


def customer_impact(old: Registry, new: Registry, changes: Sequence[RegistryChange],
                    contract: Contract) -> CustomerImpact:
    """Resolve the contract against both registries and compare the annexes."""
    base = dict(customer_id=contract.customer_id, source=contract.source,
                customer_name=contract.customer_name, language=contract.language, contract=contract)
    try:
        new_annex = resolve(new, contract)
    except AnnexGenError as exc:
        return CustomerImpact(status="error", error=f"does not resolve against the new registry: {exc}",
                              cause=exc, against="new", **base)
    then = old_contract(old, contract)
    try:
        old_annex = resolve(old, then)
    except AnnexGenError as exc:
        return CustomerImpact(status="error", error=f"does not resolve against the old registry: {exc}",
                              cause=exc, against="old", new_annex=new_annex, **base)
    if old_annex.content_hash() == new_annex.content_hash():
        return CustomerImpact(status="unaffected", old_annex=old_annex, new_annex=new_annex, **base)
    before, after = footprint(old, then), footprint(new, contract)
    reaching = tuple(c.id for c in changes if c.reaches(before, after, contract.language))
    return CustomerImpact(status="affected", changes=reaching, annex=diff_annexes(old_annex, new_annex),
                          old_annex=old_annex, new_annex=new_annex, **base)


@dataclass(frozen=True)
class ImpactReport:
    """The registry changes and how they reach each customer."""

    old: Registry
    new: Registry
    old_label: str
    new_label: str
    changes: tuple[RegistryChange, ...]
    customers: tuple[CustomerImpact, ...]

    def with_status(self, status: str) -> list[CustomerImpact]:
        """The customers of one status: affected, unaffected or error."""
        return [c for c in self.customers if c.status == status]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON interface of `annex-gen diff --json`."""
        return {
            "schema": "annex-gen/diff/1",
            "from": {"source": self.old_label, "version": self.old.version, "release": self.old.release},
            "to": {"source": self.new_label, "version": self.new.version, "release": self.new.release},
            "changes": [c.to_dict() for c in self.changes],
            "customers": [c.to_dict() for c in self.customers],
            "summary": {s: len(self.with_status(s)) for s in ("affected", "unaffected", "error")},
        }


def impact(old: Registry, new: Registry, contracts: Iterable[Contract],
           errors: Iterable[tuple[str, str] | tuple[str, str, tuple[Diagnostic, ...]]] = (), *,
           old_label: str = "", new_label: str = "") -> ImpactReport:
    """The registry diff and its impact on every contract; errors are (source, message[, diagnostics]) of
    bad inputs."""
    changes = diff_registries(old, new)
    customers = [customer_impact(old, new, changes, c) for c in contracts]
    customers += [CustomerImpact(customer_id="", source=error[0], status="error", error=error[1],
                                 diagnostics=tuple(error[2]) if len(error) > 2 else ())
                  for error in errors]
    customers.sort(key=lambda c: (c.customer_id or "~", c.source))
    return ImpactReport(old, new, old_label, new_label, changes, tuple(customers))
