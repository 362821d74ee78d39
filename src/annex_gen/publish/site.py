"""The static site of the public sub-processor list: every file, built in memory from one registry.

Pages (one per language): the list in the published order and structure, and its change
history. Beside them `subprocessors.json` (every entity, section and entry), the Atom feed
`changes.atom`, the stylesheet and the fonts. Nothing depends on the clock or the machine:
the same registry and history give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from annex_gen.model import Registry, Section
from annex_gen.publish.history import History, Version
from annex_gen.publish.words import describe
from annex_gen.render.html import environment
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views.catalog import Catalog, load_catalogs

SCHEMA = "annex-gen/subprocessors/1"
SITE_DIR = TEMPLATES_DIR / "site"
FONTS = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf", "OFL.txt")
DATA_FILE = "subprocessors.json"
FEED_FILE = "changes.atom"
STYLESHEET = "site.css"
ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
# Feed and entry ids: stable URNs derived from the company and the release label, never from a host
# name; a release whose content is completed in a later commit keeps its entry (a feed reader updates it).
_ID_NAMESPACE = uuid.UUID("6f1c3b52-5d0e-4b8e-9a57-3d4c1f0a9b21")


@cache
def site_catalogs() -> dict[str, Catalog]:
    """The site's fixed texts, one catalog per language."""
    return load_catalogs(SITE_DIR / "i18n")


def list_page(registry: Registry, lang: str) -> str:
    """The file name of the list in a language: the published list's language is the index."""
    return "index.html" if lang == registry.languages[0] else f"{lang}.html"


def changes_page(registry: Registry, lang: str) -> str:
    """The file name of the change history in a language."""
    return "changes.html" if lang == registry.languages[0] else f"changes-{lang}.html"


def version_anchor(version: str) -> str:
    """The fragment naming a version on the changes page."""
    return "v-" + "".join(c if c.isalnum() else "-" for c in version)


# Views: what the templates print, in print order.


@dataclass(frozen=True)
class RowView:
    """One entry of a table."""

    company: str
    legal_id: str
    location: str
    purpose: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class TableView:
    """One section of the list: its heading, note, table and the shared MTA rule."""

    id: str
    title: str
    note: str
    show_ids: bool
    rows: tuple[RowView, ...]
    uses_shared_mta: bool


@dataclass(frozen=True)
class RegionView:
    """A region's heading and its sections (the shared MTA section sits in the region that lists it)."""

    id: str
    heading: str
    tables: tuple[TableView, ...]


@dataclass(frozen=True)
class LinkView:
    """A link of the navigation; current marks the page being shown."""

    href: str
    text: str
    lang: str | None = None
    current: bool = False


@dataclass(frozen=True)
class Meta:
    """The version line of the list page."""

    version: str
    in_effect: str | None


@dataclass(frozen=True)
class ChangeView:
    """One version on the changes page."""

    anchor: str
    version: str
    current: bool
    published: str
    effective: str
    objection_deadline: str
    changes: tuple[str, ...]
    first: bool


def _t(text, lang: str) -> str:
    return (text or {}).get(lang, "")


def _date(day: dt.date, lang: str) -> str:
    """A date as the language writes it: 29.11.2026 in Finnish, ISO 8601 otherwise."""
    return f"{day.day}.{day.month}.{day.year}" if lang == "fi" else day.isoformat()


def _table(registry: Registry, section: Section, lang: str) -> TableView:
    rows = []
    gated = site_catalogs()[lang]["table.option_gated"]
    for e in section.entries:
        entity = registry.entities[e.entity]
        # an entry a contract option enables says so, as the published list words it
        purpose = _t(e.purpose.text, lang) + (f" {gated}" if e.option else "")
        rows.append(RowView(entity.name, registry.format_legal_id(entity.legal_id),
                            _t(registry.locations[e.location].name, lang), purpose,
                            tuple(_t(i, lang) for i in e.purpose.items)))
    # Every sub-processor table has the identifier column, so columns line up down the page; the
    # customer register's entities have none, and its table has none, as published.
    show_ids = section.kind != "customer_register"
    return TableView(section.id, _t(section.title, lang), _t(section.note, lang), show_ids, tuple(rows),
                     section.uses_shared_mta)


def _regions(registry: Registry, lang: str) -> tuple[TableView | None, list[RegionView]]:
    register = None
    regions: list[RegionView] = []
    current: list[TableView] = []
    region_id: str | None = None
    for section in registry.sections:
        if section.kind == "customer_register":
            register = _table(registry, section, lang)
            continue
        if section.region and section.region != region_id:
            if region_id is not None:
                regions.append(RegionView(region_id, _t(registry.regions[region_id].heading, lang), tuple(current)))
            region_id, current = section.region, []
        current.append(_table(registry, section, lang))
    if region_id is not None:
        regions.append(RegionView(region_id, _t(registry.regions[region_id].heading, lang), tuple(current)))
    return register, regions


def _nav(registry: Registry, lang: str, page: str, cat: Catalog) -> list[LinkView]:
    links = [LinkView(list_page(registry, lang), cat["nav.list"], current=page == "list"),
             LinkView(changes_page(registry, lang), cat["nav.changes"], current=page == "changes"),
             LinkView(DATA_FILE, cat["nav.json"]), LinkView(FEED_FILE, cat["nav.feed"])]
    for other in registry.languages:
        if other != lang:
            target = list_page(registry, other) if page == "list" else changes_page(registry, other)
            links.append(LinkView(target, cat["nav.other_language"], lang=other))
    return links


def _common(registry: Registry, lang: str, page: str) -> dict:
    cat = site_catalogs()[lang]
    return {
        "lang": lang,
        "t": cat,
        "company": registry.company_name,
        "list_title": _t(registry.list_title, lang),
        "nav": _nav(registry, lang, page, cat),
        "stylesheet": STYLESHEET,
        "feed": FEED_FILE,
        "feed_title": _feed_title(registry),
        "alternates": [(other, list_page(registry, other) if page == "list" else changes_page(registry, other))
                       for other in registry.languages if other != lang],
    }


def render_list(registry: Registry, version: Version | None, lang: str) -> str:
    """The list page in one language."""
    cat = site_catalogs()[lang]
    register, regions = _regions(registry, lang)
    terms = {"period_days": registry.notice.period_days, "objection_days": registry.notice.objection_days}
    # "in force from" only for a date legal set (registry `effective`); else the day it was published
    when = None
    if version and version.effective:
        when = cat.format("meta.in_effect", date=_date(version.effective, lang))
    elif version:
        when = cat.format("meta.published", date=_date(version.published, lang))
    meta = Meta(cat.format("meta.version", version=registry.version), when)
    return environment().get_template("site/list.html.j2").render(
        **_common(registry, lang, "list"),
        meta=meta,
        changes_href=changes_page(registry, lang),
        introduction=[_t(p, lang) for p in registry.list_introduction],
        register=register,
        regions=regions,
        updates=[_t(p, lang).format(**terms) for p in registry.list_updates],
    )


def _change_views(history: History, current: Registry, lang: str) -> list[ChangeView]:
    cat = site_catalogs()[lang]
    views = []
    for i, v in enumerate(history.versions):
        old = history.versions[i - 1].registry if i else v.registry
        views.append(ChangeView(
            version_anchor(v.registry.release), v.registry.version, v.registry.digest == current.digest,
            _date(v.published, lang),
            _date(v.effective, lang) if v.effective else cat["changes.not_set"],
            _date(v.objection_deadline, lang) if v.objection_deadline else cat["changes.not_set"],
            tuple(describe(c, old, v.registry, cat) for c in v.changes), v.first))
    return views[::-1]


def render_changes(registry: Registry, history: History, lang: str) -> str:
    """The change history page in one language, newest version first."""
    return environment().get_template("site/changes.html.j2").render(
        **_common(registry, lang, "changes"),
        versions=_change_views(history, registry, lang),
    )


# subprocessors.json


def site_data(registry: Registry, version: Version | None) -> dict:
    """The list as data: every entity, location, section and entry, texts in every language."""
    def legal_id(entity) -> dict | None:
        if entity.legal_id is None:
            return None
        return {"kind": entity.legal_id.kind, "value": entity.legal_id.value,
                "printed": registry.format_legal_id(entity.legal_id)}

    return {
        "schema": SCHEMA,
        "company": registry.company_name,
        "title": dict(registry.list_title),
        "languages": list(registry.languages),
        "registry_version": registry.version,
        "release": registry.release,
        "published": version.published.isoformat() if version else None,
        "effective": version.effective.isoformat() if version and version.effective else None,
        "notice": {"period_days": registry.notice.period_days, "objection_days": registry.notice.objection_days,
                   "resolution_days": registry.notice.resolution_days},
        "products": [{"id": pid, "name": name} for pid, name in registry.products.items()],
        "regions": [{"id": r.id, "name": dict(r.name), "heading": dict(r.heading), "products": list(r.products)}
                    for r in registry.regions.values()],
        "options": [{"id": o.id, "name": dict(o.name), "description": dict(o.description)}
                    for o in registry.options.values()],
        "locations": [{"id": loc.id, "name": dict(loc.name), "eea": loc.eea} for loc in registry.locations.values()],
        "entities": [{"id": e.id, "name": e.name, "legal_id": legal_id(e), "country": e.country}
                     for e in registry.entities.values()],
        "sections": [{
            "id": s.id, "kind": s.kind, "region": s.region, "products": list(s.products), "title": dict(s.title),
            "note": dict(s.note) if s.note else None, "uses_shared_mta": s.uses_shared_mta,
            "entries": [{"entity": e.entity, "location": e.location, "purpose": dict(e.purpose.text),
                         "purpose_items": [dict(i) for i in e.purpose.items], "option": e.option}
                        for e in s.entries],
        } for s in registry.sections],
    }


# changes.atom


def _feed_language(registry: Registry) -> str:
    return "en" if "en" in registry.languages else registry.languages[0]


def _feed_title(registry: Registry) -> str:
    return site_catalogs()[_feed_language(registry)].format("feed.title", company=registry.company_name)


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def render_feed(registry: Registry, history: History) -> bytes:
    """The Atom feed: one entry per version, newest first, with its changes, effective date and deadline."""
    lang = _feed_language(registry)
    cat = site_catalogs()[lang]
    changes = changes_page(registry, lang)
    newest = history.versions[-1].published if history.versions else registry.list_retrieved
    feed_id = "urn:uuid:" + str(uuid.uuid5(_ID_NAMESPACE, f"feed:{registry.company_name}"))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM}" xml:lang="{lang}">',
        f"  <title>{escape(_feed_title(registry))}</title>",
        f"  <id>{feed_id}</id>",
        f"  <updated>{_stamp(newest)}</updated>",
        f'  <link rel="self" type="application/atom+xml" href="{FEED_FILE}"/>',
        f'  <link rel="alternate" type="text/html" href="{changes}"/>',
        f"  <author><name>{escape(registry.company_name)}</name></author>",
    ]
    for view, v in zip(_change_views(history, registry, lang), reversed(history.versions), strict=True):
        title = (cat.format("feed.entry_title_first", version=view.version) if v.first
                 else cat.format("feed.entry_title", version=view.version, count=len(v.changes)))
        dates = (f"{cat['changes.effective']}: {v.effective.isoformat()}. "
                 f"{cat['changes.objection_deadline']}: {v.objection_deadline.isoformat()}."
                 if v.effective and v.objection_deadline else
                 f"{cat['changes.published']}: {v.published.isoformat()}. {cat['changes.effective']}: "
                 f"{cat['changes.not_set']}.")
        lines = view.changes or ((cat["changes.first"],) if v.first else (cat["changes.none"],))
        out += [
            "  <entry>",
            f"    <title>{escape(title)}</title>",
            f"    <id>urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'release:{v.registry.release}')}</id>",
            f"    <published>{_stamp(v.published)}</published>",
            f"    <updated>{_stamp(v.published)}</updated>",
            f'    <link rel="alternate" type="text/html" href="{changes}#{view.anchor}"/>',
            *(f'    <category term="{kind}"/>' for kind in dict.fromkeys(c.kind for c in v.changes)),
            f"    <summary>{escape(dates)}</summary>",
            '    <content type="xhtml">',
            f'      <div xmlns="{XHTML}">',
            f"        <p>{escape(dates)}</p>",
            "        <ul>",
            *(f"          <li>{escape(line)}</li>" for line in lines),
            "        </ul>",
            "      </div>",
            "    </content>",
            "  </entry>",
        ]
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode("utf-8")


def build_site(registry: Registry, history: History) -> dict[str, bytes]:
    """Every file of the site by its relative path, in a stable order."""
    version = history.version_of(registry)
    files: dict[str, bytes] = {}
    for lang in registry.languages:
        files[list_page(registry, lang)] = render_list(registry, version, lang).encode("utf-8")
        files[changes_page(registry, lang)] = render_changes(registry, history, lang).encode("utf-8")
    files[DATA_FILE] = (json.dumps(site_data(registry, version), ensure_ascii=False, indent=2) + "\n").encode()
    files[FEED_FILE] = render_feed(registry, history)
    files[STYLESHEET] = (SITE_DIR / STYLESHEET).read_bytes()
    for name in FONTS:
        files[f"fonts/{name}"] = (TEMPLATES_DIR / "fonts" / name).read_bytes()
    return files
