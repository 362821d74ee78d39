"""The lifecycle log: every message and objection, append-only and hash-chained, with its files.

It lives with the archive: `ARCHIVE/lifecycle.sqlite` beside a directory archive, or the schema
`annex_lifecycle` in a PostgreSQL archive's database. Table `events` holds one canonical JSON
body per event (seq, at, kind, customer_id, actor, data, prev) and its SHA-256; table `blobs`
holds the files events name (each message as sent, objection letters) by SHA-256. Triggers
refuse UPDATE and DELETE, and `check` walks the chain, so a changed or removed event is found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen import pgconnections
from annex_gen.archive.index import is_server_url, shown_url
from annex_gen.audit import connect_log, writing_log
from annex_gen.errors import ArchiveError
from annex_gen.hashing import canonical_json, sha256_text

LOG_NAME = "lifecycle.sqlite"
PG_SCHEMA = "annex_lifecycle"
GENESIS = "0" * 64
_PG_LOCK = 0x6C69666563  # "lifec": the advisory lock every append takes

KINDS = ("annex generated", "message queued", "message delivered", "message failed",
         "objection received", "objection resolved")

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL CHECK (json_valid(body)),
    event_hash TEXT NOT NULL UNIQUE,
    customer_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.customer_id')) VIRTUAL
);
CREATE INDEX IF NOT EXISTS events_customer ON events(customer_id);
CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the lifecycle log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the lifecycle log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS blobs_no_update BEFORE UPDATE ON blobs
    BEGIN SELECT RAISE(ABORT, 'the lifecycle log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS blobs_no_delete BEFORE DELETE ON blobs
    BEGIN SELECT RAISE(ABORT, 'the lifecycle log is append-only'); END;
"""

_PG_SCHEMA = f"""
CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA};
CREATE TABLE IF NOT EXISTS {PG_SCHEMA}.events (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    body text NOT NULL CHECK (body::jsonb IS NOT NULL),
    event_hash text NOT NULL UNIQUE,
    customer_id text GENERATED ALWAYS AS (body::jsonb ->> 'customer_id') STORED
);
CREATE INDEX IF NOT EXISTS events_customer ON {PG_SCHEMA}.events(customer_id);
CREATE TABLE IF NOT EXISTS {PG_SCHEMA}.blobs (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
    data bytea NOT NULL
);
CREATE OR REPLACE FUNCTION {PG_SCHEMA}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the lifecycle log is append-only';
END
$$;
CREATE OR REPLACE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON {PG_SCHEMA}.events
    FOR EACH ROW EXECUTE FUNCTION {PG_SCHEMA}.append_only();
CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON {PG_SCHEMA}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {PG_SCHEMA}.append_only();
CREATE OR REPLACE TRIGGER blobs_no_change BEFORE UPDATE OR DELETE ON {PG_SCHEMA}.blobs
    FOR EACH ROW EXECUTE FUNCTION {PG_SCHEMA}.append_only();
CREATE OR REPLACE TRIGGER blobs_no_truncate BEFORE TRUNCATE ON {PG_SCHEMA}.blobs
    FOR EACH STATEMENT EXECUTE FUNCTION {PG_SCHEMA}.append_only();
"""


def utc_now() -> dt.datetime:
    """The time now in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def stamp(moment: dt.datetime) -> str:
    """A time as events store it: 2026-12-07T09:30:00Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One thing that happened to a customer, as the log holds it."""

    seq: int
    at: str
    kind: str
    customer_id: str
    actor: str
    data: Mapping[str, Any]
    prev: str
    event_hash: str

    def body(self) -> dict[str, Any]:
        """What the chain hashes."""
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "customer_id": self.customer_id,
                "actor": self.actor, "data": dict(self.data), "prev": self.prev}

    def to_dict(self) -> dict[str, Any]:
        """The event with its hash (for JSON output and the evidence zip)."""
        return self.body() | {"event_hash": self.event_hash}


@dataclass
class LogCheck:
    """What walking the chain found."""

    events: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def _event_of(text: str, digest: str) -> Event:
    b = json.loads(text)
    return Event(b["seq"], b["at"], b["kind"], b["customer_id"], b["actor"], b["data"], b["prev"], digest)


class EventLog(ABC):
    """The lifecycle log of one archive; open one per use."""

    location: str

    def __init__(self, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.clock = clock

    def _next(self, tip: tuple[int, str] | None, kind: str, customer_id: str, actor: str,
              data: Mapping[str, Any]) -> tuple[Event, str]:
        seq, prev = (int(tip[0]) + 1, tip[1]) if tip else (1, GENESIS)
        draft = Event(seq, stamp(self.clock()), kind, customer_id, actor, json.loads(canonical_json(data)), prev, "")
        text = canonical_json(draft.body())
        return Event(**{**draft.__dict__, "event_hash": sha256_text(text)}), text

    def append(self, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
               blobs: Iterable[bytes] = ()) -> Event:
        """Append one event, storing the files it names (by SHA-256) in the same transaction."""
        if kind not in KINDS:
            raise ValueError(f"unknown lifecycle event {kind!r}")
        stored = {hashlib.sha256(b).hexdigest(): b for b in blobs}
        return self._append(kind, customer_id, actor, data, stored)

    @abstractmethod
    def _append(self, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
                blobs: dict[str, bytes]) -> Event:
        """Append under a write lock taken before the tip is read."""

    @abstractmethod
    def rows(self, customer_id: str | None = None) -> list[tuple[str, str]]:
        """(body, hash) of every event (or one customer's), oldest first; none before the first."""

    @abstractmethod
    def blob(self, sha256: str) -> bytes:
        """A stored file by SHA-256, checked; raise ArchiveError when missing or altered."""

    def events(self, customer_id: str | None = None) -> list[Event]:
        """Every event, or one customer's, oldest first."""
        return [_event_of(text, digest) for text, digest in self.rows(customer_id)]

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

    def _checked(self, sha256: str, data: bytes | None) -> bytes:
        if data is None:
            raise ArchiveError(f"{self.location}: file {sha256} is missing from the lifecycle log")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArchiveError(f"{self.location}: file {sha256} was altered (its SHA-256 no longer matches)")
        return data


class SqliteEventLog(EventLog):
    """lifecycle.sqlite beside a directory archive's index."""

    def __init__(self, root: Path, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(clock=clock)
        self.path = root / LOG_NAME
        self.location = str(self.path)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        return connect_log(self.path, _SQLITE_SCHEMA, "the lifecycle log", create=create)

    def _append(self, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
                blobs: dict[str, bytes]) -> Event:
        with writing_log(self.path, _SQLITE_SCHEMA, "the lifecycle log", "cannot record the event") as con:
            tip = con.execute("SELECT seq, event_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            event, text = self._next(tip, kind, customer_id, actor, data)
            for sha, blob in blobs.items():
                con.execute("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", (sha, blob))
            con.execute("INSERT INTO events (seq, body, event_hash) VALUES (?, ?, ?)",
                        (event.seq, text, event.event_hash))
        return event

    def rows(self, customer_id: str | None = None) -> list[tuple[str, str]]:
        if not self.path.is_file():
            return []
        con = self._connect(create=False)
        try:
            if customer_id is None:
                return con.execute("SELECT body, event_hash FROM events ORDER BY seq").fetchall()
            return con.execute("SELECT body, event_hash FROM events WHERE customer_id = ? ORDER BY seq",
                               (customer_id,)).fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"{self.path}: cannot read the lifecycle log: {exc}") from None
        finally:
            con.close()

    def blob(self, sha256: str) -> bytes:
        row = None
        if self.path.is_file():
            con = self._connect(create=False)
            try:
                row = con.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
            except sqlite3.Error as exc:
                raise ArchiveError(f"{self.path}: cannot read the lifecycle log: {exc}") from None
            finally:
                con.close()
        return self._checked(sha256, bytes(row[0]) if row else None)


class PostgresEventLog(EventLog):
    """The annex_lifecycle schema of a PostgreSQL archive's database."""

    def __init__(self, url: str, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
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

    def _append(self, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
                blobs: dict[str, bytes]) -> Event:
        import psycopg

        con = self._connect()
        try:
            with con.transaction():
                event = self._append_in(con, kind, customer_id, actor, data, blobs)
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot record the event: {' '.join(str(exc).split())}") from None
        finally:
            pgconnections.release(con)
        return event

    def _append_in(self, con: Any, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
                   blobs: dict[str, bytes]) -> Event:
        con.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
        if not self._exists(con):
            con.execute(_PG_SCHEMA)
        tip = con.execute(f"SELECT seq, event_hash FROM {PG_SCHEMA}.events ORDER BY seq DESC LIMIT 1").fetchone()
        event, text = self._next(tip, kind, customer_id, actor, data)
        for sha, blob in blobs.items():
            con.execute(f"INSERT INTO {PG_SCHEMA}.blobs (sha256, data) VALUES (%s, %s) "
                        "ON CONFLICT (sha256) DO NOTHING", (sha, blob))
        con.execute(f"INSERT INTO {PG_SCHEMA}.events (seq, body, event_hash) VALUES (%s, %s, %s)",
                    (event.seq, text, event.event_hash))
        return event

    def append_on(self, con: Any, kind: str, customer_id: str, actor: str, data: Mapping[str, Any],
                  blobs: Iterable[bytes] = ()) -> Event:
        """append() on the caller's connection to this database, inside the caller's transaction: the event is
        recorded when, and only when, that transaction commits."""
        if kind not in KINDS:
            raise ValueError(f"unknown lifecycle event {kind!r}")
        return self._append_in(con, kind, customer_id, actor, data, {hashlib.sha256(b).hexdigest(): b for b in blobs})

    def rows(self, customer_id: str | None = None) -> list[tuple[str, str]]:
        import psycopg

        con = self._connect()
        try:
            if not self._exists(con):
                return []
            if customer_id is None:
                return con.execute(f"SELECT body, event_hash FROM {PG_SCHEMA}.events ORDER BY seq").fetchall()
            return con.execute(f"SELECT body, event_hash FROM {PG_SCHEMA}.events WHERE customer_id = %s "
                               "ORDER BY seq", (customer_id,)).fetchall()
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot read: {' '.join(str(exc).split())}") from None
        finally:
            pgconnections.release(con)

    def blob(self, sha256: str) -> bytes:
        import psycopg

        con = self._connect()
        try:
            row = None
            if self._exists(con):
                row = con.execute(f"SELECT data FROM {PG_SCHEMA}.blobs WHERE sha256 = %s", (sha256,)).fetchone()
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot read: {' '.join(str(exc).split())}") from None
        finally:
            pgconnections.release(con)
        return self._checked(sha256, bytes(row[0]) if row else None)


def open_event_log(location: str | Path, *, clock: Callable[[], dt.datetime] = utc_now) -> EventLog:
    """The lifecycle log of the archive at a directory or a postgresql:// URL."""
    if is_server_url(location):
        return PostgresEventLog(str(location), clock=clock)
    if "://" in str(location):
        raise ArchiveError(f"{location}: not an archive location; give a directory or a postgresql:// URL")
    return SqliteEventLog(Path(location), clock=clock)
