"""Objections to change notices: received (on, from, text or letter), resolved (how), and deadlines.

An objection is recorded against a notice the log shows was sent to that customer; its deadline
is the notice date plus the objection period of the notice terms (`terms`). Its identifier is
OBJ-<event number>. An objection is resolved once: withdrawn, accepted (the change is not
applied to this customer) or services terminated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from annex_gen.errors import Diagnostic, InvalidInput, NotFound, UsageError
from annex_gen.lifecycle.events import Event, EventLog

OUTCOMES = ("withdrawn", "accepted", "terminated")
OUTCOME_TEXT = {
    "withdrawn": "withdrawn by the customer",
    "accepted": "accepted: the change is not applied to this customer",
    "terminated": "services terminated",
}
MAX_TEXT_CHARS = 20_000
MAX_LETTER_BYTES = 20 * 1024 * 1024
_ID = re.compile(r"^OBJ-([1-9][0-9]*)$")


@dataclass(frozen=True)
class SentNotice:
    """A notice the log shows was sent (queued) to a customer, with its dates."""

    customer_id: str
    notice_id: str
    document_id: str
    notice_date: dt.date
    effective_date: dt.date
    objection_deadline: dt.date
    message_id: str
    delivered: bool

    def running(self, today: dt.date) -> bool:
        """Whether the objection period is still open on today."""
        return self.notice_date <= today <= self.objection_deadline


@dataclass(frozen=True)
class Objection:
    """An objection as recorded, with its resolution when there is one."""

    id: str
    seq: int
    customer_id: str
    notice_id: str
    received_on: dt.date
    sender: str
    text: str
    letter: dict[str, Any] | None
    deadline: dt.date
    effective_date: dt.date
    recorded_by: str
    outcome: str | None = None
    resolved_on: dt.date | None = None
    note: str = ""
    resolved_by: str = ""

    @property
    def late(self) -> bool:
        """Received after the objection deadline."""
        return self.received_on > self.deadline

    @property
    def open(self) -> bool:
        """Not yet resolved."""
        return self.outcome is None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "customer_id": self.customer_id, "notice_id": self.notice_id,
                "received_on": self.received_on.isoformat(), "from": self.sender, "text": self.text,
                "letter": self.letter, "deadline": self.deadline.isoformat(), "late": self.late,
                "effective_date": self.effective_date.isoformat(), "outcome": self.outcome,
                "resolved_on": self.resolved_on.isoformat() if self.resolved_on else None, "note": self.note,
                "recorded_by": self.recorded_by, "resolved_by": self.resolved_by or None}


def sent_notices(events: Iterable[Event]) -> list[SentNotice]:
    """Every notice sent, once per customer and notice (delivered if any attempt was), in order sent."""
    found: dict[tuple[str, str], SentNotice] = {}
    delivered: set[int] = set()
    queued_of: dict[int, tuple[str, str]] = {}
    for e in events:
        if e.kind == "message queued" and e.data.get("purpose") == "notice":
            key = (e.customer_id, e.data["notice_id"])
            queued_of[e.seq] = key
            if key not in found:
                d = e.data
                found[key] = SentNotice(e.customer_id, d["notice_id"], d["document_id"],
                                        dt.date.fromisoformat(d["notice_date"]),
                                        dt.date.fromisoformat(d["effective_date"]),
                                        dt.date.fromisoformat(d["objection_deadline"]), d["message_id"], False)
        elif e.kind == "message delivered":
            delivered.add(int(e.data["queued"]))
    keys = {queued_of[s] for s in delivered if s in queued_of}
    return [SentNotice(**{**n.__dict__, "delivered": key in keys}) for key, n in found.items()]


def objections(events: Iterable[Event]) -> list[Objection]:
    """Every objection with its resolution, in the order received."""
    events = list(events)
    found: dict[int, Objection] = {}
    for e in events:
        d = e.data
        if e.kind == "objection received":
            found[e.seq] = Objection(
                f"OBJ-{e.seq}", e.seq, e.customer_id, d["notice_id"], dt.date.fromisoformat(d["received_on"]),
                d["from"], d.get("text") or "", d.get("letter"), dt.date.fromisoformat(d["deadline"]),
                dt.date.fromisoformat(d["effective_date"]), e.actor)
        elif e.kind == "objection resolved" and int(d["objection"]) in found:
            o = found[int(d["objection"])]
            found[o.seq] = Objection(**{**o.__dict__, "outcome": d["outcome"],
                                        "resolved_on": dt.date.fromisoformat(d["resolved_on"]),
                                        "note": d.get("note") or "", "resolved_by": e.actor})
    return list(found.values())


def _clean(text: str | None, what: str, limit: int) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise UsageError(f"{what} is longer than {limit} characters", code="lifecycle.too_long",
                         params={"field": what, "limit": limit})
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise UsageError(f"{what} contains control characters", code="lifecycle.control", params={"field": what})
    return text


def add_objection(log: EventLog, *, customer: str, notice_id: str, received_on: dt.date, sender: str,
                  text: str | None = None, letter: tuple[str, bytes] | None = None, actor: str,
                  today: dt.date | None = None) -> Objection:
    """Record an objection against a notice sent to the customer; raise InvalidInput listing every problem."""
    today = today or dt.date.today()
    problems: list[str] = []
    events = log.events()
    notice = next((n for n in sent_notices(events) if n.customer_id == customer and n.notice_id == notice_id), None)
    if notice is None:
        sent = sorted({n.notice_id for n in sent_notices(events) if n.customer_id == customer})
        problems.append(f"no notice {notice_id} was sent to customer {customer}"
                        + (f"; sent to them: {', '.join(sent)}" if sent else "; none was sent to them"))
    if received_on > today:
        problems.append(f"received on {received_on} is in the future")
    if notice is not None and received_on < notice.notice_date:
        problems.append(f"received on {received_on} is before the notice was given ({notice.notice_date})")
    try:
        sender = _clean(sender, "from", 300)
        text = _clean(text, "the text", MAX_TEXT_CHARS)
    except UsageError as exc:
        problems.append(str(exc))
        sender, text = sender or "", ""
    if not sender:
        problems.append("say who the objection is from (a name or an address)")
    if not text and letter is None:
        problems.append("give the objection's text or attach the letter")
    if letter is not None and len(letter[1]) > MAX_LETTER_BYTES:
        problems.append(f"the letter is larger than {MAX_LETTER_BYTES // 2**20} MiB")
    if letter is not None and not letter[1]:
        problems.append("the letter is an empty file")
    if problems:
        raise InvalidInput([Diagnostic(f"objection to {notice_id}", None, None, "", p) for p in problems])
    assert notice is not None
    letter_fact = None if letter is None else {"name": letter[0], "sha256": hashlib.sha256(letter[1]).hexdigest(),
                                                "size": len(letter[1])}
    event = log.append("objection received", customer, actor, {
        "notice_id": notice_id, "received_on": received_on.isoformat(), "from": sender, "text": text,
        "letter": letter_fact, "deadline": notice.objection_deadline.isoformat(),
        "effective_date": notice.effective_date.isoformat()}, blobs=[letter[1]] if letter else [])
    return objections([event])[0]


def find(events: Iterable[Event], objection_id: str) -> Objection:
    """The objection with this identifier (OBJ-12); raise NotFound."""
    match = _ID.match(objection_id.strip().upper())
    found = [o for o in objections(events) if match and o.seq == int(match.group(1))]
    if not found:
        raise NotFound(f"no objection {objection_id}; `annex-gen objection list` shows them (OBJ-<number>)",
                       code="lifecycle.no_objection", params={"id": objection_id})
    return found[0]


def resolve_objection(log: EventLog, objection_id: str, *, outcome: str, resolved_on: dt.date, note: str = "",
                      actor: str, today: dt.date | None = None) -> Objection:
    """Record how an open objection ended; refuse an unknown outcome, a second resolution or a future date."""
    today = today or dt.date.today()
    objection = find(log.events(), objection_id)
    if outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}",
                         code="lifecycle.outcome")
    if not objection.open:
        raise UsageError(f"{objection.id} was already resolved on {objection.resolved_on} ({objection.outcome})",
                         code="lifecycle.resolved", params={"id": objection.id, "on": objection.resolved_on})
    if resolved_on > today:
        raise UsageError(f"resolved on {resolved_on} is in the future", code="lifecycle.future",
                         params={"date": resolved_on})
    if resolved_on < objection.received_on:
        raise UsageError(f"resolved on {resolved_on} is before the objection was received ({objection.received_on})",
                         code="lifecycle.before_received",
                         params={"date": resolved_on, "received": objection.received_on})
    note = _clean(note, "the note", MAX_TEXT_CHARS)
    log.append("objection resolved", objection.customer_id, actor, {
        "objection": objection.seq, "notice_id": objection.notice_id, "outcome": outcome,
        "resolved_on": resolved_on.isoformat(), "note": note})
    return find(log.events(), objection.id)
