"""The audit log: append-only, hash-chained, exported as spreadsheet-safe CSV."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.archive.chain import Head
from annex_gen.audit import GENESIS, SqliteAuditLog, entries_csv, open_audit_log
from annex_gen.errors import ArchiveError


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
    check = log.verify()
    assert (check.audit_entries, check.audit_head, check.problems) == (2, Head(2, second.entry_hash), [])


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
    assert [str(p) for p in log.verify().problems] == [
        f"{log.path}: entry 1: altered (its content no longer matches its hash)"]


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


# Both backends: beside a directory archive, or in a PostgreSQL archive's schema


def test_the_log_lives_with_the_archive_on_either_backend(backend):
    log = open_audit_log(backend.location, clock=_clock())
    assert log.entries() == []  # nothing yet, and nothing created
    first = log.record("local", "file archived", "signed.pdf for acme", ["#1"])
    second = log.record("maija", "archive verified", "no problems")
    assert open_audit_log(backend.location).entries() == [first, second]
    assert second.prev == first.entry_hash
    assert open_audit_log(backend.location).verify().problems == []
    assert app.audit_entries(backend.location) == [first, second]


def test_the_postgresql_log_refuses_updates_deletes_and_truncate(postgres_server):
    import psycopg

    url = postgres_server.database()
    log = open_audit_log(url)
    log.record("local", "notices written", "2 notices")
    with psycopg.connect(url, autocommit=True, options="-c search_path=annex_archive") as con:
        for statement in ("UPDATE audit SET body = '{}'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(psycopg.errors.RaiseException, match="the archive is append-only"):
                con.execute(statement)
        con.execute("SET session_replication_role = replica")  # as an administrator could: triggers off
        con.execute("UPDATE audit SET body = replace(body, '2 notices', '3 notices')")
    altered = f"{log.location}: entry 1: altered (its content no longer matches its hash)"
    assert [str(p) for p in log.verify().problems] == [altered]
    assert [str(e) for e in app.archive_verify(url).errors] == [altered]  # its triggers are those verify expects
    with psycopg.connect(url, autocommit=True, options="-c search_path=annex_archive") as con:
        con.execute("DROP TRIGGER audit_no_change ON audit")
    assert [str(e) for e in app.archive_verify(url).errors] == [f"{url}: trigger audit_no_change missing", altered]


def test_a_version_1_postgresql_archive_gets_its_audit_table_by_migrate(postgres_server):
    import psycopg

    from annex_gen.archive.postgres_index import MIGRATIONS, SCHEMA

    url = postgres_server.database()
    with psycopg.connect(url, autocommit=True) as con:  # an archive made before the audit table existed
        con.execute(MIGRATIONS[0])
        con.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (1)")
    with pytest.raises(ArchiveError, match="archive schema version 1 is older than 2; run `annex-gen archive migrate`"):
        app.audit_entries(url)
    assert app.archive_migrate(url) == (1, 2)
    (entry,) = [app.audit_record(url, "local", "contract saved", "acme.yaml")]
    assert app.audit_entries(url) == [entry]


def test_concurrent_writers_keep_one_gapless_chain(backend):
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> None:
        for i in range(10):
            open_audit_log(backend.location).record(f"user-{worker}", "contract saved", f"{worker}-{i}.yaml")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    log = open_audit_log(backend.location)
    check = log.verify()
    assert (check.audit_entries, check.problems) == (40, [])
    assert [e.seq for e in log.entries()] == list(range(1, 41))
