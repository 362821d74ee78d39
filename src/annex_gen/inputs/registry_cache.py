"""The parsed registry kept on disk between commands, keyed by its files and the code that reads it.

Parsing and validating the registry (and importing the YAML parsers, babel and stdnum to do
it) is most of what a no-op batch or a `resolve` spends before its own work. A registry that
loaded without errors is pickled into the user's cache directory under a key made of the
registry directory as given (its warnings name it), every file's name and SHA-256, the Python
and annex-gen versions, the source of the model and of the loader, and the installed
distributions (the validators' data come from babel and stdnum): any change is a miss.

The file is trusted no more than the user's own files (annex_gen.cachefiles: private to the
user, never through a link); anything unreadable is a miss. ANNEX_GEN_CACHE_DIR moves it;
ANNEX_GEN_CACHE_DIR=off turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from pathlib import Path

from annex_gen import __version__, cachefiles
from annex_gen.cachefiles import CACHE_ENV, cache_dir
from annex_gen.model import Registry

__all__ = ["CACHE_ENV", "cache_dir", "get", "put", "stamp_of"]
KEEP = 8  # registries kept: a few releases and checkouts
_PACKAGE = Path(__file__).resolve().parent.parent
_CODE = ("model", "inputs", "hashing.py", "errors.py")
_code_digest: bytes | None = None

Stamp = tuple[tuple[str, bytes], ...]


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


def get(registry_dir: Path, stamp: Stamp) -> Registry | None:
    """The registry stored for these files, or None."""
    data = cachefiles.read(_name(registry_dir, stamp))
    if data is None:
        return None
    try:
        registry = pickle.loads(data)
    except Exception:  # a miss: written by other code
        return None
    return registry if isinstance(registry, Registry) else None


def put(registry_dir: Path, stamp: Stamp, registry: Registry) -> None:
    """Store a registry parsed from files with this stamp; keep the KEEP most recent."""
    cachefiles.write(_name(registry_dir, stamp), pickle.dumps(registry, protocol=pickle.HIGHEST_PROTOCOL), keep=KEEP)
