"""The use cases every interface calls: the CLI and the web application are thin over these.

Each takes and returns library types (paths, dates, model objects, reports), never parses
arguments, prints or knows about HTTP; each raises the errors of `annex_gen.errors`. All
input is read and validated before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.inputs.check import CheckReport
from annex_gen.inputs.check import check as check_inputs
from annex_gen.model import Annex, Registry

if TYPE_CHECKING:  # imported where used, so a command loads only the stages it needs
    from annex_gen.archive.intake import AddRequest
    from annex_gen.archive.status import CustomerStatus
    from annex_gen.archive.store import Archive, Record, VerifyReport
    from annex_gen.batch.run import BatchResult
    from annex_gen.changes.impact import ImpactReport
    from annex_gen.changes.notices import NoticesResult
    from annex_gen.output.generate import Generated

__all__ = [
    "CheckReport", "GenerateReport", "StatusReport", "archive_add", "archive_export",
    "archive_record", "archive_records", "archive_status", "archive_verify", "batch", "check", "generate",
    "impact", "load_registry", "notices", "open_archive", "resolve_contract",
]

DEFAULT_CONTRACT_DIRS = (Path("customers"), Path("examples"))


def check(registry_dir: Path, paths: Iterable[Path]) -> CheckReport:
    """`check`: the registry and every contract, with what the registry lacks (unsourced facts) as warnings."""
    return check_inputs(registry_dir, paths, registry_warnings=True)


def contract_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The paths given, or the default contract directories that exist."""
    if paths:
        return [Path(p) for p in paths]
    return [d for d in DEFAULT_CONTRACT_DIRS if d.is_dir()]


def load_registry(registry_dir: Path) -> Registry:
    """The registry in a directory; raise InvalidInput with every problem found."""
    from annex_gen.inputs.registry import load_registry as load

    return load(registry_dir)


# Annexes


def resolve_contract(registry_dir: Path, path: Path) -> tuple[Annex, list[Diagnostic]]:
    """One YAML contract resolved against the registry, with the contract's warnings."""
    from annex_gen.inputs.contract import load_contract
    from annex_gen.resolve import resolve

    if path.suffix.lower() == ".csv":
        raise UsageError(f"{path}: resolve takes one contract YAML file; "
                         "check, generate and batch read CRM CSV exports")
    registry = load_registry(registry_dir)
    contract, warnings = load_contract(registry, path)
    return resolve(registry, contract), warnings


@dataclass
class GenerateReport:
    """What `generate` wrote, and the warnings of its inputs."""

    generated: list[Generated] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def generate(registry_dir: Path, paths: Iterable[Path], out_dir: Path,
             formats: Sequence[str]) -> GenerateReport:
    """Validate the registry and every contract, then write each annex in every format.

    Nothing is written if any input has an error (raises InvalidInput with all of them).
    """
    from annex_gen.output.generate import generate as write_annex
    from annex_gen.render import parse_formats

    formats = parse_formats(formats)
    report = check_inputs(registry_dir, list(paths))
    if report.errors:
        raise InvalidInput(report.diagnostics)
    assert report.registry is not None
    out = GenerateReport(warnings=list(report.diagnostics))
    for contract in report.contracts:
        out.generated.append(write_annex(report.registry, contract, out_dir, formats))
    return out


def batch(registry_dir: Path, paths: Iterable[Path], out_dir: Path, *, jobs: int | None = None,
          force: bool = False, progress: Callable | None = None) -> BatchResult:
    """Regenerate every annex whose contract, registry content or templates changed (see batch.run)."""
    from annex_gen.batch.run import run_batch

    return run_batch(load_registry(registry_dir), list(paths), out_dir, jobs=jobs, force=force, progress=progress)


# Registry changes


def impact(registry_dir: Path, old: str, new: str | None, paths: Iterable[Path]) -> ImpactReport:
    """The diff from registry `old` to `new` (directories or git revisions) and whom it reaches."""
    from annex_gen.changes.impact import impact as impact_of
    from annex_gen.inputs.revisions import load_registry_at
    from annex_gen.inputs.sources import gather, load_all

    old_registry, old_label = load_registry_at(old, registry_dir)
    new_registry, new_label = load_registry_at(new or str(registry_dir), registry_dir)
    sources, failures = gather(paths)
    loaded = load_all(new_registry, sources, failures)
    return impact_of(old_registry, new_registry, loaded.contracts,
                     [(f.label, f.message) for f in loaded.failures], old_label=old_label, new_label=new_label)


def notices(report: ImpactReport, out_dir: Path, *, notice_date: dt.date,
            effective_date: dt.date | None = None, jobs: int | None = None) -> NoticesResult:
    """Write the change notice and new annex of every customer the change reaches, and the mail-merge CSV."""
    from annex_gen.changes.notices import write_notices

    return write_notices(report, out_dir, notice_date=notice_date, effective_date=effective_date, jobs=jobs)


# The signed-annex archive


def open_archive(location: str | Path, *, create: bool = False) -> Archive:
    """The archive at a location; use it as a context manager."""
    from annex_gen.archive.store import Archive

    return Archive.open(Path(location), create=create)


def archive_add(location: str | Path, request: AddRequest) -> Record:
    """Read, check and store one signed file (or an attachment of a record)."""
    from annex_gen.archive.intake import add_file

    with open_archive(location, create=True) as archive:
        return add_file(archive, request)


def archive_records(location: str | Path, customer: str | None = None) -> list[Record]:
    """Every record, or one customer's, in record order."""
    with open_archive(location) as archive:
        return archive.records(customer)


def archive_record(location: str | Path, ref: str | int) -> tuple[Record, list[Record]]:
    """One record (by number or file SHA-256 prefix) and its attachments."""
    with open_archive(location) as archive:
        record = archive.get(ref)
        return record, archive.attachments(record.seq)


def archive_export(location: str | Path, ref: str | int, out: Path, *, force: bool = False) -> tuple[Record, bytes]:
    """Write a record's file to out, byte-identical; refuse to replace out unless force."""
    from annex_gen.output.write import write_atomic

    if out.exists() and not force:
        raise UsageError(f"{out} already exists; choose another --out or add --force to replace it")
    with open_archive(location) as archive:
        record = archive.get(ref)
        data = archive.read_file(record)
    write_atomic(out, data)
    return record, data


def archive_verify(location: str | Path) -> VerifyReport:
    """Re-hash every file and check the chain and the index."""
    with open_archive(location) as archive:
        return archive.verify()


@dataclass(frozen=True)
class StatusReport:
    """The annex in force per customer on a date, compared with the current registry."""

    on: dt.date
    registry: Registry
    customers: list[CustomerStatus]
    diagnostics: list[Diagnostic]

    @property
    def not_current(self) -> list[CustomerStatus]:
        """The customers whose annex in force is not what the registry resolves today."""
        return [s for s in self.customers if s.state != "current"]

    def to_dict(self) -> dict:
        """The stable JSON interface of `annex-gen archive status --json`."""
        return {"on": self.on.isoformat(), "registry_version": self.registry.version,
                "customers": [s.to_dict() for s in self.customers]}


def archive_status(location: str | Path, registry_dir: Path, customers: Iterable[Path], *,
                   on: dt.date | None = None, customer: str | None = None) -> StatusReport:
    """Each customer's annex in force on a date (default today) and its drift from the current registry."""
    from annex_gen.archive.status import archive_status as status

    report = check_inputs(registry_dir, list(customers))
    if report.registry is None:
        raise InvalidInput(report.diagnostics)
    on = on or dt.date.today()
    with open_archive(location) as archive:
        statuses = status(archive, report.registry, report.contracts, on, customer)
    return StatusReport(on, report.registry, statuses, report.diagnostics)
