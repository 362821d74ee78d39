"""The audit log: append-only, hash-chained, exported as spreadsheet-safe CSV."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.audit import GENESIS, SqliteAuditLog, entries_csv


def _clock():
    times = iter(f"2026-11-30T10:00:0{i}Z" for i in range(10))
    return lambda: next(times)


def test_entries_are_appended_in_order_and_chained(tmp_path: Path):
    log = SqliteAuditLog(tmp_path, clock=_clock())
    first = log.record("local", "file archived", "signed.pdf for nordic-webshop", [1, "ANX-1"])
    second = log.record("maija", "batch run", "3 generated", ["ANX-2"])
    entries = log.entries()
    assert [(e.seq, e.at, e.actor, e.action, e.refs) for e in entries] == [
        (1, "2026-11-30T10:00:00Z", "local", "file archived", ("1", "ANX-1")),
        (2, "2026-11-30T10:00:01Z", "maija", "batch run", ("ANX-2",)),
    ]
    assert entries == [first, second]
    assert (first.prev, second.prev) == (GENESIS, first.entry_hash)
    check = log.check()
    assert (check.entries, check.head, check.problems) == (2, second.entry_hash, [])


def test_the_log_refuses_updates_and_deletes(tmp_path: Path):
    SqliteAuditLog(tmp_path).record("local", "archive verified", "no problems")
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    for statement in ("UPDATE entries SET body = '{}'", "DELETE FROM entries"):
        with pytest.raises(sqlite3.IntegrityError, match="the audit log is append-only"):
            con.execute(statement)
    con.close()
    assert len(SqliteAuditLog(tmp_path).entries()) == 1


def test_check_finds_an_altered_entry(tmp_path: Path):
    log = SqliteAuditLog(tmp_path)
    log.record("local", "notices written", "2 notices")
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    con.execute("DROP TRIGGER entries_no_update")
    con.execute("UPDATE entries SET body = json_set(body, '$.actor', 'someone else')")
    con.commit()
    con.close()
    assert log.check().problems == [f"{log.path}: entry 1: altered (its hash no longer matches)"]


def test_an_unknown_action_is_a_programming_error(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown audit action 'deleted'"):
        SqliteAuditLog(tmp_path).record("local", "deleted", "")


def test_no_log_yet_reads_as_empty_and_creates_nothing(tmp_path: Path):
    assert app.audit_entries(tmp_path / "archive") == []
    assert not (tmp_path / "archive").exists()


def test_csv_has_a_header_and_defuses_formulas(tmp_path: Path):
    app.audit_record(tmp_path, "=cmd()", "contract saved", "+acme.yaml", ["ANX-1", 2])
    text = app.audit_csv(tmp_path).decode("utf-8")
    assert text.startswith("\ufeffseq,at,actor,action,what,refs,entry_hash\r\n")
    row = text.splitlines()[1].split(",")
    assert (row[0], row[2], row[3], row[4], row[5]) == ("1", "'=cmd()", "contract saved", "'+acme.yaml", "ANX-1 2")
    assert entries_csv([]) == "\ufeffseq,at,actor,action,what,refs,entry_hash\r\n".encode()
