"""Where a printed fact comes from, and whether Liana's legal team has confirmed it.

One shape for every fact the annex prints beyond the published list: an entity's legal
name, registration, country, address and privacy contact; a transfer basis; a regional
transfer clause; an interpretation recorded in corrections.yaml. A fact without `confirmed`
is proposed; one without a value (only candidates) is open: legal must choose or name it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PROPOSED, CONFIRMED, OPEN = "proposed", "confirmed", "open"


@dataclass(frozen=True)
class Source:
    """One source of a fact: where (a web address or a description of the document), its words, a note."""

    url: str
    quote: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        """JSON form."""
        return {"url": self.url, "quote": self.quote, "note": self.note}


@dataclass(frozen=True)
class Confirmation:
    """Legal's confirmation: who, on which day, and what they checked it against."""

    by: str
    on: dt.date
    source: str | None = None

    def to_dict(self) -> dict:
        """JSON form."""
        return {"by": self.by, "on": self.on.isoformat(), "source": self.source}


@dataclass(frozen=True)
class Candidate:
    """A value some source gives that differs from the fact's value (or, with no value, a choice)."""

    value: str
    sources: tuple[Source, ...] = ()

    def to_dict(self) -> dict:
        """JSON form."""
        return {"value": self.value, "sources": [s.to_dict() for s in self.sources]}


@dataclass(frozen=True)
class Fact:
    """One fact with its provenance, located in the registry's files.

    key is the dotted key path of the mapping that states it ('entities.cyclr.address',
    'transfer_bases.scc-module-3', 'corrections.3'), unique across the registry's files.
    """

    key: str
    file: str
    line: int | None
    label: str  # what the fact is, for a reader: 'Cyclr: registered address'
    value: str | None
    sources: tuple[Source, ...] = ()
    confirmed: Confirmation | None = None
    candidates: tuple[Candidate, ...] = ()
    conflicts: tuple[str, ...] = ()
    printed: bool = True  # whether some annex prints it

    @property
    def status(self) -> str:
        """'confirmed', 'proposed', or 'open' (no value yet: legal must name it)."""
        if self.value is None:
            return OPEN
        return CONFIRMED if self.confirmed is not None else PROPOSED

    def to_dict(self) -> dict:
        """JSON form."""
        return {"key": self.key, "file": self.file, "line": self.line, "label": self.label, "value": self.value,
                "status": self.status, "printed": self.printed, "sources": [s.to_dict() for s in self.sources],
                "confirmed": self.confirmed.to_dict() if self.confirmed else None,
                "candidates": [c.to_dict() for c in self.candidates], "conflicts": list(self.conflicts)}
