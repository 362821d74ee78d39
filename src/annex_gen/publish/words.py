"""Registry changes in words, in one language: what the changes page and the feed print."""

from __future__ import annotations

from annex_gen.changes.registry_diff import RegistryChange
from annex_gen.model import Registry
from annex_gen.views.catalog import Catalog


def _text(text, lang: str) -> str:
    """A translated text in lang, or its first translation."""
    if not text:
        return ""
    return text.get(lang) or next(iter(text.values()))


def section_label(registry: Registry, section_id: str, lang: str) -> str:
    """A section as a reader knows it: 'EU: LianaMailer'; the region tells general sections apart."""
    section = next((s for s in registry.sections if s.id == section_id), None)
    if section is None:
        return section_id
    title = _text(section.title, lang)
    region = registry.regions.get(section.region or "")
    return f"{_text(region.name, lang)}: {title}" if region else title


def describe(change: RegistryChange, old: Registry, new: Registry, cat: Catalog) -> str:
    """One change as a sentence in the catalog's language."""
    lang = cat.language
    d = change.detail
    kind = change.kind

    def entity_name(eid: str | None) -> str:
        entity = new.entities.get(eid or "") or old.entities.get(eid or "")
        return entity.name if entity else (eid or "")

    def location(reg: Registry, lid: str | None) -> str:
        loc = reg.locations.get(lid or "")
        return _text(loc.name, lang) if loc else (lid or "")

    if kind in ("entity-added", "entity-removed"):
        return cat.format(f"change.{kind}", entity=entity_name(d.get("entity")))
    if kind == "entity-renamed":
        return cat.format("change.entity-renamed", old=d.get("old", ""), new=d.get("new", ""))
    if kind == "entity-changed":
        return cat.format("change.entity-changed", entity=entity_name(d.get("entity")),
                          identifier=f"{d['old']['legal_id'] or '–'} → {d['new']['legal_id'] or '–'}")
    if kind == "location-changed" and "fields" not in d:  # a location moved in or out of the EU/EEA
        return cat.format("change.location-eea-changed", location=location(new, d.get("location")))
    if kind.startswith("entry-") or kind in ("purpose-changed", "location-changed", "option-changed"):
        o, n = d.get("old") or {}, d.get("new") or {}
        side, reg = (n, new) if n else (o, old)
        return cat.format(
            f"change.{kind}",
            entity=entity_name(d.get("entity")),
            section=section_label(reg, side.get("section", ""), lang),
            old_section=section_label(old, o.get("section", ""), lang),
            location=location(reg, side.get("location")),
            old_location=location(old, o.get("location")),
            purpose=_text(side.get("purpose"), lang),
        )
    if kind in ("section-added", "section-changed"):
        return cat.format(f"change.{kind}", section=section_label(new, d.get("section", ""), lang))
    if kind == "section-removed":
        return cat.format(f"change.{kind}", section=section_label(old, d.get("section", ""), lang))
    if kind == "location-renamed":
        return cat.format("change.location-renamed", old=_text(d.get("old"), lang),
                          new=_text(d.get("new"), lang))
    if kind == "notice-changed":
        return cat["change.notice-changed"]
    return cat.format("change.other", summary=change.summary)
