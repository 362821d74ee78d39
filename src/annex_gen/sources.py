"""Contract sources: YAML files, directories of them and CRM CSV exports, one Source per contract.

A Source is read (bytes and digest) when gathered but parsed only when loaded, so a batch
can recognise an unchanged input by its digest without parsing it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .contract import MAX_CONTRACT_BYTES, validate_contract
from .crm import CrmRow, in_column_terms, read_crm
from .errors import Diagnostic, InvalidInput
from .inputs import contract_files
from .model import Contract, Registry
from .yamlio import Document, parse_text, read_text


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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _crm_sources(path: Path) -> list[Source]:
    out = []
    for row in read_crm(path):
        canonical = json.dumps(row.document.data, sort_keys=True, ensure_ascii=False)
        out.append(Source(row.label, _digest("crm\0" + canonical), row=row))
    return out


def gather(paths: Iterable[Path]) -> tuple[list[Source], list[InputFailure]]:
    """Every contract of the given files, directories (their *.yaml) and CSV exports."""
    sources: list[Source] = []
    failures: list[InputFailure] = []
    seen: set[Path] = set()
    for given in paths:
        try:
            files = contract_files([given])
        except InvalidInput as exc:
            failures.append(InputFailure(str(given), str(exc), tuple(exc.diagnostics)))
            continue
        for path in files:
            key = path.resolve()
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
            sources.append(Source(str(path), _digest(text), text=text))
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


def load_all(registry: Registry, sources: Iterable[Source],
             failures: Iterable[InputFailure] = ()) -> tuple[list[Contract], list[InputFailure]]:
    """Every source loaded as a contract; the ones that fail, and duplicate ids, as failures."""
    contracts: list[Contract] = []
    failed = list(failures)
    for source in sources:
        try:
            contracts.append(source.load(registry)[0])
        except InvalidInput as exc:
            failed.append(InputFailure(source.label, str(exc)))
    duplicates = duplicate_ids((c.customer_id, c.source) for c in contracts)
    failed.extend(InputFailure(label, message) for label, message in duplicates.items())
    return [c for c in contracts if c.source not in duplicates], failed
