"""The archive on a PostgreSQL server: records and file bytes in one database.

Everything lives in the schema `annex_archive`: `objects` (one row per distinct SHA-256, the
bytes in `data`), `records` (the chain; queryable columns generated from the body) and
`schema_version` (one row per migration applied), and `audit` (the web application's audit
log, hash-chained like the records; see `annex_gen.audit`). A record and its file are inserted in one
transaction, so one backup holds both and a crash leaves neither. Triggers refuse UPDATE,
DELETE and TRUNCATE on every table; a role granted only SELECT and INSERT cannot change them
either. Appends are serialised by a transaction-scoped advisory lock taken before the chain's
tip is read, so concurrent writers on any number of machines keep a gapless chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from annex_gen import pgconnections
from annex_gen.archive.chain import GENESIS, Record, VerifyReport
from annex_gen.archive.index import Index, shown_url
from annex_gen.errors import ArchiveError, ArchiveUnavailable, NoArchive

SCHEMA = "annex_archive"
SCHEMA_VERSION = 2
APPEND_LOCK = 0x616E6E6578  # "annex": the advisory lock every append takes
AUDIT_LOCK = 0x6175646974  # "audit": the advisory lock every audit entry takes
AUDIT_TABLE = "audit"
CONNECT_TIMEOUT_S = 10
TABLES = ("schema_version", "objects", "records", AUDIT_TABLE)

# Each entry migrates the schema from version i to i + 1; schema_version gets a row per step.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE SCHEMA IF NOT EXISTS {SCHEMA};
    CREATE TABLE {SCHEMA}.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE {SCHEMA}.objects (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
        size bigint NOT NULL CHECK (size = octet_length(data)),
        data bytea NOT NULL
    );
    CREATE TABLE {SCHEMA}.records (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        body text NOT NULL,
        record_hash text NOT NULL UNIQUE,
        kind text GENERATED ALWAYS AS (body::jsonb ->> 'kind') STORED,
        customer_id text GENERATED ALWAYS AS (body::jsonb ->> 'customer_id') STORED,
        document_id text GENERATED ALWAYS AS (body::jsonb ->> 'document_id') STORED,
        signed_on text GENERATED ALWAYS AS (body::jsonb ->> 'signed_on') STORED,
        sha256 text GENERATED ALWAYS AS (body::jsonb #>> '{{file,sha256}}') STORED NOT NULL UNIQUE
            REFERENCES {SCHEMA}.objects(sha256),
        parent bigint GENERATED ALWAYS AS ((body::jsonb ->> 'parent')::bigint) STORED
            REFERENCES {SCHEMA}.records(seq)
    );
    CREATE INDEX records_customer ON {SCHEMA}.records(customer_id, signed_on);
    CREATE INDEX records_document ON {SCHEMA}.records(document_id);
    CREATE INDEX records_parent ON {SCHEMA}.records(parent);
    CREATE FUNCTION {SCHEMA}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the archive is append-only';
    END
    $$;
    CREATE TRIGGER records_no_change BEFORE UPDATE OR DELETE ON {SCHEMA}.records
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
    CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON {SCHEMA}.records
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.append_only();
    CREATE TRIGGER objects_no_change BEFORE UPDATE OR DELETE ON {SCHEMA}.objects
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
    CREATE TRIGGER objects_no_truncate BEFORE TRUNCATE ON {SCHEMA}.objects
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.append_only();
    CREATE TRIGGER schema_version_no_change BEFORE UPDATE OR DELETE ON {SCHEMA}.schema_version
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
    """,
    f"""
    CREATE TABLE {SCHEMA}.{AUDIT_TABLE} (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        body text NOT NULL CHECK (body::jsonb IS NOT NULL),
        entry_hash text NOT NULL UNIQUE
    );
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON {SCHEMA}.{AUDIT_TABLE}
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {SCHEMA}.{AUDIT_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.append_only();
    """,
)

# The triggers verify expects on each table (name -> table).
TRIGGERS = {
    "records_no_change": "records", "records_no_truncate": "records",
    "objects_no_change": "objects", "objects_no_truncate": "objects",
    "schema_version_no_change": "schema_version",
    "audit_no_change": AUDIT_TABLE, "audit_no_truncate": AUDIT_TABLE,
}


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ArchiveError("a postgresql:// archive needs psycopg 3: pip install 'psycopg[binary]'") from None
    return psycopg


class PostgresIndex(Index):
    """An archive in a PostgreSQL database, schema annex_archive."""

    def __init__(self, url: str, con: Any) -> None:
        self.url = url
        self.con = con
        self.location = shown_url(url)
        self.db_errors = (_psycopg().Error,)
        self.migrated_from: int | None = None

    @classmethod
    def _connect(cls, url: str) -> Any:
        psycopg = _psycopg()
        try:
            return pgconnections.connect(url, connect_timeout=CONNECT_TIMEOUT_S, options=f"-c search_path={SCHEMA}")
        except psycopg.Error as exc:
            message = " ".join(str(exc).split())
            raise ArchiveUnavailable(f"{shown_url(url)}: cannot connect to the archive database: {message}") from None

    @classmethod
    def peek_version(cls, url: str) -> int:
        """The schema version of the database at url (0: no archive there yet), changing nothing."""
        index = cls(url, cls._connect(url))
        try:
            return index.schema_version()
        except index.db_errors as exc:
            raise ArchiveError(f"{index.location}: not a usable archive database: "
                               f"{' '.join(str(exc).split())}") from None
        finally:
            index.close()

    @classmethod
    def open(cls, url: str, *, create: bool = False, migrate: bool = False) -> PostgresIndex:
        """Connect; with create or migrate, make or bring the schema up to date (needs the owner's rights)."""
        psycopg = _psycopg()
        location = shown_url(url)
        con = cls._connect(url)
        index = cls(url, con)
        try:
            version = index.schema_version()
            if version > SCHEMA_VERSION:
                raise ArchiveError(f"{location}: archive schema version {version} is newer than this annex-gen "
                                   f"understands ({SCHEMA_VERSION}); upgrade annex-gen")
            if version < SCHEMA_VERSION:
                if not (create or migrate):
                    if version == 0:
                        raise NoArchive(f"{location}: no archive here (no {SCHEMA} schema); "
                                           "`annex-gen archive migrate` or `annex-gen archive add` creates one")
                    raise ArchiveError(f"{location}: archive schema version {version} is older than "
                                       f"{SCHEMA_VERSION}; run `annex-gen archive migrate`")
                index.migrated_from = index._migrate()
        except psycopg.OperationalError as exc:  # the connection lost, a timeout: not known, not "no archive"
            con.close()
            raise ArchiveUnavailable(f"{location}: the archive database stopped answering: "
                                     f"{' '.join(str(exc).split())}") from None
        except psycopg.Error as exc:
            con.close()
            raise ArchiveError(f"{location}: not a usable archive database: {' '.join(str(exc).split())}") from None
        except BaseException:
            con.close()
            raise
        return index

    def _migrate(self) -> int:
        """Apply the missing migrations under the append lock; return the version found."""
        # A session lock taken before the transaction starts: the transaction then sees the catalog as a
        # concurrent migration left it (an advisory lock taken inside it would not refresh the catalog cache).
        self.con.execute("SELECT pg_advisory_lock(%s)", (APPEND_LOCK,))
        try:
            with self.con.transaction():
                version = self.schema_version()  # re-read under the lock: a concurrent migrate may have won
                for target in range(version + 1, len(MIGRATIONS) + 1):
                    self.con.execute(MIGRATIONS[target - 1])
                    self.con.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (target,))
        finally:
            self.con.execute("SELECT pg_advisory_unlock(%s)", (APPEND_LOCK,))
        return version

    def close(self) -> None:
        """Done with the connection (a server keeps it for the next)."""
        pgconnections.release(self.con)

    def query(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Run a SELECT (? markers become %s) and return its rows."""
        return self.con.execute(sql.replace("?", "%s"), params).fetchall()

    def schema_version(self) -> int:
        """The highest migration applied; 0 when the schema does not exist."""
        row = self.con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()
        if row[0] is None:
            return 0
        return self.con.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version").fetchone()[0]

    # Writing

    def stage(self, sha256: str, data: bytes) -> None:
        """Nothing: the file is inserted in the record's own transaction."""

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A transaction holding the append lock (released at commit or rollback)."""
        with self.con.transaction():
            self.con.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
            yield

    def next_seq(self) -> tuple[int, str]:
        """One past the last record, and its hash."""
        row = self.con.execute("SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]) + 1, row[1]) if row else (1, GENESIS)

    def insert(self, record: Record, text: str, data: bytes) -> None:
        """Insert the file (once per SHA-256) and the record, in the caller's transaction."""
        self.con.execute("INSERT INTO objects (sha256, size, data) VALUES (%s, %s, %s) "
                         "ON CONFLICT (sha256) DO NOTHING", (record.sha256, len(data), data))
        self.con.execute("INSERT INTO records (seq, body, record_hash) VALUES (%s, %s, %s)",
                         (record.seq, text, record.record_hash))

    # Files and verification

    def read_object(self, record: Record) -> bytes:
        """The record's file from the objects table."""
        row = self.con.execute("SELECT data FROM objects WHERE sha256 = %s", (record.sha256,)).fetchone()
        if row is None:
            raise ArchiveError(f"{self.describe_object(record.sha256)}: record {record.seq}: "
                               "file missing from the archive")
        return bytes(row[0])

    def describe_object(self, sha256: str) -> str:
        """The object's row, named by its table and hash."""
        return f"{self.location}: objects/{sha256}"

    def check_schema(self, report: VerifyReport) -> None:
        """Schema version, the append-only triggers (present and enabled) and their function."""
        where = self.location
        version = self.schema_version()
        if version != SCHEMA_VERSION:
            report.add(where, f"schema version {version}, expected {SCHEMA_VERSION}")
        rows = self.con.execute(
            "SELECT t.tgname, c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            (SCHEMA,)).fetchall()
        found = {name: (table, enabled) for name, table, enabled in rows}
        for name, table in TRIGGERS.items():
            if name not in found or found[name][0] != table:
                report.add(where, f"trigger {name} missing")
            elif found[name][1] == "D":
                report.add(where, f"trigger {name} disabled")
        for name in sorted(set(found) - set(TRIGGERS)):
            report.add(where, f"unexpected trigger {name}")
        body = self.con.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = 'append_only'", (SCHEMA,)).fetchone()
        if body is None or "RAISE EXCEPTION" not in body[0]:
            report.add(where, "function append_only missing or altered")

    def check_objects(self, referenced: dict[str, int], report: VerifyReport) -> None:
        """Re-hash every object in the server; report missing, altered and unrecorded ones."""
        rows = self.con.execute("SELECT sha256, encode(sha256(data), 'hex') FROM objects").fetchall()
        actual = dict(rows)
        for sha, seq in referenced.items():
            report.files += 1
            now = actual.get(sha)
            if now is None:
                report.add(self.describe_object(sha), f"record {seq}: file missing")
            elif now != sha:
                report.add(self.describe_object(sha), f"record {seq}: file altered (SHA-256 is now {now})")
        for sha in sorted(set(actual) - set(referenced)):
            report.add(self.describe_object(sha), "no record names this file: its record was removed")
