"""The document view: an Annex plus its language's fixed texts, as the renderers read them.

Both renderers (HTML/PDF and DOCX) take this one view, so they print the same words in the
same order. Values are plain strings; escaping is the renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from annex_gen.cldr import country_name, text_date
from annex_gen.inputs.contract import business_id_kind
from annex_gen.model import Annex, AnnexEntry, AnnexParty, AnnexSection
from annex_gen.model.annex import DRAFT
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
    transfer: str | None = None
    registered_outside_eea: bool = False


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
    transfers: str = ""
    details: tuple[str, ...] = ()  # registered address and data-protection contact, where known


@dataclass(frozen=True)
class AnnexView(PageView):
    """Everything an annex renderer prints, in print order."""

    sections: tuple[SectionView, ...]
    summary: dict
    notice: dict
    register: dict
    signatures: dict | None  # None: a replacement issued by a notice takes effect without signature
    authorisation: tuple[str, ...] = ()
    transfer_clause: dict | None = None  # the region's own law on transfers out of it
    # a draft (registry content legal has not approved): the mark on every page, and the statement
    # printed instead of the signature block; None for a final annex
    draft: dict | None = None


def entry_view(cat: Catalog, e: AnnexEntry, option_names: dict[str, str]) -> EntryView:
    """The printed form of one entry."""
    gated = cat.format("table.option_gated", option=option_names.get(e.option, e.option)) if e.option else None
    transfer = cat.format("transfer_basis", basis=e.transfer) if e.transfer else None
    return EntryView(e.name, e.legal_id or cat["meta.none"], e.location, e.outside_eea, e.purpose,
                     e.purpose_items, gated, transfer, e.registered_outside_eea)


def section_view(cat: Catalog, s: AnnexSection, option_names: dict[str, str], mta_title: str | None) -> SectionView:
    """The printed form of one section."""
    rule = None
    if s.uses_shared_mta and mta_title:
        one = s.kind == "product" and len(s.products) == 1
        rule = cat.format("section.uses_shared_mta" if one else "section.uses_shared_mta_plural", title=mta_title)
    return SectionView(s.id, s.title, s.note, rule, tuple(entry_view(cat, e, option_names) for e in s.entries))


def _parts(location: str) -> set[str]:
    return {part.strip() for part in location.replace(" / ", ",").split(",")}


def merged_locations(locations: tuple[str, ...]) -> str:
    """The locations, leaving out one whose every part another names ('Suomi' beside 'Suomi / EU')."""
    kept = [loc for loc in locations
            if not any(other != loc and _parts(loc) < _parts(other) for other in locations)]
    return ", ".join(kept)


def quoted_list(titles: list[str], language: str) -> str:
    """“A”, “B” and “C”: the section titles in the language's quotation marks and list form."""
    from annex_gen.cldr import format_list

    quote = "”{}”" if language == "fi" else "“{}”"
    return format_list([quote.format(t) for t in titles], language)


def party_details(cat: Catalog, p: AnnexParty) -> tuple[str, ...]:
    """The summary's lines under an entity: legal name (a brand's contracting entity), registration, address,
    contact; only what the registry records, never a placeholder."""
    lines = []
    if p.brand:
        lines.append(cat.format("summary.contracting_entity", value=p.legal_name) if p.legal_name
                     else cat["summary.brand_open"])
    elif p.legal_name and p.legal_name != p.name:
        lines.append(cat.format("summary.legal_name", value=p.legal_name))
    lines += [cat.format(f"summary.{key}", value=value)
              for key, value in (("registration", p.registration), ("address", p.address),
                                 ("privacy_contact", p.privacy_contact)) if value]
    return tuple(lines)


def build_view(annex: Annex) -> AnnexView:
    """The view of one annex in its own language."""
    cat = load_catalogs()[annex.language]
    option_names = dict(annex.option_names)
    none = cat["meta.none"]
    enabled = [option_names.get(oid, oid) for oid, on in annex.options.items() if on]
    business_id = none
    if annex.business_id:
        kind = cat[f"business_id_kinds.{business_id_kind(annex.business_id)}"]
        business_id = f"{annex.business_id} ({kind})"
    meta = [
        Row(cat["meta.customer"], annex.customer_name),
        Row(cat["meta.business_id"], business_id),
        Row(cat["meta.reference"], annex.reference or none),
        Row(cat["meta.date"], annex.date.isoformat()),
        Row(cat["meta.region"], annex.region_name),
        Row(cat["meta.products"], ", ".join(name for _, name in annex.products)),
        Row(cat["meta.options"], ", ".join(enabled) if enabled else none),
        Row(cat["meta.registry_version"], annex.registry_version),
        Row(cat["meta.source"], cat.format("meta.source_value_address" if annex.list_address else "meta.source_value",
                                           list_title=annex.list_title, address=annex.list_address or "",
                                           release=annex.list_release or annex.registry_version.split("+")[0],
                                           retrieved=annex.list_retrieved.isoformat())),
        Row(cat["meta.document_id"], annex.document_id),
    ]
    if annex.replaces:
        meta.append(Row(cat["meta.replaces"], annex.replaces))
    mta_title = next((s.title for s in annex.sections if s.kind == "shared_mta"), None)
    labels = cat.group("table")
    parties = tuple(
        PartyView(
            p.name,
            p.legal_id or none,
            country_name(p.country, annex.language),  # unknown: an empty cell, never a placeholder
            merged_locations(p.locations),
            p.outside_eea,
            "; ".join(p.transfers),
            party_details(cat, p),
        )
        for p in annex.subprocessors
    )
    any_outside = any(p.outside_eea for p in parties)
    page_label, page_of = page_parts(cat)
    ctx = {"company": annex.company_name, "customer": annex.customer_name}
    title = annex.annex_title or cat["document.title"]
    register_title = cat.format("register.title", **ctx)
    authorisation = [
        cat.format("authorisation.general", sections=quoted_list([s.title for s in annex.sections], annex.language),
                   procedure=cat["notice.title"], **ctx),
        cat.format("authorisation.obligations", **ctx),
        cat.format("authorisation.register", register=register_title, **ctx),
    ]
    if annex.replaces:
        authorisation.append(cat.format("replaces_by_notice" if annex.issued_by_notice else "replaces",
                                        document_id=annex.replaces, procedure=cat["notice.title"],
                                        date=text_date(annex.date, annex.language)))
    notice = [cat.format("notice.changes", company=annex.company_name, channels=annex.notice_channels,
                         days=annex.notice_period_days)]
    if annex.objection_address:  # schema 3: the objection period ends before the change takes effect
        notice.append(cat.format("notice.objection", company=annex.company_name, objection=annex.objection_manner,
                                 address=annex.objection_address, objection_days=annex.objection_period_days,
                                 resolution_days=annex.objection_resolution_days))
    if annex.objection_unresolved:
        notice.append(annex.objection_unresolved)
    return AnnexView(
        language=annex.language,
        title=title,
        pdf_title=cat.format("document.pdf_title", title=title, customer=annex.customer_name),
        subject=cat.format("document.subject", **ctx),
        company=annex.company_name,
        date=annex.date.isoformat(),
        document_id=annex.document_id,
        footer_id=cat.format("document.footer_document_id", document_id=annex.document_id),
        page_label=page_label,
        page_of=page_of,
        meta=tuple(meta),
        intro=cat.format("intro", **ctx),
        authorisation=tuple(authorisation),
        labels=labels,
        sections=tuple(section_view(cat, s, option_names, mta_title) for s in annex.sections),
        summary={
            "title": cat["summary.title"],
            "intro": cat.format("summary.intro", count=len(parties)),
            "parties": parties,
            "footnote": cat["summary.outside_eea_note"] if any_outside else cat["summary.none_outside"],
        },
        notice={"title": cat["notice.title"], "paragraphs": tuple(notice)},
        transfer_clause={"title": cat.format("transfer_clause.title", region=annex.region_name),
                         "text": annex.transfer_clause} if annex.transfer_clause else None,
        register={
            "title": register_title,
            "intro": cat.format("register.intro", list_title=annex.customer_register.title, **ctx),
            "note": annex.customer_register.note,
            "entries": tuple(entry_view(cat, e, option_names) for e in annex.customer_register.entries),
        },
        draft=({"banner": cat["draft.banner"], "statement": cat["draft.statement"]}
               if annex.status == DRAFT else None),
        signatures=None if annex.issued_by_notice else {
            "title": cat["signatures.title"],
            "parties": (cat.format("signatures.customer", **ctx), cat.format("signatures.supplier", **ctx)),
            "signature": cat["signatures.signature"],
            "name": cat["signatures.name"],
            "place_date": cat["signatures.place_date"],
        },
    )
