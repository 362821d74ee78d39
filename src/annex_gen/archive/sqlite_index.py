"""The embedded archive: an append-only SQLite index beside a directory of files.

Layout of an archive directory:

    index.sqlite          the index (WAL mode; -wal and -shm files beside it)
    objects/ab/abcdef…    each archived file, named by its SHA-256, read-only

The queryable columns are generated from the body, so the index cannot disagree with it.
Writers take SQLite's write lock (BEGIN IMMEDIATE) before reading the chain's tip, so
concurrent adds are serialised and none is lost; after each add the WAL is checkpointed into
the database file, so a committed record never lives only in the WAL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from annex_gen.archive.chain import GENESIS, Record, VerifyReport
from annex_gen.archive.index import Index
from annex_gen.archive.objects import OBJECTS_DIR, FileObjects
from annex_gen.errors import ArchiveError, NoArchive

INDEX_NAME = "index.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
# A file no record names is an interrupted add; younger than this, the add may still be waiting
# for the write lock (up to the busy timeout), so it is a note rather than a problem.
RUNNING_ADD_SECONDS = 2 * BUSY_TIMEOUT_MS / 1000

# Each entry migrates the schema from version i to i + 1; PRAGMA user_version holds the version.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL CHECK (json_valid(body)),
        record_hash TEXT NOT NULL UNIQUE,
        kind TEXT GENERATED ALWAYS AS (json_extract(body, '$.kind')) VIRTUAL,
        customer_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.customer_id')) VIRTUAL,
        document_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.document_id')) VIRTUAL,
        signed_on TEXT GENERATED ALWAYS AS (json_extract(body, '$.signed_on')) VIRTUAL,
        sha256 TEXT GENERATED ALWAYS AS (json_extract(body, '$.file.sha256')) VIRTUAL,
        parent INTEGER GENERATED ALWAYS AS (json_extract(body, '$.parent')) VIRTUAL
            REFERENCES records(seq)
    );
    CREATE UNIQUE INDEX records_sha256 ON records(sha256);
    CREATE INDEX records_customer ON records(customer_id, signed_on);
    CREATE INDEX records_document ON records(document_id);
    CREATE INDEX records_parent ON records(parent);
    CREATE TRIGGER records_no_update BEFORE UPDATE ON records
        BEGIN SELECT RAISE(ABORT, 'the archive is append-only'); END;
    CREATE TRIGGER records_no_delete BEFORE DELETE ON records
        BEGIN SELECT RAISE(ABORT, 'the archive is append-only'); END;
    """,
)


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    con = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None,
                          timeout=BUSY_TIMEOUT_MS / 1000)
    con.execute("PRAGMA foreign_keys = ON")
    # FULL: a committed record survives a power cut (NORMAL may lose the last commits in WAL mode).
    con.execute("PRAGMA synchronous = FULL")
    return con


def _migrate(con: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; the caller holds the write lock. Return the version found."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    for target in range(version + 1, len(MIGRATIONS) + 1):
        for statement in _statements(MIGRATIONS[target - 1]):
            con.execute(statement)
        con.execute(f"PRAGMA user_version = {target}")
    return version


def _statements(script: str) -> list[str]:
    # executescript() would commit the caller's transaction; split on complete statements instead.
    out: list[str] = []
    current = ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def expected_schema() -> set[tuple[str, str, str]]:
    """The (type, name, sql) rows a current archive's sqlite_master holds."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    try:
        _migrate(con)
        return _schema_rows(con)
    finally:
        con.close()


def _schema_rows(con: sqlite3.Connection) -> set[tuple[str, str, str]]:
    rows = con.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return {(t, n, " ".join(s.split())) for t, n, s in rows}


class SqliteIndex(Index):
    """An archive directory: index.sqlite and objects/."""

    db_errors = (sqlite3.DatabaseError,)

    def __init__(self, root: Path, con: sqlite3.Connection) -> None:
        self.root = root
        self.con = con
        self.objects = FileObjects(root)
        self.location = str(root / INDEX_NAME)
        self.migrated_from: int | None = None

    @classmethod
    def open(cls, root: Path, *, create: bool = False, migrate: bool = False) -> SqliteIndex:
        """Open the archive at root; with create, make it (and its schema) if needed; migrate an older one."""
        index = root / INDEX_NAME
        if not create and not index.is_file():
            raise NoArchive(
                f"{root}: no archive here (no {INDEX_NAME}); `annex-gen archive add` creates one")
        try:
            if create:
                (root / OBJECTS_DIR).mkdir(parents=True, exist_ok=True)
            con = _connect(index, create=create)
        except (OSError, sqlite3.Error) as exc:
            raise ArchiveError(f"{index}: cannot open the archive index: {exc}") from None
        migrated_from = None
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ArchiveError(f"{index}: archive schema version {version} is newer than this annex-gen "
                                   f"understands ({SCHEMA_VERSION}); upgrade annex-gen")
            if version < SCHEMA_VERSION:
                if not create and version == 0:
                    raise NoArchive(f"{index}: not an archive index (it has no schema)")
                if not (create or migrate):
                    raise ArchiveError(f"{index}: archive schema version {version} is older than "
                                       f"{SCHEMA_VERSION}; run `annex-gen archive migrate`")
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                try:
                    migrated_from = _migrate(con)  # re-reads the version under the lock: another may have won
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            con.close()
            raise ArchiveError(f"{index}: not a usable archive index: {exc}") from None
        except BaseException:
            con.close()
            raise
        opened = cls(root, con)
        opened.migrated_from = migrated_from
        return opened

    def close(self) -> None:
        """Close the index."""
        self.con.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Run a SELECT and return its rows."""
        return self.con.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        """PRAGMA user_version."""
        return self.con.execute("PRAGMA user_version").fetchone()[0]

    # Writing

    def stage(self, sha256: str, data: bytes) -> None:
        """Write the file before the record: a crash leaves an unrecorded file, never a record without one."""
        self.objects.put(sha256, data)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: the write lock is taken before the chain's tip is read."""
        try:
            self.con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ArchiveError(f"{self.location}: cannot write: {exc}") from None
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def next_seq(self) -> tuple[int, str]:
        """sqlite_sequence remembers the highest number ever used, so a removed last record leaves a gap."""
        row = self.con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        last = self.con.execute("SELECT record_hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0] if row else 0) + 1, (last[0] if last else GENESIS)

    def insert(self, record: Record, text: str, data: bytes) -> None:
        """Insert the record row (its file is already staged)."""
        self.con.execute("INSERT INTO records (seq, body, record_hash) VALUES (?, ?, ?)",
                         (record.seq, text, record.record_hash))

    def committed(self) -> None:
        """Checkpoint the WAL into the database, so a lost or damaged WAL cannot take the record with it."""
        try:
            self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            pass  # busy: the next add's checkpoint (or closing the last connection) completes it

    # Files and verification

    def read_object(self, record: Record) -> bytes:
        """The record's file from objects/."""
        path = self.objects.path(record.sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ArchiveError(f"{path}: record {record.seq}: file missing from the archive") from None
        except OSError as exc:
            raise ArchiveError(f"{path}: record {record.seq}: cannot read: {exc.strerror}") from None

    def describe_object(self, sha256: str) -> str:
        """The file's path."""
        return str(self.objects.path(sha256))

    def check_schema(self, report: VerifyReport) -> None:
        """Schema version, tables, indexes and triggers as created; integrity and foreign keys."""
        con, index = self.con, self.location
        version = self.schema_version()
        if version != SCHEMA_VERSION:
            report.add(index, f"schema version {version}, expected {SCHEMA_VERSION}")
        actual = _schema_rows(con)
        expected = expected_schema()
        for kind, name, _ in sorted(expected - actual):
            altered = any(n == name for _, n, _ in actual)
            report.add(index, f"{kind} {name} {'altered' if altered else 'missing'}")
        for kind, name, _ in sorted(actual - expected):
            if not any(n == name for _, n, _ in expected):
                report.add(index, f"unexpected {kind} {name}")
        for (line,) in con.execute("PRAGMA integrity_check"):
            if line != "ok":
                report.add(index, f"integrity check: {line}")
        for _table, rowid, parent, _fk in con.execute("PRAGMA foreign_key_check(records)"):
            report.add(index, f"record {rowid}: its annex record {parent} does not exist")

    def highest_seq(self) -> int:
        """sqlite_sequence's counter for records."""
        row = self.con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        return row[0] if row else 0

    def check_objects(self, referenced: dict[str, int], report: VerifyReport) -> None:
        """Re-hash every recorded file; a file no record names is a problem unless an add may be running."""
        for sha, seq in referenced.items():
            path = self.objects.path(sha)
            report.files += 1
            try:
                actual = self.objects.rehash(sha)
            except FileNotFoundError:
                report.add(str(path), f"record {seq}: file missing")
                continue
            except OSError as exc:
                report.add(str(path), f"record {seq}: cannot read: {exc.strerror}")
                continue
            if actual != sha:
                report.add(str(path), f"record {seq}: file altered (SHA-256 is now {actual})")
        for path, age in self.objects.stored():
            running = age < RUNNING_ADD_SECONDS
            if path.name.endswith(".part"):
                report.add(str(path), "unfinished write (an interrupted add)", "note" if running else "error")
            elif path.name not in referenced:
                if running:
                    report.add(str(path), "no record names this file; it is not archived (an add interrupted "
                               "before its commit leaves one; adding the file again records it)", "note")
                else:
                    report.add(str(path), "no record names this file: its record was removed, or an add was "
                               "interrupted before its commit (adding the file again records it)")
