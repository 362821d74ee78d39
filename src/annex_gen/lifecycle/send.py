"""Sending annexes and notices: plan every message first, then queue, deliver and record each.

A message is stored in the lifecycle log ("message queued", with the message as sent) before it
is handed to the server, and the server's answer is recorded after ("message delivered" or
"message failed"). A refused or interrupted delivery therefore stays in the log, shown as not
delivered, and `retry` sends the same message (same bytes, same Message-ID) again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.lifecycle.events import Event, EventLog
from annex_gen.lifecycle.messages import Attachment, Letter, annex_letter, build_message, new_message_id, notice_letter
from annex_gen.lifecycle.smtp import Answer, SmtpServer, deliver
from annex_gen.model import Annex, Contract, Registry


@dataclass(frozen=True)
class Outgoing:
    """One message to send: to whom, what it says, its files, and the facts the log keeps of it."""

    customer_id: str
    recipient: str
    language: str
    company: str
    letter: Letter
    attachments: tuple[Attachment, ...]
    facts: Mapping[str, Any]  # purpose, document_id, registry_version, status, notice dates...


@dataclass(frozen=True)
class Sent:
    """What became of one message."""

    customer_id: str
    recipient: str
    message_id: str
    subject: str
    answer: Answer
    queued: int  # the log's "message queued" event


@dataclass
class SendReport:
    """Every message sent (accepted or not), in order."""

    sent: list[Sent] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)  # customers whose notice went before: not sent again

    @property
    def failed(self) -> list[Sent]:
        """The messages the server did not accept."""
        return [s for s in self.sent if not s.answer.accepted]


def annex_status(annex: Annex) -> str:
    """'draft' or 'final', as the annex says (an annex that says nothing is final)."""
    return str(annex.to_dict().get("status") or "final")


def annex_outgoing(registry: Registry, contract: Contract, annex: Annex, files: Sequence[Path]) -> Outgoing:
    """The message that sends a customer its annex files (PDF first)."""
    assert contract.contact_email
    status = annex_status(annex)
    letter = annex_letter(contract.language, company=registry.company_name, customer=contract.customer_name,
                          document_id=annex.document_id, registry_version=annex.registry_version,
                          draft=status == "draft")
    return Outgoing(contract.customer_id, contract.contact_email, contract.language, registry.company_name, letter,
                    tuple(Attachment(p.name, p.read_bytes()) for p in files),
                    {"purpose": "annex", "document_id": annex.document_id,
                     "registry_version": annex.registry_version, "status": status})


def missing_email(contract: Contract) -> Diagnostic:
    """The error of a contract that has no address to send to."""
    return Diagnostic(contract.source, None, None, "customer.contact_email",
                      f"customer {contract.customer_id} has no contact_email to send the annex to; "
                      "add `contact_email: name@example.com` under customer:")


def notice_outgoing(folder: Path, row: Any, company: str, formats: Sequence[str],
                    objection_deadline: dt.date) -> Outgoing:
    """The message that sends one customer's change notice and its new annex (notices.csv row)."""
    files = [folder / row.files[f"{kind}_{fmt}"] for kind in ("notice", "annex") for fmt in formats
             if f"{kind}_{fmt}" in row.files]
    letter = notice_letter(row.language, company=company, customer=row.customer_name, notice_id=row.notice_id,
                           document_id=row.annex_document_id,
                           effective_date=dt.date.fromisoformat(row.effective_date),
                           objection_deadline=dt.date.fromisoformat(row.objection_deadline))
    return Outgoing(row.customer_id, row.contact_email, row.language, company, letter,
                    tuple(Attachment(p.name, p.read_bytes()) for p in files),
                    {"purpose": "notice", "notice_id": row.notice_id, "document_id": row.annex_document_id,
                     "notice_date": row.notice_date, "effective_date": row.effective_date,
                     "stated_objection_deadline": row.objection_deadline,
                     "objection_deadline": objection_deadline.isoformat()})


def enclosed_status(folder: Path, row: Any) -> str | None:
    """'draft' or 'final', as the new annex a notice encloses says; None if it is missing (reported as such).
    Raises InvalidInput when the PDF cannot be read."""
    from annex_gen.archive.pdfinfo import open_pdf, read_annex_json

    rel = row.files.get("annex_pdf")
    if rel is None or not (folder / rel).is_file():
        return None
    with open_pdf((folder / rel).read_bytes(), str(folder / rel)) as pdf:
        annex = read_annex_json(pdf, str(folder / rel)) or {}
    return str(annex.get("status") or "final")


def dated_before(row: Any, today: dt.date) -> bool:
    """Whether a notice (notices.csv row) is dated before today: sent now, it would give less notice and less
    time to object than it states."""
    return row.notice_date < today.isoformat()


def notice_problems(folder: Path, rows: Iterable[Any], formats: Sequence[str],
                    today: dt.date | None = None) -> list[Diagnostic]:
    """Every reason the notices of a folder cannot all be sent (no address, a file missing, a draft annex, a
    notice dated before today)."""
    problems = []
    for row in rows:
        where = str(folder / "notices.csv")
        if today is not None and dated_before(row, today):
            problems.append(Diagnostic(where, None, None, row.customer_id,
                                       f"notice {row.notice_id} to {row.customer_id} is dated {row.notice_date}; "
                                       f"sent today ({today.isoformat()}) it would give less notice and less time "
                                       "to object than it states; write the notices again dated today or later",
                                       code="lifecycle.late_notice",
                                       params={"customer": row.customer_id, "date": row.notice_date}))
        try:
            status = enclosed_status(folder, row)
        except InvalidInput as exc:
            problems += exc.diagnostics
            status = None
        if status == "draft":
            problems.append(Diagnostic(where, None, None, row.customer_id,
                                       f"the new annex {row.annex_document_id} of {row.customer_id} is a DRAFT: "
                                       "these notices were written from registry content legal had not approved; "
                                       "approve the release (`annex-gen release approve`) and write the notices "
                                       "again", code="lifecycle.draft_notice",
                                       params={"customer": row.customer_id, "document": row.annex_document_id}))
        if not row.contact_email:
            problems.append(Diagnostic(where, None, None, row.customer_id,
                                       f"customer {row.customer_id} has no contact_email; add it to the contract "
                                       "and write the notices again"))
        for kind in ("notice", "annex"):
            for fmt in formats:
                rel = row.files.get(f"{kind}_{fmt}")
                if rel is None or not (folder / rel).is_file():
                    problems.append(Diagnostic(where, None, None, row.customer_id,
                                               f"the {kind} {fmt.upper()} of {row.customer_id} is missing "
                                               f"({rel or 'not listed'})"))
    return problems


def send_all(log: EventLog, server: SmtpServer, sender: str, outgoing: Sequence[Outgoing], *, actor: str,
             progress: Callable[[Sent], None] | None = None) -> SendReport:
    """Queue, deliver and record each message in turn; a refusal is recorded and the next one sent."""
    report = SendReport()
    for out in outgoing:
        data, eml = compose(out, sender, log.clock())
        queued = log.append("message queued", out.customer_id, actor, data, blobs=[eml])
        sent = _attempt(log, server, queued, eml, actor)
        report.sent.append(sent)
        if progress is not None:
            progress(sent)
    return report


def compose(out: Outgoing, sender: str, date: dt.datetime) -> tuple[dict[str, Any], bytes]:
    """One message as sent (a new Message-ID) and what its "message queued" event records of it."""
    message_id = new_message_id(sender)
    eml = build_message(out.letter, out.language, sender=sender, recipient=out.recipient, company=out.company,
                        attachments=out.attachments, message_id=message_id, date=date)
    return {
        **out.facts, "message_id": message_id, "recipient": out.recipient, "sender": sender,
        "subject": out.letter.subject, "language": out.language,
        "attachments": [a.to_dict() for a in out.attachments],
        "eml_sha256": hashlib.sha256(eml).hexdigest(), "eml_size": len(eml),
    }, eml


def answer_event(queued: Event, answer: Answer, server: str) -> tuple[str, dict[str, Any]]:
    """The kind and data of the event that records the server's answer to a queued message."""
    data = queued.data
    return "message delivered" if answer.accepted else "message failed", {
        "message_id": data["message_id"], "queued": queued.seq, "reply": answer.reply, "server": server,
        "recipient": data["recipient"],
    }


def sent_of(queued: Event, answer: Answer) -> Sent:
    """What became of a queued message, given the server's answer."""
    data = queued.data
    return Sent(queued.customer_id, data["recipient"], data["message_id"], data["subject"], answer, queued.seq)


def _attempt(log: EventLog, server: SmtpServer, queued: Event, eml: bytes, actor: str) -> Sent:
    answer = deliver(server, queued.data["sender"], queued.data["recipient"], eml)
    kind, data = answer_event(queued, answer, server.shown)
    log.append(kind, queued.customer_id, actor, data)
    return sent_of(queued, answer)


def undelivered(events: Iterable[Event]) -> list[Event]:
    """The queued messages whose last attempt failed or never ended (oldest first)."""
    last: dict[int, str] = {}
    queued: dict[int, Event] = {}
    for e in events:
        if e.kind == "message queued":
            queued[e.seq] = e
            last[e.seq] = "queued"
        elif e.kind in ("message delivered", "message failed"):
            last[int(e.data["queued"])] = e.kind
    return [queued[seq] for seq in sorted(queued) if last[seq] != "message delivered"]


def retry(log: EventLog, server: SmtpServer, *, actor: str, customer: str | None = None,
          progress: Callable[[Sent], None] | None = None) -> SendReport:
    """Deliver again every message not yet delivered (the same bytes and Message-ID); record each answer."""
    report = SendReport()
    for queued in undelivered(log.events(customer)):
        eml = log.blob(queued.data["eml_sha256"])
        sent = _attempt(log, server, queued, eml, actor)
        report.sent.append(sent)
        if progress is not None:
            progress(sent)
    return report


def require(problems: list[Diagnostic]) -> None:
    """Raise InvalidInput when any problem is an error: nothing is sent unless everything can be."""
    if any(p.severity == "error" for p in problems):
        raise InvalidInput(problems)
