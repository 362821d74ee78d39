"""Files in the user's cache directory, trusted no more than the user's own files.

A file is read only from a directory and a file the user owns that nobody else may write, both
opened without following links; anything unreadable is a miss. A file is written whole (a
temporary file renamed over it) or not at all, and any failure to write is ignored.
ANNEX_GEN_CACHE_DIR moves the directory; ANNEX_GEN_CACHE_DIR=off turns caching off.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "ANNEX_GEN_CACHE_DIR"
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_PACKAGE = Path(__file__).resolve().parent
# what parses a cached file, and __init__.py for annex-gen's version
_READERS = ("__init__.py", "model", "inputs", "views/catalog.py", "hashing.py", "errors.py")
_code_digest: bytes | None = None


def cache_dir() -> Path | None:
    """Where the cache lives: ANNEX_GEN_CACHE_DIR, else $XDG_CACHE_HOME/annex-gen or ~/.cache/annex-gen."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return None if given.strip().lower() in ("", "off") else Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "annex-gen"


def code_digest() -> bytes:
    """A digest of what turns files into a cached value: Python's and annex-gen's versions, the source
    of the model and of every reader, and the installed distributions (PyYAML, babel and stdnum's data)."""
    global _code_digest
    if _code_digest is None:
        from annex_gen.hashing import sha256  # not at import: every process imports this module for the code cache

        h = sha256(sys.version.encode())
        for name in _READERS:
            path = _PACKAGE / name
            for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
                h.update(f"\0{source.relative_to(_PACKAGE)}\0".encode())
                h.update(source.read_bytes())
        for entry in sys.path:  # one listing a directory: importlib.metadata would cost more than the parse
            with contextlib.suppress(OSError):
                h.update("\0".join(sorted(n for n in os.listdir(entry or ".") if n.endswith(".dist-info"))).encode())
        _code_digest = h.digest()
    return _code_digest


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@contextlib.contextmanager
def _opened(directory: Path) -> Iterator[int]:
    """The cache directory, opened without following a link; OSError unless the user's own and private."""
    fd = os.open(directory, _DIRECTORY_FLAGS)
    try:
        if not _private(os.fstat(fd)):
            raise PermissionError(f"{directory}: not private to this user")
        yield fd
    finally:
        os.close(fd)


def read(name: str) -> bytes | None:
    """The bytes of a cache file, or None (no cache, no such file, or not private to the user)."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        with _opened(directory) as dir_fd:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                return fh.read() if stat.S_ISREG(st.st_mode) and _private(st) else None
    except OSError:
        return None


def write(name: str, data: bytes, *, keep: int = 0) -> None:
    """Store a cache file; with keep, only the `keep` most recent files of its kind (the name up to its
    first '-', and its suffix) stay."""
    directory = cache_dir()
    if directory is None:
        return
    with contextlib.suppress(OSError):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _opened(directory) as dir_fd:
            tmp = f".{name}-{os.urandom(8).hex()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
            if keep:
                kind, suffix = name.split("-", 1)[0] + "-", os.path.splitext(name)[1]
                with os.scandir(dir_fd) as entries:
                    stored = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in entries
                              if e.name.startswith(kind) and e.name.endswith(suffix)]
                for _, old in sorted(stored, reverse=True)[keep:]:
                    os.unlink(old, dir_fd=dir_fd)
