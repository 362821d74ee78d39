"""Uploaded files waiting to be archived: kept by content hash between the read-back and the store.

An upload is copied to disk in chunks (never held whole in memory), up to the archive's file
limit, and all uploads waiting at once stay under a quota.

The web application shows what the archive reads from an uploaded file before storing it;
the file waits here meanwhile, under a token (its SHA-256) that the confirming form sends back.
The folder is always local: `ARCHIVE/.incoming/` beside a directory archive, `OUT/.incoming/`
for a postgresql:// archive, or `STATE/.incoming/` when a state directory is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from annex_gen.archive.index import is_server_url
from annex_gen.archive.intake import MAX_FILE_BYTES
from annex_gen.errors import UsageError

INCOMING = ".incoming"
KEEP_SECONDS = 24 * 3600  # an upload read back but never stored is dropped after a day
QUOTA_BYTES = 1024 * 2**20  # all uploads waiting at once; a new one beyond it is refused
USER_QUOTA_BYTES = 3 * MAX_FILE_BYTES  # one person's, where uploads are kept by who staged them (a team's database)
CHUNK = 2**20  # an upload is copied to disk this much at a time, never held whole in memory
_TOKEN_RE = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class StagedFile:
    """An uploaded file on disk, under its original (made safe) name."""

    token: str
    path: Path

    @property
    def name(self) -> str:
        """The file's name as uploaded, made safe."""
        return self.path.name


def safe_name(name: str) -> str:
    """A file name without folders or characters a file system or a header may trip on."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE_RE.sub("_", base).strip(" .")[:120]
    return cleaned or "upload"


def staging_dir(archive: str | Path, out_dir: Path, state_dir: Path | None = None) -> Path:
    """Where uploads wait: under state_dir if given, else beside a directory archive, else under out_dir."""
    if state_dir is not None:
        return state_dir / INCOMING
    return out_dir / INCOMING if is_server_url(archive) else Path(archive) / INCOMING


def over_quota(shown: str, quota: int) -> UsageError:
    """The refusal of an upload that would take all uploads waiting beyond quota."""
    return UsageError(f"{shown}: too many uploads are waiting to be archived (the limit is {quota // 2**20} MiB in "
                      "all); store or leave the ones waiting, or try again tomorrow, when unstored uploads are dropped",
                      code="archive.file.quota", params={"limit_bytes": quota})


def over_user_quota(shown: str, quota: int) -> UsageError:
    """The refusal of an upload that would take one person's uploads waiting beyond quota."""
    return UsageError(f"{shown}: you have too many uploads waiting to be archived (the limit is {quota // 2**20} MiB "
                      "per person); store or leave yours, or try again tomorrow, when unstored uploads are dropped",
                      code="archive.file.user_quota", params={"limit_bytes": quota})


def gone() -> UsageError:
    """The refusal of a token whose upload is not waiting (never was, stored, or dropped)."""
    return UsageError("the uploaded file is no longer waiting to be archived; upload it again",
                      code="archive.staged.gone")


class Staging:
    """A folder of staged uploads, at most quota bytes in all."""

    def __init__(self, root: Path, quota: int = QUOTA_BYTES) -> None:
        self.root = root
        self.quota = quota

    def put(self, data: bytes, name: str) -> StagedFile:
        """Keep data under its SHA-256; refuse an empty or oversized upload."""
        import io

        return self.put_stream(io.BytesIO(data), name)

    def put_stream(self, source: BinaryIO, name: str, max_bytes: int = MAX_FILE_BYTES) -> StagedFile:
        """Copy an upload to disk a chunk at a time, hashing it on the way; keep it under its SHA-256.

        Refuse an empty upload, one larger than max_bytes, and one that would take the waiting
        uploads beyond the quota; nothing of a refused upload is left behind.
        """
        shown = safe_name(name)
        self._forget_old()
        room = self.quota - self.used()
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload.", suffix=".part", dir=self.root)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UsageError(f"{shown}: the file is larger than the archive's limit of "
                                         f"{max_bytes // 2**20} MiB", code="archive.file.too_large",
                                         params={"limit_bytes": max_bytes})
                    if size > room:
                        raise over_quota(shown, self.quota)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise UsageError(f"{shown}: the file is empty", code="archive.file.empty")
            token = digest.hexdigest()
            path = self.root / token / shown
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return StagedFile(token, path)

    def used(self) -> int:
        """Bytes held by the uploads waiting (and any being written)."""
        if not self.root.is_dir():
            return 0
        total = 0
        for entry in self.root.rglob("*"):
            with contextlib.suppress(OSError):
                if entry.is_file() and not entry.is_symlink():
                    total += entry.stat().st_size
        return total

    def _forget_old(self) -> None:
        """Drop uploads left waiting longer than KEEP_SECONDS (read back, never stored), and partial copies."""
        if not self.root.is_dir():
            return
        limit = time.time() - KEEP_SECONDS
        for entry in self.root.iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime >= limit:
                    continue
                if _TOKEN_RE.match(entry.name) and entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                elif entry.name.startswith(".upload.") and entry.name.endswith(".part"):
                    entry.unlink()

    def get(self, token: str) -> StagedFile:
        """The staged file of a token; refuse a malformed or unknown one."""
        folder = self.root / token
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")) \
            if _TOKEN_RE.match(token) and folder.is_dir() else []
        if not files:
            raise gone()
        return StagedFile(token, files[0])

    def discard(self, token: str) -> None:
        """Forget a staged file (after it is archived)."""
        if _TOKEN_RE.match(token):
            shutil.rmtree(self.root / token, ignore_errors=True)
