"""Contract sources: YAML files, directories of them and CRM CSV exports, one Source per contract.

A Source is read (bytes and digest) when gathered but parsed only when loaded, so a batch
can recognise an unchanged input by its digest without parsing it. A batch also passes the
stamps it recorded (size, times and inode of each file as read); a file whose stamp still
matches keeps its recorded digest and is read only if it has to be parsed, as git's index
does. A file changed within STAMP_SETTLE_NS of being read gets no stamp (its next change
could keep the same times), so it is read again next time.
"""

from __future__ import annotations

import collections
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.hashing import canonical_json, sha256_text
from annex_gen.inputs.files import MAX_CONTRACT_BYTES, gather_files, read_text
from annex_gen.model import Contract, Registry

if TYPE_CHECKING:  # the parsers are imported when a contract is parsed: a no-op batch parses none
    from annex_gen.inputs.crm import CrmRow
    from annex_gen.inputs.yamlio import Document


@dataclass(frozen=True)
class Source:
    """One contract as given: a YAML file or a CRM row, with a digest of its raw content."""

    label: str
    digest: str
    text: str | None = None
    row: CrmRow | None = None
    stamp: str | None = None  # of a file: its stamp when read, if it had settled

    def document(self, *, keep_going: bool = False) -> Document:
        """The parsed contract document; raise InvalidInput if it does not parse (see yamlio.parse_text)."""
        from annex_gen.inputs.yamlio import parse_text

        if self.row is not None:
            if self.row.problems:
                raise InvalidInput(list(self.row.problems))
            return self.row.document
        text = self.text if self.text is not None else read_text(Path(self.label), MAX_CONTRACT_BYTES)
        return parse_text(text, self.label, keep_going=keep_going)

    def load(self, registry: Registry, *, check_date: bool = True) -> tuple[Contract, list[Diagnostic]]:
        """The validated contract and its warnings; raise InvalidInput with every problem."""
        from annex_gen.inputs.contract import validate_contract

        contract, diagnostics = validate_contract(registry, self.document(keep_going=True), check_date=check_date)
        if self.row is not None:
            from annex_gen.inputs.crm import in_column_terms

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
    from annex_gen.inputs.crm import read_crm

    out = []
    for row in read_crm(path):
        canonical = canonical_json(row.document.data, compact=False)
        out.append(Source(row.label, sha256_text("crm\0" + canonical), row=row))
    return out


STAMP_SETTLE_NS = 2_000_000_000  # coarser than any file system's timestamps


def stamp_of(st: os.stat_result, now_ns: int) -> str | None:
    """A regular file's size, modification and change times and inode; None if it changed too recently."""
    if not stat.S_ISREG(st.st_mode) or max(st.st_mtime_ns, st.st_ctime_ns) > now_ns - STAMP_SETTLE_NS:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def gather(paths: Iterable[Path], known: Mapping[str, tuple[str, str]] | None = None,
           ) -> tuple[list[Source], list[InputFailure]]:
    """Every contract of the given files, directories (their *.yaml) and CSV exports.

    known (a batch's) maps a file's label to the (stamp, digest) recorded when it was last read;
    such a file whose stamp still matches is not read now (its Source reads it when parsed).
    Without known, as for check and diff, no stamps are taken.
    """
    now_ns = time.time_ns()
    sources: list[Source] = []
    failures: list[InputFailure] = []
    seen: set[str] = set()
    for given in paths:  # one at a time: failures in the order of the paths
        found, problems = gather_files([given])
        failures += [InputFailure(d.file, str(d), (d,)) for d in problems]
        for label, real in found:
            if real in seen:
                continue
            seen.add(real)
            if label.lower().endswith(".csv"):
                try:
                    sources.extend(_crm_sources(Path(label)))
                except InvalidInput as exc:
                    failures.append(InputFailure(label, str(exc), tuple(exc.diagnostics)))
                continue
            stamp = None
            if known is not None:
                try:
                    stamp = stamp_of(os.stat(label), now_ns)  # before reading: a change while read shows next time
                except OSError:
                    pass
            recorded = known.get(label) if stamp is not None else None
            if recorded is not None and recorded[0] == stamp:
                sources.append(Source(label, recorded[1], stamp=stamp))
                continue
            try:
                text = read_text(Path(label), MAX_CONTRACT_BYTES)
            except InvalidInput as exc:
                failures.append(InputFailure(label, str(exc), tuple(exc.diagnostics)))
                continue
            sources.append(Source(label, sha256_text(text), text=text, stamp=stamp))
    return sources, failures


def duplicate_ids(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """For (customer id, label) pairs: label -> message, for every label whose id is not unique."""
    pairs = list(pairs)
    counts = collections.Counter(cid for cid, _ in pairs)
    by_id: dict[str, list[str]] = {}
    for cid, label in pairs:
        if counts[cid] > 1:
            by_id.setdefault(cid, []).append(label)
    out: dict[str, str] = {}
    for cid, labels in by_id.items():
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


def load_all(registry: Registry, sources: Iterable[Source], failures: Iterable[InputFailure] = (), *,
             check_date: bool = True,
             load: Callable[[Source], tuple[Contract, list[Diagnostic]]] | None = None) -> Loaded:
    """Every source loaded as a contract (by load, if given: one that keeps what it loaded before);
    a customer id used by two inputs fails both."""
    contracts: list[Contract] = []
    failed = list(failures)
    diagnostics = [d for f in failed for d in _diagnostics(f)]
    for source in sources:
        try:
            contract, warnings = load(source) if load else source.load(registry, check_date=check_date)
        except InvalidInput as exc:
            failed.append(InputFailure(source.label, str(exc), tuple(exc.diagnostics)))
            diagnostics.extend(exc.diagnostics)
            continue
        contracts.append(contract)
        diagnostics.extend(warnings)
    duplicates = duplicate_ids((c.customer_id, c.source) for c in contracts)
    ids = {c.source: c.customer_id for c in contracts}
    for label, message in duplicates.items():
        others = [c.source.rsplit("/", 1)[-1] for c in contracts if c.customer_id == ids[label] and c.source != label]
        failed.append(InputFailure(label, message, (Diagnostic(
            label, None, None, "customer.id", message, code="customer.id_twice",
            params={"customer_id": ids[label], "others": others}),)))
        diagnostics.extend(failed[-1].diagnostics)
    return Loaded([c for c in contracts if c.source not in duplicates], failed, diagnostics)
