"""`check`: validate the registry and contracts, collecting every problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .contract import load_contract
from .errors import Diagnostic, InvalidInput
from .model import Contract, Registry
from .registry import load_registry


@dataclass
class CheckReport:
    """What `check` found: the registry (if it loaded), the good contracts, every diagnostic."""

    registry: Registry | None = None
    contracts: list[Contract] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that are errors."""
        return [d for d in self.diagnostics if d.severity == "error"]


def check(registry_dir: Path, contract_paths: Iterable[Path]) -> CheckReport:
    """Validate the registry and every contract; never raises for bad input."""
    report = CheckReport()
    try:
        report.registry = load_registry(registry_dir)
    except InvalidInput as exc:
        report.diagnostics.extend(exc.diagnostics)
        return report
    seen: dict[str, str] = {}
    for path in contract_paths:
        try:
            contract, warnings = load_contract(report.registry, path)
        except InvalidInput as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        report.diagnostics.extend(warnings)
        if contract.customer_id in seen:
            report.diagnostics.append(
                Diagnostic(str(path), None, None, "customer.id",
                           f"customer id {contract.customer_id!r} is also used by {seen[contract.customer_id]}")
            )
            continue
        seen[contract.customer_id] = str(path)
        report.contracts.append(contract)
    return report
