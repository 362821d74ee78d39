"""The document view: an Annex plus its language's fixed texts, as the renderers read them.

Both renderers (HTML/PDF and DOCX) take this one view, so they print the same words in the
same order. Values are plain strings; escaping is the renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from annex_gen.model import Annex, AnnexEntry, AnnexSection
from annex_gen.views.catalog import Catalog, load_catalogs
from annex_gen.views.page import PageView, Row, page_parts


@dataclass(frozen=True)
class EntryView:
    """One table row."""

    name: str
    legal_id: str
    location: str
    outside_eea: bool
    purpose: str
    purpose_items: tuple[str, ...]
    gated: str | None


@dataclass(frozen=True)
class SectionView:
    """One table with its heading."""

    id: str
    title: str
    note: str | None
    rule: str | None
    entries: tuple[EntryView, ...]


@dataclass(frozen=True)
class PartyView:
    """One row of the legal-entity summary."""

    name: str
    legal_id: str
    country: str
    locations: str
    outside_eea: bool


@dataclass(frozen=True)
class AnnexView(PageView):
    """Everything an annex renderer prints, in print order."""

    sections: tuple[SectionView, ...]
    summary: dict
    notice: dict
    register: dict
    signatures: dict


def entry_view(cat: Catalog, e: AnnexEntry, option_names: dict[str, str]) -> EntryView:
    """The printed form of one entry."""
    gated = cat.format("table.option_gated", option=option_names.get(e.option, e.option)) if e.option else None
    return EntryView(e.name, e.legal_id or cat["meta.none"], e.location, e.outside_eea, e.purpose,
                     e.purpose_items, gated)


def section_view(cat: Catalog, s: AnnexSection, option_names: dict[str, str], mta_title: str | None) -> SectionView:
    """The printed form of one section."""
    rule = None
    if s.uses_shared_mta and mta_title:
        rule = cat.format("section.uses_shared_mta", title=mta_title)
    return SectionView(s.id, s.title, s.note, rule, tuple(entry_view(cat, e, option_names) for e in s.entries))


def build_view(annex: Annex) -> AnnexView:
    """The view of one annex in its own language."""
    cat = load_catalogs()[annex.language]
    option_names = dict(annex.option_names)
    none = cat["meta.none"]
    enabled = [option_names.get(oid, oid) for oid, on in annex.options.items() if on]
    meta = [
        Row(cat["meta.customer"], annex.customer_name),
        Row(cat["meta.business_id"], annex.business_id or none),
        Row(cat["meta.reference"], annex.reference or none),
        Row(cat["meta.date"], annex.date.isoformat()),
        Row(cat["meta.region"], annex.region_name),
        Row(cat["meta.products"], ", ".join(name for _, name in annex.products)),
        Row(cat["meta.options"], ", ".join(enabled) if enabled else none),
        Row(cat["meta.registry_version"], annex.registry_version),
        Row(cat["meta.source"], cat.format("meta.source_value", list_title=annex.list_title,
                                           retrieved=annex.list_retrieved.isoformat())),
        Row(cat["meta.document_id"], annex.document_id),
    ]
    mta_title = next((s.title for s in annex.sections if s.kind == "shared_mta"), None)
    labels = cat.group("table")
    countries = cat.group("countries")
    parties = tuple(
        PartyView(
            p.name,
            p.legal_id or none,
            countries.get(p.country, p.country) if p.country else cat["summary.country_unknown"],
            ", ".join(p.locations),
            p.outside_eea,
        )
        for p in annex.subprocessors
    )
    any_outside = any(p.outside_eea for p in parties)
    page_label, page_of = page_parts(cat)
    ctx = {"company": annex.company_name, "customer": annex.customer_name}
    return AnnexView(
        language=annex.language,
        title=cat["document.title"],
        subject=cat.format("document.subject", **ctx),
        company=annex.company_name,
        date=annex.date.isoformat(),
        document_id=annex.document_id,
        footer_id=cat.format("document.footer_document_id", document_id=annex.document_id),
        page_label=page_label,
        page_of=page_of,
        meta=tuple(meta),
        intro=cat.format("intro", **ctx),
        labels=labels,
        sections=tuple(section_view(cat, s, option_names, mta_title) for s in annex.sections),
        summary={
            "title": cat["summary.title"],
            "intro": cat.format("summary.intro", count=len(parties)),
            "parties": parties,
            "footnote": cat["summary.outside_eea_note"] if any_outside else cat["summary.none_outside"],
        },
        notice={
            "title": cat["notice.title"],
            "clause": cat.format(
                "notice.clause",
                company=annex.company_name,
                channels=annex.notice_channels,
                days=annex.notice_period_days,
                objection=annex.objection_manner,
                objection_days=annex.objection_period_days,
            ),
        },
        register={
            "title": cat["register.title"],
            "intro": cat["register.intro"],
            "note": annex.customer_register.note,
            "entries": tuple(entry_view(cat, e, option_names) for e in annex.customer_register.entries),
        },
        signatures={
            "title": cat["signatures.title"],
            "parties": (cat.format("signatures.customer", **ctx), cat.format("signatures.supplier", **ctx)),
            "signature": cat["signatures.signature"],
            "name": cat["signatures.name"],
            "place_date": cat["signatures.place_date"],
        },
    )
