"""The editor's forms as plain data: a form's fields to changes, an item of the registry to a form's fields,
and a check's diagnostic to the field it is about. No web types: fields are {name: [values]}.

A fact's sources are rows of fields NAME_src_url / NAME_src_quote (one value per row), as the
registry records a fact's sources: a list of {url, quote, note}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from annex_gen.errors import Diagnostic
from annex_gen.model import Registry
from annex_gen.registry_edit.changes import Change, clean_sources, fact

Fields = Mapping[str, Sequence[str]]
# The facts of an entity the form edits, and the field of each (legal_id has two: kind and value)
ENTITY_FACT_FIELDS = (("name", "name"), ("legal_id", "legal_value"), ("legal_name", "legal_name"),
                      ("registration", "registration"), ("country", "country"), ("address", "address"),
                      ("privacy_contact", "privacy_contact"))
ENTRY_FIELDS = ("section", "entity", "location", "purpose_fi", "purpose_en", "option", "transfer")


def one(fields: Fields, name: str) -> str:
    """A field's single value, trimmed ('' when absent)."""
    values = fields.get(name) or [""]
    return str(values[0]).strip()


def source_rows(fields: Fields, prefix: str) -> list[dict[str, str]]:
    """The sources of rows PREFIX_src_url / PREFIX_src_quote / PREFIX_src_note."""
    urls, quotes, notes = (list(fields.get(f"{prefix}_src_{k}") or []) for k in ("url", "quote", "note"))
    rows = max(len(urls), len(quotes), len(notes))
    pad = lambda xs: xs + [""] * (rows - len(xs))  # noqa: E731
    rows_of = zip(pad(urls), pad(quotes), pad(notes), strict=True)
    return clean_sources({"url": u, "quote": q, "note": n} for u, q, n in rows_of)


def _entry(fields: Fields, prefix: str, action: str, section: str, was: Mapping[str, str] | None) -> Change:
    change: Change = {
        "target": "entry", "action": action, "section": section,
        "entity": one(fields, f"{prefix}entity"), "location": one(fields, f"{prefix}location"),
        "purpose": {"fi": one(fields, f"{prefix}purpose_fi"), "en": one(fields, f"{prefix}purpose_en")},
        "option": one(fields, f"{prefix}option") or None, "transfer": one(fields, f"{prefix}transfer") or None,
        "sources": source_rows(fields, f"{prefix}entry"),
    }
    if was:
        change["was"] = dict(was)
    return change


def changes_of(target: str, action: str, fields: Fields, key: Sequence[str] = ()) -> list[Change]:
    """The changes a submitted form asks for. key names the item changed or removed (entry: section,
    entity, location); a new entity's form may add its first entry of a section too."""
    if action == "remove":
        if target == "entry":
            return [{"target": "entry", "action": "remove", "section": key[0],
                     "was": {"entity": key[1], "location": key[2]}, "sources": source_rows(fields, "remove")}]
        return [{"target": target, "action": "remove", "id": key[0], "sources": source_rows(fields, "remove")}]
    ident = key[0] if action == "change" and target != "entry" else one(fields, "id")
    if target == "entity":
        change: Change = {"target": "entity", "action": action, "id": ident}
        for name, field in ENTITY_FACT_FIELDS:
            if field in fields:  # a fact the form does not show is not changed
                change[name] = fact(one(fields, field), source_rows(fields, name))
        change.setdefault("legal_id", fact(""))["kind"] = one(fields, "legal_kind")
        out = [change]
        section = one(fields, "entry_section")
        if action == "add" and section:
            entry = _entry(fields, "entry_", "add", section, None)
            entry["entity"] = ident
            out.append(entry)
        return out
    if target == "location":
        return [{"target": "location", "action": action, "id": ident,
                 "name": {"fi": one(fields, "name_fi"), "en": one(fields, "name_en")},
                 "eea": one(fields, "eea") == "yes", "sources": source_rows(fields, "location")}]
    if target == "transfer_basis":
        module = one(fields, "module")
        return [{"target": "transfer_basis", "action": action, "id": ident, "kind": one(fields, "kind"),
                 "module": int(module) if module.isdigit() else (module or None), "decision": one(fields, "decision"),
                 "name": {"fi": one(fields, "name_fi"), "en": one(fields, "name_en")},
                 "sources": source_rows(fields, "basis")}]
    if action == "change":
        return [_entry(fields, "", "change", key[0], {"entity": key[1], "location": key[2]})]
    return [_entry(fields, "", "add", one(fields, "section"), None)]


def _sources_of(registry: Registry, entity: Any, fact_name: str) -> list[dict[str, str]]:
    """An entity fact's recorded sources: the registry's facts with provenance where it has them, else the
    entity's {fact, source} pairs."""
    for f in getattr(registry, "facts", ()):
        if f.key == f"entities.{entity.id}.{fact_name}":
            return [{k: v for k, v in (("url", s.url), ("quote", s.quote), ("note", s.note)) if v} for s in f.sources]
    return [{"url": s.get("source", "")} for s in getattr(entity, "sources", ()) if s.get("fact") == fact_name]


def values_of(registry: Registry, target: str, key: Sequence[str]) -> dict[str, Any]:
    """The form fields of an item of the registry, for a change form."""
    if target == "entity":
        e = registry.entities[key[0]]
        return {"id": e.id, "name": e.name, "legal_kind": e.legal_id.kind if e.legal_id else "",
                "legal_value": e.legal_id.value if e.legal_id else "", "country": e.country or "",
                "address": e.address or "", "privacy_contact": e.privacy_contact or "",
                "legal_name": getattr(e, "legal_name", None) or "",
                "registration": getattr(e, "registration", None) or "",
                "sources": {name: _sources_of(registry, e, name) for name, _ in ENTITY_FACT_FIELDS}}
    if target == "location":
        loc = registry.locations[key[0]]
        return {"id": loc.id, "name_fi": loc.name.get("fi", ""), "name_en": loc.name.get("en", ""),
                "eea": loc.eea, "sources": {"location": []}}
    if target == "transfer_basis":
        b = registry.transfer_bases[key[0]]
        return {"id": b.id, "kind": b.kind, "module": "" if b.module is None else str(b.module),
                "decision": b.decision or "", "name_fi": b.name.get("fi", ""), "name_en": b.name.get("en", ""),
                "sources": {"basis": [{"url": b.source}] if b.source else []}}
    section = next(s for s in registry.sections if s.id == key[0])
    entry = next(e for e in section.entries if e.entity == key[1] and e.location == key[2])
    return {"section": section.id, "entity": entry.entity, "location": entry.location,
            "purpose_fi": entry.purpose.text.get("fi", ""), "purpose_en": entry.purpose.text.get("en", ""),
            "option": entry.option or "", "transfer": entry.transfer or "", "sources": {"entry": []}}


def values_of_change(changes: Sequence[Change]) -> dict[str, Any]:
    """The form fields of a proposal's changes, for editing it."""
    first = changes[0]
    values: dict[str, Any] = {"sources": {}}
    if first["action"] == "remove":
        values["sources"]["remove"] = first.get("sources") or []
        return values
    if first["target"] == "entity":
        values["id"] = first["id"]
        for name, field in ENTITY_FACT_FIELDS:
            part = first.get(name) or {}
            values[field] = part.get("value", "")
            values["sources"][name] = part.get("sources") or []
        values["legal_kind"] = (first.get("legal_id") or {}).get("kind", "")
        for entry in changes[1:]:
            values.update({f"entry_{k}": v for k, v in _entry_values(entry).items()})
            values["sources"]["entry_entry"] = entry.get("sources") or []
    elif first["target"] == "location":
        values.update(id=first["id"], name_fi=first["name"]["fi"], name_en=first["name"]["en"], eea=first["eea"])
        values["sources"]["location"] = first.get("sources") or []
    elif first["target"] == "transfer_basis":
        values.update(id=first["id"], kind=first.get("kind", ""), module=str(first.get("module") or ""),
                      decision=first.get("decision") or "", name_fi=first["name"]["fi"], name_en=first["name"]["en"])
        values["sources"]["basis"] = first.get("sources") or []
    else:
        values.update(_entry_values(first))
        values["sources"]["entry"] = first.get("sources") or []
    return values


def _entry_values(entry: Change) -> dict[str, str]:
    return {"section": entry["section"], "entity": entry.get("entity", ""), "location": entry.get("location", ""),
            "purpose_fi": entry["purpose"]["fi"], "purpose_en": entry["purpose"]["en"],
            "option": entry.get("option") or "", "transfer": entry.get("transfer") or ""}


_ENTRY_KEY = re.compile(r"^sections\[\d+\]\.entries\[\d+\]\.?")
_RENAMED = {"legal_id.value": "legal_value", "legal_id.kind": "legal_kind", "legal_id": "legal_value",
            "name.fi": "name_fi", "name.en": "name_en", "purpose.fi": "purpose_fi", "purpose.en": "purpose_en",
            "purpose": "purpose_fi", "sources": "name"}


def field_of(diagnostic: Diagnostic, target: str, field_names: Sequence[str]) -> str:
    """The form field a diagnostic is about ('' for the form as a whole)."""
    key = diagnostic.key
    prefix = ""
    if _ENTRY_KEY.match(key) or (target == "entity" and key in ENTRY_FIELDS):
        key = _ENTRY_KEY.sub("", key)
        prefix = "entry_" if target == "entity" else ""
        if not key and "transfer" in diagnostic.message:  # about the entry as a whole: its missing basis
            key = "transfer"
    else:
        key = re.sub(r"^(entities|locations|transfer_bases)\.[^.]+\.?", "", key)
    name = prefix + _RENAMED.get(key, key.split(".")[0].split("[")[0])
    if target == "location" and name == "name":
        name = "name_fi"
    return name if name in field_names else ""
