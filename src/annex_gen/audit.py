"""The audit trail: who did what, when, and what it produced, in an append-only log.

The log lives with the archive: a SQLite file beside a directory archive's index
(`ARCHIVE/audit.sqlite`), or the table `annex_archive.audit` in a PostgreSQL archive's
database. Like the archive, nothing in it is updated or deleted (triggers refuse it) and every
entry carries the hash of the one before, so a removed or edited entry breaks the chain that
`check` walks. `open_audit_log(location)` picks the implementation from the archive's location.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.archive.index import is_server_url
from annex_gen.errors import ArchiveError
from annex_gen.hashing import canonical_json, sha256_text

AUDIT_NAME = "audit.sqlite"
GENESIS = "0" * 64
CSV_COLUMNS = ("seq", "at", "actor", "action", "what", "refs", "entry_hash")

# What writes something: the actions an entry may name.
ACTIONS = ("contract saved", "annex generated", "batch run", "notices written", "file archived", "archive verified",
           "fact confirmed", "release approved")

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

    def body(self) -> dict:
        """What the chain hashes."""
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action, "what": self.what,
                "refs": list(self.refs), "prev": self.prev}


@dataclass
class AuditCheck:
    """What checking the log's chain found."""

    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def _entry_of(text: str, digest: str) -> AuditEntry:
    b = json.loads(text)
    return AuditEntry(b["seq"], b["at"], b["actor"], b["action"], b["what"], tuple(b["refs"]), b["prev"], digest)


class AuditLog(ABC):
    """An archive's audit log; open one per use (it is cheap)."""

    location: str  # how messages name the log

    def __init__(self, *, clock: Callable[[], str] = _now) -> None:
        self._clock = clock

    def _next(self, tip: tuple[int, str] | None, actor: str, action: str, what: str,
              refs: Iterable[str | int]) -> tuple[AuditEntry, str]:
        """The entry after tip (seq, hash), and the body text its hash covers."""
        seq, prev = (tip[0] + 1, tip[1]) if tip else (1, GENESIS)
        entry = AuditEntry(seq, self._clock(), actor, action, what, tuple(str(r) for r in refs), prev, "")
        text = canonical_json(entry.body())
        return AuditEntry(seq, entry.at, actor, action, what, entry.refs, prev, sha256_text(text)), text

    def record(self, actor: str, action: str, what: str, refs: Iterable[str | int] = ()) -> AuditEntry:
        """Append one entry and return it."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        return self._append(actor, action, what, refs)

    @abstractmethod
    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int]) -> AuditEntry:
        """Append under a write lock taken before the tip is read, so no two entries share a prev."""

    @abstractmethod
    def rows(self) -> list[tuple[str, str]]:
        """(body text, entry hash) of every entry, oldest first; none when the log does not exist yet."""

    def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first (none when the log does not exist yet)."""
        return [_entry_of(text, digest) for text, digest in self.rows()]

    def check(self) -> AuditCheck:
        """Walk the chain: every entry hashes to its stored hash and names the one before."""
        report = AuditCheck()
        prev = GENESIS
        for expected_seq, entry in enumerate(self.entries(), start=1):
            report.entries += 1
            where = f"{self.location}: entry {entry.seq}"
            if entry.seq != expected_seq:
                report.problems.append(f"{where}: expected entry {expected_seq} (an entry was removed)")
            if sha256_text(canonical_json(entry.body())) != entry.entry_hash:
                report.problems.append(f"{where}: altered (its hash no longer matches)")
            if entry.prev != prev:
                report.problems.append(f"{where}: does not follow the entry before it")
            prev = entry.entry_hash
        report.head = prev
        return report


class SqliteAuditLog(AuditLog):
    """The audit log file of an archive directory."""

    def __init__(self, root: Path, *, clock: Callable[[], str] = _now) -> None:
        super().__init__(clock=clock)
        self.path = root / AUDIT_NAME
        self.location = str(self.path)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(f"file:{self.path}?mode={'rwc' if create else 'ro'}", uri=True,
                                  isolation_level=None, timeout=60)
            con.execute("PRAGMA synchronous = FULL")
            if create:
                con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ArchiveError(f"{self.path}: cannot open the audit log: {exc}") from None
        return con

    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int]) -> AuditEntry:
        con = self._connect(create=True)
        try:
            con.execute("BEGIN IMMEDIATE")  # the write lock before reading the tip: no two entries share a prev
            try:
                tip = con.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
                entry, text = self._next(tip, actor, action, what, refs)
                con.execute("INSERT INTO entries (seq, body, entry_hash) VALUES (?, ?, ?)",
                            (entry.seq, text, entry.entry_hash))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot record the action: {exc}") from None
        finally:
            con.close()
        return entry

    def rows(self) -> list[tuple[str, str]]:
        """The rows of the file, if it exists."""
        if not self.path.is_file():
            return []
        con = self._connect(create=False)
        try:
            return con.execute("SELECT body, entry_hash FROM entries ORDER BY seq").fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot read the audit log: {exc}") from None
        finally:
            con.close()


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

    def _append(self, actor: str, action: str, what: str, refs: Iterable[str | int]) -> AuditEntry:
        from annex_gen.archive.postgres_index import AUDIT_LOCK, AUDIT_TABLE

        index = self._index(create=True)  # the first action may come before the first archived file
        try:
            with index.con.transaction():
                index.con.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
                tip = index.con.execute(
                    f"SELECT seq, entry_hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
                entry, text = self._next(tip, actor, action, what, refs)
                index.con.execute(f"INSERT INTO {AUDIT_TABLE} (seq, body, entry_hash) VALUES (%s, %s, %s)",
                                  (entry.seq, text, entry.entry_hash))
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot record the action: {' '.join(str(exc).split())}") from None
        finally:
            index.close()
        return entry

    def rows(self) -> list[tuple[str, str]]:
        """The table's rows; none when the archive's schema does not exist yet."""
        from annex_gen.archive.postgres_index import AUDIT_TABLE, PostgresIndex

        if PostgresIndex.peek_version(self.url) == 0:
            return []
        index = self._index(create=False)
        try:
            return index.con.execute(f"SELECT body, entry_hash FROM {AUDIT_TABLE} ORDER BY seq").fetchall()
        except index.db_errors as exc:
            raise ArchiveError(f"{self.location}: cannot read the audit log: {' '.join(str(exc).split())}") from None
        finally:
            index.close()


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
