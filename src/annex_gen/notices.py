"""Change notices: for every customer a registry change reaches, a notice and the new annex.

The notice lists, in the customer's language, the sub-processors added, removed and changed
for that customer, the date the change takes effect, and by when and how the customer may
object. It is rendered like the annex (the same CSS, running header and footer, and DOCX
styles), and the new annex is written beside it. A summary CSV serves a mail merge.

Dates: the effective date is the notice date plus the notice period, or a later date asked
for; the objection deadline is the notice date plus the objection period. The periods are
the longer of the old and the new registry's (the terms in force when the notice is sent
are the old ones; a new registry must not shorten them for this notice). The manner of
objecting is the old registry's, the terms the customer agreed to.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import Catalog, load_catalogs
from .diff import CustomerImpact, ImpactReport, RowChange
from .errors import AnnexGenError, UsageError
from .model import Registry
from .resolve import document_id, resolve
from .view import PageView, Row, SectionView, entry_view, page_parts
from .write import write_atomic

SUMMARY_NAME = "notices.csv"
SUMMARY_COLUMNS = (
    "customer_id", "customer_name", "language", "contact_email", "notice_date", "effective_date",
    "objection_deadline", "notice_id", "annex_document_id", "added", "removed", "changed",
    "notice_pdf", "notice_docx", "annex_pdf", "annex_docx",
)


class NoticeDateError(UsageError):
    """The notice date leaves less than the notice period before the effective date asked for."""


@dataclass(frozen=True)
class NoticeDates:
    """When a change notice is sent, when the change takes effect and the deadline to object."""

    notice_date: dt.date
    effective_date: dt.date
    objection_deadline: dt.date
    period_days: int
    objection_days: int


def notice_dates(old: Registry, new: Registry, notice_date: dt.date,
                 effective_date: dt.date | None = None) -> NoticeDates:
    """The dates of a notice sent on notice_date; raise NoticeDateError if effective_date is too early."""
    period = max(old.notice.period_days, new.notice.period_days)
    objection_days = max(old.notice.objection_days, new.notice.objection_days)
    earliest = notice_date + dt.timedelta(days=period)
    if effective_date is not None and effective_date < earliest:
        left = (effective_date - notice_date).days
        raise NoticeDateError(
            f"a notice sent on {notice_date} leaves {left} day(s) before the effective date "
            f"{effective_date}, but the registry's notice period is {period} days: send the notice by "
            f"{effective_date - dt.timedelta(days=period)} or let the change take effect on {earliest} "
            "or later"
        )
    return NoticeDates(notice_date, max(earliest, effective_date or earliest),
                       notice_date + dt.timedelta(days=objection_days), period, objection_days)


@dataclass(frozen=True)
class Notice:
    """The change notice of one customer: the single source its PDF and DOCX render."""

    notice_id: str
    impact: CustomerImpact
    dates: NoticeDates
    company_name: str
    objection_manner: str
    registry_version: str

    @property
    def annex_document_id(self) -> str:
        """The document ID of the new annex sent with the notice."""
        assert self.impact.new_annex is not None
        return self.impact.new_annex.document_id

    def to_dict(self) -> dict[str, Any]:
        """JSON form, embedded in the PDF as notice.json."""
        return _content(self.impact, self.dates, self.company_name, self.objection_manner,
                        self.registry_version) | {"notice_id": self.notice_id}


def _content(impact: CustomerImpact, dates: NoticeDates, company: str, manner: str, version: str) -> dict:
    contract = impact.contract
    assert contract is not None and impact.new_annex is not None
    return {
        "schema": "annex-gen/notice/1",
        "customer": {"id": contract.customer_id, "name": contract.customer_name,
                     "business_id": contract.business_id, "contact_email": contract.contact_email},
        "contract": {"reference": contract.reference},
        "language": contract.language,
        "company": company,
        "notice_date": dates.notice_date.isoformat(),
        "effective_date": dates.effective_date.isoformat(),
        "objection_deadline": dates.objection_deadline.isoformat(),
        "notice_period_days": dates.period_days,
        "objection_period_days": dates.objection_days,
        "objection_manner": manner,
        "registry_version": version,
        "annex_document_id": impact.new_annex.document_id,
        "changes": impact.annex.to_dict(),
    }


def build_notice(report: ImpactReport, impact: CustomerImpact, dates: NoticeDates) -> Notice:
    """The notice of one affected customer."""
    lang = impact.language
    manner = report.old.notice.objection.get(lang) or report.new.notice.objection[lang]
    content = _content(impact, dates, report.new.company_name, manner, report.new.version)
    notice_id = "NTC-" + document_id(content).removeprefix("ANX-")  # the annex's ID scheme
    return Notice(notice_id, impact, dates, report.new.company_name, manner, report.new.version)


# The view: what the HTML and DOCX renderers print, in print order.


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
        return cat.get(f"countries.{value}", value)
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
        elif key in ("notice_period_days", "objection_period_days", "notice_channels", "objection_manner"):
            line = cat["change_notice.other.terms"]
        elif key in ("options", "option_names"):
            line = cat["change_notice.other.options"]
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
    effective = dates.effective_date.isoformat()
    meta = (
        Row(cat["change_notice.meta.customer"], contract.customer_name),
        Row(cat["change_notice.meta.business_id"], contract.business_id or none),
        Row(cat["change_notice.meta.reference"], contract.reference or none),
        Row(cat["change_notice.meta.notice_date"], dates.notice_date.isoformat()),
        Row(cat["change_notice.meta.effective_date"], effective),
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
                   "text": cat.format("change_notice.objection", objection=notice.objection_manner,
                                      deadline=dates.objection_deadline.isoformat(),
                                      days=dates.objection_days, company=notice.company_name)},
        annex={"title": cat["change_notice.annex_title"],
               "text": cat.format("change_notice.annex", effective_date=effective,
                                  document_id=annex.document_id)},
    )


def render_notice_html(notice: Notice) -> str:
    """The notice as the HTML document that goes to WeasyPrint."""
    from .render_html import environment

    return environment().get_template("notice.html.j2").render(doc=notice_view(notice))


def notice_json_bytes(notice: Notice) -> bytes:
    """The machine-readable notice."""
    return (json.dumps(notice.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_notice_pdf(notice: Notice) -> bytes:
    """The notice as a PDF/A-3b with notice.json embedded, like the annex."""
    from .render_pdf import html_to_pdf

    return html_to_pdf(render_notice_html(notice), date=notice.dates.notice_date,
                       attachments={"notice.json": notice_json_bytes(notice)})


def render_notice_docx(notice: Notice) -> bytes:
    """The notice as DOCX, with the annex's look; notice.json is kept as custom XML."""
    from . import render_docx as rd

    view = notice_view(notice)
    doc = rd.new_document(view)
    rd.heading(doc, view.title, 0)
    rd.meta_table(doc, view.meta)
    doc.add_paragraph(view.intro)
    for part in view.parts:
        rd.heading(doc, part["title"])
        rd.note(doc, part["intro"])
        for sec in part["sections"]:
            rd.heading(doc, sec.title, 2)
            rd.entries_table(doc, sec.entries, view.labels)
    if view.changed:
        rd.heading(doc, view.changed["title"])
        rd.note(doc, view.changed["intro"])
        rd.table(doc, [view.labels["company"], view.changed["service"], view.changed["change"]],
                 [[f"{r.name}\n{r.legal_id}", r.section, "\n".join(r.lines)] for r in view.changed["rows"]],
                 [48, 40, 86])
    if view.other:
        rd.heading(doc, view.other["title"])
        for line in view.other["lines"]:
            doc.add_paragraph(f"• {line}")
    rd.heading(doc, view.objection["title"])
    doc.add_paragraph(view.objection["text"])
    rd.heading(doc, view.annex["title"])
    doc.add_paragraph(view.annex["text"])
    return rd.finish(doc, view, notice.dates.notice_date, notice_json_bytes(notice), root="notice")


# Writing


@dataclass(frozen=True)
class WrittenNotice:
    """One customer's notice and new annex, as written."""

    notice: Notice
    files: dict[str, Path]

    @property
    def customer_id(self) -> str:
        """Whose notice it is."""
        return self.notice.impact.customer_id


@dataclass
class NoticesResult:
    """The notices written, the customers that failed, and the summary CSV."""

    written: list[WrittenNotice] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    nothing_to_notify: list[str] = field(default_factory=list)
    summary_csv: Path | None = None


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (a leading =, +, -, @ gets a quote)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_csv(written: list[WrittenNotice], out_dir: Path) -> bytes:
    """The mail-merge CSV (UTF-8 with a byte order mark, so spreadsheets read it as UTF-8)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(SUMMARY_COLUMNS)
    for w in written:
        n, c = w.notice, w.notice.impact.contract
        assert c is not None
        rel = {k: p.relative_to(out_dir).as_posix() for k, p in w.files.items()}
        writer.writerow([
            c.customer_id, spreadsheet_safe(c.customer_name), c.language, c.contact_email or "", n.dates.notice_date,
            n.dates.effective_date, n.dates.objection_deadline, n.notice_id, n.annex_document_id,
            len(n.impact.annex.of_kind("added")), len(n.impact.annex.of_kind("removed")),
            len(n.impact.annex.of_kind("changed")),
            *(rel.get(k, "") for k in ("notice_pdf", "notice_docx", "annex_pdf", "annex_docx")),
        ])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _write_notice(notice: Notice, out_dir: Path, registry: Registry) -> tuple:
    """Write one notice and its new annex; ('ok', {kind: path}) or ('failed', reason)."""
    from .generate import generate

    impact = notice.impact
    assert impact.contract is not None
    try:
        files = {}
        for fmt, render in (("pdf", render_notice_pdf), ("docx", render_notice_docx)):
            path = out_dir / impact.customer_id / f"{notice.notice_id}.{fmt}"
            write_atomic(path, render(notice))
            files[f"notice_{fmt}"] = path
        annex = generate(registry, impact.contract, out_dir, ("pdf", "docx"), annex=impact.new_annex)
        files.update({f"annex_{fmt}": path for fmt, path in annex.files.items()})
    except AnnexGenError as exc:
        return ("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken notice must not stop the others
        return ("failed", f"internal error: {type(exc).__name__}: {exc}")
    return ("ok", files)


def dated_from(impact: CustomerImpact, registry: Registry, effective: dt.date) -> CustomerImpact:
    """The impact with its new annex dated the day the change takes effect, not the old contract date."""
    assert impact.contract is not None
    contract = dataclasses.replace(impact.contract, date=effective)
    return dataclasses.replace(impact, contract=contract, new_annex=resolve(registry, contract))


def write_notices(report: ImpactReport, out_dir: Path, *, notice_date: dt.date,
                  effective_date: dt.date | None = None, jobs: int | None = None) -> NoticesResult:
    """Write OUT/<customer>/<notice-id>.{pdf,docx}, the new annex beside it, and OUT/notices.csv.

    Notices are rendered in worker processes like a batch; the summary CSV is written last,
    so an interrupted run leaves none (run it again: the files are named by content).
    """
    from .batch import run_in_workers

    dates = notice_dates(report.old, report.new, notice_date, effective_date)
    result = NoticesResult()
    notices: list[Notice] = []
    for impact in report.with_status("affected"):
        if impact.annex:
            notices.append(build_notice(report, dated_from(impact, report.new, dates.effective_date), dates))
        else:  # only ids changed, nothing the customer reads
            result.nothing_to_notify.append(impact.customer_id)
    outcomes: dict[int, tuple] = {}
    run_in_workers(_write_notice, report.new, notices, out_dir, jobs,
                   lambda index, outcome: outcomes.__setitem__(index, outcome))
    for index, notice in enumerate(notices):
        status, value = outcomes[index]
        if status == "ok":
            result.written.append(WrittenNotice(notice, value))
        else:
            result.failed.append((notice.impact.customer_id, value))
    result.summary_csv = out_dir / SUMMARY_NAME
    write_atomic(result.summary_csv, summary_csv(result.written, out_dir))
    return result
