"""The parsed registry kept on disk between commands, keyed by its files and the code that reads it.

Parsing and validating the registry (and importing the YAML parsers, babel and stdnum to do
it) is most of what a no-op batch or a `resolve` spends before its own work. A registry that
loaded without errors is pickled into the user's cache directory under a key made of the
registry directory as given (its warnings name it), every file's name and SHA-256, the Python
and annex-gen versions, the source of the model and of the loader, and the installed
distributions (the validators' data come from babel and stdnum): any change is a miss.

The cache is never trusted more than the user's own files: it is read only from a directory
and a file the user owns that nobody else may write, both opened without following links, and
anything unreadable is a miss. Any failure to write it is ignored. ANNEX_GEN_CACHE_DIR moves
it; ANNEX_GEN_CACHE_DIR=off turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from annex_gen import __version__
from annex_gen.model import Registry

CACHE_ENV = "ANNEX_GEN_CACHE_DIR"
KEEP = 8  # registries kept: a few releases and checkouts
_PACKAGE = Path(__file__).resolve().parent.parent
_CODE = ("model", "inputs", "hashing.py", "errors.py")
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_code_digest: bytes | None = None

Stamp = tuple[tuple[str, bytes], ...]


def cache_dir() -> Path | None:
    """Where the cache lives: ANNEX_GEN_CACHE_DIR, else $XDG_CACHE_HOME/annex-gen or ~/.cache/annex-gen."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return None if given.strip().lower() in ("", "off") else Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "annex-gen"


def stamp_of(registry_dir: Path) -> Stamp:
    """Each file's name and SHA-256; raises OSError if the directory cannot be read."""
    return tuple(sorted((p.name, hashlib.sha256(p.read_bytes()).digest())
                        for p in registry_dir.iterdir() if p.is_file()))


def _code() -> bytes:
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256(f"{sys.version}\0{__version__}".encode())
        for name in _CODE:
            path = _PACKAGE / name
            for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
                h.update(f"\0{source.relative_to(_PACKAGE)}\0".encode())
                h.update(source.read_bytes())
        for entry in sys.path:  # one listing a directory: importlib.metadata would cost more than the parse
            with contextlib.suppress(OSError):
                h.update("\0".join(sorted(n for n in os.listdir(entry or ".") if n.endswith(".dist-info"))).encode())
        _code_digest = h.digest()
    return _code_digest


def _name(registry_dir: Path, stamp: Stamp) -> str:
    h = hashlib.sha256(_code())
    h.update(os.fsencode(registry_dir))
    for name, digest in stamp:
        h.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return f"registry-{h.hexdigest()[:32]}.pickle"


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


def get(registry_dir: Path, stamp: Stamp) -> Registry | None:
    """The registry stored for these files, or None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        with _opened(directory) as dir_fd:
            fd = os.open(_name(registry_dir, stamp), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not (stat.S_ISREG(st.st_mode) and _private(st)):
                    return None
                registry = pickle.load(fh)
    except Exception:  # a miss: missing, unreadable, or written by other code
        return None
    return registry if isinstance(registry, Registry) else None


def put(registry_dir: Path, stamp: Stamp, registry: Registry) -> None:
    """Store a registry parsed from files with this stamp; keep the KEEP most recent."""
    directory = cache_dir()
    if directory is None:
        return
    with contextlib.suppress(Exception):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _opened(directory) as dir_fd:
            import secrets  # only when writing: a hit does not pay for it

            tmp = f".registry-{secrets.token_hex(8)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(registry, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, _name(registry_dir, stamp), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
            with os.scandir(dir_fd) as entries:
                stored = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in entries
                          if e.name.startswith("registry-") and e.name.endswith(".pickle")]
            for _, old in sorted(stored, reverse=True)[KEEP:]:
                os.unlink(old, dir_fd=dir_fd)
