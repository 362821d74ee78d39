"""What changed between two registries: language-neutral, numbered changes with the keys they touch.

Each change carries the keys of the registry items it touches on each side, and the
languages whose text it changes; `footprint` gives the keys one contract's annex shows, so
a change whose keys miss a footprint cannot reach that annex.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annex_gen.changes.annex_diff import pair
from annex_gen.model import Contract, Entry, Registry, Section, Text
from annex_gen.resolve import included_sections

Key = tuple



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

    same, olds, news = pair(olds, news, lambda r: (r.section.id, r.entity, r.entry.location,
                                                    r.entry.option, _purpose_key(r.entry)))
    passes: list[Callable[[_Row], Hashable]] = [
        lambda r: (r.section.id, r.entity, r.entry.option),
        lambda r: (r.section.id, r.entity, r.entry.location, _purpose_key(r.entry)),
        lambda r: (r.entity, r.entry.location, r.entry.option, _purpose_key(r.entry)),
        lambda r: (r.section.id, r.entity),
    ]
    pairs: list[tuple[_Row, _Row]] = []
    for key in passes:
        found, olds, news = pair(olds, news, key)
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
