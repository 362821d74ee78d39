"""Registry change impact: what changed between two registries and which annexes it reaches.

Two views of one change set:

- `diff_registries(old, new)`: the registry's own changes, language-neutral (entities added,
  removed, renamed; entries added, removed, moved, purpose, location or option changed;
  locations, sections, regions, products, options and notice terms changed). Each change
  carries the keys of the registry items it touches on each side, and the languages whose
  text it changes.
- `diff_annexes(old_annex, new_annex)`: what changes in one customer's annex, row by row,
  in the customer's language. This decides whether a customer is affected; the registry
  changes whose keys meet the customer's footprint say why.

Provenance (document ID, registry version, the published list's title and retrieval date)
is not content: an annex whose content is unchanged stays valid under a newer registry.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import AnnexGenError
from .model import Annex, AnnexEntry, AnnexSection, Contract, Entry, Registry, Section, Text
from .resolve import included_sections, resolve

PROVENANCE = ("document_id", "registry_version", "published_list")
_ROW_FIELDS = ("name", "legal_id", "country", "location", "outside_eea", "purpose", "option")

Key = tuple


def annex_content(annex: Annex) -> dict[str, Any]:
    """The annex's content: its JSON form without provenance."""
    return {k: v for k, v in annex.to_dict().items() if k not in PROVENANCE}


def content_hash(annex: Annex) -> str:
    """SHA-256 of the annex's content; equal hashes print the same annex apart from provenance."""
    canonical = json.dumps(annex_content(annex), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Registry changes


@dataclass(frozen=True)
class RegistryChange:
    """One change between two registries, with the registry items it touches."""

    id: int
    kind: str
    summary: str
    old_keys: frozenset[Key] = frozenset()
    new_keys: frozenset[Key] = frozenset()
    languages: frozenset[str] | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def reaches(self, old_footprint: frozenset[Key], new_footprint: frozenset[Key], language: str) -> bool:
        """Whether the change touches this footprint, in this language."""
        if self.languages is not None and language not in self.languages:
            return False
        return bool(self.old_keys & old_footprint or self.new_keys & new_footprint)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "summary": self.summary,
            "languages": sorted(self.languages) if self.languages is not None else None,
            **self.detail,
        }


def _differ(a: Text | None, b: Text | None, languages: Iterable[str]) -> frozenset[str]:
    """The languages in which two translated texts differ."""
    return frozenset(lang for lang in languages if (a or {}).get(lang) != (b or {}).get(lang))


def _purpose_key(entry: Entry) -> Hashable:
    p = entry.purpose
    return (tuple(sorted(p.text.items())), tuple(tuple(sorted(i.items())) for i in p.items))


class _Builder:
    """Collects the changes of one registry pair, numbering them in order."""

    def __init__(self, old: Registry, new: Registry) -> None:
        self.old, self.new = old, new
        self.langs = tuple(dict.fromkeys(old.languages + new.languages))
        self.lang = "en" if "en" in new.languages else new.languages[0]
        self.changes: list[RegistryChange] = []

    def add(self, kind: str, summary: str, *, old_keys: Iterable[Key] = (), new_keys: Iterable[Key] = (),
            languages: Iterable[str] | None = None, **detail: Any) -> None:
        langs = frozenset(languages) if languages is not None else None
        if langs is not None and not langs:
            return
        if langs is not None and langs >= set(self.langs):
            langs = None
        self.changes.append(RegistryChange(len(self.changes) + 1, kind, summary, frozenset(old_keys),
                                           frozenset(new_keys), langs, detail))

    def t(self, text: Text | None, lang: str | None = None) -> str:
        """A translated text in the report's language (or in lang)."""
        if not text:
            return ""
        return text.get(lang or self.lang) or next(iter(text.values()))


def _entity_changes(b: _Builder) -> dict[str, str]:
    """Entity changes; returns old id -> new id for entities whose id was renamed."""
    old, new = b.old, b.new
    removed = sorted(set(old.entities) - set(new.entities))
    added = sorted(set(new.entities) - set(old.entities))
    renamed: dict[str, str] = {}
    for rid in removed:
        o = old.entities[rid]
        for aid in added:
            n = new.entities[aid]
            same = ((o.legal_id is not None and o.legal_id == n.legal_id)
                    or o.name.casefold() == n.name.casefold())
            if same and aid not in renamed.values():
                renamed[rid] = aid
                break
    for rid, aid in renamed.items():
        b.add("entity-renamed", f"entity renamed: {old.entities[rid].name} ({rid}) -> "
              f"{new.entities[aid].name} ({aid})", old_keys=[("entity", rid)], new_keys=[("entity", aid)],
              entity=aid, old_entity=rid, old=old.entities[rid].name, new=new.entities[aid].name)
    for eid in removed:
        if eid not in renamed:
            b.add("entity-removed", f"entity removed: {old.entities[eid].name} ({eid})",
                  old_keys=[("entity", eid)], entity=eid, old=old.entities[eid].name)
    for eid in added:
        if eid not in renamed.values():
            b.add("entity-added", f"entity added: {new.entities[eid].name} ({eid})",
                  new_keys=[("entity", eid)], entity=eid, new=new.entities[eid].name)
    for eid in sorted(set(old.entities) & set(new.entities)):
        o, n = old.entities[eid], new.entities[eid]
        keys = [("entity", eid)]
        if o.name != n.name:
            b.add("entity-renamed", f"entity renamed: {o.name} -> {n.name} ({eid})", old_keys=keys,
                  new_keys=keys, entity=eid, old=o.name, new=n.name)
        old_id, new_id = old.format_legal_id(o.legal_id), new.format_legal_id(n.legal_id)
        if old_id != new_id or o.country != n.country:
            b.add("entity-changed", f"entity changed: {n.name} ({eid}): identifier {old_id or '-'} -> "
                  f"{new_id or '-'}, country {o.country or '-'} -> {n.country or '-'}",
                  old_keys=keys, new_keys=keys, entity=eid,
                  old={"legal_id": old_id, "country": o.country},
                  new={"legal_id": new_id, "country": n.country})
    return renamed


@dataclass(frozen=True)
class _Row:
    """An entry of a section, with its entity id as seen from the new registry."""

    section: Section
    entry: Entry
    entity: str

    def key(self) -> Key:
        return ("entry", self.section.id, self.entry.entity, self.entry.location, self.entry.option)


def _pair(olds: list, news: list, key: Callable[[Any], Hashable]) -> tuple[list[tuple], list, list]:
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


def _entry_changes(b: _Builder, renamed: dict[str, str]) -> None:
    old, new = b.old, b.new
    olds = [_Row(s, e, renamed.get(e.entity, e.entity)) for s in old.sections for e in s.entries]
    news = [_Row(s, e, e.entity) for s in new.sections for e in s.entries]

    def row_text(reg: Registry, r: _Row, lang: str) -> tuple:
        loc = reg.locations[r.entry.location]
        return (r.section.id, loc.name.get(lang), loc.eea, r.entry.purpose.text.get(lang),
                tuple(i.get(lang) for i in r.entry.purpose.items), r.entry.option)

    def name(reg: Registry, r: _Row) -> str:
        return f"{reg.entities[r.entry.entity].name} ({r.entry.entity})"

    def where(r: _Row) -> str:
        return f"{b.t(r.section.title)} [{r.section.id}]"

    def describe(reg: Registry, r: _Row) -> str:
        gate = f", option {r.entry.option}" if r.entry.option else ""
        return f"{b.t(reg.locations[r.entry.location].name)}: {b.t(r.entry.purpose.text)}{gate}"

    def entry_json(r: _Row) -> dict:
        return {"section": r.section.id, "entity": r.entry.entity, "location": r.entry.location,
                "purpose": dict(r.entry.purpose.text), "option": r.entry.option}

    same, olds, news = _pair(olds, news, lambda r: (r.section.id, r.entity, r.entry.location,
                                                    r.entry.option, _purpose_key(r.entry)))
    passes: list[Callable[[_Row], Hashable]] = [
        lambda r: (r.section.id, r.entity, r.entry.option),
        lambda r: (r.section.id, r.entity, r.entry.location, _purpose_key(r.entry)),
        lambda r: (r.entity, r.entry.location, r.entry.option, _purpose_key(r.entry)),
        lambda r: (r.section.id, r.entity),
    ]
    pairs: list[tuple[_Row, _Row]] = []
    for key in passes:
        found, olds, news = _pair(olds, news, key)
        pairs.extend(found)
    for o, n in pairs:
        langs = [lang for lang in b.langs if row_text(old, o, lang) != row_text(new, n, lang)]
        shown = b.lang if b.lang in langs or not langs else langs[0]
        fields = []
        if o.section.id != n.section.id:
            fields.append("section")
        if o.entry.location != n.entry.location:
            fields.append("location")
        if _purpose_key(o.entry) != _purpose_key(n.entry):
            fields.append("purpose")
        if o.entry.option != n.entry.option:
            fields.append("option")
        if fields == ["section"]:
            kind, text = "entry-moved", f"moved: {name(new, n)}: {where(o)} -> {where(n)}"
        else:
            kind = f"{fields[0]}-changed" if len(fields) == 1 else "entry-changed"
            parts = []
            if "section" in fields:
                parts.append(f"section {o.section.id} -> {n.section.id}")
            if "location" in fields:
                parts.append(f"location {b.t(old.locations[o.entry.location].name)} -> "
                             f"{b.t(new.locations[n.entry.location].name)}")
            if "purpose" in fields:
                parts.append(f"purpose {b.t(o.entry.purpose.text, shown)!r} -> "
                             f"{b.t(n.entry.purpose.text, shown)!r}")
            if "option" in fields:
                parts.append(f"option {o.entry.option or 'none'} -> {n.entry.option or 'none'}")
            text = f"{kind.replace('-', ' ')}: {name(new, n)} in {where(n)}: " + "; ".join(parts)
        b.add(kind, text, old_keys=[o.key()], new_keys=[n.key()], languages=langs, entity=n.entity,
              fields=fields, old=entry_json(o), new=entry_json(n))
    for o in olds:
        b.add("entry-removed", f"removed: {name(old, o)} from {where(o)}: {describe(old, o)}",
              old_keys=[o.key()], entity=o.entity, old=entry_json(o))
    for n in news:
        b.add("entry-added", f"added: {name(new, n)} to {where(n)}: {describe(new, n)}",
              new_keys=[n.key()], entity=n.entity, new=entry_json(n))


def _location_changes(b: _Builder) -> None:
    old, new = b.old, b.new
    for lid in sorted(set(old.locations) - set(new.locations)):
        b.add("location-removed", f"location removed: {b.t(old.locations[lid].name)} ({lid})", location=lid)
    for lid in sorted(set(new.locations) - set(old.locations)):
        b.add("location-added", f"location added: {b.t(new.locations[lid].name)} ({lid})", location=lid)
    for lid in sorted(set(old.locations) & set(new.locations)):
        o, n = old.locations[lid], new.locations[lid]
        keys = [("location", lid)]
        b.add("location-renamed", f"location renamed: {b.t(o.name)} -> {b.t(n.name)} ({lid})",
              old_keys=keys, new_keys=keys, languages=_differ(o.name, n.name, b.langs), location=lid,
              old=dict(o.name), new=dict(n.name))
        if o.eea != n.eea:
            b.add("location-changed", f"location {b.t(n.name)} ({lid}): inside the EU/EEA {o.eea} -> {n.eea}",
                  old_keys=keys, new_keys=keys, location=lid, old={"eea": o.eea}, new={"eea": n.eea})


def _section_changes(b: _Builder) -> None:
    old = {s.id: s for s in b.old.sections}
    new = {s.id: s for s in b.new.sections}
    for sid in [s for s in old if s not in new]:
        b.add("section-removed", f"section removed: {b.t(old[sid].title)} [{sid}]",
              old_keys=[("section", sid)], section=sid)
    for sid in [s for s in new if s not in old]:
        b.add("section-added", f"section added: {b.t(new[sid].title)} [{sid}]",
              new_keys=[("section", sid)], section=sid)
    for sid in [s for s in new if s in old]:
        o, n = old[sid], new[sid]
        fields: list[str] = []
        langs: set[str] | None = set()
        for name in ("title", "note"):
            differ = _differ(getattr(o, name), getattr(n, name), b.langs)
            if differ:
                fields.append(name)
                if langs is not None:
                    langs |= differ
        for name in ("kind", "region", "products", "uses_shared_mta"):
            if getattr(o, name) != getattr(n, name):
                fields.append(name)
                langs = None
        if fields:
            b.add("section-changed", f"section changed: {b.t(n.title)} [{sid}]: {', '.join(fields)}",
                  old_keys=[("section", sid)], new_keys=[("section", sid)], languages=langs, section=sid,
                  fields=fields)


def _terms_changes(b: _Builder) -> None:
    """Regions, products, options, notice terms, company, languages and the published list."""
    old, new = b.old, b.new
    every = [("global",)]
    for rid in sorted(set(old.regions) | set(new.regions)):
        o, n = old.regions.get(rid), new.regions.get(rid)
        if o is None or n is None:
            b.add("region-added" if o is None else "region-removed",
                  f"region {'added' if o is None else 'removed'}: {rid}", region=rid)
            continue
        keys = [("region", rid)]
        b.add("region-renamed", f"region renamed: {b.t(o.name)} -> {b.t(n.name)} ({rid})", old_keys=keys,
              new_keys=keys, languages=_differ(o.name, n.name, b.langs), region=rid)
        if o.products != n.products:
            b.add("region-changed",
                  f"region {rid}: products {', '.join(o.products)} -> {', '.join(n.products)}",
                  old_keys=keys, new_keys=keys, region=rid, old=list(o.products), new=list(n.products))
        if _differ(o.heading, n.heading, b.langs):
            b.add("region-changed", f"region {rid}: heading changed (not printed in annexes)", region=rid)
    for pid in sorted(set(old.products) | set(new.products)):
        o, n = old.products.get(pid), new.products.get(pid)
        if o != n:
            kind = "product-added" if o is None else "product-removed" if n is None else "product-renamed"
            b.add(kind, f"{kind.replace('-', ' ')}: {o or '-'} -> {n or '-'} ({pid})",
                  old_keys=[("product", pid)], new_keys=[("product", pid)], product=pid, old=o, new=n)
    for oid in sorted(set(old.options) | set(new.options)):
        o, n = old.options.get(oid), new.options.get(oid)
        if o is None or n is None:
            # Every annex lists every option of the registry (on or off).
            b.add("option-added" if o is None else "option-removed",
                  f"option {'added' if o is None else 'removed'}: {oid}", old_keys=every, new_keys=every,
                  option=oid)
            continue
        b.add("option-renamed", f"option renamed: {b.t(o.name)} -> {b.t(n.name)} ({oid})", old_keys=every,
              new_keys=every, languages=_differ(o.name, n.name, b.langs), option=oid)
        if _differ(o.description, n.description, b.langs):
            b.add("option-changed", f"option {oid}: description changed (not printed in annexes)", option=oid)
    on, nn = old.notice, new.notice
    fields = [f for f in ("period_days", "objection_days") if getattr(on, f) != getattr(nn, f)]
    langs: set[str] | None = None if fields else set()
    for name in ("channels", "objection"):
        differ = _differ(getattr(on, name), getattr(nn, name), b.langs)
        if differ:
            fields.append(name)
            if langs is not None:
                langs |= differ
    if fields:
        b.add("notice-changed", f"notice terms changed: {', '.join(fields)}", old_keys=every, new_keys=every,
              languages=langs, fields=fields,
              old={"period_days": on.period_days, "objection_days": on.objection_days},
              new={"period_days": nn.period_days, "objection_days": nn.objection_days})
    if old.company_name != new.company_name:
        b.add("company-renamed", f"company renamed: {old.company_name} -> {new.company_name}",
              old_keys=every, new_keys=every, old=old.company_name, new=new.company_name)
    if old.languages != new.languages:
        b.add("languages-changed", f"languages: {', '.join(old.languages)} -> {', '.join(new.languages)}",
              old_keys=every, new_keys=every)
    if old.list_retrieved != new.list_retrieved or _differ(old.list_title, new.list_title, b.langs):
        b.add("published-list-changed", f"published list: {b.t(old.list_title)} retrieved "
              f"{old.list_retrieved} -> {b.t(new.list_title)} retrieved {new.list_retrieved} "
              "(provenance only; does not change annex content)")


def diff_registries(old: Registry, new: Registry) -> tuple[RegistryChange, ...]:
    """Every change from old to new, numbered from 1."""
    b = _Builder(old, new)
    renamed = _entity_changes(b)
    _entry_changes(b, renamed)
    _location_changes(b)
    _section_changes(b)
    _terms_changes(b)
    return tuple(b.changes)


def footprint(registry: Registry, contract: Contract) -> frozenset[Key]:
    """The registry items one contract's annex shows; a change touching none of them misses it."""
    keys: set[Key] = {("global",), ("region", contract.region)}
    keys.update(("product", pid) for pid in contract.products)
    register = [s for s in registry.sections if s.kind == "customer_register"]
    for section in included_sections(registry, contract) + register:
        for e in section.entries:
            if e.option and not contract.options.get(e.option, False):
                continue
            keys.update({("section", section.id), ("entry", section.id, e.entity, e.location, e.option),
                         ("entity", e.entity), ("location", e.location)})
    return frozenset(keys)


# Annex changes


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
class AnnexDiff:
    """What changes in one customer's annex, in the customer's language."""

    rows: tuple[RowChange, ...] = ()
    other: tuple[OtherChange, ...] = ()

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
    _, olds, news = _pair(olds, news, lambda r: (r[0].id, r[1]))
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
        pairs, olds, news = _pair(olds, news, key)
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
    oc, nc = annex_content(old), annex_content(new)
    for key in sorted(set(oc) | set(nc)):
        if key not in ("sections", "subprocessors", "customer_register") and oc.get(key) != nc.get(key):
            other.append(OtherChange(key, oc.get(key), nc.get(key)))
    old_sections = {s.id: s for s in (*old.sections, old.customer_register)}
    for s in (*new.sections, new.customer_register):
        o = old_sections.get(s.id)
        for name in ("title", "note", "uses_shared_mta"):
            if o is not None and getattr(o, name) != getattr(s, name):
                other.append(OtherChange(f"sections.{s.id}.{name}", getattr(o, name), getattr(s, name)))
    if not rows and not other and not internal and content_hash(old) != content_hash(new):
        other.append(OtherChange("content", None, None))
    order = {"added": 0, "removed": 1, "changed": 2}
    rows.sort(key=lambda r: order[r.kind])
    return AnnexDiff(tuple(rows), tuple(other))


# Per customer


@dataclass(frozen=True)
class CustomerImpact:
    """How a registry change reaches one customer: affected, unaffected or an error."""

    customer_id: str
    source: str
    status: str
    customer_name: str = ""
    language: str = ""
    changes: tuple[int, ...] = ()
    annex: AnnexDiff = AnnexDiff()
    error: str | None = None
    contract: Contract | None = None
    old_annex: Annex | None = None
    new_annex: Annex | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "source": self.source,
            "language": self.language,
            "status": self.status,
            "changes": list(self.changes),
            "annex": self.annex.to_dict(),
            "error": self.error,
        }


def old_contract(old: Registry, contract: Contract) -> Contract:
    """The contract as read against the old registry: options unknown to it and off are dropped."""
    return replace(contract, options={k: v for k, v in contract.options.items() if v or k in old.options})


def customer_impact(old: Registry, new: Registry, changes: Sequence[RegistryChange],
                    contract: Contract) -> CustomerImpact:
    """Resolve the contract against both registries and compare the annexes."""
    base = dict(customer_id=contract.customer_id, source=contract.source,
                customer_name=contract.customer_name, language=contract.language, contract=contract)
    try:
        new_annex = resolve(new, contract)
    except AnnexGenError as exc:
        return CustomerImpact(status="error", error=f"does not resolve against the new registry: {exc}",
                              **base)
    then = old_contract(old, contract)
    try:
        old_annex = resolve(old, then)
    except AnnexGenError as exc:
        return CustomerImpact(status="error", error=f"does not resolve against the old registry: {exc}",
                              new_annex=new_annex, **base)
    if content_hash(old_annex) == content_hash(new_annex):
        return CustomerImpact(status="unaffected", old_annex=old_annex, new_annex=new_annex, **base)
    before, after = footprint(old, then), footprint(new, contract)
    reaching = tuple(c.id for c in changes if c.reaches(before, after, contract.language))
    return CustomerImpact(status="affected", changes=reaching, annex=diff_annexes(old_annex, new_annex),
                          old_annex=old_annex, new_annex=new_annex, **base)


@dataclass(frozen=True)
class ImpactReport:
    """The registry changes and how they reach each customer."""

    old: Registry
    new: Registry
    old_label: str
    new_label: str
    changes: tuple[RegistryChange, ...]
    customers: tuple[CustomerImpact, ...]

    def with_status(self, status: str) -> list[CustomerImpact]:
        """The customers of one status: affected, unaffected or error."""
        return [c for c in self.customers if c.status == status]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON interface of `annex-gen diff --json`."""
        return {
            "schema": "annex-gen/diff/1",
            "from": {"source": self.old_label, "version": self.old.version, "release": self.old.release},
            "to": {"source": self.new_label, "version": self.new.version, "release": self.new.release},
            "changes": [c.to_dict() for c in self.changes],
            "customers": [c.to_dict() for c in self.customers],
            "summary": {s: len(self.with_status(s)) for s in ("affected", "unaffected", "error")},
        }


def impact(old: Registry, new: Registry, contracts: Iterable[Contract],
           errors: Iterable[tuple[str, str]] = (), *, old_label: str = "",
           new_label: str = "") -> ImpactReport:
    """The registry diff and its impact on every contract; errors are (source, message) of bad inputs."""
    changes = diff_registries(old, new)
    customers = [customer_impact(old, new, changes, c) for c in contracts]
    customers += [CustomerImpact(customer_id="", source=label, status="error", error=message)
                  for label, message in errors]
    customers.sort(key=lambda c: (c.customer_id or "~", c.source))
    return ImpactReport(old, new, old_label, new_label, changes, tuple(customers))
