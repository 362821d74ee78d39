"""What changes in one customer's annex, row by row, in the customer's language.

Provenance (document ID, registry version, the published list's title and retrieval date)
is not content: an annex whose content is unchanged stays valid under a newer registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from annex_gen.model import Annex, AnnexEntry, AnnexParty, AnnexSection

_ROW_FIELDS = ("name", "legal_id", "country", "location", "outside_eea", "registered_outside_eea", "transfer",
               "purpose", "option")


def pair(olds: list, news: list, key: Callable[[Any], Hashable]) -> tuple[list[tuple], list, list]:
    """Pair items with equal keys, in order; return the pairs and what is left on each side."""
    index: dict[Hashable, list[int]] = defaultdict(list)
    for i, n in enumerate(news):
        index[key(n)].append(i)
    pairs, rest_old, used = [], [], set()
    for o in olds:
        slots = index.get(key(o))
        if slots:
            i = slots.pop(0)
            used.add(i)
            pairs.append((o, news[i]))
        else:
            rest_old.append(o)
    return pairs, rest_old, [n for i, n in enumerate(news) if i not in used]




@dataclass(frozen=True)
class RowChange:
    """A row of one customer's annex that is added, removed or changed (moved is a changed section)."""

    kind: str
    subprocessor: str
    section: str
    section_title: str
    old: AnnexEntry | None = None
    new: AnnexEntry | None = None
    old_section_title: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The sub-processor's name as the new annex prints it (the old one if removed)."""
        entry = self.new or self.old
        assert entry is not None
        return entry.name

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "subprocessor": self.subprocessor,
            "name": self.name,
            "section": self.section,
            "section_title": self.section_title,
            "old_section_title": self.old_section_title,
            "fields": list(self.fields),
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
        }


@dataclass(frozen=True)
class OtherChange:
    """A change of an annex's text outside its rows, e.g. a section title or the notice terms."""

    key: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"key": self.key, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class PartyChange:
    """A sub-processor (a legal entity of the annex's summary) added, removed or changed."""

    change: str  # "added", "removed" or "changed"
    id: str
    name: str
    legal_id: str
    details: tuple[str, ...] = ()
    facts: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    """The details as values, for pages in other languages: {"field", "old", "new"} or {"field", "added", "removed"}."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"change": self.change, "id": self.id, "name": self.name, "legal_id": self.legal_id,
                "details": list(self.details)}


@dataclass(frozen=True)
class AnnexDiff:
    """What changes in one customer's annex, in the customer's language.

    `rows` and `other` are the table rows and texts that change; `parties` summarises the
    same change per legal entity (what `archive status` lists).
    """

    rows: tuple[RowChange, ...] = ()
    other: tuple[OtherChange, ...] = ()
    parties: tuple[PartyChange, ...] = ()

    def of_kind(self, kind: str) -> tuple[RowChange, ...]:
        """The row changes of one kind: added, removed or changed."""
        return tuple(r for r in self.rows if r.kind == kind)

    def __bool__(self) -> bool:
        return bool(self.rows or self.other)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        kinds = ("added", "removed", "changed")
        out: dict[str, Any] = {kind: [r.to_dict() for r in self.of_kind(kind)] for kind in kinds}
        out["other"] = [o.to_dict() for o in self.other]
        return out


def _rows(annex: Annex) -> list[tuple[AnnexSection, AnnexEntry]]:
    return [(s, e) for s in (*annex.sections, annex.customer_register) for e in s.entries]


def _fields(o: AnnexEntry, n: AnnexEntry) -> list[str]:
    out = []
    for name in _ROW_FIELDS:
        if name == "purpose":
            if (o.purpose, o.purpose_items) != (n.purpose, n.purpose_items):
                out.append(name)
        elif getattr(o, name) != getattr(n, name):
            out.append(name)
    return out


def diff_annexes(old: Annex, new: Annex) -> AnnexDiff:
    """The rows added, removed and changed from old to new, and the other text changes."""
    olds, news = _rows(old), _rows(new)
    _, olds, news = pair(olds, news, lambda r: (r[0].id, r[1]))
    passes: list[Callable[[tuple[AnnexSection, AnnexEntry]], Hashable]] = [
        lambda r: (r[0].id, r[1].subprocessor, r[1].option),
        lambda r: (r[1].subprocessor, r[1].location, r[1].purpose, r[1].purpose_items, r[1].option),
        lambda r: (r[0].id, r[1].subprocessor),
        # The entity's id changed, nothing printed did (the JSON names sub-processors by id).
        lambda r: (r[0].id, r[1].name, r[1].legal_id, r[1].option),
    ]
    rows: list[RowChange] = []
    internal = False
    for key in passes:
        pairs, olds, news = pair(olds, news, key)
        for (os_, o), (ns, n) in pairs:
            moved = os_.id != ns.id
            fields = tuple((["section"] if moved else []) + _fields(o, n))
            if fields:
                rows.append(RowChange("changed", n.subprocessor, ns.id, ns.title, o, n,
                                      os_.title if moved else None, fields))
            else:
                internal = True
    rows.extend(RowChange("removed", e.subprocessor, s.id, s.title, old=e) for s, e in olds)
    rows.extend(RowChange("added", e.subprocessor, s.id, s.title, new=e) for s, e in news)

    other: list[OtherChange] = []
    oc, nc = old.content(), new.content()
    for key in sorted(set(oc) | set(nc)):
        if key not in ("sections", "subprocessors", "customer_register") and oc.get(key) != nc.get(key):
            other.append(OtherChange(key, oc.get(key), nc.get(key)))
    old_sections = {s.id: s for s in (*old.sections, old.customer_register)}
    for s in (*new.sections, new.customer_register):
        o = old_sections.get(s.id)
        for name in ("title", "note", "uses_shared_mta"):
            if o is not None and getattr(o, name) != getattr(s, name):
                other.append(OtherChange(f"sections.{s.id}.{name}", getattr(o, name), getattr(s, name)))
    if not rows and not other and not internal and old.content_hash() != new.content_hash():
        other.append(OtherChange("content", None, None))
    order = {"added": 0, "removed": 1, "changed": 2}
    rows.sort(key=lambda r: order[r.kind])
    return AnnexDiff(tuple(rows), tuple(other), party_changes(old, new))


def _purposes(annex: Annex) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for section in annex.sections:
        for entry in section.entries:
            text = entry.purpose
            if entry.purpose_items:
                text += " (" + "; ".join(entry.purpose_items) + ")"
            out.setdefault(entry.subprocessor, set()).add(text)
    return out


def _set_change(label: str, old: Iterable[str], new: Iterable[str], facts: list[dict[str, Any]] | None = None,
                key: str = "") -> str | None:
    old_set, new_set = set(old), set(new)
    if old_set == new_set:
        return None
    if facts is not None:
        facts.append({"field": key, "added": sorted(new_set - old_set), "removed": sorted(old_set - new_set)})
    parts = [f"added {', '.join(repr(x) for x in sorted(new_set - old_set))}" if new_set - old_set else "",
             f"removed {', '.join(repr(x) for x in sorted(old_set - new_set))}" if old_set - new_set else ""]
    return f"{label}: " + "; ".join(p for p in parts if p)


def _party_details(old: AnnexParty, new: AnnexParty, old_purposes: set[str], new_purposes: set[str],
                   facts: list[dict[str, Any]] | None = None) -> tuple[str, ...]:
    facts = [] if facts is None else facts
    details: list[str | None] = []
    for key, label in (("name", "name"), ("legal_id", "legal ID"), ("country", "country"),
                       ("address", "registered address"), ("privacy_contact", "data-protection contact")):
        if getattr(old, key) != getattr(new, key):
            details.append(f"{label}: {getattr(old, key)!r} -> {getattr(new, key)!r}")
            facts.append({"field": key, "old": getattr(old, key), "new": getattr(new, key)})
    details.append(_set_change("locations", old.locations, new.locations, facts, "locations"))
    if old.outside_eea != new.outside_eea:
        details.append(f"outside the EEA: {'yes' if old.outside_eea else 'no'} -> "
                       f"{'yes' if new.outside_eea else 'no'}")
        facts.append({"field": "outside_eea", "old": old.outside_eea, "new": new.outside_eea})
    details.append(_set_change("transfer basis", old.transfers, new.transfers, facts, "transfers"))
    details.append(_set_change("purpose", old_purposes, new_purposes, facts, "purpose"))
    details.append(_set_change("sections", old.sections, new.sections, facts, "sections"))
    return tuple(d for d in details if d)


def party_changes(old: Annex, new: Annex) -> tuple[PartyChange, ...]:
    """The legal entities added, removed and changed from old to new (name, IDs, locations, purposes)."""
    old_parties = {p.id: p for p in old.subprocessors}
    new_parties = {p.id: p for p in new.subprocessors}
    old_purposes, new_purposes = _purposes(old), _purposes(new)
    changes = [PartyChange("added", pid, p.name, p.legal_id) for pid, p in new_parties.items()
               if pid not in old_parties]
    changes += [PartyChange("removed", pid, p.name, p.legal_id) for pid, p in old_parties.items()
                if pid not in new_parties]
    for pid, p in new_parties.items():
        if pid in old_parties:
            facts: list[dict[str, Any]] = []
            details = _party_details(old_parties[pid], p, old_purposes.get(pid, set()),
                                     new_purposes.get(pid, set()), facts)
            if details:
                changes.append(PartyChange("changed", pid, p.name, p.legal_id, details, tuple(facts)))
    return tuple(changes)
