"""Change notices: for every customer a registry change reaches, a notice and the new annex.

The notice lists, in the customer's language, the sub-processors added, removed and changed
for that customer, the date the change takes effect, and by when and how the customer may
object. It is rendered like the annex (the same CSS, running header and footer, and DOCX
styles), and the new annex is written beside it. A summary CSV serves a mail merge.

Dates: the effective date is a later date asked for, else the new registry's own effective
date, else the notice date plus the notice period; it is never earlier than the notice date
plus the notice period, nor than the objection period plus the time left to resolve an
objection. The objection deadline is `resolution_days` before the effective date (and never
earlier than the objection period after the notice), so an objection can be resolved before
the change. The periods are the longer of the old and the new registry's (the terms in force
when the notice is sent are the old ones; a new registry must not shorten them for this
notice). The manner of objecting, where to send an objection and what an unresolved one leads
to are the old registry's, the terms the customer agreed to, where it states them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from annex_gen.changes.impact import CustomerImpact, ImpactReport
from annex_gen.errors import AnnexGenError, NoticeDateError
from annex_gen.model import Contract, Registry
from annex_gen.output.write import write_atomic
from annex_gen.render import DEFAULT_ENGINE, DOCUMENT_FORMATS, render
from annex_gen.resolve import document_id, next_annex, resolve, resolve_replacement

SUMMARY_NAME = "notices.csv"
SUMMARY_COLUMNS = (
    "customer_id", "customer_name", "language", "contact_email", "notice_date", "effective_date",
    "objection_deadline", "notice_id", "annex_document_id", "added", "removed", "changed",
    "notice_pdf", "notice_docx", "annex_pdf", "annex_docx",
)


@dataclass(frozen=True)
class NoticeDates:
    """When a change notice is sent, when the change takes effect and the deadline to object."""

    notice_date: dt.date
    effective_date: dt.date
    objection_deadline: dt.date
    period_days: int
    objection_days: int
    resolution_days: int = 0  # the objection period ends this many days before the effective date


def notice_dates(old: Registry, new: Registry, notice_date: dt.date,
                 effective_date: dt.date | None = None) -> NoticeDates:
    """The dates of a notice sent on notice_date; raise NoticeDateError if the effective date is too early.

    effective_date: the date asked for; without it, the new registry's effective date, if it holds one.
    """
    objection_days = max(old.notice.objection_days, new.notice.objection_days)
    resolution = max(old.notice.resolution_days, new.notice.resolution_days)
    period = max(old.notice.period_days, new.notice.period_days, objection_days + resolution)
    earliest = notice_date + dt.timedelta(days=period)
    wanted = effective_date or new.effective
    if wanted is not None and wanted < earliest:
        # the web's form offers the release's own date: given back, it is still legal's or registry.yaml's
        given = "asked" if wanted != new.effective else "approved" if new.effective_approved else "registry"
        raise NoticeDateError(notice_date=notice_date, effective_date=wanted, period_days=period, given=given)
    effective = max(earliest, wanted or earliest)
    deadline = max(effective - dt.timedelta(days=resolution), notice_date + dt.timedelta(days=objection_days))
    return NoticeDates(notice_date, effective, deadline, period, objection_days, resolution)


def contract_dates(contract: Contract | None, dates: NoticeDates, effective_date: dt.date | None) -> NoticeDates:
    """The dates for one customer: a contract with its own notice period or objection window follows its own."""
    terms = contract.terms if contract is not None else None
    if terms is None or not (terms.notice_period_days or terms.objection_days):
        return dates
    period = terms.notice_period_days or dates.period_days
    objection = terms.objection_days or dates.objection_days
    earliest = dates.notice_date + dt.timedelta(days=period)
    return NoticeDates(dates.notice_date, max(earliest, effective_date or earliest),
                       dates.notice_date + dt.timedelta(days=objection), period, objection)


@dataclass(frozen=True)
class Notice:
    """The change notice of one customer: the single source its PDF and DOCX render."""

    ATTACHMENT: ClassVar[str] = "notice.json"

    notice_id: str
    impact: CustomerImpact
    dates: NoticeDates
    company_name: str
    objection_manner: str
    registry_version: str
    objection_address: str = ""
    objection_unresolved: str = ""

    @property
    def annex_document_id(self) -> str:
        """The document ID of the new annex sent with the notice."""
        assert self.impact.new_annex is not None
        return self.impact.new_annex.document_id

    @property
    def issued(self) -> dt.date:
        """The date the notice is dated: the day it is sent."""
        return self.dates.notice_date

    def to_dict(self) -> dict[str, Any]:
        """JSON form, embedded in the PDF as notice.json."""
        return _content(self.impact, self.dates, self.company_name, self.objection_manner,
                        self.registry_version, self.objection_address, self.objection_unresolved) \
            | {"notice_id": self.notice_id}

    def to_json_bytes(self) -> bytes:
        """The machine-readable notice, as the PDF and DOCX embed it."""
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _content(impact: CustomerImpact, dates: NoticeDates, company: str, manner: str, version: str,
             address: str, unresolved: str) -> dict:
    contract = impact.contract
    assert contract is not None and impact.new_annex is not None
    return {
        "schema": "annex-gen/notice/2",
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
        "objection_resolution_days": dates.resolution_days,
        "objection_manner": manner,
        "objection_address": address,
        "objection_unresolved": unresolved,
        "registry_version": version,
        "annex_document_id": impact.new_annex.document_id,
        "changes": impact.annex.to_dict(),
    }


def build_notice(report: ImpactReport, impact: CustomerImpact, dates: NoticeDates) -> Notice:
    """The notice of one affected customer."""
    lang = impact.language
    old, new = report.old.notice, report.new.notice
    manner = old.objection.get(lang) or new.objection[lang]
    address = (old.address or new.address)
    unresolved = (old.unresolved or new.unresolved)
    address_text = address.text[lang] if address else ""
    unresolved_text = unresolved.text[lang].format(company=report.new.company_name) if unresolved else ""
    content = _content(impact, dates, report.new.company_name, manner, report.new.version, address_text,
                       unresolved_text)
    notice_id = "NTC-" + document_id(content).removeprefix("ANX-")  # the annex's ID scheme
    return Notice(notice_id, impact, dates, report.new.company_name, manner, report.new.version,
                  address_text, unresolved_text)


# A notice as data: what a worker of a team's queue renders it from


def notice_payload(notice: Notice) -> str:
    """The notice as JSON: everything its PDF, DOCX, enclosed annex and summary row are made of."""
    impact, contract, annex = notice.impact, notice.impact.contract, notice.impact.new_annex
    assert contract is not None and annex is not None
    d = notice.dates
    return json.dumps({
        "notice_id": notice.notice_id, "company_name": notice.company_name,
        "objection_manner": notice.objection_manner, "registry_version": notice.registry_version,
        "objection_address": notice.objection_address, "objection_unresolved": notice.objection_unresolved,
        "dates": {"notice_date": d.notice_date.isoformat(), "effective_date": d.effective_date.isoformat(),
                  "objection_deadline": d.objection_deadline.isoformat(), "period_days": d.period_days,
                  "objection_days": d.objection_days, "resolution_days": d.resolution_days},
        "impact": {"customer_id": impact.customer_id, "source": impact.source, "status": impact.status,
                   "customer_name": impact.customer_name, "language": impact.language,
                   "changes": list(impact.changes),
                   "rows": [r.to_dict() for r in impact.annex.rows],
                   "other": [o.to_dict() for o in impact.annex.other]},
        "contract": {"customer_id": contract.customer_id, "customer_name": contract.customer_name,
                     "date": contract.date.isoformat(), "region": contract.region, "language": contract.language,
                     "products": list(contract.products), "business_id": contract.business_id,
                     "contact_email": contract.contact_email, "reference": contract.reference,
                     "source": contract.source, "replaces": contract.replaces, "by_notice": contract.by_notice},
        "annex": annex.to_dict(), "customer_register_id": annex.customer_register.id,
    }, ensure_ascii=False, sort_keys=True)


def notice_of(payload: str) -> Notice:
    """The notice a payload carries (notice_payload's inverse, as far as rendering and the summary read it)."""
    from annex_gen.changes.annex_diff import AnnexDiff, OtherChange, RowChange
    from annex_gen.model import Annex, AnnexEntry

    data = json.loads(payload)
    d, i, c = data["dates"], data["impact"], data["contract"]
    rows = tuple(RowChange(r["kind"], r["subprocessor"], r["section"], r["section_title"],
                           AnnexEntry.from_dict(r["old"]) if r["old"] else None,
                           AnnexEntry.from_dict(r["new"]) if r["new"] else None,
                           r["old_section_title"], tuple(r["fields"])) for r in i["rows"])
    other = tuple(OtherChange(o["key"], o["old"], o["new"]) for o in i["other"])
    contract = Contract(c["customer_id"], c["customer_name"], dt.date.fromisoformat(c["date"]), c["region"],
                        c["language"], tuple(c["products"]), business_id=c["business_id"],
                        contact_email=c["contact_email"], reference=c["reference"], source=c["source"],
                        replaces=c["replaces"], by_notice=c["by_notice"])
    impact = CustomerImpact(i["customer_id"], i["source"], i["status"], i["customer_name"], i["language"],
                            tuple(i["changes"]), AnnexDiff(rows, other), contract=contract,
                            new_annex=Annex.from_dict(data["annex"], customer_register_id=data["customer_register_id"]))
    dates = NoticeDates(dt.date.fromisoformat(d["notice_date"]), dt.date.fromisoformat(d["effective_date"]),
                        dt.date.fromisoformat(d["objection_deadline"]), d["period_days"], d["objection_days"],
                        d["resolution_days"])
    return Notice(data["notice_id"], impact, dates, data["company_name"], data["objection_manner"],
                  data["registry_version"], data["objection_address"], data["objection_unresolved"])


def render_notice(notice: Notice, engine: str) -> list[tuple[str, str, bytes]]:
    """The notice's four files: (kind, path relative to the notices folder, bytes), the enclosed annex last."""
    annex = notice.impact.new_annex
    assert annex is not None
    cid = notice.impact.customer_id
    files = [(f"notice_{fmt}", f"{cid}/{notice.notice_id}.{fmt}", render(notice, fmt, engine))
             for fmt in DOCUMENT_FORMATS]
    return files + [(f"annex_{fmt}", f"{annex.customer_id}/{annex.document_id}.{fmt}", render(annex, fmt, engine))
                    for fmt in DOCUMENT_FORMATS]


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
        # every cell, not only the free-text ones: no value may reach a spreadsheet as a formula
        writer.writerow([spreadsheet_safe(str(cell)) for cell in (
            c.customer_id, c.customer_name, c.language, c.contact_email or "", n.dates.notice_date,
            n.dates.effective_date, n.dates.objection_deadline, n.notice_id, n.annex_document_id,
            len(n.impact.annex.of_kind("added")), len(n.impact.annex.of_kind("removed")),
            len(n.impact.annex.of_kind("changed")),
            *(rel.get(k, "") for k in ("notice_pdf", "notice_docx", "annex_pdf", "annex_docx")),
        )])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _write_notice(job: tuple[Notice, str], out_dir: Path, registry: Registry) -> tuple:
    """Write one notice and its new annex with a PDF engine; ('ok', {kind: path}) or ('failed', reason)."""
    notice, engine = job
    impact = notice.impact
    assert impact.contract is not None
    try:
        if impact.new_annex is None:
            notice = dataclasses.replace(notice, impact=dataclasses.replace(
                impact, new_annex=resolve(registry, impact.contract)))
        # Render all four files before writing any, so a failure leaves no notice without its annex.
        files = {}
        for kind, rel, data in render_notice(notice, engine):
            write_atomic(out_dir / rel, data)
            files[kind] = out_dir / rel
    except AnnexGenError as exc:
        return ("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken notice must not stop the others
        return ("failed", f"internal error: {type(exc).__name__}: {exc}")
    return ("ok", files)


def dated_from(impact: CustomerImpact, registry: Registry, effective: dt.date,
               old: Registry | None = None) -> CustomerImpact:
    """The impact with its new annex dated the day the change takes effect, replacing the annex in force
    (the old annex as the old registry, with its own status, makes it)."""
    assert impact.contract is not None
    # the old annex is resolved from the old registry and the same contract: the same inputs always
    # name the same replaced document ID, so the new annex stays deterministic
    replaces = impact.old_annex.document_id if impact.old_annex else impact.contract.replaces
    if impact.old_annex is not None and old is not None and old.status != impact.old_annex.status:
        replaces = resolve(old, impact.contract).document_id  # a draft change replaces the final annex in force
    if replaces is None:
        contract = dataclasses.replace(impact.contract, date=effective)
        return dataclasses.replace(impact, contract=contract, new_annex=resolve(registry, contract))
    annex = resolve_replacement(registry, impact.contract, replaces, effective)
    contract = dataclasses.replace(impact.contract, date=effective, replaces=replaces, by_notice=True)
    return dataclasses.replace(impact, contract=contract, new_annex=annex)


def as_generated(impact: CustomerImpact, registry: Registry, record: Any,
                 batch_dir: Path | Callable[[str, str], dict | None], dated: bool = True) -> CustomerImpact:
    """The impact with the new annex a batch into batch_dir generates for the contract after the customer's
    last annex (record; resolve.next_annex), or generated already: as the file written says.

    batch_dir may instead be a function (customer id, document ID) -> the `contract` of that generated
    annex's embedded JSON (a team's stored documents). dated: whether the batch dates an unchanged
    contract's replacement as its notice does (next_annex's same_contract; a team's batch does not)."""
    assert impact.contract is not None
    contract = impact.contract
    annex = resolve(registry, contract)
    if record is not None and record.content_hash == annex.content_hash() and record.document_id != annex.document_id:
        written = (batch_dir(impact.customer_id, record.document_id) if callable(batch_dir) else
                   _contract_in(batch_dir / impact.customer_id / f"{record.document_id}.pdf"))
        if written and written.get("replaces"):
            try:
                date = dt.date.fromisoformat(str(written.get("date")))
            except ValueError:
                date = contract.date
            annex = resolve(registry, dataclasses.replace(contract, date=date, replaces=str(written["replaces"]),
                                                          by_notice=bool(written.get("issued_by_notice"))))
    else:
        annex = next_annex(registry, contract, annex, record, same_contract=dated)
    return dataclasses.replace(impact, new_annex=annex)


def _contract_in(pdf_path: Path) -> dict | None:
    """The `contract` of the annex embedded in a generated PDF, or None."""
    try:
        data = pdf_path.read_bytes()
    except OSError:
        return None
    return contract_in_pdf(data, str(pdf_path))


def contract_in_pdf(data: bytes, label: str) -> dict | None:
    """The `contract` (reference, date, replaces, issued_by_notice) of the annex embedded in a generated
    PDF's bytes, or None."""
    from annex_gen.archive.pdfinfo import open_pdf, read_annex_json

    try:
        pdf = open_pdf(data, label)
        try:
            annex = read_annex_json(pdf, label)
        finally:
            pdf.close()
    except AnnexGenError:
        return None
    contract = annex.get("contract") if annex else None
    return contract if isinstance(contract, dict) else None


def plan_notices(report: ImpactReport, *, notice_date: dt.date, effective_date: dt.date | None = None,
                 records: Mapping[str, Any] | None = None,
                 batch_dir: Path | Callable[[str, str], dict | None] | None = None,
                 dated: bool = True) -> tuple[list[Notice], list[str]]:
    """The notice of every affected customer, and the customers with nothing to notify (only ids changed).

    Without batch_dir the annex enclosed is dated the effective date and names the annex it replaces;
    with it, it is the document a batch generated (records: each customer's latest, by customer id; dated:
    as_generated's).
    Raise NoticeDateError when the effective date is too early."""
    dates = notice_dates(report.old, report.new, notice_date, effective_date)
    notices: list[Notice] = []
    nothing: list[str] = []
    for impact in report.with_status("affected"):
        if impact.annex:
            own = contract_dates(impact.contract, dates, effective_date or report.new.effective)
            if batch_dir is None:
                enclosed = dated_from(impact, report.new, own.effective_date, report.old)
            else:
                enclosed = as_generated(impact, report.new, (records or {}).get(impact.customer_id), batch_dir,
                                        dated)
            notices.append(build_notice(report, enclosed, own))
        else:  # only ids changed, nothing the customer reads
            nothing.append(impact.customer_id)
    return notices, nothing


def write_notices(report: ImpactReport, out_dir: Path, *, notice_date: dt.date,
                  effective_date: dt.date | None = None, jobs: int | None = None,
                  engine: str = DEFAULT_ENGINE, batch_dir: Path | None = None) -> NoticesResult:
    """Write OUT/<customer>/<notice-id>.{pdf,docx}, the new annex beside it, and OUT/notices.csv.

    Notices are rendered in worker processes like a batch; the summary CSV is written last,
    so an interrupted run leaves none (run it again: the files are named by content). The
    annex enclosed is dated the effective date and names the annex it replaces; with batch_dir
    it is instead the very document a batch into batch_dir generated (or will generate).
    """
    from annex_gen.batch.run import run_in_workers

    result = NoticesResult()
    records = None
    if batch_dir is not None:
        from annex_gen.batch.manifest import Manifest

        records = Manifest.load(batch_dir).records
    notices, result.nothing_to_notify = plan_notices(report, notice_date=notice_date, effective_date=effective_date,
                                                     records=records, batch_dir=batch_dir)
    outcomes: dict[int, tuple] = {}
    run_in_workers(_write_notice, report.new, [(n, engine) for n in notices], out_dir, jobs,
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
