"""`check`: validate the registry and contracts, collecting every problem."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.inputs.sources import gather, load_all
from annex_gen.model import Contract, Registry


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


def check(registry_dir: Path, paths: Iterable[Path], *, registry_warnings: bool = False,
          load: Callable[[Path], Registry] | None = None) -> CheckReport:
    """Validate the registry and every contract (files, directories, CRM CSVs); never raises.

    registry_warnings adds what the registry lacks (facts no public source confirms yet): the
    `check` command reports them; commands that only read the registry do not repeat them.
    load reads the registry (app passes its cached loader); by default it is parsed afresh.
    """
    if load is None:
        from annex_gen.inputs.registry import load_registry as load

    report = CheckReport()
    try:
        report.registry = load(registry_dir)
    except InvalidInput as exc:
        report.diagnostics.extend(exc.diagnostics)
        return report
    if registry_warnings:
        report.diagnostics.extend(report.registry.warnings)
    loaded = load_all(report.registry, *gather(paths))
    report.diagnostics.extend(loaded.diagnostics)
    report.contracts = loaded.contracts
    return report
