"""Sending by e-mail as a run on the queue: planned where started, sent by the workers, each message at most once.

A send run is a run (`runs`, kind 'send') with one row per message: the row carries the message
as sent (its bytes, Message-ID and Date fixed when planned) and what the lifecycle log's
"message queued" event records of it. A worker records "message queued" (committed before the
server is called, as a local send does), hands the message to its own SMTP server (the worker
machine's ANNEX_GEN_SMTP settings), then records the answer ("message delivered" or "message
failed") and marks the row in one transaction. A job run again finds the answer in the log and
does nothing; a worker killed after the server accepted the message but before that commit
leaves it queued without an answer, and the job run again sends it once more (the same bytes
and Message-ID): at most one duplicate, per message and per kill.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from annex_gen.errors import AnnexGenError
from annex_gen.lifecycle.events import Event, open_event_log, utc_now
from annex_gen.lifecycle.send import Outgoing, SendReport, Sent, answer_event, compose, sent_of
from annex_gen.lifecycle.smtp import Answer, deliver, smtp_server
from annex_gen.team import runs

KIND = "send"
SENT, NOT_SENT = "generated", "failed"  # the row's status once the server has answered


def pending_notices(con: Any) -> set[tuple[str, str]]:
    """(customer, notice ID) of each notice a send run not yet finished holds: a worker records it in the
    lifecycle log only when it sends it."""
    rows = con.execute("SELECT i.customer_id, i.annex::jsonb #>> '{queued,notice_id}' FROM runs r "
                       "JOIN run_items i ON i.run_id = r.id WHERE r.kind = %s AND r.finished_at IS NULL "
                       "AND i.annex::jsonb #>> '{queued,purpose}' = 'notice'", (KIND,)).fetchall()
    return {(customer, notice_id) for customer, notice_id in rows}  # the payloads, messages and all, stay there


def plan(outgoing: Sequence[Outgoing], sender: str) -> runs.Plan:
    """One row per message: the message composed now (Message-ID, Date), to be sent by a worker."""
    items = []
    date = utc_now()
    for out in outgoing:
        data, eml = compose(out, sender, date)
        payload = json.dumps({"queued": data, "eml": base64.b64encode(eml).decode("ascii")}, sort_keys=True)
        items.append(runs.Item(out.recipient, out.customer_id, "queued", data["message_id"], data["eml_sha256"],
                               payload))
    return runs.Plan(items, [])


def _recorded(events: Sequence[Event], message_id: str) -> tuple[Event | None, Event | None]:
    """The message's "message queued" event and its last answer, as the log holds them."""
    queued = next((e for e in events if e.kind == "message queued" and e.data.get("message_id") == message_id), None)
    if queued is None:
        return None, None
    answers = [e for e in events if e.kind in ("message delivered", "message failed")
               and int(e.data.get("queued", 0)) == queued.seq]
    return queued, answers[-1] if answers else None


def send_item(con: Any, url: str, run_id: int, position: int, *, env: Mapping[str, str] | None = None) -> str:
    """Send one queued message of a send run and record it; return what happened (done already, sent already,
    sent, not delivered, failed)."""
    from annex_gen.lifecycle.cases import audit_sent

    with con.transaction():
        row = con.execute(
            "UPDATE run_items i SET attempts = attempts + 1 FROM runs r WHERE r.id = i.run_id AND i.run_id = %s "
            "AND i.position = %s AND i.status = 'queued' RETURNING i.attempts, i.annex, i.customer_id, "
            "i.document_id, r.started_by", (run_id, position)).fetchone()
    if row is None:
        return "done already"
    attempts, payload, customer_id, message_id, actor = row
    log = open_event_log(url)
    queued, answer = _recorded(log.events(customer_id), message_id)
    if answer is not None:  # answered, and the row not marked: `send --retry` answered it meanwhile
        with con.transaction():
            runs.finish(con, run_id, position, SENT if answer.kind == "message delivered" else NOT_SENT,
                        str(answer.data.get("reply", "")))
        return "sent already" if answer.kind == "message delivered" else "failed"
    message = json.loads(payload)
    eml = base64.b64decode(message["eml"])
    if queued is None:  # in the log before the server sees it: an interrupted delivery stays not delivered
        queued = log.append("message queued", customer_id, actor, message["queued"], blobs=[eml])
    if attempts > runs.MAX_ATTEMPTS:
        with con.transaction():
            runs.finish(con, run_id, position, NOT_SENT, f"its worker stopped {attempts - 1} times while sending it; "
                        "`annex-gen send --retry` sends it again")
        return "failed"
    try:
        server = smtp_server(None, env)
    except AnnexGenError as exc:
        result, shown = Answer(False, f"this worker's SMTP settings: {exc}"), "-"
    else:
        result, shown = deliver(server, queued.data["sender"], queued.data["recipient"], eml), server.shown
    kind, data = answer_event(queued, result, shown)
    with con.transaction():
        log.append_on(con, kind, customer_id, actor, data)
        runs.finish(con, run_id, position, SENT if result.accepted else NOT_SENT, result.reply)
    audit_sent(url, actor, sent_of(queued, result))
    return "sent" if result.accepted else "not delivered"


def _sent_rows(con: Any, run_id: int, seen: set[int]) -> list[Sent]:
    rows = con.execute("SELECT position, status, customer_id, source, document_id, annex, detail FROM run_items "
                       "WHERE run_id = %s AND status <> 'queued' ORDER BY updated_at, position", (run_id,)).fetchall()
    found = []
    for position, status, customer_id, recipient, message_id, payload, detail in rows:
        if position in seen:
            continue
        seen.add(position)
        subject = json.loads(payload)["queued"]["subject"] if payload else ""
        found.append(Sent(customer_id or "", recipient, message_id or "", subject, Answer(status == SENT, detail), 0))
    return found


def follow(con: Any, run_id: int, progress: Callable[[Sent], None] | None = None, *,
           poll_s: float = 0.5) -> SendReport:
    """Report each message of the run as the workers send it, until the run ends; return what was sent."""
    report = SendReport()
    seen: set[int] = set()
    while True:
        state = runs.run_state(con, run_id)
        for sent in _sent_rows(con, run_id, seen):
            report.sent.append(sent)
            if progress is not None:
                progress(sent)
        if state is not None and state.finished and len(seen) == state.total:
            return report
        if state is not None and not state.finished and runs.lost(con, run_id):
            runs.fail_run(con, run_id, runs.LOST)
            continue
        time.sleep(poll_s)
