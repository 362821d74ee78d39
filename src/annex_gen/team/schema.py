"""The team schema (`annex_team`) and the job queue's (`annex_queue`): connect, create, upgrade.

`annex_team` holds the shared state: `blobs` (file bytes by SHA-256), `documents` (each
generated annex: document ID, customer, content hash, templates), `document_files` (its PDF and
DOCX as blobs), `contracts` (every saved version of every contract: text, who, when), `runs`
and `run_items` (a change run and one row per contract with its outcome); version 2 adds what
the web instances share: `uploads` and `upload_chunks` (files read back and waiting to be
archived), `session_ends` (each user's session generation) and `signin_failures` (the sign-in
throttle's counts); version 3 adds change notices as runs: `runs.kind` ('batch' or 'notices',
with the notice date and the release compared with), `notices` (each change notice written, by
its notice ID) and `notice_files` (its PDF and DOCX and the enclosed annex's, as blobs, with
their path in a notices folder); version 4 adds sending by e-mail as runs (`runs.kind` 'send': one
row per message, the message as sent in the row). `annex_queue` holds procrastinate's tables, installed from the
schema procrastinate ships and upgraded with its migration files; `queue_version` records the
procrastinate version installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from annex_gen import pgconnections
from annex_gen.archive.index import is_server_url, shown_url
from annex_gen.errors import ArchiveError, UsageError

SCHEMA = "annex_team"
QUEUE_SCHEMA = "annex_queue"
SCHEMA_VERSION = 4
MIGRATE_LOCK = 0x7465616D  # "team": the advisory lock a migration takes
CONNECT_TIMEOUT_S = 10

MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE SCHEMA IF NOT EXISTS {SCHEMA};
    CREATE TABLE {SCHEMA}.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE {SCHEMA}.queue_version (
        version text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE {SCHEMA}.blobs (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
        size bigint NOT NULL CHECK (size = octet_length(data)),
        data bytea NOT NULL
    );
    CREATE TABLE {SCHEMA}.documents (
        seq bigserial UNIQUE,
        document_id text PRIMARY KEY,
        customer_id text NOT NULL,
        content_hash text NOT NULL,
        templates text NOT NULL,
        registry_version text NOT NULL,
        run_id bigint,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX documents_customer ON {SCHEMA}.documents(customer_id, seq);
    CREATE TABLE {SCHEMA}.document_files (
        document_id text NOT NULL REFERENCES {SCHEMA}.documents(document_id),
        format text NOT NULL,
        sha256 text NOT NULL REFERENCES {SCHEMA}.blobs(sha256),
        size bigint NOT NULL,
        PRIMARY KEY (document_id, format)
    );
    CREATE TABLE {SCHEMA}.contracts (
        seq bigserial PRIMARY KEY,
        customer_id text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        body text NOT NULL,
        sha256 text NOT NULL,
        saved_by text NOT NULL,
        saved_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (customer_id, version)
    );
    CREATE TABLE {SCHEMA}.runs (
        id bigserial PRIMARY KEY,
        started_by text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        registry_version text NOT NULL,
        engine text NOT NULL,
        templates text NOT NULL,
        total integer NOT NULL,
        to_render integer NOT NULL,
        error text
    );
    CREATE TABLE {SCHEMA}.run_items (
        run_id bigint NOT NULL REFERENCES {SCHEMA}.runs(id),
        position integer NOT NULL,
        source text NOT NULL,
        customer_id text,
        status text NOT NULL CHECK (status IN ('queued', 'generated', 'unchanged', 'failed')),
        document_id text,
        content_hash text,
        annex text,
        detail text NOT NULL DEFAULT '',
        attempts integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, position)
    );
    CREATE INDEX run_items_status ON {SCHEMA}.run_items(run_id, status);
    """,
    f"""
    CREATE TABLE {SCHEMA}.uploads (
        token text PRIMARY KEY CHECK (token ~ '^[0-9a-f]{{64}}$'),
        name text NOT NULL,
        size bigint NOT NULL CHECK (size > 0),
        staged_by text NOT NULL,
        staged_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
    );
    CREATE INDEX uploads_expiry ON {SCHEMA}.uploads(expires_at);
    CREATE INDEX uploads_staged_by ON {SCHEMA}.uploads(staged_by);
    CREATE TABLE {SCHEMA}.upload_chunks (
        token text NOT NULL REFERENCES {SCHEMA}.uploads(token) ON DELETE CASCADE,
        n integer NOT NULL CHECK (n >= 0),
        data bytea NOT NULL,
        PRIMARY KEY (token, n)
    );
    ALTER TABLE {SCHEMA}.upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE TABLE {SCHEMA}.session_ends (
        user_name text PRIMARY KEY,
        generation bigint NOT NULL CHECK (generation > 0),
        ended_at timestamptz NOT NULL DEFAULT now(),
        ended_by text NOT NULL
    );
    CREATE TABLE {SCHEMA}.signin_failures (
        key text PRIMARY KEY,
        failures integer NOT NULL CHECK (failures >= 0),
        last_at timestamptz
    );
    CREATE INDEX signin_failures_last ON {SCHEMA}.signin_failures(last_at);
    """,
    f"""
    ALTER TABLE {SCHEMA}.runs ADD COLUMN kind text NOT NULL DEFAULT 'batch' CHECK (kind IN ('batch', 'notices'));
    ALTER TABLE {SCHEMA}.runs ADD COLUMN notice_date date;
    ALTER TABLE {SCHEMA}.runs ADD COLUMN release text;
    CREATE TABLE {SCHEMA}.notices (
        seq bigserial UNIQUE,
        notice_id text PRIMARY KEY,
        customer_id text NOT NULL,
        notice_date date NOT NULL,
        annex_document_id text NOT NULL,
        templates text NOT NULL,
        registry_version text NOT NULL,
        run_id bigint,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE {SCHEMA}.notice_files (
        notice_id text NOT NULL REFERENCES {SCHEMA}.notices(notice_id),
        kind text NOT NULL CHECK (kind IN ('notice_pdf', 'notice_docx', 'annex_pdf', 'annex_docx')),
        path text NOT NULL,
        sha256 text NOT NULL REFERENCES {SCHEMA}.blobs(sha256),
        size bigint NOT NULL,
        PRIMARY KEY (notice_id, kind)
    );
    """,
    f"""
    ALTER TABLE {SCHEMA}.runs DROP CONSTRAINT runs_kind_check;
    ALTER TABLE {SCHEMA}.runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('batch', 'notices', 'send'));
    """,
)


def _psycopg() -> Any:
    import psycopg

    return psycopg


def connect(url: str, schema: str = SCHEMA) -> Any:
    """An autocommit connection with schema first on the search path; ArchiveError saying why not."""
    if not is_server_url(url):
        raise UsageError(f"{url}: shared state needs a postgresql:// archive URL")
    psycopg = _psycopg()
    try:
        return pgconnections.connect(url, connect_timeout=CONNECT_TIMEOUT_S, options=f"-c search_path={schema}")
    except psycopg.Error as exc:
        raise ArchiveError(f"{shown_url(url)}: cannot connect to the database: {' '.join(str(exc).split())}") from None


def version(con: Any) -> int:
    """The team schema's version; 0 when it does not exist."""
    if con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()[0] is None:
        return 0
    return con.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version").fetchone()[0]


def installed(url: str) -> bool:
    """Whether the database at url holds the team schema at this version (else the team features are off)."""
    con = connect(url)
    try:
        return version(con) == SCHEMA_VERSION
    finally:
        pgconnections.release(con)


def require(con: Any, url: str) -> None:
    """Raise ArchiveError unless the team schema is installed at this version."""
    found = version(con)
    if found != SCHEMA_VERSION:
        raise ArchiveError(f"{shown_url(url)}: no shared team state here (schema {SCHEMA} version {found}, "
                           f"expected {SCHEMA_VERSION}); run `annex-gen archive migrate --archive URL` as the "
                           "database owner")


# The queue's schema: procrastinate's, in its own schema


def _queue_migrations() -> list[tuple[tuple[int, ...], Path]]:
    from procrastinate import schema as queue_schema

    out = []
    for path in Path(queue_schema.migrations_path).glob("*.sql"):
        out.append((tuple(int(part) for part in path.name.split("_")[0].split(".")), path))
    return sorted(out, key=lambda item: (item[0], item[1].name))


def queue_library_version() -> str:
    """The installed procrastinate's version."""
    from importlib.metadata import version as dist_version

    return dist_version("procrastinate")


def _as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def migrate_queue(con: Any) -> tuple[str | None, str]:
    """Install procrastinate's schema into annex_queue, or apply its migrations since the recorded version."""
    from procrastinate import schema as queue_schema

    now = queue_library_version()
    row = con.execute(f"SELECT version FROM {SCHEMA}.queue_version ORDER BY applied_at DESC LIMIT 1").fetchone()
    found = row[0] if row else None
    if found is not None and _as_tuple(found) >= _as_tuple(now):
        return found, found
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUEUE_SCHEMA}")
    con.execute(f"SET search_path TO {QUEUE_SCHEMA}")
    try:
        if found is None:
            con.execute(queue_schema.SchemaManager.get_schema())
        else:
            for key, path in _queue_migrations():
                if _as_tuple(found) < key <= _as_tuple(now):
                    con.execute(path.read_text(encoding="utf-8"))
    finally:
        con.execute(f"SET search_path TO {SCHEMA}")
    con.execute(f"INSERT INTO {SCHEMA}.queue_version (version) VALUES (%s)", (now,))
    return found, now


def migrate(url: str) -> tuple[int, int, str | None, str]:
    """Create or upgrade the team schema and the queue's; return (found, now) of each, in one transaction."""
    con = connect(url)
    try:
        con.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            with con.transaction():
                found = version(con)
                if found > SCHEMA_VERSION:
                    raise ArchiveError(f"{shown_url(url)}: team schema version {found} is newer than this "
                                       f"annex-gen understands ({SCHEMA_VERSION}); upgrade annex-gen")
                for target in range(found + 1, SCHEMA_VERSION + 1):
                    con.execute(MIGRATIONS[target - 1])
                    con.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (target,))
                queue_found, queue_now = migrate_queue(con)
        finally:
            con.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    except _psycopg().Error as exc:
        raise ArchiveError(f"{shown_url(url)}: cannot migrate the team schema: {' '.join(str(exc).split())}") from None
    finally:
        con.close()  # not kept: its search path and session lock were changed
    return found, SCHEMA_VERSION, queue_found, queue_now


@contextlib.contextmanager
def connected(url: str) -> Iterator[Any]:
    """A connection to the team schema, which must be installed; database errors become ArchiveError."""
    import psycopg

    con = connect(url)
    try:
        require(con, url)
        yield con
    except psycopg.Error as exc:
        raise ArchiveError(f"{shown_url(url)}: {' '.join(str(exc).split())}") from None
    finally:
        pgconnections.release(con)
