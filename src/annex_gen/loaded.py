"""Contracts loaded and resolved, kept while their files and the registry are unchanged.

A server lists, checks drift and previews the same contracts on every page. What they load
and resolve to is kept per set of paths and read again only when a contract file (by name,
size and modification time) or the registry (its content or its draft/final status) changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from annex_gen.errors import Diagnostic
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

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """The errors: inputs that yield no contract."""
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def contracts(self) -> list[Contract]:
        return [item[0] for item in self.items]

    def annex_of(self, contract: Contract) -> Annex:
        """The annex one of these contracts resolves to."""
        return next(annex for c, annex, _, _ in self.items if c.source == contract.source)


def stamp(paths: Sequence[Path]) -> tuple:
    """Name, size and modification time of every contract file the paths name: any change changes it."""
    out: list[tuple] = []
    for path in paths:
        try:
            if path.is_dir():
                with os.scandir(path) as entries:
                    out.append((str(path), tuple(sorted(
                        (e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries
                        if e.name.endswith(CONTRACT_SUFFIXES)))))
            else:
                st = path.stat()
                out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), None))
    return tuple(out)


_KEPT: dict[tuple, Resolved] = {}
_LOCK = threading.Lock()


def resolved(registry: Registry, paths: Sequence[Path],
             sources: Callable[[Sequence[Path]], tuple[list[Source], list[InputFailure]]] = gather) -> Resolved:
    """Every contract of the paths loaded and resolved, with every diagnostic; kept until something changes."""
    where = tuple(str(p.resolve()) for p in paths) + (getattr(sources, "__name__", ""),)
    key = (registry.digest, registry.status, stamp(paths))
    kept = _KEPT.get(where)
    if kept is not None and kept.key == key:
        return kept
    found, failures = sources(paths)
    loaded = load_all(registry, found, failures)
    by_label = {s.label: s for s in found}
    warnings: dict[str, list[Diagnostic]] = {}
    for d in loaded.diagnostics:
        if d.severity != "error":
            warnings.setdefault(d.file, []).append(d)
    items = tuple((c, resolve(registry, c), by_label[c.source], tuple(warnings.get(c.source, ())))
                  for c in loaded.contracts)
    result = Resolved(key, items, tuple(loaded.diagnostics))
    with _LOCK:
        if len(_KEPT) > 32:  # a server reads one or two sets of paths; a long-lived process may read more
            _KEPT.clear()
        _KEPT[where] = result
    return result
