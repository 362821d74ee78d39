"""A registry change (changes.registry_diff) in the page's words: names from the registries, not ids.

Each kind of change has its text in the catalogs (`change.<kind>`); its details name the
entity, section, location, region, product or option by id, shown here by name in the page's
language, from the registry that has it (the new one, else the old one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from annex_gen.changes.registry_diff import RegistryChange
from annex_gen.model import Registry
from annex_gen.web.messages import Messages


def _local(say: Messages, text: Mapping[str, str] | None) -> str:
    if not text:
        return ""
    return text.get(say.formats.lang) or next(iter(text.values()))


def _entry(say: Messages, reg: Registry, row: Mapping[str, Any]) -> dict[str, str]:
    """The names of an entry (entry_json of registry_diff) in a registry."""
    section = next((s for s in reg.sections if s.id == row.get("section")), None)
    location = reg.locations.get(row.get("location", ""))
    entity = reg.entities.get(row.get("entity", ""))
    option = reg.options.get(row.get("option") or "")
    return {"entity": entity.name if entity else row.get("entity", ""),
            "section": _local(say, section.title) if section else row.get("section", ""),
            "location": _local(say, location.name) if location else row.get("location", ""),
            "purpose": _local(say, row.get("purpose")),
            "option": _local(say, option.name) if option else ""}


def describe(say: Messages, change: RegistryChange, old: Registry, new: Registry) -> str:
    """What one change says, in the page's language; its English summary if its kind has no text."""
    d = change.detail
    kind = change.kind.replace("-", "_")
    params: dict[str, Any] = {}
    if "entity" in d and ("new" in d and isinstance(d["new"], dict) and "section" in d["new"]
                          or "old" in d and isinstance(d["old"], dict) and "section" in d["old"]):
        # an entry of a section: added, removed, moved or changed
        now = _entry(say, new, d["new"]) if "new" in d else {}
        was = _entry(say, old, d["old"]) if "old" in d else {}
        params = {**{f"old_{k}": v for k, v in was.items()}, **(now or was)}
        if "fields" in d:
            kind = "entry_moved" if list(d["fields"]) == ["section"] else "entry_changed"
            params["fields"] = say.formats.items(say.catalog.get(f"change.field.{f}", f) for f in d["fields"])
    elif "entity" in d:
        reg = new if d["entity"] in new.entities else old
        params = {"entity": reg.entities[d["entity"]].name if d["entity"] in reg.entities else d["entity"],
                  "old": d.get("old") if isinstance(d.get("old"), str) else "",
                  "new": d.get("new") if isinstance(d.get("new"), str) else ""}
    elif "location" in d:
        params = {"location": _local(say, (new.locations.get(d["location"]) or old.locations[d["location"]]).name)}
        if kind == "location_changed":
            params["inside"] = say.catalog["drift.yes" if d["new"]["eea"] else "drift.no"]
    elif "section" in d:
        section = next((s for s in (*new.sections, *old.sections) if s.id == d["section"]), None)
        params = {"section": _local(say, section.title) if section else d["section"],
                  "fields": say.formats.items(say.catalog.get(f"change.field.{f}", f) for f in d.get("fields", ()))}
    elif "region" in d:
        region = new.regions.get(d["region"]) or old.regions.get(d["region"])
        params = {"region": _local(say, region.name) if region else d["region"]}
        if kind == "region_changed" and "new" in d:
            params["products"] = say.formats.items(new.products.get(p, p) for p in d["new"])
        elif kind == "region_changed":
            kind = "region_heading_changed"
    elif "product" in d:
        params = {"product": d.get("new") or d.get("old") or d["product"], "old": d.get("old") or "",
                  "new": d.get("new") or ""}
    elif "option" in d:
        option = new.options.get(d["option"]) or old.options.get(d["option"])
        params = {"option": _local(say, option.name) if option else d["option"]}
    elif kind == "notice_changed":
        params = {"period_days": d["new"]["period_days"], "objection_days": d["new"]["objection_days"]}
    elif kind == "company_renamed":
        params = {"old": d["old"], "new": d["new"]}
    text = say.text(kind, params, change.summary, group="change")
    if change.languages is not None:
        text += say.catalog.format("change.only_in", languages=say.formats.items(
            say.name("language", lang) for lang in sorted(change.languages)))
    return text


def proposal_summary(say: Messages, changes: Sequence[Mapping[str, Any]]) -> str:
    """An editor proposal's changes (registry_edit.changes) in the page's words: names, not ids."""
    added = {c["id"]: (c.get("name") or {}).get("value") for c in changes if c["target"] == "entity"}
    return "; ".join(_proposal_change(say, change, added) for change in changes)


def _proposal_change(say: Messages, change: Mapping[str, Any], added: Mapping[str, str | None]) -> str:
    """One change; added names the entities the proposal itself adds or renames."""
    reg, target, action = say.registry, change["target"], change["action"]
    params: dict[str, Any] = {}
    if target == "entity":
        known = reg.entities.get(change["id"]) if reg else None
        params["name"] = (change.get("name") or {}).get("value") or (known.name if known else change["id"])
    elif target in ("location", "transfer_basis"):
        known = (reg.locations if target == "location" else reg.transfer_bases).get(change["id"]) if reg else None
        params["name"] = _local(say, change.get("name") if isinstance(change.get("name"), Mapping) else None) or (
            _local(say, known.name) if known else change["id"])
    else:
        was = change.get("was") or {}
        entity = change.get("entity") or was.get("entity", "")
        location = change.get("location") or was.get("location", "")
        known_entity = reg.entities.get(entity) if reg else None
        known_location = reg.locations.get(location) if reg else None
        params = {"entity": added.get(entity) or (known_entity.name if known_entity else entity),
                  "section": say.name("section", change.get("section", "")),
                  "location": _local(say, known_location.name) if known_location else location}
    return say.catalog.format(f"editor.summary.{target}_{action}", **params)
