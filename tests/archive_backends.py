"""The archive's two backends in tests: a directory (SQLite + files) and a throwaway PostgreSQL cluster.

The cluster is Debian's PostgreSQL, started once per test session on a Unix socket in a temp
directory (no TCP port), one fresh database per test. If it cannot start, every PostgreSQL
test fails with the reason: CI must not pass without having run them.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("sqlite", "postgresql")


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway cluster serving on a Unix socket; `database()` makes a fresh database."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                               "run scripts/install-system-packages, which installs the `postgresql` package")
        self.root = Path(tempfile.mkdtemp(prefix="annex-gen-pg-"))
        self.data, self.socket = self.root / "data", self.root / "socket"
        self.socket.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:  # initdb and postgres refuse to run as root
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket, "postgres", "postgres")
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")
        self._counter = itertools.count(1)

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")

    def start(self, *, durable: bool = False) -> PostgresServer:
        """initdb and pg_ctl start; raise RuntimeError saying why when it cannot.

        Tests need no durability (fsync off); a benchmark does (durable=True).
        """
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
                  "--no-sync")
        options = f"-c listen_addresses='' -k {self.socket} -c max_connections=60"
        if not durable:
            options += " -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l",
                  str(self.root / "server.log"), "-o", options, "start")
        return self

    def stop(self) -> None:
        """Stop the server and remove everything it wrote."""
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The URL of a database on this server."""
        return f"postgresql://{self.user}@/{database}?host={self.socket}"

    def database(self) -> str:
        """A new, empty database's URL."""
        import psycopg

        name = f"archive_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@dataclass
class Backend:
    """Where a test's archive lives, and how to tamper with it behind the tool's back."""

    name: str
    location: str

    @property
    def root(self) -> Path:
        """The archive directory (SQLite backend only)."""
        return Path(self.location)

    @property
    def index_location(self) -> str:
        """How messages name the index."""
        if self.name == "sqlite":
            return str(self.root / "index.sqlite")
        from annex_gen.archive.index import shown_url

        return shown_url(self.location)

    def object_where(self, sha256: str) -> str:
        """How messages name a stored file."""
        if self.name == "sqlite":
            return str(self.root / "objects" / sha256[:2] / sha256)
        return f"{self.index_location}: objects/{sha256}"

    def sql(self, *statements: str, params: tuple = ()) -> None:
        """Run statements with the append-only safeguards out of the way (as an administrator could)."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.root / "index.sqlite", isolation_level=None)
            triggers = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
            con.execute("DROP TRIGGER records_no_update")
            con.execute("DROP TRIGGER records_no_delete")
            for statement in statements:
                con.execute(statement, params if "?" in statement else ())
            for (sql,) in triggers:
                con.execute(sql)
            con.close()
            return
        import psycopg

        with psycopg.connect(self.location, autocommit=True, options="-c search_path=annex_archive") as con:
            con.execute("SET session_replication_role = replica")  # triggers do not fire
            for statement in statements:
                con.execute(statement.replace("?", "%s"), params if "?" in statement else ())

    def alter_object(self, sha256: str, data: bytes) -> None:
        """Replace a stored file's bytes."""
        if self.name == "sqlite":
            path = self.root / "objects" / sha256[:2] / sha256
            path.chmod(0o644)
            path.write_bytes(data)
        else:
            self.sql("UPDATE objects SET data = ?, size = ? WHERE sha256 = ?", params=(data, len(data), sha256))

    def remove_object(self, sha256: str) -> None:
        """Remove a stored file."""
        if self.name == "sqlite":
            (self.root / "objects" / sha256[:2] / sha256).unlink()
        else:
            self.sql("DELETE FROM objects WHERE sha256 = ?", params=(sha256,))  # replica role: no FK check

    def stored_objects(self) -> list[str]:
        """The SHA-256 of every stored file."""
        if self.name == "sqlite":
            objects = self.root / "objects"
            return sorted(p.name for p in objects.rglob("*") if p.is_file()) if objects.is_dir() else []
        import psycopg

        with psycopg.connect(self.location, options="-c search_path=annex_archive") as con:
            try:
                rows = con.execute("SELECT sha256, data FROM objects").fetchall()
            except psycopg.errors.UndefinedTable:
                return []
        assert all(hashlib.sha256(bytes(d)).hexdigest() == s for s, d in rows)
        return sorted(s for s, _ in rows)


def add_scans(location: str, worker: int, count: int) -> list[int]:
    """Add count distinct scans through the use case, as one writer of many; return their record numbers."""
    import datetime as dt
    import tempfile

    from annex_gen import app
    from annex_gen.archive.intake import AddRequest
    from archive_support import scan_pdf

    seqs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            path = Path(tmp) / f"scan-{worker}-{i}.pdf"
            path.write_bytes(scan_pdf(marker=f"writer {worker} scan {i}"))
            request = AddRequest(path=path, customer=f"customer-{worker}", signed_on=dt.date(2025, 1, 1))
            seqs.append(app.archive_add(location, request).seq)
    return seqs
