"""The archive store: content-addressed files, the hash chain, append-only index, verify."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from annex_gen.archive.store import (
    GENESIS,
    INDEX_NAME,
    SCHEMA_VERSION,
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
def archive(tmp_path: Path):
    with Archive.open(tmp_path / "archive", create=True) as a:
        yield a


def _filled(archive: Archive, n: int = 3) -> list:
    return [_append(archive, f"file {i}".encode()) for i in range(1, n + 1)]


def _sql(archive: Archive, *statements: str, params: tuple = ()) -> None:
    """Tamper with the index behind the tool's back (the triggers are dropped and put back)."""
    con = sqlite3.connect(archive.root / INDEX_NAME, isolation_level=None)
    triggers = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    con.execute("DROP TRIGGER records_no_update")
    con.execute("DROP TRIGGER records_no_delete")
    for statement in statements:
        con.execute(statement, params if "?" in statement else ())
    for (sql,) in triggers:
        con.execute(sql)
    con.close()


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


def test_files_are_stored_by_hash_read_only_and_read_back_identical(archive):
    record = _append(archive, b"%PDF- the bytes")
    path = archive.object_path(record.sha256)
    assert path == archive.root / "objects" / record.sha256[:2] / record.sha256
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert archive.read_file(record) == b"%PDF- the bytes"


def test_the_index_is_wal_with_foreign_keys_and_a_schema_version(archive):
    con = archive._con
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


def test_the_index_refuses_updates_and_deletes(archive):
    _filled(archive, 1)
    con = sqlite3.connect(archive.root / INDEX_NAME)
    for statement in ("UPDATE records SET body = '{}'", "DELETE FROM records"):
        with pytest.raises(sqlite3.IntegrityError, match="the archive is append-only"):
            con.execute(statement)
    con.close()


def test_an_attachment_must_name_an_existing_record(archive):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _append(archive, b"orphan", kind="attachment", parent=7)
    assert archive.records() == []


def test_reading_needs_an_existing_archive(tmp_path):
    with pytest.raises(ArchiveError) as exc:
        Archive.open(tmp_path / "nowhere")
    assert str(exc.value) == (f"{tmp_path / 'nowhere'}: no archive here (no index.sqlite); "
                              "`annex-gen archive add` creates one")
    assert not (tmp_path / "nowhere").exists()


def test_a_newer_schema_is_refused(archive):
    archive._con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ArchiveError, match="newer than this annex-gen understands"):
        Archive.open(archive.root)


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


def test_verify_finds_a_missing_file(archive):
    record = _filled(archive)[1]
    path = archive.object_path(record.sha256)
    path.unlink()
    assert _errors(archive) == [f"{path}: record 2: file missing"]


def test_verify_finds_an_altered_file(archive):
    record = _filled(archive)[1]
    path = archive.object_path(record.sha256)
    path.chmod(0o644)
    path.write_bytes(b"file 2, amended")
    assert _errors(archive) == [
        f"{path}: record 2: file altered (SHA-256 is now {hashlib.sha256(b'file 2, amended').hexdigest()})"]


def test_verify_finds_an_altered_record(archive):
    record = _filled(archive)[1]
    body = {**record.body, "customer_id": "someone-else"}
    _sql(archive, "UPDATE records SET body = ? WHERE seq = 2", params=(canonical_json(body),))
    index = archive.root / INDEX_NAME
    assert _errors(archive) == [f"{index}: record 2: record altered (its content no longer matches its hash)"]


def test_verify_finds_an_altered_record_whose_hash_was_recomputed(archive):
    record = _filled(archive)[1]
    text = canonical_json({**record.body, "signed_on": "2020-01-01"})
    _sql(archive, "UPDATE records SET body = ?, record_hash = ? WHERE seq = 2",
         params=(text, record_hash(text)))
    index = archive.root / INDEX_NAME
    assert _errors(archive) == [
        f"{index}: record 3: chain broken: the record before it was altered, removed or reordered"]


def test_verify_finds_a_removed_record(archive):
    record = _filled(archive)[1]
    _sql(archive, "DELETE FROM records WHERE seq = 2")
    index = archive.root / INDEX_NAME
    errors = _errors(archive)
    assert errors == [
        f"{index}: record 2 missing (removed from the index)",
        f"{index}: record 3: chain broken: the record before it was altered, removed or reordered",
    ]
    notes = [str(p) for p in archive.verify().problems if p.severity == "note"]
    assert notes == [f"{archive.object_path(record.sha256)}: note: no record names this file; it is not "
                     "archived (an add interrupted before its commit leaves one; adding the file again "
                     "records it)"]


def test_verify_finds_a_removed_last_record_and_a_new_record_does_not_hide_it(archive):
    _filled(archive)
    _sql(archive, "DELETE FROM records WHERE seq = 3")
    index = archive.root / INDEX_NAME
    assert _errors(archive) == [f"{index}: record 3 missing (removed from the end of the index)"]
    assert _append(archive, b"later").seq == 4
    assert _errors(archive) == [f"{index}: record 3 missing (removed from the index)"]


def test_verify_finds_reordered_records(archive):
    first, second, _ = _filled(archive)
    _sql(
        archive,
        "UPDATE records SET seq = 100 WHERE seq = 1",
        "UPDATE records SET seq = 1 WHERE seq = 2",
        "UPDATE records SET seq = 2 WHERE seq = 100",
        "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'records'",
    )
    index = archive.root / INDEX_NAME
    errors = _errors(archive)
    assert f"{index}: record 1: record altered or moved (it says it is record 2)" in errors
    broken = "chain broken: the record before it was altered, removed or reordered"
    assert f"{index}: record 1: {broken}" in errors
    assert f"{index}: record 3: {broken}" in errors


def test_verify_finds_a_dropped_safeguard(archive):
    _filled(archive, 1)
    con = sqlite3.connect(archive.root / INDEX_NAME)
    con.execute("DROP TRIGGER records_no_delete")
    con.close()
    assert _errors(archive) == [f"{archive.root / INDEX_NAME}: trigger records_no_delete missing"]


def test_a_crash_between_file_and_record_leaves_no_record_and_a_retry_succeeds(archive, monkeypatch):
    _filled(archive, 1)

    def crash(con):
        raise KeyboardInterrupt  # stands in for a kill after the file is written

    monkeypatch.setattr(Archive, "_next", staticmethod(crash))
    with pytest.raises(KeyboardInterrupt):
        _append(archive, b"interrupted")
    monkeypatch.undo()
    sha = hashlib.sha256(b"interrupted").hexdigest()
    assert archive.object_path(sha).is_file()
    assert len(archive.records()) == 1
    report = archive.verify()
    assert report.errors == [] and [p.severity for p in report.problems] == ["note"]
    assert _append(archive, b"interrupted").seq == 2
    assert archive.verify().problems == []


def test_a_stray_unreferenced_file_with_wrong_content_is_replaced_not_trusted(archive):
    sha = hashlib.sha256(b"right").hexdigest()
    path = archive.object_path(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"wrong")
    record = _append(archive, b"right")
    assert archive.read_file(record) == b"right"
    assert archive.verify().problems == []


def test_records_are_listed_per_customer_in_chain_order(archive):
    _append(archive, b"a", customer="acme")
    _append(archive, b"b", customer="other")
    _append(archive, b"c", customer="acme")
    assert [r.seq for r in archive.records("acme")] == [1, 3]
    assert [r.seq for r in archive.records()] == [1, 2, 3]
    assert json.loads(canonical_json(archive.records()[0].body))["customer_id"] == "acme"

