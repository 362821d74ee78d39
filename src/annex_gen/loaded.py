"""Contracts loaded and resolved, kept while their files and the registry are unchanged.

A server lists, checks drift and previews the same contracts on every page. What they load
and resolve to is kept per set of paths and read again only when a contract file (by name,
size, times and inode) or the registry (its content or its draft/final status) changes; then
only the files whose text changed are parsed and resolved again.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.inputs.sources import InputFailure, Source, gather, load_all
from annex_gen.model import Annex, Contract, Registry
from annex_gen.resolve import resolve

CONTRACT_SUFFIXES = (".yaml", ".yml", ".csv")


@dataclass(frozen=True)
class Resolved:
    """What some contract paths load and resolve to under one registry."""

    key: tuple
    items: tuple[tuple[Contract, Annex, Source, tuple[Diagnostic, ...]], ...]  # contract, annex, source, warnings
    diagnostics: tuple[Diagnostic, ...]  # every one, in input order, as `check` reports them
    parsed: dict = field(default_factory=dict, repr=False, compare=False)  # by (label, digest of its text)

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """The errors: inputs that yield no contract."""
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def contracts(self) -> list[Contract]:
        return [item[0] for item in self.items]

    @cached_property
    def _annexes(self) -> dict[str, Annex]:
        return {c.source: annex for c, annex, _, _ in self.items}

    def annex_of(self, contract: Contract) -> Annex:
        """The annex one of these contracts resolves to."""
        return self._annexes[contract.source]


def stamp(paths: Sequence[Path]) -> tuple:
    """Name, size, times and inode of every contract file the paths name: any change changes it
    (a save replaces the file, so a new inode even within one tick of the clock)."""
    out: list[tuple] = []
    for path in paths:
        try:
            if path.is_dir():
                with os.scandir(path) as entries:
                    out.append((str(path), tuple(sorted(
                        (e.name, *_of(e.path)) for e in entries if e.name.endswith(CONTRACT_SUFFIXES)))))
            else:
                out.append((str(path), *_of(str(path))))
        except OSError:
            out.append((str(path), None))
    return tuple(out)


def _of(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError as exc:  # a dangling link, a file removed meanwhile: its own entry, not the folder's
        return ("unreadable", exc.errno)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


_KEPT: dict[tuple, Resolved] = {}
_LOCK = threading.Lock()
Parsed = tuple[Contract, tuple[Diagnostic, ...], Annex] | tuple[Diagnostic, ...]


def resolved(registry: Registry, paths: Sequence[Path],
             sources: Callable[[Sequence[Path]], tuple[list[Source], list[InputFailure]]] = gather) -> Resolved:
    """Every contract of the paths loaded and resolved, with every diagnostic; kept until something changes.

    After a change only the files whose text changed are parsed and resolved again.
    """
    where = tuple(str(p.resolve()) for p in paths) + (getattr(sources, "__name__", ""),)
    key = (registry.digest, registry.status, dt.date.today(), stamp(paths))
    kept = _KEPT.get(where)
    if kept is not None and kept.key == key:
        return kept
    before = kept.parsed if kept is not None and kept.key[:3] == key[:3] else {}
    parsed: dict[tuple[str, str], Parsed] = {}

    def load(source: Source) -> tuple[Contract, list[Diagnostic]]:
        mine = (source.label, source.digest)
        if mine not in parsed:
            parsed[mine] = before.get(mine) or _parse(registry, source)
        found = parsed[mine]
        if len(found) == 3 and isinstance(found[0], Contract):
            return found[0], list(found[1])
        raise InvalidInput(list(found))  # type: ignore[arg-type]

    found, failures = sources(paths)
    loaded = load_all(registry, found, failures, load=load)
    by_label = {s.label: s for s in found}
    items = tuple((c, parsed[(c.source, by_label[c.source].digest)][2], by_label[c.source],  # type: ignore[misc]
                   parsed[(c.source, by_label[c.source].digest)][1]) for c in loaded.contracts)
    result = Resolved(key, items, tuple(loaded.diagnostics), parsed)
    with _LOCK:
        if len(_KEPT) > 32:  # a server reads one or two sets of paths; a long-lived process may read more
            _KEPT.clear()
        _KEPT[where] = result
    return result


def _parse(registry: Registry, source: Source) -> Parsed:
    try:
        contract, warnings = source.load(registry)
    except InvalidInput as exc:
        return tuple(exc.diagnostics)
    return contract, tuple(warnings), resolve(registry, contract)
