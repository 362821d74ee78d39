"""Uploaded files waiting to be archived: kept by content hash between the read-back and the store.

The web application shows what the archive reads from an uploaded file before storing it;
the file waits here meanwhile, under a token (its SHA-256) that the confirming form sends back.
The folder is always local: `ARCHIVE/.incoming/` beside a directory archive, `OUT/.incoming/`
for a postgresql:// archive, or `STATE/.incoming/` when a state directory is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from annex_gen.archive.index import is_server_url
from annex_gen.archive.intake import MAX_FILE_BYTES
from annex_gen.errors import UsageError
from annex_gen.output.write import write_atomic

INCOMING = ".incoming"
KEEP_SECONDS = 24 * 3600  # an upload read back but never stored is dropped after a day
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


class Staging:
    """A folder of staged uploads."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, name: str) -> StagedFile:
        """Keep data under its SHA-256; refuse an empty or oversized upload."""
        if not data:
            raise UsageError(f"{safe_name(name)}: the file is empty", code="archive.file.empty")
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(f"{safe_name(name)}: the file is larger than the archive's limit of "
                             f"{MAX_FILE_BYTES // 2**20} MiB", code="archive.file.too_large",
                             params={"limit_bytes": MAX_FILE_BYTES})
        self._forget_old()
        token = hashlib.sha256(data).hexdigest()
        path = self.root / token / safe_name(name)
        write_atomic(path, data)
        return StagedFile(token, path)

    def _forget_old(self) -> None:
        """Drop uploads left waiting longer than KEEP_SECONDS (read back, never stored)."""
        if not self.root.is_dir():
            return
        limit = time.time() - KEEP_SECONDS
        for folder in self.root.iterdir():
            with contextlib.suppress(OSError):
                if _TOKEN_RE.match(folder.name) and folder.stat().st_mtime < limit:
                    shutil.rmtree(folder, ignore_errors=True)

    def get(self, token: str) -> StagedFile:
        """The staged file of a token; refuse a malformed or unknown one."""
        folder = self.root / token
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")) \
            if _TOKEN_RE.match(token) and folder.is_dir() else []
        if not files:
            raise UsageError("the uploaded file is no longer waiting to be archived; upload it again",
                             code="archive.staged.gone")
        return StagedFile(token, files[0])

    def discard(self, token: str) -> None:
        """Forget a staged file (after it is archived)."""
        if _TOKEN_RE.match(token):
            shutil.rmtree(self.root / token, ignore_errors=True)
