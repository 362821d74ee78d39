"""The archive on disk: files stored by SHA-256, and an append-only, hash-chained SQLite index.

Layout of an archive directory:

    index.sqlite          the index (WAL mode; -wal and -shm files beside it)
    objects/ab/abcdef…    each archived file, named by its SHA-256, read-only

Each record is a canonical JSON object (its `body`) that names its file's SHA-256 and the
hash of the record before it (`prev`); the record's own hash is the SHA-256 of the body.
Altering, removing or reordering a record therefore breaks the chain, and `verify` finds it.
The queryable columns are generated from the body, so the index cannot disagree with it.

A file is written and fsync'd before the transaction that records it commits, so a crash
leaves at most a file that no record names (which `verify` reports as a note), never a
record without its file. Writers take SQLite's write lock (BEGIN IMMEDIATE) before reading
the chain's tip, so concurrent adds are serialised and none is lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.errors import ArchiveError, Diagnostic, InvalidInput
from annex_gen.hashing import canonical_json, sha256_text
from annex_gen.output.write import _fsync_dir, write_atomic

DEFAULT_ARCHIVE = Path("archive")
INDEX_NAME = "index.sqlite"
OBJECTS_DIR = "objects"
GENESIS = "0" * 64
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

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


record_hash = sha256_text  # a record's hash: SHA-256 of its canonical body text


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Record:
    """One archived file and what is known about it; `body` is exactly what the chain hashes."""

    seq: int
    body: Mapping[str, Any]
    record_hash: str

    @property
    def kind(self) -> str:
        """'annex' (a signed annex) or 'attachment' (another file kept with an annex record)."""
        return self.body["kind"]

    @property
    def customer_id(self) -> str:
        """The customer the file belongs to."""
        return self.body["customer_id"]

    @property
    def document_id(self) -> str | None:
        """The annex's document ID, when known."""
        return self.body.get("document_id")

    @property
    def signed_on(self) -> dt.date | None:
        """The date the annex was signed."""
        value = self.body.get("signed_on")
        return dt.date.fromisoformat(value) if value else None

    @property
    def sha256(self) -> str:
        """SHA-256 of the archived file."""
        return self.body["file"]["sha256"]

    @property
    def file_name(self) -> str:
        """The file's name when it was added."""
        return self.body["file"]["name"]

    @property
    def parent(self) -> int | None:
        """For an attachment, the record of the annex it belongs to."""
        return self.body.get("parent")

    @property
    def annex(self) -> Mapping[str, Any] | None:
        """The annex.json embedded in the file, if it had one."""
        return self.body.get("annex")

    @property
    def signatures(self) -> list[Mapping[str, Any]]:
        """The signature checks made when the file was added."""
        return list(self.body.get("signatures") or [])


@dataclass(frozen=True)
class Problem:
    """Something `verify` found; errors make it fail, notes do not."""

    where: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.where}: {prefix}{self.message}"


@dataclass
class VerifyReport:
    """What `verify` checked and found."""

    records: int = 0
    files: int = 0
    head: Record | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the archive fail verification."""
        return [p for p in self.problems if p.severity == "error"]


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    con = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None,
                          timeout=BUSY_TIMEOUT_MS / 1000)
    con.execute("PRAGMA foreign_keys = ON")
    # FULL: a committed record survives a power cut (NORMAL may lose the last commits in WAL mode).
    con.execute("PRAGMA synchronous = FULL")
    return con


def _migrate(con: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION; the caller holds the write lock."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    for target in range(version + 1, len(MIGRATIONS) + 1):
        for statement in _statements(MIGRATIONS[target - 1]):
            con.execute(statement)
        con.execute(f"PRAGMA user_version = {target}")


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


class Archive:
    """An archive directory: open it, add records, read them back, verify it."""

    def __init__(self, root: Path, con: sqlite3.Connection) -> None:
        self.root = root
        self._con = con

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> Archive:
        """Open the archive at root; with create, make it (and its schema) if needed."""
        index = root / INDEX_NAME
        if not create and not index.is_file():
            raise ArchiveError(
                f"{root}: no archive here (no {INDEX_NAME}); `annex-gen archive add` creates one")
        try:
            if create:
                (root / OBJECTS_DIR).mkdir(parents=True, exist_ok=True)
            con = _connect(index, create=create)
        except (OSError, sqlite3.Error) as exc:
            raise ArchiveError(f"{index}: cannot open the archive index: {exc}") from None
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ArchiveError(f"{index}: archive schema version {version} is newer than this annex-gen "
                                   f"understands ({SCHEMA_VERSION}); upgrade annex-gen")
            if version < SCHEMA_VERSION:
                if not create and version == 0:
                    raise ArchiveError(f"{index}: not an archive index (it has no schema)")
                if not create:
                    raise ArchiveError(f"{index}: archive schema version {version} is older than "
                                       f"{SCHEMA_VERSION}; run `annex-gen archive add` to migrate it")
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                try:
                    _migrate(con)  # re-reads the version under the lock: a concurrent opener may have won
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
        return cls(root, con)

    def close(self) -> None:
        """Close the index."""
        self._con.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reading

    def _records(self, where: str = "", params: tuple = ()) -> list[Record]:
        rows = self._con.execute(f"SELECT seq, body, record_hash FROM records {where} ORDER BY seq", params)
        return [Record(seq, json.loads(body), h) for seq, body, h in rows]

    def records(self, customer: str | None = None) -> list[Record]:
        """Every record in chain order, or those of one customer."""
        if customer is None:
            return self._records()
        return self._records("WHERE customer_id = ?", (customer,))

    def find_file(self, sha256: str) -> Record | None:
        """The record that archived the file with this SHA-256, if any."""
        found = self._records("WHERE sha256 = ?", (sha256,))
        return found[0] if found else None

    def with_document(self, document_id: str) -> list[Record]:
        """The records of annexes with this document ID."""
        return self._records("WHERE document_id = ? AND kind = 'annex'", (document_id,))

    def attachments(self, seq: int) -> list[Record]:
        """The attachments of an annex record."""
        return self._records("WHERE parent = ?", (seq,))

    def get(self, ref: str | int) -> Record:
        """A record by number ('12' or '#12') or by a prefix of its file's SHA-256 (8+ digits)."""
        text = str(ref).strip().removeprefix("#")
        if text.isdigit():
            found = self._records("WHERE seq = ?", (int(text),))
        elif re.fullmatch(r"[0-9a-fA-F]{8,64}", text):
            found = self._records("WHERE sha256 LIKE ?", (text.lower() + "%",))
            if len(found) > 1:
                raise ArchiveError(f"{self.root}: {text} matches {len(found)} files; give more digits")
        else:
            raise ArchiveError(f"{ref!r} is not a record number or a SHA-256 prefix of 8 or more hex digits")
        if not found:
            raise ArchiveError(f"{self.root}: no record {ref}")
        return found[0]

    def object_path(self, sha256: str) -> Path:
        """Where the file with this SHA-256 is stored."""
        return self.root / OBJECTS_DIR / sha256[:2] / sha256

    def read_file(self, record: Record) -> bytes:
        """The archived bytes of a record's file, checked against its SHA-256."""
        path = self.object_path(record.sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ArchiveError(f"{path}: record {record.seq}: file missing from the archive") from None
        except OSError as exc:
            raise ArchiveError(f"{path}: record {record.seq}: cannot read: {exc.strerror}") from None
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise ArchiveError(f"{path}: record {record.seq}: file altered (its SHA-256 no longer matches)")
        return data

    # Writing

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _refuse_duplicate(self, sha256: str, shown: str) -> None:
        existing = self.find_file(sha256)
        if existing is not None:
            what = f"customer {existing.customer_id}"
            if existing.document_id:
                what += f", document {existing.document_id}"
            raise InvalidInput([Diagnostic(
                shown, None, None, "",
                f"already archived as record {existing.seq} ({what}, added {existing.body['archived_at']})",
            )])

    def _store_file(self, sha256: str, data: bytes) -> None:
        """Write the file under its hash, fsync'd and read-only; keep an identical one already there."""
        path = self.object_path(sha256)
        try:
            if path.is_file() and file_sha256(path) == sha256:
                path.chmod(0o444)
                return  # left by an add that was interrupted before its commit, or a concurrent one
        except OSError:
            pass
        if not path.parent.is_dir():
            path.parent.mkdir(exist_ok=True)
            _fsync_dir(path.parent.parent)  # so a crash cannot lose the new folder's entry
        # Only reached for a hash no record names (checked before), so nothing archived is replaced.
        write_atomic(path, data, mode=0o444)

    def append(self, fields: Mapping[str, Any], data: bytes, *, name: str, media_type: str,
               shown: str) -> Record:
        """Store data and append a record of it: fields plus seq, prev, archived_at and file."""
        sha256 = hashlib.sha256(data).hexdigest()
        self._refuse_duplicate(sha256, shown)
        self._store_file(sha256, data)
        try:
            with self._write_transaction() as con:
                self._refuse_duplicate(sha256, shown)  # another process may have added it meanwhile
                seq, prev = self._next(con)
                body = {
                    **fields,
                    "seq": seq,
                    "prev": prev,
                    "archived_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "file": {"name": name, "sha256": sha256, "size": len(data), "media_type": media_type},
                }
                text = canonical_json(body)
                digest = record_hash(text)
                con.execute("INSERT INTO records (seq, body, record_hash) VALUES (?, ?, ?)",
                            (seq, text, digest))
        except sqlite3.OperationalError as exc:  # locked for too long, disk full, read-only...
            raise ArchiveError(f"{self.root / INDEX_NAME}: cannot record {shown}: {exc}") from None
        return Record(seq, json.loads(text), digest)

    @staticmethod
    def _next(con: sqlite3.Connection) -> tuple[int, str]:
        """The next record number and the hash it chains to."""
        # sqlite_sequence remembers the highest number ever used, so a removed last record leaves a
        # gap that verify reports instead of being silently reused.
        row = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        last = con.execute("SELECT record_hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0] if row else 0) + 1, (last[0] if last else GENESIS)

    # Verification

    def verify(self) -> VerifyReport:
        """Re-hash every file, check the chain and the index; collect every problem."""
        report = VerifyReport()
        index = str(self.root / INDEX_NAME)
        try:
            self._verify_index(index, report)
            referenced = self._verify_chain(index, report)
        except sqlite3.DatabaseError as exc:
            report.problems.append(Problem(index, f"index unreadable: {exc}"))
            return report
        self._verify_files(referenced, report)
        return report

    def _verify_index(self, index: str, report: VerifyReport) -> None:
        con = self._con
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            report.problems.append(Problem(index, f"schema version {version}, expected {SCHEMA_VERSION}"))
        actual = _schema_rows(con)
        expected = expected_schema()
        for kind, name, _ in sorted(expected - actual):
            altered = any(n == name for _, n, _ in actual)
            report.problems.append(Problem(index, f"{kind} {name} {'altered' if altered else 'missing'}"))
        for kind, name, _ in sorted(actual - expected):
            if not any(n == name for _, n, _ in expected):
                report.problems.append(Problem(index, f"unexpected {kind} {name}"))
        for (line,) in con.execute("PRAGMA integrity_check"):
            if line != "ok":
                report.problems.append(Problem(index, f"integrity check: {line}"))
        for _table, rowid, parent, _fk in con.execute("PRAGMA foreign_key_check(records)"):
            report.problems.append(
                Problem(index, f"record {rowid}: its annex record {parent} does not exist"))

    def _verify_chain(self, index: str, report: VerifyReport) -> dict[str, int]:
        """Check each record's hash, number and link; return the files they name."""
        referenced: dict[str, int] = {}
        prev_hash = GENESIS
        expected_seq = 1
        last: Record | None = None
        rows = self._con.execute("SELECT seq, body, record_hash FROM records ORDER BY seq")
        for seq, text, stored_hash in rows:
            report.records += 1
            where = f"{index}: record {seq}"
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
                report.problems.append(Problem(index, f"record {missing} missing (removed from the index)"))
            expected_seq = seq + 1
            if record_hash(text) != stored_hash:
                report.problems.append(
                    Problem(where, "record altered (its content no longer matches its hash)"))
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                report.problems.append(Problem(where, "record altered (not JSON)"))
                prev_hash = stored_hash
                continue
            if body.get("seq") != seq:
                report.problems.append(
                    Problem(where, f"record altered or moved (it says it is record {body.get('seq')})"))
            if body.get("prev") != prev_hash:
                report.problems.append(Problem(
                    where, "chain broken: the record before it was altered, removed or reordered"))
            sha = (body.get("file") or {}).get("sha256")
            if isinstance(sha, str) and _SHA256_RE.match(sha):
                referenced[sha] = seq
            else:
                report.problems.append(Problem(where, "record altered (no valid file SHA-256)"))
            prev_hash = stored_hash
            last = Record(seq, body, stored_hash)
        report.head = last
        row = self._con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        highest = row[0] if row else 0
        if highest >= expected_seq:
            gone = f"{expected_seq}" if highest == expected_seq else f"{expected_seq}-{highest}"
            report.problems.append(
                Problem(index, f"record {gone} missing (removed from the end of the index)"))
        return referenced

    def _verify_files(self, referenced: dict[str, int], report: VerifyReport) -> None:
        for sha, seq in referenced.items():
            path = self.object_path(sha)
            report.files += 1
            try:
                actual = file_sha256(path)
            except FileNotFoundError:
                report.problems.append(Problem(str(path), f"record {seq}: file missing"))
                continue
            except OSError as exc:
                report.problems.append(Problem(str(path), f"record {seq}: cannot read: {exc.strerror}"))
                continue
            if actual != sha:
                report.problems.append(
                    Problem(str(path), f"record {seq}: file altered (SHA-256 is now {actual})"))
        objects = self.root / OBJECTS_DIR
        for path in sorted(objects.glob("*/*")) if objects.is_dir() else ():
            if path.name.endswith(".part"):
                report.problems.append(Problem(str(path), "unfinished write (an interrupted add)", "note"))
            elif path.name not in referenced:
                report.problems.append(Problem(
                    str(path), "no record names this file; it is not archived (an add interrupted before "
                    "its commit leaves one; adding the file again records it)", "note"))

