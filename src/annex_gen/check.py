"""`check`: validate the registry and contracts, collecting every problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Diagnostic, InvalidInput
from .model import Contract, Registry
from .registry import load_registry
from .sources import duplicate_ids, gather


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


def check(registry_dir: Path, paths: Iterable[Path]) -> CheckReport:
    """Validate the registry and every contract (files, directories, CRM CSVs); never raises."""
    report = CheckReport()
    try:
        report.registry = load_registry(registry_dir)
    except InvalidInput as exc:
        report.diagnostics.extend(exc.diagnostics)
        return report
    sources, failures = gather(paths)
    for failure in failures:
        report.diagnostics.extend(failure.diagnostics
                                  or [Diagnostic(failure.label, None, None, "", failure.message)])
    loaded: list[Contract] = []
    for source in sources:
        try:
            contract, warnings = source.load(report.registry)
        except InvalidInput as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        report.diagnostics.extend(warnings)
        loaded.append(contract)
    duplicates = duplicate_ids((c.customer_id, c.source) for c in loaded)
    report.diagnostics.extend(Diagnostic(label, None, None, "customer.id", message)
                              for label, message in duplicates.items())
    report.contracts = [c for c in loaded if c.source not in duplicates]
    return report
