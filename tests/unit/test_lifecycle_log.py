"""The lifecycle log on both backends: append-only, hash-chained, objections and their deadlines."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from annex_gen.errors import InvalidInput, UsageError
from annex_gen.lifecycle.events import open_event_log
from annex_gen.lifecycle.objections import add_objection, objections, resolve_objection, sent_notices

NOTICE = {"purpose": "notice", "notice_id": "NTC-1", "document_id": "ANX-2", "notice_date": "2026-12-01",
          "effective_date": "2026-12-31", "objection_deadline": "2026-12-16", "message_id": "<m@x>",
          "recipient": "dpo@acme.example", "subject": "s", "sender": "l@x.example", "eml_sha256": "0" * 64}


def clock():
    return dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def test_objections_follow_the_notice_and_are_resolved_once(backend):
    log = open_event_log(backend.location, clock=clock)
    queued = log.append("message queued", "acme", "legal", NOTICE, blobs=[b"message"])
    log.append("message delivered", "acme", "legal", {"queued": queued.seq, "message_id": "<m@x>", "reply": "250"})
    (notice,) = sent_notices(log.events())
    assert notice.delivered and notice.running(dt.date(2026, 12, 16)) and not notice.running(dt.date(2026, 12, 17))
    late = add_objection(log, customer="acme", notice_id="NTC-1", received_on=dt.date(2026, 12, 20),
                         sender="Acme DPO", letter=("letter.pdf", b"%PDF letter"), actor="legal",
                         today=dt.date(2026, 12, 21))
    assert late.late and late.deadline == dt.date(2026, 12, 16) and late.open
    assert log.blob(late.letter["sha256"]) == b"%PDF letter"
    done = resolve_objection(log, late.id, outcome="terminated", resolved_on=dt.date(2026, 12, 21),
                             actor="legal", today=dt.date(2026, 12, 21))
    assert (done.outcome, done.resolved_by) == ("terminated", "legal")
    with pytest.raises(UsageError, match="already resolved"):
        resolve_objection(log, late.id, outcome="withdrawn", resolved_on=dt.date(2026, 12, 21), actor="legal",
                          today=dt.date(2026, 12, 21))
    with pytest.raises(InvalidInput) as caught:
        add_objection(log, customer="other", notice_id="NTC-1", received_on=dt.date(2026, 11, 1), sender="",
                      actor="legal", today=dt.date(2026, 12, 21))
    assert "no notice NTC-1 was sent to customer other" in str(caught.value)
    assert [o.outcome for o in objections(log.events())] == ["terminated"]
    assert log.check().problems == [] and log.check().events == 4


def test_the_log_refuses_changes_and_its_chain_finds_them(backend):
    log = open_event_log(backend.location, clock=clock)
    log.append("message queued", "acme", "legal", NOTICE, blobs=[b"message"])
    log.append("annex generated", "acme", "legal", {"document_id": "ANX-1"})
    if backend.name == "sqlite":
        con = sqlite3.connect(backend.root / "lifecycle.sqlite", isolation_level=None)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE events SET body = body")
        con.execute("DROP TRIGGER events_no_update")
        con.execute("UPDATE events SET body = replace(body, 'ANX-1', 'ANX-9') WHERE seq = 2")
        con.close()
    else:
        import psycopg

        with psycopg.connect(backend.location, autocommit=True) as con:
            with pytest.raises(psycopg.Error, match="append-only"):
                con.execute("DELETE FROM annex_lifecycle.events")
            con.execute("SET session_replication_role = replica")
            con.execute("UPDATE annex_lifecycle.events SET body = replace(body, 'ANX-1', 'ANX-9') WHERE seq = 2")
    assert log.check().problems == [f"{log.location}: event 2: altered (its hash no longer matches)"]


def test_the_timeline_of_a_notice_that_took_effect_and_one_whose_period_lapsed(backend):
    from annex_gen.lifecycle.timeline import state, timeline

    log = open_event_log(backend.location, clock=clock)
    queued = log.append("message queued", "acme", "legal", NOTICE, blobs=[b"message"])
    log.append("message delivered", "acme", "legal", {"queued": queued.seq, "message_id": "<m@x>", "reply": "250"})
    events = log.events()
    during = timeline("acme", events, [], [], None, "v2", dt.date(2026, 12, 10))
    assert [s.kind for s in during] == ["notice_sent"]
    assert state(events, [], None, dt.date(2026, 12, 10)).text == \
        "outdated: notice sent, objection period ends 2026-12-16"
    after = timeline("acme", events, [], [], None, "v2", dt.date(2027, 1, 5))
    assert [s.kind for s in after] == ["notice_sent", "objection_lapsed", "notice_in_force"]
    assert after[-1].text == "notice NTC-1 in force since 2026-12-31: annex ANX-2 replaces the earlier annex"
    assert state(events, [], None, dt.date(2027, 1, 5)).text == "changed by notice NTC-1, in force since 2026-12-31"


def test_a_second_signed_copy_of_the_same_annex_replaces_nothing():
    from types import SimpleNamespace

    from annex_gen.lifecycle.timeline import _archive_steps

    def record(seq, document_id, signed_on):
        return SimpleNamespace(kind="annex", seq=seq, document_id=document_id, signed_on=signed_on,
                               file_name="x.pdf", sha256=str(seq),
                               body={"archived_at": f"2026-12-0{seq}T00:00:00Z", "signed_on": signed_on})

    steps = _archive_steps([record(1, "ANX-A", "2026-12-01"), record(2, "ANX-A", "2026-12-02"),
                            record(3, "ANX-B", "2026-12-03")])
    replaced = [(s.facts["document_id"], s.facts["replaced_by"]) for s in steps if s.kind == "replaced"]
    assert replaced == [("ANX-A", "ANX-B")] and sum(s.kind == "signed" for s in steps) == 3
