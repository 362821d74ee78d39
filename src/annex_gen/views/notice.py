"""The change-notice view: a Notice plus its language's fixed texts, in print order."""

from __future__ import annotations

from dataclasses import dataclass, field

from annex_gen.changes.annex_diff import RowChange
from annex_gen.changes.impact import CustomerImpact
from annex_gen.changes.notices import Notice
from annex_gen.cldr import country_name, text_date
from annex_gen.inputs.contract import business_id_kind
from annex_gen.model.annex import DRAFT
from annex_gen.views.annex import SectionView, entry_view
from annex_gen.views.catalog import Catalog, load_catalogs
from annex_gen.views.page import PageView, Row, page_parts


@dataclass(frozen=True)
class ChangedRowView:
    """A changed sub-processor: who, in which service, and each change as 'field: old → new'."""

    name: str
    legal_id: str
    section: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class NoticeView(PageView):
    """Everything a notice renderer prints, in print order."""

    parts: tuple[dict, ...]
    changed: dict | None
    other: dict | None
    objection: dict
    annex: dict = field(default_factory=dict)
    # the new annex is a draft, so the notice is one: the mark on every page, and the statement
    draft: dict | None = None


def _sections(cat: Catalog, rows: tuple[RowChange, ...],
              option_names: dict[str, str]) -> tuple[SectionView, ...]:
    """Rows grouped under their section's title, in order of first appearance."""
    groups: dict[str, list] = {}
    titles: dict[str, str] = {}
    for row in rows:
        entry = row.new or row.old
        assert entry is not None
        groups.setdefault(row.section, []).append(entry_view(cat, entry, option_names))
        titles[row.section] = row.section_title
    return tuple(SectionView(sid, titles[sid], None, None, tuple(entries)) for sid, entries in groups.items())


def _value(cat: Catalog, row: RowChange, name: str, entry, option_names: dict[str, str]) -> str:
    """One side of a changed field, as the annex prints it."""
    if name == "section":
        return (row.old_section_title if entry is row.old else row.section_title) or ""
    value = getattr(entry, name)
    if value in (None, ""):
        return cat["meta.none"]
    if name == "purpose" and entry.purpose_items:
        return f"{value} ({'; '.join(entry.purpose_items)})"
    if name == "option":
        return option_names.get(value, value)
    if name == "country":
        return country_name(value, cat.language) or value
    if isinstance(value, bool):
        return cat["table.yes"] if value else cat["table.no"]
    return str(value)


def _changed(cat: Catalog, rows: tuple[RowChange, ...],
             option_names: dict[str, str]) -> tuple[ChangedRowView, ...]:
    """Each changed row with its changes as 'field: old → new'."""
    out = []
    for row in rows:
        assert row.old is not None and row.new is not None
        lines = tuple(
            f"{cat[f'change_notice.fields.{name}']}: "
            + cat.format("change_notice.arrow", old=_value(cat, row, name, row.old, option_names),
                         new=_value(cat, row, name, row.new, option_names))
            for name in row.fields
        )
        out.append(ChangedRowView(row.name, row.new.legal_id or cat["meta.none"], row.section_title, lines))
    return tuple(out)


def _other(cat: Catalog, impact: CustomerImpact) -> tuple[str, ...]:
    """One line per other change, named by what it touches."""
    annex = impact.new_annex
    assert annex is not None
    titles = {s.id: s.title for s in (*annex.sections, annex.customer_register)}
    lines: list[str] = []
    for change in impact.annex.other:
        key = change.key
        if key.startswith("sections."):
            _, sid, name = key.split(".", 2)
            label = {"title": "section_title", "note": "section_note"}.get(name, "section_rule")
            line = cat.format(f"change_notice.other.{label}", title=titles.get(sid, sid))
        elif key in ("notice_period_days", "objection_period_days", "notice_channels", "objection_manner",
                     "objection_resolution_days", "objection_address", "objection_unresolved"):
            line = cat["change_notice.other.terms"]
        elif key in ("options", "option_names"):
            line = cat["change_notice.other.options"]
        elif key == "transfer_clause":
            line = cat["change_notice.other.transfer_clause"]
        elif key in ("products", "region_name", "company"):
            line = cat[f"change_notice.other.{key}"]
        else:
            line = cat["change_notice.other.content"]
        if line not in lines:
            lines.append(line)
    return tuple(lines)


def notice_view(notice: Notice) -> NoticeView:
    """The view of one notice in the customer's language."""
    impact, dates = notice.impact, notice.dates
    contract, annex = impact.contract, impact.new_annex
    assert contract is not None and annex is not None
    cat = load_catalogs()[contract.language]
    none = cat["meta.none"]
    option_names = dict(annex.option_names)
    effective = text_date(dates.effective_date, contract.language)  # running text; the meta table keeps ISO
    business_id = none
    if contract.business_id:
        kind = cat[f"business_id_kinds.{business_id_kind(contract.business_id)}"]
        business_id = f"{contract.business_id} ({kind})"
    meta = (
        Row(cat["change_notice.meta.customer"], contract.customer_name),
        Row(cat["change_notice.meta.business_id"], business_id),
        Row(cat["change_notice.meta.reference"], contract.reference or none),
        Row(cat["change_notice.meta.notice_date"], dates.notice_date.isoformat()),
        Row(cat["change_notice.meta.effective_date"], dates.effective_date.isoformat()),
        Row(cat["change_notice.meta.objection_deadline"], dates.objection_deadline.isoformat()),
        Row(cat["change_notice.meta.annex"], annex.document_id),
        Row(cat["change_notice.meta.registry_version"], notice.registry_version),
        Row(cat["change_notice.meta.notice_id"], notice.notice_id),
    )
    parts = tuple(
        {"title": cat[f"change_notice.{kind}_title"],
         "intro": cat.format(f"change_notice.{kind}_intro", effective_date=effective),
         "sections": _sections(cat, impact.annex.of_kind(kind), option_names)}
        for kind in ("added", "removed") if impact.annex.of_kind(kind)
    )
    changed_rows = _changed(cat, impact.annex.of_kind("changed"), option_names)
    other_lines = _other(cat, impact)
    page_label, page_of = page_parts(cat)
    ctx = {"company": notice.company_name, "customer": contract.customer_name}
    return NoticeView(
        language=contract.language,
        title=cat["change_notice.title"],
        pdf_title=cat.format("document.pdf_title", title=cat["change_notice.title"], customer=contract.customer_name),
        subject=cat.format("change_notice.subject", **ctx),
        company=notice.company_name,
        date=dates.notice_date.isoformat(),
        document_id=notice.notice_id,
        footer_id=cat.format("change_notice.footer_notice_id", notice_id=notice.notice_id),
        page_label=page_label,
        page_of=page_of,
        meta=meta,
        intro=cat.format("change_notice.intro", effective_date=effective, days=dates.period_days, **ctx),
        labels=cat.group("table"),
        parts=parts,
        changed={"title": cat["change_notice.changed_title"],
                 "intro": cat.format("change_notice.changed_intro", effective_date=effective),
                 "service": cat["change_notice.service"], "change": cat["change_notice.change"],
                 "rows": changed_rows} if changed_rows else None,
        other={"title": cat["change_notice.other_title"], "lines": other_lines} if other_lines else None,
        objection={"title": cat["change_notice.objection_title"],
                   "paragraphs": tuple(p for p in (
                       cat.format("change_notice.objection" if dates.resolution_days else "change_notice.objection_by",
                                  objection=notice.objection_manner,
                                  address=notice.objection_address or cat["change_notice.no_address"],
                                  deadline=text_date(dates.objection_deadline, contract.language),
                                  effective_date=effective, resolution_days=dates.resolution_days,
                                  days=dates.objection_days, company=notice.company_name),
                       notice.objection_unresolved) if p)},
        annex={"title": cat["change_notice.annex_title"],
               "text": cat.format("change_notice.annex", effective_date=effective,
                                  document_id=annex.document_id)},
        draft=({"banner": cat["change_notice.draft.banner"], "statement": cat["change_notice.draft.statement"]}
               if annex.status == DRAFT else None),
    )
