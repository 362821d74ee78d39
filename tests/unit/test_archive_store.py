"""The archive store: content-addressed files, the hash chain, append-only index, verify.

Each test runs against both backends (`backend`: a directory with SQLite, and PostgreSQL);
those about SQLite's own machinery (WAL, sqlite_sequence, files on disk) run on it alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from annex_gen.archive.sqlite_index import INDEX_NAME, SCHEMA_VERSION
from annex_gen.archive.store import (
    GENESIS,
    Archive,
    ArchiveError,
    canonical_json,
    record_hash,
)
from annex_gen.errors import InvalidInput


def _append(archive: Archive, data: bytes, customer: str = "acme", **fields) -> object:
    body = {"kind": "annex", "customer_id": customer, "parent": None, "document_id": None,
            "signed_on": "2025-01-01", **fields}
    return archive.append(body, data, name="f.pdf", media_type="application/pdf", shown="f.pdf")


@pytest.fixture
def archive(backend):
    with Archive.open(backend.location, create=True) as a:
        yield a


@pytest.fixture
def sqlite_archive(tmp_path: Path):
    with Archive.open(tmp_path / "archive", create=True) as a:
        yield a


def _filled(archive: Archive, n: int = 3) -> list:
    return [_append(archive, f"file {i}".encode()) for i in range(1, n + 1)]


def _root(archive: Archive) -> Path:
    return Path(archive.location)


def _errors(archive: Archive) -> list[str]:
    return [str(p) for p in archive.verify().errors]


def test_records_chain_to_each_other_and_hash_their_body(archive):
    first, second = _filled(archive, 2)
    assert (first.seq, second.seq) == (1, 2)
    assert first.body["prev"] == GENESIS
    assert second.body["prev"] == first.record_hash
    assert second.record_hash == record_hash(canonical_json(second.body))
    assert second.body["file"] == {"name": "f.pdf", "sha256": hashlib.sha256(b"file 2").hexdigest(),
                                   "size": 6, "media_type": "application/pdf"}
    assert archive.get("2") == archive.get("#2") == archive.get(second.sha256[:10]) == second


def test_files_are_stored_by_hash_and_read_back_identical(archive, backend):
    record = _append(archive, b"%PDF- the bytes")
    assert backend.stored_objects() == [record.sha256]
    assert archive.read_file(record) == b"%PDF- the bytes"


def test_files_on_disk_are_named_by_hash_and_read_only(sqlite_archive):
    record = _append(sqlite_archive, b"%PDF- the bytes")
    path = sqlite_archive.index.objects.path(record.sha256)
    assert path == _root(sqlite_archive) / "objects" / record.sha256[:2] / record.sha256
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_the_index_is_wal_with_foreign_keys_and_a_schema_version(sqlite_archive):
    con = sqlite_archive.index.con
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_same_file_twice_is_refused_naming_the_record(archive):
    _append(archive, b"same", document_id="ANX-0000-0000-0000-0001")
    with pytest.raises(InvalidInput) as exc:
        _append(archive, b"same")
    assert str(exc.value).startswith(
        "f.pdf: already archived as record 1 (customer acme, document ANX-0000-0000-0000-0001, added 20")
    assert len(archive.records()) == 1


def test_the_sqlite_index_refuses_updates_and_deletes(sqlite_archive):
    _filled(sqlite_archive, 1)
    con = sqlite3.connect(_root(sqlite_archive) / INDEX_NAME)
    for statement in ("UPDATE records SET body = '{}'", "DELETE FROM records"):
        with pytest.raises(sqlite3.IntegrityError, match="the archive is append-only"):
            con.execute(statement)
    con.close()


def test_the_postgresql_index_refuses_updates_deletes_and_truncation(postgres_server):
    import psycopg

    url = postgres_server.database()
    with Archive.open(url, create=True) as archive:
        _filled(archive, 1)
    with psycopg.connect(url, autocommit=True, options="-c search_path=annex_archive") as con:
        for statement in ("UPDATE records SET body = '{}'", "DELETE FROM records", "TRUNCATE records",
                          "UPDATE objects SET data = 'x'", "DELETE FROM objects", "TRUNCATE objects CASCADE",
                          "DELETE FROM schema_version"):
            with pytest.raises(psycopg.errors.RaiseException, match="the archive is append-only"):
                con.execute(statement)
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 1


def test_an_attachment_must_name_an_existing_record(archive):
    with pytest.raises(ArchiveError, match="cannot record f.pdf: .*(FOREIGN KEY|foreign key)"):
        _append(archive, b"orphan", kind="attachment", parent=7)
    assert archive.records() == []


def test_reading_needs_an_existing_archive(tmp_path):
    with pytest.raises(ArchiveError) as exc:
        Archive.open(tmp_path / "nowhere")
    assert str(exc.value) == (f"{tmp_path / 'nowhere'}: no archive here (no index.sqlite); "
                              "`annex-gen archive add` creates one")
    assert not (tmp_path / "nowhere").exists()


def test_reading_an_empty_database_explains_itself(postgres_server):
    url = postgres_server.database()
    with pytest.raises(ArchiveError) as exc:
        Archive.open(url)
    assert str(exc.value) == (f"{url}: no archive here (no annex_archive schema); `annex-gen archive migrate` "
                              "or `annex-gen archive add` creates one")


def test_an_unreachable_server_is_one_clear_error(tmp_path):
    url = f"postgresql://nobody@/archive?host={tmp_path}"
    with pytest.raises(ArchiveError) as exc:
        Archive.open(url, create=True)
    assert str(exc.value).startswith(f"{url}: cannot connect to the archive database: ")


def test_a_password_never_appears_in_messages(tmp_path):
    url = f"postgresql://legal:s3cret@/archive?host={tmp_path}"
    with pytest.raises(ArchiveError) as exc:
        Archive.open(url)
    assert "s3cret" not in str(exc.value)
    assert str(exc.value).startswith("postgresql://legal:***@/archive")


def test_a_newer_schema_is_refused(archive, backend):
    if backend.name == "sqlite":
        archive.index.con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        from annex_gen.archive.postgres_index import SCHEMA_VERSION as POSTGRES_VERSION

        backend.sql(f"INSERT INTO schema_version (version) VALUES ({POSTGRES_VERSION + 1})")
    with pytest.raises(ArchiveError, match="newer than this annex-gen understands"):
        Archive.open(backend.location)


def test_unknown_records_are_reported(archive):
    _filled(archive, 1)
    with pytest.raises(ArchiveError, match="no record 5"):
        archive.get("5")
    with pytest.raises(ArchiveError, match="is not a record number"):
        archive.get("latest")


def test_a_sound_archive_verifies(archive):
    records = _filled(archive)
    report = archive.verify()
    assert report.problems == []
    assert (report.records, report.files, report.head) == (3, 3, records[-1])


def test_verify_finds_a_missing_file(archive, backend):
    record = _filled(archive)[1]
    backend.remove_object(record.sha256)
    assert _errors(archive) == [f"{backend.object_where(record.sha256)}: record 2: file missing"]


def test_verify_finds_an_altered_file(archive, backend):
    record = _filled(archive)[1]
    backend.alter_object(record.sha256, b"file 2, amended")
    assert _errors(archive) == [f"{backend.object_where(record.sha256)}: record 2: file altered "
                                f"(SHA-256 is now {hashlib.sha256(b'file 2, amended').hexdigest()})"]
    with pytest.raises(ArchiveError, match="record 2: file altered"):
        archive.read_file(record)


def test_verify_finds_an_altered_record(archive, backend):
    record = _filled(archive)[1]
    body = {**record.body, "customer_id": "someone-else"}
    backend.sql("UPDATE records SET body = ? WHERE seq = 2", params=(canonical_json(body),))
    assert _errors(archive) == [
        f"{backend.index_location}: record 2: record altered (its content no longer matches its hash)"]


def test_verify_finds_an_altered_record_whose_hash_was_recomputed(archive, backend):
    record = _filled(archive)[1]
    text = canonical_json({**record.body, "signed_on": "2020-01-01"})
    backend.sql("UPDATE records SET body = ?, record_hash = ? WHERE seq = 2", params=(text, record_hash(text)))
    assert _errors(archive) == [
        f"{backend.index_location}: record 3: chain broken: the record before it was altered, removed or reordered"]


def test_verify_finds_a_removed_record(archive, backend):
    record = _filled(archive)[1]
    backend.sql("DELETE FROM records WHERE seq = 2")
    index = backend.index_location
    errors = _errors(archive)
    assert errors[:2] == [
        f"{index}: record 2 missing (removed from the index)",
        f"{index}: record 3: chain broken: the record before it was altered, removed or reordered",
    ]
    if backend.name == "sqlite":  # a file younger than a running add may be one: a note
        notes = [str(p) for p in archive.verify().problems if p.severity == "note"]
        assert notes == [f"{backend.object_where(record.sha256)}: note: no record names this file; it is not "
                         "archived (an add interrupted before its commit leaves one; adding the file again "
                         "records it)"]
    else:  # the file and its record commit together: a file without one is a removed record
        assert errors[2:] == [f"{backend.object_where(record.sha256)}: no record names this file: "
                              "its record was removed"]


def test_an_old_file_that_no_record_names_is_a_problem(sqlite_archive):
    record = _filled(sqlite_archive, 2)[1]
    path = sqlite_archive.index.objects.path(record.sha256)
    stray = path.with_name("ab" * 32)
    stray.write_bytes(b"stray")
    assert [p.severity for p in sqlite_archive.verify().problems] == ["note"]
    os.utime(stray, (stray.stat().st_atime, stray.stat().st_mtime - 3600))
    assert _errors(sqlite_archive) == [
        f"{stray}: no record names this file: its record was removed, or an add was interrupted before its "
        "commit (adding the file again records it)"]


def test_verify_finds_a_removed_last_record_and_a_new_record_does_not_hide_it(sqlite_archive):
    archive = sqlite_archive
    _filled(archive)
    con = sqlite3.connect(_root(archive) / INDEX_NAME, isolation_level=None)
    con.execute("DROP TRIGGER records_no_delete")
    con.execute("DELETE FROM records WHERE seq = 3")
    con.close()
    index = _root(archive) / INDEX_NAME
    errors = _errors(archive)
    assert f"{index}: record 3 missing (removed from the end of the index)" in errors
    assert _append(archive, b"later").seq == 4
    assert f"{index}: record 3 missing (removed from the index)" in _errors(archive)


def test_verify_finds_reordered_records(archive, backend):
    _filled(archive)
    statements = ["UPDATE records SET seq = 100 WHERE seq = 1", "UPDATE records SET seq = 1 WHERE seq = 2",
                  "UPDATE records SET seq = 2 WHERE seq = 100"]
    if backend.name == "sqlite":
        statements.append("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'records'")
    backend.sql(*statements)
    index = backend.index_location
    errors = _errors(archive)
    assert f"{index}: record 1: record altered or moved (it says it is record 2)" in errors
    broken = "chain broken: the record before it was altered, removed or reordered"
    assert f"{index}: record 1: {broken}" in errors
    assert f"{index}: record 3: {broken}" in errors


def test_verify_finds_a_dropped_safeguard(archive, backend):
    _filled(archive, 1)
    if backend.name == "sqlite":
        backend.sql()  # no-op: puts the triggers back
        con = sqlite3.connect(backend.root / INDEX_NAME)
        con.execute("DROP TRIGGER records_no_delete")
        con.close()
        assert _errors(archive) == [f"{backend.index_location}: trigger records_no_delete missing"]
    else:
        backend.sql("DROP TRIGGER records_no_change ON records",
                    "ALTER TABLE objects DISABLE TRIGGER objects_no_change")
        assert _errors(archive) == [f"{backend.index_location}: trigger records_no_change missing",
                                    f"{backend.index_location}: trigger objects_no_change disabled"]


def test_a_crash_between_file_and_record_leaves_no_record_and_a_retry_succeeds(archive, backend, monkeypatch):
    _filled(archive, 1)

    def crash(self):
        raise KeyboardInterrupt  # stands in for a kill after the file is written

    monkeypatch.setattr(type(archive.index), "next_seq", crash)
    with pytest.raises(KeyboardInterrupt):
        _append(archive, b"interrupted")
    monkeypatch.undo()
    assert len(archive.records()) == 1
    report = archive.verify()
    if backend.name == "sqlite":  # the file was written first; a young one is a note
        assert hashlib.sha256(b"interrupted").hexdigest() in backend.stored_objects()
        assert report.errors == [] and [p.severity for p in report.problems] == ["note"]
    else:  # file and record are one transaction: nothing is left
        assert len(backend.stored_objects()) == 1 and report.problems == []
    assert _append(archive, b"interrupted").seq == 2
    assert archive.verify().problems == []


def test_a_stray_unreferenced_file_with_wrong_content_is_replaced_not_trusted(sqlite_archive):
    sha = hashlib.sha256(b"right").hexdigest()
    path = sqlite_archive.index.objects.path(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"wrong")
    record = _append(sqlite_archive, b"right")
    assert sqlite_archive.read_file(record) == b"right"
    assert sqlite_archive.verify().problems == []


def test_records_are_listed_per_customer_in_chain_order(archive):
    _append(archive, b"a", customer="acme")
    _append(archive, b"b", customer="other")
    _append(archive, b"c", customer="acme")
    assert [r.seq for r in archive.records("acme")] == [1, 3]
    assert [r.seq for r in archive.records()] == [1, 2, 3]
    assert json.loads(canonical_json(archive.records()[0].body))["customer_id"] == "acme"


def test_an_application_role_that_may_only_select_and_insert_can_archive(postgres_server):
    import psycopg

    url = postgres_server.database()
    database = url.split("/")[3].split("?")[0]
    with psycopg.connect(url, autocommit=True) as con:
        for role in ("annex_owner", "annex_app"):
            con.execute(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        con.execute(f"GRANT CREATE ON DATABASE {database} TO annex_owner")
    as_role = url.replace(f"{postgres_server.user}@", "{}@")
    with Archive.open(as_role.format("annex_owner"), create=True):
        pass  # the owner makes the schema
    with psycopg.connect(as_role.format("annex_owner"), autocommit=True) as con:
        con.execute("GRANT USAGE ON SCHEMA annex_archive TO annex_app")
        con.execute("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA annex_archive TO annex_app")

    app_url = as_role.format("annex_app")
    with Archive.open(app_url, create=True) as archive:
        _filled(archive, 2)
        assert archive.verify().problems == []
    with psycopg.connect(app_url, autocommit=True, options="-c search_path=annex_archive") as con:
        for statement in ("UPDATE records SET body = '{}'", "DELETE FROM objects", "TRUNCATE records",
                          "DROP TRIGGER records_no_change ON records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def test_only_an_absent_archive_means_no_approval(tmp_path: Path, registry) -> None:
    from annex_gen import app
    from annex_gen.errors import ArchiveError

    # nothing there: no archive, so no approval and every annex a draft
    assert app.approved_release(registry, tmp_path / "none") is None
    assert app.release_list(tmp_path / "none") == [] and not app.archive_exists(tmp_path / "none")
    # an archive this annex-gen cannot read: whether legal approved the list is not known, which is not "no"
    with Archive.open(tmp_path / "newer", create=True):
        pass
    with sqlite3.connect(tmp_path / "newer" / INDEX_NAME) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for ask in (lambda: app.approved_release(registry, tmp_path / "newer"),
                lambda: app.release_list(tmp_path / "newer"), lambda: app.archive_exists(tmp_path / "newer")):
        with pytest.raises(ArchiveError, match="is newer than this annex-gen understands"):
            ask()
