"""The content-addressed file store of an embedded archive: `objects/ab/abcdef…`, read-only files.

A file is written and fsync'd before the transaction that records it commits, so a crash
leaves at most a file that no record names, never a record without its file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

from annex_gen.output.write import _fsync_dir, write_atomic

OBJECTS_DIR = "objects"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class FileObjects:
    """Files named by their SHA-256 under root/objects."""

    def __init__(self, root: Path) -> None:
        self.dir = root / OBJECTS_DIR

    def path(self, sha256: str) -> Path:
        """Where the file with this SHA-256 is stored."""
        return self.dir / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        """Write the file under its hash, fsync'd and read-only; keep an identical one already there."""
        path = self.path(sha256)
        try:
            if path.is_file() and file_sha256(path) == sha256:
                path.chmod(0o444)
                return  # left by an add that was interrupted before its commit, or a concurrent one
        except OSError:
            pass
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _fsync_dir(path.parent.parent)  # so a crash cannot lose the new folder's entry
        # Only reached for a hash no record names (checked before), so nothing archived is replaced.
        write_atomic(path, data, mode=0o444)

    def get(self, sha256: str) -> bytes:
        """The stored bytes (raises FileNotFoundError, OSError)."""
        return self.path(sha256).read_bytes()

    def rehash(self, sha256: str) -> str:
        """The SHA-256 of the stored file as it is now (raises FileNotFoundError, OSError)."""
        return file_sha256(self.path(sha256))

    def stored(self) -> Iterator[tuple[Path, float]]:
        """Every file in the store, with its age in seconds."""
        now = time.time()
        for path in sorted(self.dir.glob("*/*")) if self.dir.is_dir() else ():
            try:
                yield path, now - path.stat().st_mtime
            except OSError:
                continue
