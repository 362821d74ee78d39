"""The registry change log: every proposal, edit, withdrawal and approval, append-only and hash-chained.

It lives with the archive: `ARCHIVE/registry_changes.sqlite` beside a directory archive, or the
schema `annex_registry` in a PostgreSQL archive's database. Each event is one canonical JSON body
(seq, at, kind, actor, data, prev) and its SHA-256; triggers refuse UPDATE and DELETE, and `check`
walks the chain, so a changed or removed event is found. Where the registry is not a git checkout,
an approval's event holds the files' texts as approved: the registry's history is this chain.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen import pgconnections
from annex_gen.archive.index import is_server_url, shown_url
from annex_gen.audit import connect_log, writing_log
from annex_gen.errors import ArchiveError
from annex_gen.hashing import canonical_json, sha256_text

LOG_NAME = "registry_changes.sqlite"
PG_SCHEMA = "annex_registry"
GENESIS = "0" * 64
_PG_LOCK = 0x7265676564  # "reged": the advisory lock every append takes
KINDS = ("proposed", "edited", "withdrawn", "approved")

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL CHECK (json_valid(body)),
    event_hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the registry change log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the registry change log is append-only'); END;
"""

_PG_SCHEMA = f"""
CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA};
CREATE TABLE IF NOT EXISTS {PG_SCHEMA}.events (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    body text NOT NULL CHECK (body::jsonb IS NOT NULL),
    event_hash text NOT NULL UNIQUE
);
CREATE OR REPLACE FUNCTION {PG_SCHEMA}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the registry change log is append-only';
END
$$;
CREATE OR REPLACE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON {PG_SCHEMA}.events
    FOR EACH ROW EXECUTE FUNCTION {PG_SCHEMA}.append_only();
CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON {PG_SCHEMA}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {PG_SCHEMA}.append_only();
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Event:
    """One thing done to a proposal, as the log holds it."""

    seq: int
    at: str
    kind: str
    actor: str
    data: Mapping[str, Any]
    prev: str
    event_hash: str

    def body(self) -> dict[str, Any]:
        """What the chain hashes."""
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "actor": self.actor, "data": dict(self.data),
                "prev": self.prev}


@dataclass
class LogCheck:
    """What walking the chain found."""

    events: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


class ChangeLog(ABC):
    """The registry change log of one archive; open one per use."""

    location: str

    def __init__(self, *, clock: Callable[[], dt.datetime] = _now) -> None:
        self.clock = clock

    def _next(self, tip: tuple[int, str] | None, kind: str, actor: str, data: Mapping[str, Any]) -> tuple[Event, str]:
        seq, prev = (int(tip[0]) + 1, tip[1]) if tip else (1, GENESIS)
        at = self.clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        draft = Event(seq, at, kind, actor, json.loads(canonical_json(data)), prev, "")
        text = canonical_json(draft.body())
        return Event(**{**draft.__dict__, "event_hash": sha256_text(text)}), text

    def append(self, kind: str, actor: str, data: Mapping[str, Any],
               guard: Callable[[list[Event]], None] | None = None) -> Event:
        """Append one event; guard(every event so far) runs under the write lock and may refuse by raising."""
        if kind not in KINDS:
            raise ValueError(f"unknown registry change event {kind!r}")
        return self._append(kind, actor, data, guard)

    @abstractmethod
    def _append(self, kind: str, actor: str, data: Mapping[str, Any],
                guard: Callable[[list[Event]], None] | None) -> Event:
        """Append under a write lock taken before the tip is read."""

    @abstractmethod
    def rows(self) -> list[tuple[str, str]]:
        """(body, hash) of every event, oldest first; none before the first."""

    def events(self) -> list[Event]:
        """Every event, oldest first."""
        return [_event_of(text, digest) for text, digest in self.rows()]

    def check(self) -> LogCheck:
        """Walk the chain: each event hashes to its stored hash, follows the one before, none missing."""
        report = LogCheck()
        prev = GENESIS
        for expected, event in enumerate(self.events(), start=1):
            report.events += 1
            where = f"{self.location}: event {event.seq}"
            if event.seq != expected:
                report.problems.append(f"{where}: expected event {expected} (an event was removed)")
            if sha256_text(canonical_json(event.body())) != event.event_hash:
                report.problems.append(f"{where}: altered (its hash no longer matches)")
            if event.prev != prev:
                report.problems.append(f"{where}: does not follow the event before it")
            prev = event.event_hash
        report.head = prev
        return report


def _event_of(text: str, digest: str) -> Event:
    b = json.loads(text)
    return Event(b["seq"], b["at"], b["kind"], b["actor"], b["data"], b["prev"], digest)


class SqliteChangeLog(ChangeLog):
    """registry_changes.sqlite beside a directory archive's index."""

    def __init__(self, root: Path, *, clock: Callable[[], dt.datetime] = _now) -> None:
        super().__init__(clock=clock)
        self.path = root / LOG_NAME
        self.location = str(self.path)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        return connect_log(self.path, _SQLITE_SCHEMA, "the registry change log", create=create)

    def _append(self, kind, actor, data, guard) -> Event:
        with writing_log(self.path, _SQLITE_SCHEMA, "the registry change log",
                         "cannot record the registry change") as con:
            if guard is not None:
                rows = con.execute("SELECT body, event_hash FROM events ORDER BY seq").fetchall()
                guard([_event_of(t, h) for t, h in rows])
            tip = con.execute("SELECT seq, event_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            event, text = self._next(tip, kind, actor, data)
            con.execute("INSERT INTO events (seq, body, event_hash) VALUES (?, ?, ?)",
                        (event.seq, text, event.event_hash))
        return event

    def rows(self) -> list[tuple[str, str]]:
        if not self.path.is_file():
            return []
        con = self._connect(create=False)
        try:
            return con.execute("SELECT body, event_hash FROM events ORDER BY seq").fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot read the registry change log: {exc}") from None
        finally:
            con.close()


class PostgresChangeLog(ChangeLog):
    """The annex_registry schema of a PostgreSQL archive's database."""

    def __init__(self, url: str, *, clock: Callable[[], dt.datetime] = _now) -> None:
        super().__init__(clock=clock)
        self.url = url
        self.location = f"{shown_url(url)}: {PG_SCHEMA}"

    def _connect(self) -> Any:
        import psycopg

        try:
            return pgconnections.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot connect: {' '.join(str(exc).split())}") from None

    def _exists(self, con: Any) -> bool:
        return con.execute("SELECT to_regclass(%s)", (f"{PG_SCHEMA}.events",)).fetchone()[0] is not None

    def _append(self, kind, actor, data, guard) -> Event:
        import psycopg

        con = self._connect()
        try:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
                if not self._exists(con):
                    con.execute(_PG_SCHEMA)
                if guard is not None:
                    rows = con.execute(f"SELECT body, event_hash FROM {PG_SCHEMA}.events ORDER BY seq").fetchall()
                    guard([_event_of(t, h) for t, h in rows])
                tip = con.execute(f"SELECT seq, event_hash FROM {PG_SCHEMA}.events ORDER BY seq DESC LIMIT 1"
                                  ).fetchone()
                event, text = self._next(tip, kind, actor, data)
                con.execute(f"INSERT INTO {PG_SCHEMA}.events (seq, body, event_hash) VALUES (%s, %s, %s)",
                            (event.seq, text, event.event_hash))
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot record the registry change: "
                               f"{' '.join(str(exc).split())}") from None
        finally:
            pgconnections.release(con)
        return event

    def rows(self) -> list[tuple[str, str]]:
        import psycopg

        con = self._connect()
        try:
            if not self._exists(con):
                return []
            return con.execute(f"SELECT body, event_hash FROM {PG_SCHEMA}.events ORDER BY seq").fetchall()
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot read: {' '.join(str(exc).split())}") from None
        finally:
            pgconnections.release(con)


def open_change_log(location: str | Path, *, clock: Callable[[], dt.datetime] = _now) -> ChangeLog:
    """The registry change log of the archive at a directory or a postgresql:// URL."""
    if is_server_url(location):
        return PostgresChangeLog(str(location), clock=clock)
    if "://" in str(location):
        raise ArchiveError(f"{location}: not an archive location; give a directory or a postgresql:// URL")
    return SqliteChangeLog(Path(location), clock=clock)
