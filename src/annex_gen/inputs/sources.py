"""Contract sources: YAML files, directories of them and CRM CSV exports, one Source per contract.

A Source is read (bytes and digest) when gathered but parsed only when loaded, so a batch
can recognise an unchanged input by its digest without parsing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.hashing import canonical_json, sha256_text
from annex_gen.inputs.contract import MAX_CONTRACT_BYTES, validate_contract
from annex_gen.inputs.crm import CrmRow, in_column_terms, read_crm
from annex_gen.inputs.files import gather_files
from annex_gen.inputs.yamlio import Document, parse_text, read_text
from annex_gen.model import Contract, Registry


@dataclass(frozen=True)
class Source:
    """One contract as given: a YAML file or a CRM row, with a digest of its raw content."""

    label: str
    digest: str
    text: str | None = None
    row: CrmRow | None = None

    def document(self) -> Document:
        """The parsed contract document; raise InvalidInput if it does not parse."""
        if self.row is not None:
            if self.row.problems:
                raise InvalidInput(list(self.row.problems))
            return self.row.document
        assert self.text is not None
        return parse_text(self.text, self.label)

    def load(self, registry: Registry) -> tuple[Contract, list[Diagnostic]]:
        """The validated contract and its warnings; raise InvalidInput with every problem."""
        contract, diagnostics = validate_contract(registry, self.document())
        if self.row is not None:
            diagnostics = [in_column_terms(d) for d in diagnostics]
        if contract is None:
            raise InvalidInput(diagnostics)
        return replace(contract, source=self.label), diagnostics


@dataclass(frozen=True)
class InputFailure:
    """An input that yields no contract: a missing file, an unreadable CSV, a duplicate id."""

    label: str
    message: str
    diagnostics: tuple[Diagnostic, ...] = ()


def _crm_sources(path: Path) -> list[Source]:
    out = []
    for row in read_crm(path):
        canonical = canonical_json(row.document.data, compact=False)
        out.append(Source(row.label, sha256_text("crm\0" + canonical), row=row))
    return out


def gather(paths: Iterable[Path]) -> tuple[list[Source], list[InputFailure]]:
    """Every contract of the given files, directories (their *.yaml) and CSV exports."""
    sources: list[Source] = []
    failures: list[InputFailure] = []
    seen: set[str] = set()
    for given in paths:
        files, problems = gather_files([given])
        failures += [InputFailure(d.file, str(d), (d,)) for d in problems]
        resolved_given: str | None = None
        for path in files:
            # A file found in a directory is that directory, resolved once, plus its name, unless it is a link.
            if path.parent != given or os.path.islink(path):
                key = os.path.realpath(path)
            else:
                resolved_given = resolved_given or os.path.realpath(given)
                key = os.path.join(resolved_given, path.name)
            if key in seen:
                continue
            seen.add(key)
            try:
                if path.suffix.lower() == ".csv":
                    sources.extend(_crm_sources(path))
                    continue
                text = read_text(path, MAX_CONTRACT_BYTES)
            except InvalidInput as exc:
                failures.append(InputFailure(str(path), str(exc), tuple(exc.diagnostics)))
                continue
            sources.append(Source(str(path), sha256_text(text), text=text))
    return sources, failures


def duplicate_ids(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """For (customer id, label) pairs: label -> message, for every label whose id is not unique."""
    by_id: dict[str, list[str]] = {}
    for cid, label in pairs:
        by_id.setdefault(cid, []).append(label)
    out: dict[str, str] = {}
    for cid, labels in by_id.items():
        if len(labels) < 2:
            continue
        for label in labels:
            others = ", ".join(other for other in labels if other != label)
            out[label] = f"customer id {cid!r} is used by both {label} and {others}"
    return out


@dataclass
class Loaded:
    """The contracts that loaded, the inputs that failed (duplicate ids too), every diagnostic in input order."""

    contracts: list[Contract]
    failures: list[InputFailure]
    diagnostics: list[Diagnostic]


def _diagnostics(failure: InputFailure) -> list[Diagnostic]:
    return list(failure.diagnostics) or [Diagnostic(failure.label, None, None, "", failure.message)]


def load_all(registry: Registry, sources: Iterable[Source], failures: Iterable[InputFailure] = ()) -> Loaded:
    """Every source loaded as a contract; a customer id used by two inputs fails both."""
    contracts: list[Contract] = []
    failed = list(failures)
    diagnostics = [d for f in failed for d in _diagnostics(f)]
    for source in sources:
        try:
            contract, warnings = source.load(registry)
        except InvalidInput as exc:
            failed.append(InputFailure(source.label, str(exc), tuple(exc.diagnostics)))
            diagnostics.extend(exc.diagnostics)
            continue
        contracts.append(contract)
        diagnostics.extend(warnings)
    duplicates = duplicate_ids((c.customer_id, c.source) for c in contracts)
    for label, message in duplicates.items():
        failed.append(InputFailure(label, message, (Diagnostic(label, None, None, "customer.id", message),)))
        diagnostics.extend(failed[-1].diagnostics)
    return Loaded([c for c in contracts if c.source not in duplicates], failed, diagnostics)
