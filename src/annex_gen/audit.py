"""The audit trail: who did what, when, and what it produced, in an append-only log.

The log lives with the archive: a SQLite file beside a directory archive's index
(`ARCHIVE/audit.sqlite`), or the table `annex_archive.audit` in a PostgreSQL archive's
database. Like the archive, nothing in it is updated or deleted (triggers refuse it) and every
entry carries the hash of the one before, so a removed or edited entry breaks the chain that
`verify` walks (`annex-gen archive verify`, the web application's Verify). `open_audit_log(location)`
picks the implementation from the archive's location; an `Actor` records acts before they are committed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from annex_gen.archive.chain import Head, VerifyReport, check_head
from annex_gen.archive.index import is_server_url
from annex_gen.errors import ArchiveError, NotRecorded
from annex_gen.hashing import canonical_json, sha256_text

AUDIT_NAME = "audit.sqlite"
GENESIS = "0" * 64
CSV_COLUMNS = ("seq", "at", "actor", "action", "what", "refs", "entry_hash")

# What writes something, and who signed in and out: the actions an entry may name.
ACTIONS = ("contract saved", "annex generated", "batch run", "notices written", "file archived", "archive verified",
           "message sent", "objection recorded", "objection resolved", "evidence exported",
           "signed in", "sign-in failed", "signed out",
           "registry change proposed", "registry change edited", "registry change withdrawn",
           "registry change approved", "fact confirmed", "release approved")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL CHECK (json_valid(body)),
    entry_hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AuditEntry:
    """One action that wrote something: who, when (UTC), what, and the IDs it produced."""

    seq: int
    at: str
    actor: str
    action: str
    what: str
    refs: tuple[str, ...]
    prev: str
    entry_hash: str
    params: dict = field(default_factory=dict)
    """What `what` says, as values a page writes in its own language (the action names the text)."""

    def body(self) -> dict:
        """What the chain hashes (params only when given, so older entries hash as they did)."""
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action, "what": self.what,
                "refs": list(self.refs), "prev": self.prev, **({"params": self.params} if self.params else {})}


def _entry_of(text: str, digest: str) -> AuditEntry:
    b = json.loads(text)
    return AuditEntry(b["seq"], b["at"], b["actor"], b["action"], b["what"], tuple(b["refs"]), b["prev"], digest,
                      b.get("params") or {})


class AuditLog(ABC):
    """An archive's audit log; open one per use (it is cheap)."""

    location: str  # how messages name the log

    def __init__(self, *, clock: Callable[[], str] = _now) -> None:
        self._clock = clock

    def _next(self, tip: tuple[int, str] | None, actor: str, action: str, what: str,
              refs: Iterable[str | int], params: dict | None = None) -> tuple[AuditEntry, str]:
        """The entry after tip (seq, hash), and the body text its hash covers."""
        seq, prev = (tip[0] + 1, tip[1]) if tip else (1, GENESIS)
        entry = AuditEntry(seq, self._clock(), actor, action, what, tuple(str(r) for r in refs), prev, "",
                           params or {})
        text = canonical_json(entry.body())
        return replace(entry, entry_hash=sha256_text(text)), text

    def record(self, actor: str, action: str, what: str, refs: Iterable[str | int] = (),
               params: dict | None = None) -> AuditEntry:
        """Append one entry and return it; params: what `what` says, for pages in other languages."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        return self._append(actor, action, what, refs, params)

    @abstractmethod
    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int],
                params: dict | None = None) -> AuditEntry:
        """Append under a write lock taken before the tip is read, so no two entries share a prev."""

    @abstractmethod
    def _insert_exact(self, rows: list[tuple[int, str, str]]) -> None:
        """Append rows exactly as given (body text and hash), in one transaction."""

    def copy_from(self, source: AuditLog) -> tuple[int, int]:
        """Append source's entries not here yet, exactly (numbers, bodies, hashes); return (copied, already there).

        This log must be empty or hold the same first entries (a copy interrupted earlier).
        """
        there, rows = self.rows(), source.rows()
        if rows[:len(there)] != there:
            raise ArchiveError(f"{self.location}: holds audit entries the source does not; copy into an empty "
                               "archive")
        if rows[len(there):]:
            self._insert_exact(rows[len(there):])
        return len(rows) - len(there), len(there)

    @abstractmethod
    def ready(self) -> None:
        """Raise ArchiveError unless an entry can be written now (checked before an act, so none goes unlogged)."""

    @abstractmethod
    def rows(self) -> list[tuple[int, str, str]]:
        """(seq, body text, entry hash) of every entry, oldest first; none when the log does not exist yet."""

    def highest_seq(self) -> int | None:
        """The highest entry number ever handed out, if the log remembers it apart from the rows."""
        return None

    def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first (none when the log does not exist yet)."""
        return [_entry_of(text, digest) for _, text, digest in self.rows()]

    def head(self) -> Head | None:
        """The log's last entry as a head to keep outside the archive; None when empty."""
        rows = self.rows()
        return Head(rows[-1][0], rows[-1][2]) if rows else None

    def verify(self, report: VerifyReport | None = None, anchor: Head | None = None) -> VerifyReport:
        """Walk the chain into report: every entry hashes to its stored hash, has its place, names the one before.

        A change to any field, an entry inserted, removed or moved breaks the chain; removing the
        last entries does not, so anchor (a head kept outside the archive) must still be in it.
        """
        report = report if report is not None else VerifyReport()
        where = self.location
        try:
            rows = self.rows()
            highest = self.highest_seq()
        except ArchiveError as exc:
            report.add(where, f"the audit log cannot be read: {exc}")
            return report
        hashes: dict[int, str] = {}
        prev, expected = GENESIS, 1
        for seq, text, stored in rows:
            report.audit_entries += 1
            hashes[seq] = stored
            at = f"{where}: entry {seq}"
            if seq > expected:
                missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
                report.add(where, f"audit entry {missing} missing (removed from the log)")
            expected = seq + 1
            if sha256_text(text) != stored:
                report.add(at, "altered (its content no longer matches its hash)")
            try:
                body = json.loads(text)
                entry = _entry_of(text, stored)
            except (ValueError, KeyError, TypeError):
                report.add(at, "altered (not an audit entry)")
                prev = stored
                continue
            if canonical_json(entry.body()) != text and sha256_text(text) == stored:
                report.add(at, "altered (not an audit entry as the tool writes it)")
            if body.get("seq") != seq:
                report.add(at, f"altered or moved (it says it is entry {body.get('seq')})")
            if entry.prev != prev:
                report.add(at, "chain broken: the entry before it was altered, removed or reordered")
            prev = stored
            report.audit_head = Head(seq, stored)
        last = report.audit_head.seq if report.audit_head else 0
        if highest is not None and highest > last:
            gone = f"{last + 1}" if highest == last + 1 else f"{last + 1}-{highest}"
            report.add(where, f"audit entry {gone} missing (removed from the end of the log)")
        if anchor is not None:
            check_head(hashes, last, anchor, report, where, noun="entry", chain="audit log")
        return report


def connect_log(path: Path, schema: str, what: str, *, create: bool) -> sqlite3.Connection:
    """A hash-chained log's SQLite file beside a directory archive, writes made durable; with create, the
    file and its schema are made if missing. ArchiveError names the log (what) when it cannot be opened.
    The audit log, the lifecycle log and the registry change log share it."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(f"file:{path}?mode={'rwc' if create else 'ro'}", uri=True, isolation_level=None,
                              timeout=60)
        con.execute("PRAGMA synchronous = FULL")
        if create:
            con.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise ArchiveError(f"{path}: cannot open {what}: {exc}") from None
    return con


@contextlib.contextmanager
def writing_log(path: Path, schema: str, what: str, failed: str) -> Iterator[sqlite3.Connection]:
    """A write transaction on a hash-chained log's SQLite file: its write lock taken before anything is
    read (no two entries share a predecessor), committed when the block ends, rolled back if it raises;
    a database error becomes ArchiveError saying what failed."""
    con = connect_log(path, schema, what, create=True)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise ArchiveError(f"{path}: {failed}: {exc}") from None
    finally:
        con.close()


class SqliteAuditLog(AuditLog):
    """The audit log file of an archive directory."""

    def __init__(self, root: Path, *, clock: Callable[[], str] = _now) -> None:
        super().__init__(clock=clock)
        self.path = root / AUDIT_NAME
        self.location = str(self.path)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        return connect_log(self.path, _SCHEMA, "the audit log", create=create)

    def _writing(self, failed: str) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return writing_log(self.path, _SCHEMA, "the audit log", failed)

    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int],
                params: dict | None = None) -> AuditEntry:
        with self._writing("cannot record the action") as con:
            tip = con.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            entry, text = self._next(tip, actor, action, what, refs, params)
            con.execute("INSERT INTO entries (seq, body, entry_hash) VALUES (?, ?, ?)",
                        (entry.seq, text, entry.entry_hash))
        return entry

    def _insert_exact(self, rows: list[tuple[int, str, str]]) -> None:
        with self._writing("cannot copy the audit log") as con:
            con.executemany("INSERT INTO entries (seq, body, entry_hash) VALUES (?, ?, ?)", rows)

    def ready(self) -> None:
        """The file can be created and its write lock taken."""
        with self._writing("cannot write the audit log"):
            pass

    def rows(self) -> list[tuple[int, str, str]]:
        """The rows of the file, if it exists."""
        if not self.path.is_file():
            return []
        con = self._connect(create=False)
        try:
            return con.execute("SELECT seq, body, entry_hash FROM entries ORDER BY seq").fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot read the audit log: {exc}") from None
        finally:
            con.close()

    def highest_seq(self) -> int | None:
        """sqlite_sequence's counter for entries (AUTOINCREMENT never hands a number out twice)."""
        if not self.path.is_file():
            return None
        con = self._connect(create=False)
        try:
            row = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot read the audit log: {exc}") from None
        finally:
            con.close()
        return int(row[0]) if row else 0


class PostgresAuditLog(AuditLog):
    """The audit table of a PostgreSQL archive (created and migrated with the archive's schema)."""

    def __init__(self, url: str, *, clock: Callable[[], str] = _now) -> None:
        from annex_gen.archive.index import shown_url
        from annex_gen.archive.postgres_index import AUDIT_TABLE, SCHEMA

        super().__init__(clock=clock)
        self.url = url
        self.location = f"{shown_url(url)}: {SCHEMA}.{AUDIT_TABLE}"

    def _index(self, *, create: bool) -> Any:
        from annex_gen.archive.postgres_index import PostgresIndex

        return PostgresIndex.open(self.url, create=create)

    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int],
                params: dict | None = None) -> AuditEntry:
        from annex_gen.archive.postgres_index import AUDIT_LOCK, AUDIT_TABLE

        index = self._index(create=True)  # the first action may come before the first archived file
        try:
            with index.con.transaction():
                index.con.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
                tip = index.con.execute(
                    f"SELECT seq, entry_hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
                entry, text = self._next(tip, actor, action, what, refs, params)
                index.con.execute(f"INSERT INTO {AUDIT_TABLE} (seq, body, entry_hash) VALUES (%s, %s, %s)",
                                  (entry.seq, text, entry.entry_hash))
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot record the action: {' '.join(str(exc).split())}") from None
        finally:
            index.close()
        return entry

    def _insert_exact(self, rows: list[tuple[int, str, str]]) -> None:
        from annex_gen.archive.postgres_index import AUDIT_LOCK, AUDIT_TABLE

        index = self._index(create=True)
        try:
            with index.con.transaction():
                index.con.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
                with index.con.cursor() as cur:
                    cur.executemany(f"INSERT INTO {AUDIT_TABLE} (seq, body, entry_hash) VALUES (%s, %s, %s)", rows)
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot copy the audit log: {' '.join(str(exc).split())}") from None
        finally:
            index.close()

    def ready(self) -> None:
        """The database answers and the table takes inserts."""
        from annex_gen.archive.postgres_index import AUDIT_TABLE, SCHEMA

        index = self._index(create=True)
        try:
            (allowed,) = index.con.execute("SELECT has_table_privilege(%s, 'INSERT')",
                                           (f"{SCHEMA}.{AUDIT_TABLE}",)).fetchone()
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot write the audit log: {' '.join(str(exc).split())}") from None
        finally:
            index.close()
        if not allowed:
            raise ArchiveError(f"{self.location}: cannot write the audit log: this database user may not insert")

    def rows(self) -> list[tuple[int, str, str]]:
        """The table's rows; none when the archive's schema does not exist yet."""
        from annex_gen.archive.postgres_index import AUDIT_TABLE, PostgresIndex

        if PostgresIndex.peek_version(self.url) == 0:
            return []
        index = self._index(create=False)
        try:
            return [(int(seq), body, digest) for seq, body, digest in index.con.execute(
                f"SELECT seq, body, entry_hash FROM {AUDIT_TABLE} ORDER BY seq").fetchall()]
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot read the audit log: {' '.join(str(exc).split())}") from None
        finally:
            index.close()


@dataclass(frozen=True)
class Actor:
    """Who acts, and the audit log of the archive their acts are recorded in.

    An act is recorded before it is committed (`ready` before the work, `record` just before the
    file is renamed into place or the transaction commits): an act whose entry cannot be written
    is not made. Should the commit itself then fail, the entry names an act that did not complete;
    no act is ever left without an entry.
    """

    location: str | Path
    name: str

    def ready(self) -> None:
        """Raise NotRecorded, saying nothing was done, unless the log can be written now."""
        try:
            open_audit_log(self.location).ready()
        except ArchiveError as exc:
            raise NotRecorded(f"{exc}; the action cannot be recorded, so nothing was done") from None

    def record(self, action: str, what: str, refs: Iterable[str | int] = (),
               params: dict | None = None) -> AuditEntry:
        """Append the entry of an act about to be committed; NotRecorded (nothing done) when it cannot."""
        try:
            return open_audit_log(self.location).record(self.name, action, what, refs, params)
        except ArchiveError as exc:
            raise NotRecorded(f"{exc}; the action cannot be recorded, so nothing was done") from None


def open_audit_log(location: str | Path, *, clock: Callable[[], str] = _now) -> AuditLog:
    """The audit log of the archive at a directory or a postgresql:// URL."""
    if is_server_url(location):
        return PostgresAuditLog(str(location), clock=clock)
    return SqliteAuditLog(Path(location), clock=clock)


def _safe(text: str) -> str:
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def entries_csv(entries: Sequence[AuditEntry]) -> bytes:
    """The entries as CSV (UTF-8 with a byte order mark, so spreadsheets read it as UTF-8)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([e.seq, e.at, _safe(e.actor), e.action, _safe(e.what), " ".join(e.refs), e.entry_hash])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
