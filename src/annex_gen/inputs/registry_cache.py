"""The parsed registry kept on disk between commands, keyed by its files and the code that reads it.

Parsing and validating the registry (and importing the YAML parsers, babel and stdnum to do
it) is most of what a no-op batch or a `resolve` spends before its own work. A registry that
loaded without errors is pickled into the user's cache directory under a key made of the
registry directory as given (its warnings name it), every file's name and SHA-256, the Python
and annex-gen versions and the source of the model and of the loader; any change is a miss.

The cache is never trusted more than the user's own files: it is read only from a directory
and a file the user owns that nobody else may write, and anything unreadable is a miss. Any
failure to write it is ignored. ANNEX_GEN_CACHE_DIR moves it; ANNEX_GEN_CACHE_DIR=off turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path

from annex_gen import __version__
from annex_gen.model import Registry

CACHE_ENV = "ANNEX_GEN_CACHE_DIR"
KEEP = 8  # registries kept: a few releases and checkouts
_PACKAGE = Path(__file__).resolve().parent.parent
_CODE = ("model", "inputs", "hashing.py", "errors.py")
_code_digest: bytes | None = None


def cache_dir() -> Path | None:
    """Where the cache lives: ANNEX_GEN_CACHE_DIR, else $XDG_CACHE_HOME/annex-gen or ~/.cache/annex-gen."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return None if given.strip().lower() in ("", "off") else Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "annex-gen"


def _code() -> bytes:
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256(f"{sys.version}\0{__version__}".encode())
        for name in _CODE:
            path = _PACKAGE / name
            for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
                h.update(f"\0{source.relative_to(_PACKAGE)}\0".encode())
                h.update(source.read_bytes())
        _code_digest = h.digest()
    return _code_digest


def _path(directory: Path, registry_dir: Path, stamp: tuple[tuple[str, bytes], ...]) -> Path:
    h = hashlib.sha256(_code())
    h.update(os.fsencode(registry_dir))
    for name, digest in stamp:
        h.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return directory / f"registry-{h.hexdigest()[:32]}.pickle"


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def get(registry_dir: Path, stamp: tuple[tuple[str, bytes], ...]) -> Registry | None:
    """The registry stored for these files, or None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        st = os.lstat(directory)
        if not (stat.S_ISDIR(st.st_mode) and _private(st)):
            return None
        fd = os.open(_path(directory, registry_dir, stamp), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not (stat.S_ISREG(st.st_mode) and _private(st)):
                return None
            registry = pickle.load(fh)
    except Exception:  # a miss: missing, unreadable, or written by other code
        return None
    return registry if isinstance(registry, Registry) else None


def put(registry_dir: Path, stamp: tuple[tuple[str, bytes], ...], registry: Registry) -> None:
    """Store a registry just loaded; keep the KEEP most recent."""
    directory = cache_dir()
    if directory is None:
        return
    with contextlib.suppress(Exception):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.lstat(directory)):
            return
        target = _path(directory, registry_dir, stamp)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".registry-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(registry, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        kept = sorted(directory.glob("registry-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
