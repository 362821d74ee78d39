"""The lifecycle's use cases, called by the CLI and the web application alike.

Each takes library values (paths, the archive location, an SMTP URL, dates) and returns reports;
all input is read and checked before the first message is sent or the first event recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annex_gen.archive.index import shown_url
from annex_gen.errors import AnnexGenError, Diagnostic, InvalidInput, UsageError
from annex_gen.lifecycle.events import EventLog, open_event_log
from annex_gen.lifecycle.objections import (
    Objection,
    SentNotice,
    add_objection,
    objections,
    resolve_objection,
    sent_notices,
)
from annex_gen.lifecycle.send import (
    Outgoing,
    SendReport,
    Sent,
    annex_outgoing,
    dated_before,
    enclosed_status,
    missing_email,
    notice_outgoing,
    notice_problems,
    require,
    retry,
    send_all,
)
from annex_gen.lifecycle.smtp import FROM_ENV, smtp_server
from annex_gen.lifecycle.terms import notice_terms
from annex_gen.lifecycle.timeline import State, Step, state, timeline

_ADDRESS = re.compile(r"^[^\s@<>\"(),;:\[\]\\]+@[^\s@<>\"(),;:\[\]\\]+\.[^\s@<>\"(),;:\[\]\\]+$")
NOTICES_CSV = "notices.csv"


def event_log(location: str | Path) -> EventLog:
    """The lifecycle log of the archive at location."""
    return open_event_log(location)


def sender_address(sender: str | None, env: Mapping[str, str] | None = None) -> str:
    """The From address: given, else $ANNEX_GEN_MAIL_FROM; refuse a missing or malformed one."""
    env = os.environ if env is None else env
    sender = (sender or env.get(FROM_ENV) or "").strip()
    if not sender:
        raise UsageError(f"no sender address: pass --from legal@example.com or set {FROM_ENV}",
                         code="lifecycle.no_sender")
    if not _ADDRESS.match(sender):
        raise UsageError(f"{sender!r} is not an e-mail address for the From line", code="lifecycle.bad_sender",
                         params={"value": sender})
    return sender


def is_notices_folder(path: Path) -> bool:
    """Whether path is a folder `annex-gen notices` wrote (it has notices.csv)."""
    return path.is_dir() and (path / NOTICES_CSV).is_file()


def plan_annexes(registry_dir: Path, paths: Sequence[Path], out_dir: Path, formats: Sequence[str], *,
                 engine: str = "weasyprint", log: EventLog | None = None, actor: str = "-",
                 archive: str | Path | None = None) -> list[Outgoing]:
    """The annex message of every contract; writes each annex not yet in out_dir (recorded in the log). The
    annexes are final where the archive holds legal's approval of the registry, else drafts."""
    from annex_gen import app
    from annex_gen.inputs.check import check as check_inputs
    from annex_gen.lifecycle.send import annex_status
    from annex_gen.output.generate import generate, output_path
    from annex_gen.resolve import resolve

    report = check_inputs(registry_dir, list(paths))
    problems = list(report.diagnostics) + [missing_email(c) for c in report.contracts if not c.contact_email]
    require(problems)
    assert report.registry is not None
    registry = app.with_status(report.registry, archive)
    outgoing = []
    for contract in report.contracts:
        annex = resolve(registry, contract)
        missing = [fmt for fmt in formats if not output_path(out_dir, annex, fmt).is_file()]
        if missing:
            generate(registry, contract, out_dir, missing, annex=annex, engine=engine)
            if log is not None:
                log.append("annex generated", contract.customer_id, actor, {
                    "document_id": annex.document_id, "registry_version": annex.registry_version,
                    "status": annex_status(annex), "formats": list(missing)})
        outgoing.append(annex_outgoing(report.registry, contract, annex,
                                       [output_path(out_dir, annex, fmt) for fmt in formats]))
    return outgoing


def plan_notices(registry_dir: Path, folder: Path, formats: Sequence[str],
                 customers: Sequence[Path] = (), only: str | None = None) -> list[Outgoing]:
    """The message of every notice in a notices folder (or only that customer's), each with its new annex;
    deadlines follow the notice terms of each customer's contract (found among customers) where it has its own."""
    from annex_gen import app
    from annex_gen.changes.bundle import notice_rows
    from annex_gen.inputs.check import check as check_inputs

    rows = notice_rows(folder)
    if only is not None:
        rows = [row for row in rows if row.customer_id == only]
        if not rows:
            return []
    require(notice_problems(folder, rows, formats, dt.date.today()))
    registry = app.load_registry(registry_dir)
    contracts = {c.customer_id: c for c in check_inputs(registry_dir, list(customers)).contracts} if customers else {}
    return [notice_outgoing(folder, row, registry.company_name, formats,
                            notice_terms(registry, contracts.get(row.customer_id)).objection_deadline(
                                dt.date.fromisoformat(row.notice_date))) for row in rows]


def notices_late(rows: Sequence[Any], today: dt.date) -> bool:
    """Whether a notices folder's notices are dated before today (one run dates them all alike)."""
    return any(dated_before(row, today) for row in rows)


def notices_enclose_drafts(folder: Path, rows: Sequence[Any]) -> bool:
    """Whether a notices folder's new annexes are drafts (one run writes them all from one registry)."""
    try:
        return bool(rows) and enclosed_status(folder, rows[0]) == "draft"
    except (InvalidInput, OSError):
        return False  # sending lists the file among its problems


def _no_notice_for(folders: Sequence[Path], customer: str) -> None:
    from difflib import get_close_matches

    from annex_gen.changes.bundle import notice_rows

    ids = sorted({row.customer_id for folder in folders for row in notice_rows(folder)})
    near = get_close_matches(customer, ids, n=1)
    hint = f"did you mean {near[0]!r}?" if near else f"there are notices for {', '.join(ids) or 'nobody'}"
    raise UsageError(f"{', '.join(map(str, folders))}: no notice for customer {customer!r}; {hint}",
                     code="lifecycle.no_notice_for", params={"customer": customer})


def send(location: str | Path, registry_dir: Path, paths: Sequence[Path], out_dir: Path, *,
         smtp: str | None, sender: str | None, formats: Sequence[str] = ("pdf",), actor: str,
         engine: str = "weasyprint", progress: Callable[[Sent], None] | None = None,
         customers: Sequence[Path] = (), only: str | None = None) -> SendReport:
    """Send each contract's annex, and each notice of a notices folder (or only that customer's notice), to the
    customer's contact_email."""
    server = smtp_server(smtp)
    sender = sender_address(sender)
    log = event_log(location)
    outgoing, before = not_sent_before(log, plan_send(location, registry_dir, paths, out_dir, formats=formats,
                                                      actor=actor, engine=engine, customers=customers, only=only))
    report = send_all(log, server, sender, outgoing, actor=actor, progress=_audited(location, actor, progress))
    report.already_sent = [out.customer_id for out in before]
    return report


def not_sent_before(log: EventLog, outgoing: Sequence[Outgoing],
                    pending: Collection[tuple[str, str]] = ()) -> tuple[list[Outgoing], list[Outgoing]]:
    """The messages to send, and the notices left out because they went to their customer before (delivered,
    or kept for `send --retry`) or wait among pending (customer, notice ID): a notices folder sent again, or
    after one of its notices, sends each once."""
    done = {(n.customer_id, n.notice_id) for n in sent_notices(log.events())} | set(pending)
    fresh: list[Outgoing] = []
    before: list[Outgoing] = []
    for out in outgoing:
        sent = out.facts.get("purpose") == "notice" and (out.customer_id, out.facts["notice_id"]) in done
        (before if sent else fresh).append(out)
    if before and not fresh:
        who = ", ".join(sorted({out.customer_id for out in before}))
        which = "the notice was" if len(before) == 1 else f"all {len(before)} notices were"
        raise UsageError(f"{which} sent before ({who}); a notice goes once, and `annex-gen send --retry` "
                         "sends again what was not delivered",
                         code="lifecycle.already_sent", params={"customers": who})
    return fresh, before


def plan_send(location: str | Path, registry_dir: Path, paths: Sequence[Path], out_dir: Path, *,
              formats: Sequence[str] = ("pdf",), actor: str, engine: str = "weasyprint",
              customers: Sequence[Path] = (), only: str | None = None) -> list[Outgoing]:
    """The messages that send each contract's annex (generated into out_dir where missing, recorded in the log)
    and each notice of a notices folder (with only, that customer's notice alone); nothing is planned unless
    everything can be."""
    if not paths:
        raise UsageError("name the contracts (files or folders) or a notices folder to send")
    missing = [p for p in paths if not p.exists()]
    if missing:
        require([Diagnostic(str(p), None, None, "", "no such file or folder") for p in missing])
    log = event_log(location)
    folders = [p for p in paths if is_notices_folder(p)]
    contracts = [p for p in paths if p not in folders]
    if only is not None and (contracts or not folders):
        raise UsageError("--customer chooses one customer's notice from a notices folder (or, with --retry, "
                         "among the messages not yet delivered); to send one customer's annex, name only that "
                         "customer's contract file")
    outgoing: list[Outgoing] = []
    for folder in folders:
        outgoing += plan_notices(registry_dir, folder, formats, customers, only)
    if only is not None and not outgoing:
        _no_notice_for(folders, only)
    if contracts:
        outgoing += plan_annexes(registry_dir, contracts, out_dir, formats, engine=engine, log=log, actor=actor,
                                 archive=location)
    return outgoing


def send_retry(location: str | Path, *, smtp: str | None, actor: str, customer: str | None = None,
               progress: Callable[[Sent], None] | None = None) -> SendReport:
    """Deliver again every message the server has not accepted yet."""
    return retry(event_log(location), smtp_server(smtp), actor=actor, customer=customer,
                 progress=_audited(location, actor, progress))


def audit_sent(location: str | Path, actor: str, sent: Sent) -> None:
    """One delivery attempt into the audit log."""
    from annex_gen.audit import open_audit_log

    verdict = "accepted" if sent.answer.accepted else "NOT accepted"
    open_audit_log(location).record(actor, "message sent", f"{sent.customer_id}: {sent.subject} to "
                                    f"{sent.recipient}: {verdict} ({sent.answer.reply})", [sent.message_id],
                                    {"variant": "accepted" if sent.answer.accepted else "refused",
                                     "customer": sent.customer_id, "subject": sent.subject,
                                     "recipient": sent.recipient, "reply": sent.answer.reply})


def _audited(location: str | Path, actor: str, then: Callable[[Sent], None] | None) -> Callable[[Sent], None]:
    """Each delivery attempt into the audit log as well, then shown."""

    def done(sent: Sent) -> None:
        audit_sent(location, actor, sent)
        if then is not None:
            then(sent)

    return done


# Timelines and states


@dataclass(frozen=True)
class CustomerTimeline:
    """One customer's timeline and current state."""

    customer_id: str
    steps: list[Step]
    state: State
    today: dt.date
    terms: dict[str, Any] | None = None  # the contract's own notice terms and exclusions, if it has any

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON of `annex-gen timeline --json`."""
        return {"customer": self.customer_id, "today": self.today.isoformat(), "state": self.state.to_dict(),
                "terms": self.terms, "events": [s.to_dict() for s in self.steps]}


def contract_terms(registry_dir: Path, customers: Sequence[Path], customer: str) -> dict[str, Any] | None:
    """A customer's own contract terms as plain data (None when the contract has none or is not found)."""
    from annex_gen.inputs.check import check as check_inputs

    contract = next((c for c in check_inputs(registry_dir, list(customers)).contracts if c.customer_id == customer),
                    None)
    terms = contract.terms if contract is not None else None
    if terms is None:
        return None
    return {"notice_period_days": terms.notice_period_days, "objection_days": terms.objection_days,
            "exclusions": [{"entity": e.entity, "from": e.from_date.isoformat(), "note": e.note}
                           for e in terms.exclusions]}


def _archive_view(location: str | Path, registry_dir: Path, customers: Sequence[Path], today: dt.date,
                  customer: str | None = None) -> tuple[list[Any], dict[str, Any], str]:
    """Archived records, each customer's drift status, and the registry version (nothing when no archive)."""
    from annex_gen import app

    if not app.archive_exists(location):
        return [], {}, app.load_registry(registry_dir).version
    with app.open_archive(location) as archive:
        records = archive.records(customer)
    try:
        report = app.archive_status(location, registry_dir, customers, on=today, customer=customer)
    except UsageError:  # neither a contract nor an archived annex for this customer
        return records, {}, app.load_registry(registry_dir).version
    return records, {s.customer_id: s for s in report.customers}, report.registry.version


def customer_timeline(location: str | Path, registry_dir: Path, customers: Sequence[Path], customer: str, *,
                      today: dt.date | None = None) -> CustomerTimeline:
    """Every event of one customer in order, and where they stand."""
    from annex_gen import app
    from annex_gen.inputs.schema import ID_RE

    if not ID_RE.match(customer):
        raise UsageError(f"{customer!r} is not a customer id (lower-case letters, digits and hyphens)",
                         code="lifecycle.bad_customer", params={"value": customer})
    today = today or dt.date.today()
    events = event_log(location).events(customer)
    records, statuses, version = _archive_view(location, registry_dir, customers, today, customer)
    audit = app.audit_entries(location)
    status = statuses.get(customer)
    steps = timeline(customer, events, records, audit, status, version, today)
    return CustomerTimeline(customer, steps, state(events, records, status, today), today,
                            contract_terms(registry_dir, customers, customer))


def customer_states(location: str | Path, registry_dir: Path, customers: Sequence[Path], *,
                    today: dt.date | None = None) -> dict[str, State]:
    """Every customer's current state (customers with a contract, a record or an event)."""
    today = today or dt.date.today()
    events = event_log(location).events()
    records, statuses, _ = _archive_view(location, registry_dir, customers, today)
    by_customer: dict[str, tuple[list[Any], list[Any]]] = {}
    for e in events:
        by_customer.setdefault(e.customer_id, ([], []))[0].append(e)
    for r in records:
        by_customer.setdefault(r.customer_id, ([], []))[1].append(r)
    for cid in statuses:
        by_customer.setdefault(cid, ([], []))
    return {cid: state(mine, theirs, statuses.get(cid), today)
            for cid, (mine, theirs) in sorted(by_customer.items())}


# Objections


def _audit(location: str | Path, actor: str, action: str, what: str, refs: Sequence[str],
           params: dict[str, Any] | None = None) -> None:
    from annex_gen.audit import open_audit_log

    open_audit_log(location).record(actor, action, what, refs, params)


def objection_add(location: str | Path, *, customer: str, notice_id: str, received_on: dt.date, sender: str,
                  text: str | None = None, letter: tuple[str, bytes] | None = None, actor: str) -> Objection:
    """Record an objection against a notice sent to the customer (audited)."""
    objection = add_objection(event_log(location), customer=customer, notice_id=notice_id, received_on=received_on,
                              sender=sender, text=text, letter=letter, actor=actor)
    _audit(location, actor, "objection recorded", f"{customer}: {objection.id} to {notice_id} received "
           f"{received_on} from {objection.sender}; deadline {objection.deadline}", [objection.id, notice_id],
           {"customer": customer, "id": objection.id, "notice": notice_id, "received": received_on.isoformat(),
            "sender": objection.sender, "deadline": objection.deadline.isoformat()})
    return objection


def objection_resolve(location: str | Path, objection_id: str, *, outcome: str, resolved_on: dt.date,
                      note: str = "", actor: str) -> Objection:
    """Record how an objection ended (audited)."""
    objection = resolve_objection(event_log(location), objection_id, outcome=outcome, resolved_on=resolved_on,
                                  note=note, actor=actor)
    _audit(location, actor, "objection resolved", f"{objection.customer_id}: {objection.id} {outcome} on "
           f"{resolved_on}" + (f": {note}" if note else ""), [objection.id, objection.notice_id],
           {"variant": outcome, "customer": objection.customer_id, "id": objection.id,
            "on": resolved_on.isoformat(), "note": note})
    return objection


def objection_list(location: str | Path) -> list[Objection]:
    """Every objection, oldest first."""
    return objections(event_log(location).events())


def objection_letter(location: str | Path, objection_id: str) -> tuple[str, bytes]:
    """An objection's attached letter: its name and bytes; raise NotFound when it has none."""
    from annex_gen.errors import NotFound
    from annex_gen.lifecycle.objections import find

    log = event_log(location)
    objection = find(log.events(), objection_id)
    if not objection.letter:
        raise NotFound(f"{objection.id} has no attached letter", code="lifecycle.no_letter",
                       params={"id": objection.id})
    return objection.letter["name"], log.blob(objection.letter["sha256"])


@dataclass(frozen=True)
class Deadlines:
    """Notices whose objection period is running, and open objections, each by deadline."""

    running: list[SentNotice]
    open: list[Objection]


def deadlines(location: str | Path, *, today: dt.date | None = None) -> Deadlines:
    """What legal must watch: notices still open to objection and objections not yet resolved."""
    today = today or dt.date.today()
    events = event_log(location).events()
    running = sorted((n for n in sent_notices(events) if n.running(today)),
                     key=lambda n: (n.objection_deadline, n.customer_id))
    pending = sorted((o for o in objections(events) if o.open), key=lambda o: (o.effective_date, o.deadline, o.id))
    return Deadlines(running, pending)


# Evidence


def evidence(location: str | Path, registry_dir: Path, customers: Sequence[Path], customer: str, *, actor: str,
             today: dt.date | None = None) -> bytes:
    """The customer's evidence zip (see lifecycle.evidence); its export is audited."""
    from annex_gen import app
    from annex_gen.lifecycle.evidence import evidence_files, evidence_zip

    today = today or dt.date.today()
    line = customer_timeline(location, registry_dir, customers, customer, today=today)
    log = event_log(location)
    events = log.events(customer)
    heads: dict[str, str] = {}
    records: list[Any] = []
    if app.archive_exists(location):
        with app.open_archive(location) as archive:
            records = archive.records(customer)
            data = {r.seq: archive.read_file(r) for r in records}
            head = archive.head()
        heads["archive chain head (record, hash)"] = str(head) if head else "empty"
    else:
        data = {}
        heads["archive chain head (record, hash)"] = "no archive"
    audit = app.audit_entries(location)
    heads["audit log head (entry, hash)"] = f"{audit[-1].seq} {audit[-1].entry_hash}" if audit else "empty"
    checked = log.check()
    heads["lifecycle log head (events, hash)"] = f"{checked.events} {checked.head}"
    if not (events or records):
        raise UsageError(f"nothing is recorded for customer {customer}: no message sent, no signed annex archived",
                         code="lifecycle.nothing_recorded", params={"customer": customer})
    files = evidence_files(customer, records=records, read_record=lambda r: data[r.seq], events=events,
                           blob=log.blob, audit=audit, timeline=line.to_dict(),
                           objections=objections(events), heads=heads)
    zipped = evidence_zip(customer, files, archive=shown_url(str(location)), today=today.isoformat())
    _audit(location, actor, "evidence exported", f"{customer}: {len(files) + 2} files, SHA-256 "
           f"{hashlib.sha256(zipped).hexdigest()}", [customer])
    return zipped


def undelivered_messages(location: str | Path, customer: str | None = None) -> list[Any]:
    """The messages queued but not delivered (yet), oldest first: what `send --retry` would send."""
    from annex_gen.lifecycle.send import undelivered

    return undelivered(event_log(location).events(customer))


def notices_sent(location: str | Path) -> list[SentNotice]:
    """Every notice sent, in the order sent."""
    return sent_notices(event_log(location).events())


# Archiving a signed copy without typing


@dataclass(frozen=True)
class Upload:
    """What a file to archive says of itself, read once before anything is asked or stored."""

    customer: str | None = None  # the customer its embedded annex.json names
    document_id: str | None = None
    signed: bool | None = None  # whether it carries a digital signature; None: not read as a PDF
    embedded: bool = False  # whether it carries annex-gen's annex.json (a scan does not)
    unreadable: AnnexGenError | None = None  # why it cannot be read as a PDF (the read-back says it in full)

    @property
    def unsigned_original(self) -> bool:
        """The annex as annex-gen wrote it, not signed: never a signed copy unless said so."""
        return self.embedded and self.signed is False


def read_upload(path: Path) -> Upload:
    """The customer, document ID and signature state a file to archive carries, or why it cannot be read."""
    from annex_gen.archive.intake import read_input
    from annex_gen.archive.pdfinfo import read_pdf

    try:
        facts = read_pdf(read_input(path), str(path))
    except AnnexGenError as exc:
        return Upload(unreadable=exc)
    annex = facts.annex or {}
    customer = annex.get("customer") or {}
    return Upload(customer=customer.get("id") if isinstance(customer.get("id"), str) else None,
                  document_id=annex.get("document_id"),
                  signed=bool(facts.signatures), embedded=facts.annex is not None)


def contract_names(registry_dir: Path, customers: Sequence[Path]) -> list[tuple[str, str]]:
    """(name, id) of every customer with a contract, by name: the list a file is attached to a customer from."""
    from annex_gen.inputs.check import check as check_inputs

    report = check_inputs(registry_dir, list(customers))
    return sorted({(c.customer_name, c.customer_id) for c in report.contracts}, key=lambda p: (p[0].casefold(), p[1]))
