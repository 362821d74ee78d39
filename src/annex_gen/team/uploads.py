"""Uploads waiting to be archived, shared by a team's web instances: read back on one, stored from another.

An upload is first copied into the instance's staging folder (annex_gen.archive.staging: hashed,
limited in size, a chunk at a time), then into `uploads` (name, size, who staged it, when, until
when) and `upload_chunks` (a MiB per row: never whole in memory), under the folder's quota in all
and a quota per person, both counted over every instance. An instance asked for an upload staged
elsewhere copies it from the database into its folder, checked against its SHA-256; the folder is
only a cache of the database, dropped when the row goes (stored from any instance, or expired).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, BinaryIO

from annex_gen.archive.intake import MAX_FILE_BYTES
from annex_gen.archive.staging import (
    _TOKEN_RE,
    CHUNK,
    KEEP_SECONDS,
    QUOTA_BYTES,
    USER_QUOTA_BYTES,
    StagedFile,
    Staging,
    gone,
    over_quota,
    over_user_quota,
    safe_name,
)

LOCK = 0x75706C64  # "upld": the advisory lock a quota check and its insert hold together
_PUTS = threading.Lock()  # one put at a time per instance: a cache clean-up never meets a put's own copy


def forget_expired(con: Any) -> int:
    """Drop the uploads whose time is up (their chunks go with them); how many."""
    return con.execute("DELETE FROM uploads WHERE expires_at <= now()").rowcount


def waiting(con: Any, tokens: list[str]) -> set[str]:
    """Which of these tokens are still waiting."""
    rows = con.execute("SELECT token FROM uploads WHERE token = ANY(%s) AND expires_at > now()", (tokens,))
    return {token for (token,) in rows}


def used(con: Any, by: str) -> tuple[int, int]:
    """Bytes waiting in all, and staged by one person."""
    row = con.execute("SELECT coalesce(sum(size), 0), coalesce(sum(size) FILTER (WHERE staged_by = %s), 0) "
                      "FROM uploads WHERE expires_at > now()", (by,)).fetchone()
    return int(row[0]), int(row[1])


def store(con: Any, staged: StagedFile, by: str, *, quota: int = QUOTA_BYTES, user_quota: int = USER_QUOTA_BYTES,
          keep_s: float = KEEP_SECONDS) -> None:
    """Keep a staged file in the database until keep_s from now; refuse one beyond either quota.

    The same content staged again (by anyone) is kept once, under the latest name and time.
    """
    size = staged.path.stat().st_size
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        forget_expired(con)
        if con.execute("UPDATE uploads SET name = %s, expires_at = now() + make_interval(secs => %s) "
                       "WHERE token = %s", (staged.name, keep_s, staged.token)).rowcount:
            return
        total, mine = used(con, by)
        if total + size > quota:
            raise over_quota(staged.name, quota)
        if mine + size > user_quota:
            raise over_user_quota(staged.name, user_quota)
        con.execute("INSERT INTO uploads (token, name, size, staged_by, expires_at) "
                    "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
                    (staged.token, staged.name, size, by, keep_s))
        with open(staged.path, "rb") as source:
            n = 0
            while chunk := source.read(CHUNK):
                con.execute("INSERT INTO upload_chunks (token, n, data) VALUES (%s, %s, %s)", (staged.token, n, chunk))
                n += 1


def lookup(con: Any, token: str) -> tuple[str, int] | None:
    """The name and size of a waiting upload, or None."""
    row = con.execute("SELECT name, size FROM uploads WHERE token = %s AND expires_at > now()", (token,)).fetchone()
    return (row[0], int(row[1])) if row else None


def copy_out(con: Any, token: str, size: int, target: Path) -> None:
    """Write a waiting upload's bytes to target (atomically), checked against its SHA-256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload.", suffix=".part", dir=target.parent.parent)
    digest, written = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, con.transaction(), con.cursor(name="upload_chunks") as rows:
            rows.itersize = 4  # a few MiB in memory at a time (a server-side cursor)
            rows.execute("SELECT data FROM upload_chunks WHERE token = %s ORDER BY n", (token,))
            for (chunk,) in rows:
                digest.update(chunk)
                written += len(chunk)
                out.write(chunk)
        if digest.hexdigest() != token or written != size:
            raise gone()  # removed while being read
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def discard(con: Any, token: str) -> None:
    """Forget an upload (after it is archived)."""
    con.execute("DELETE FROM uploads WHERE token = %s", (token,))


class SharedStaging:
    """The Staging of a web instance over a team's database: the same put_stream, get and discard."""

    def __init__(self, url: str, root: Path, by: str, *, quota: int = QUOTA_BYTES,
                 user_quota: int = USER_QUOTA_BYTES, keep_s: float = KEEP_SECONDS) -> None:
        self.url, self.by = url, by
        self.local = Staging(root, quota)
        self.quota, self.user_quota, self.keep_s = quota, user_quota, keep_s

    @property
    def root(self) -> Path:
        return self.local.root

    def put_stream(self, source: BinaryIO, name: str, max_bytes: int = MAX_FILE_BYTES) -> StagedFile:
        """Copy an upload into the local folder, then into the database; refused as the folder refuses, and
        beyond the shared quotas (nothing of a refused upload is kept)."""
        from annex_gen.team.schema import connected

        with _PUTS, connected(self.url) as con:
            self._forget_gone(con)
            staged = self.local.put_stream(source, name, max_bytes)
            try:
                store(con, staged, self.by, quota=self.quota, user_quota=self.user_quota, keep_s=self.keep_s)
            except BaseException:
                self.local.discard(staged.token)
                raise
        return staged

    def get(self, token: str) -> StagedFile:
        """A waiting upload as a local file (copied from the database when staged on another instance)."""
        from annex_gen.team.schema import connected

        if not _TOKEN_RE.match(token):
            raise gone()
        with connected(self.url) as con:
            found = lookup(con, token)
            if found is None:
                self.local.discard(token)
                raise gone()
            name, size = found
            path = self.root / token / safe_name(name)
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_size == size:
                    return StagedFile(token, path)
            copy_out(con, token, size, path)
        return StagedFile(token, path)

    def discard(self, token: str) -> None:
        """Forget an upload everywhere (after it is archived)."""
        from annex_gen.team.schema import connected

        if not _TOKEN_RE.match(token):
            return
        with connected(self.url) as con:
            discard(con, token)
        self.local.discard(token)

    def _forget_gone(self, con: Any) -> None:
        """Drop cached copies of uploads no longer waiting (stored from another instance, or expired)."""
        if not self.root.is_dir():
            return
        cached = [entry.name for entry in self.root.iterdir() if _TOKEN_RE.match(entry.name) and entry.is_dir()]
        if cached:
            for token in set(cached) - waiting(con, cached):
                shutil.rmtree(self.root / token, ignore_errors=True)
