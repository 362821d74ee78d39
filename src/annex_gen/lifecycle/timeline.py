"""A customer's timeline: every event in order, from the lifecycle log, the archive and the audit log.

Events: annex generated, sent (or not delivered), notice sent, signed copy archived, replaced
by a later signed annex, made outdated by a release, objection received, resolved or lapsed.
`state` names where the customer stands today, e.g. "sent, awaiting signature".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annex_gen.lifecycle.events import Event
from annex_gen.lifecycle.objections import OUTCOME_TEXT, objections, sent_notices


@dataclass(frozen=True)
class Step:
    """One event of a customer's timeline: when, what kind, its facts, and where it is recorded."""

    at: str  # ISO date or UTC time; sorts in time order
    kind: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    source: str = "log"  # log (lifecycle log event N), archive (record N), audit (entry N), derived

    @property
    def text(self) -> str:
        """The event in one English line (the web application words it from its catalogs)."""
        return STEP_TEXT[self.kind].format(**{k: ("" if v is None else v) for k, v in self.facts.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"at": self.at, "kind": self.kind, "text": self.text, "source": self.source, **self.facts}


STEP_TEXT = {
    "generated": "annex {document_id} generated (release {registry_version}, {status})",
    "sent": "annex {document_id} sent to {recipient}, Message-ID {message_id}",
    "not_delivered": "annex {document_id} NOT delivered to {recipient}: {reply}",
    "notice_sent": "notice {notice_id} sent to {recipient} with annex {document_id}, Message-ID {message_id}; "
                   "takes effect {effective_date}, objections by {objection_deadline}",
    "notice_not_delivered": "notice {notice_id} NOT delivered to {recipient}: {reply}",
    "signed": "signed copy of {document_id} archived as record {record} (signed {signed_on})",
    "replaced": "annex {document_id} replaced by {replaced_by}",
    "outdated": "annex {document_id} made outdated by release {registry_version} (it now resolves to {current})",
    "objection_received": "objection {objection} to notice {notice_id} received {received_on} from {sender}"
                          "{late}",
    "objection_resolved": "objection {objection} resolved {resolved_on}: {outcome_text}",
    "notice_in_force": "notice {notice_id} in force since {effective_date}: annex {document_id} replaces the "
                       "earlier annex",
    "objection_lapsed": "objection period of notice {notice_id} ended {objection_deadline} without an objection",
}

STATE_TEXT = {
    "no_annex": "no annex sent",
    "not_delivered": "annex not delivered: {reply}",
    "awaiting_signature": "sent, awaiting signature",
    "signed_current": "signed, current",
    "signed": "signed",
    "outdated": "outdated: no notice sent",
    "notice_running": "outdated: notice sent, objection period ends {deadline}",
    "notice_ended": "outdated: notice sent, objection period ended {deadline}; takes effect {effective}",
    "objection_open": "objection {objection} open (notice {notice_id}, takes effect {effective})",
    "notice_in_force": "changed by notice {notice_id}, in force since {effective}",
    "change_not_applied": "notice {notice_id} not applied to this customer (objection {objection} accepted)",
    "terminated": "services terminated (objection {objection} to notice {notice_id})",
}


@dataclass(frozen=True)
class State:
    """Where a customer stands: a key of STATE_TEXT and its values."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """In one English line."""
        return STATE_TEXT[self.key].format(**self.values)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"key": self.key, "text": self.text, **self.values}


def _log_steps(events: Sequence[Event], today: dt.date) -> list[Step]:
    steps: list[Step] = []
    queued = {e.seq: e for e in events if e.kind == "message queued"}
    for e in events:
        d = e.data
        where = f"log {e.seq}"
        if e.kind == "annex generated":
            steps.append(Step(e.at, "generated", {"document_id": d["document_id"],
                                                  "registry_version": d.get("registry_version"),
                                                  "status": d.get("status", "final")}, where))
        elif e.kind in ("message delivered", "message failed"):
            q = queued[int(d["queued"])].data
            notice = q.get("purpose") == "notice"
            ok = e.kind == "message delivered"
            kind = ("notice_sent" if ok else "notice_not_delivered") if notice else ("sent" if ok else "not_delivered")
            facts = {"document_id": q.get("document_id"), "recipient": q["recipient"],
                     "message_id": q["message_id"], "subject": q["subject"], "reply": d["reply"]}
            if notice:
                facts |= {"notice_id": q["notice_id"], "effective_date": q["effective_date"],
                          "objection_deadline": q["objection_deadline"]}
            else:
                facts |= {"status": q.get("status", "final")}
            steps.append(Step(e.at, kind, facts, where))
    recorded = {e.seq: e.at for e in events}
    resolved_at = {int(e.data["objection"]): e for e in events if e.kind == "objection resolved"}
    for o in objections(events):
        steps.append(Step(recorded[o.seq], "objection_received", {
            "objection": o.id, "notice_id": o.notice_id, "received_on": o.received_on.isoformat(),
            "sender": o.sender, "deadline": o.deadline.isoformat(), "text": o.text,
            "late": " (after the deadline)" if o.late else ""}, f"log {o.seq}"))
        if o.outcome:
            steps.append(Step(resolved_at[o.seq].at, "objection_resolved", {
                "objection": o.id, "resolved_on": o.resolved_on.isoformat() if o.resolved_on else None,
                "outcome": o.outcome, "outcome_text": OUTCOME_TEXT[o.outcome], "note": o.note},
                f"log {resolved_at[o.seq].seq}"))
    objected = {o.notice_id for o in objections(events)}
    kept_out = {o.notice_id for o in objections(events) if o.outcome in ("accepted", "terminated")}
    for n in sent_notices(events):
        if n.effective_date <= today and n.notice_id not in kept_out:
            steps.append(Step(n.effective_date.isoformat() + "T00:00:00Z", "notice_in_force", {
                "notice_id": n.notice_id, "document_id": n.document_id,
                "effective_date": n.effective_date.isoformat()}, "derived"))
        if n.objection_deadline < today and n.notice_id not in objected:
            steps.append(Step(n.objection_deadline.isoformat() + "T23:59:59Z", "objection_lapsed", {
                "notice_id": n.notice_id, "objection_deadline": n.objection_deadline.isoformat()}, "derived"))
    return steps


def _archive_steps(records: Iterable[Any]) -> list[Step]:
    annexes = [r for r in records if r.kind == "annex"]
    steps = []
    for r in annexes:
        steps.append(Step(r.body["archived_at"], "signed", {
            "document_id": r.document_id or "(scan)", "scan": r.document_id is None, "record": r.seq,
            "signed_on": r.body.get("signed_on"),
            "file": r.file_name, "sha256": r.sha256}, f"archive {r.seq}"))
    ordered = sorted((r for r in annexes if r.signed_on), key=lambda r: (r.signed_on, r.seq))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.document_id and before.document_id == after.document_id:
            continue  # another signed copy of the same annex replaces nothing
        steps.append(Step(after.body["archived_at"], "replaced", {
            "document_id": before.document_id or f"record {before.seq}",
            "replaced_by": after.document_id or f"record {after.seq}",
            # a scan has no document ID: its record number names it (the web page words it)
            "old_record": None if before.document_id else before.seq,
            "new_record": None if after.document_id else after.seq}, "derived"))
    return steps


def _audit_steps(customer: str, entries: Iterable[Any]) -> list[Step]:
    return [Step(e.at, "generated", {"document_id": e.refs[0] if e.refs else "", "registry_version": None,
                                     "status": "by " + e.actor}, f"audit {e.seq}")
            for e in entries if e.action == "annex generated" and e.what.startswith(f"{customer}:")]


def timeline(customer: str, events: Sequence[Event], records: Sequence[Any], audit: Sequence[Any],
             status: Any | None, registry_version: str, today: dt.date) -> list[Step]:
    """Every step of one customer's life, oldest first."""
    steps = sorted(_log_steps(events, today) + _archive_steps(records) + _audit_steps(customer, audit),
                   key=lambda s: s.at)
    if status is not None and status.state == "outdated" and status.record is not None:
        # placed before the first notice sent after the signed copy, else last
        signed_at = status.record.body["archived_at"]
        notice = next((s for s in steps if s.kind in ("notice_sent", "notice_not_delivered") and s.at > signed_at),
                      None)
        outdated = Step(notice.at if notice else f"{today.isoformat()}T23:59:59Z", "outdated", {
            "document_id": status.record.document_id, "registry_version": registry_version,
            "current": status.current_document_id}, "derived")
        steps.insert(steps.index(notice) if notice else len(steps), outdated)
    return steps


def state(events: Sequence[Event], records: Sequence[Any], status: Any | None, today: dt.date) -> State:
    """Where the customer stands today."""
    open_objections = [o for o in objections(events) if o.open]
    if open_objections:
        o = open_objections[0]
        return State("objection_open", {"objection": o.id, "notice_id": o.notice_id,
                                        "effective": o.effective_date.isoformat()})
    signed = [r for r in records if r.kind == "annex"]
    notices = sent_notices(events)
    ended = {o.notice_id: o for o in objections(events) if o.outcome in ("accepted", "terminated")}
    if notices and notices[-1].notice_id in ended:
        o = ended[notices[-1].notice_id]
        key = "change_not_applied" if o.outcome == "accepted" else "terminated"
        return State(key, {"objection": o.id, "notice_id": o.notice_id})
    if notices and not (status is not None and status.state == "current" and signed):
        n = notices[-1]
        if n.effective_date <= today:
            return State("notice_in_force", {"notice_id": n.notice_id, "effective": n.effective_date.isoformat()})
        key = "notice_running" if n.objection_deadline >= today else "notice_ended"
        return State(key, {"deadline": n.objection_deadline.isoformat(), "effective": n.effective_date.isoformat()})
    if status is not None and status.state in ("outdated", "unknown") and signed:
        return State("outdated")
    last_annex = None
    for e in events:
        if e.kind in ("message delivered", "message failed"):
            queued = next(q for q in events if q.seq == int(e.data["queued"]))
            if queued.data.get("purpose") == "annex":
                last_annex = (e, queued)
    signed_documents = {r.document_id for r in signed}
    if last_annex is not None and last_annex[1].data["document_id"] not in signed_documents:
        attempt, _ = last_annex
        if attempt.kind == "message failed":
            return State("not_delivered", {"reply": attempt.data["reply"]})
        return State("awaiting_signature")
    if signed:
        return State("signed_current" if status is not None and status.state == "current" else "signed")
    return State("no_annex")
