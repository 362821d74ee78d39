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
import os
import pickle
from pathlib import Path

from annex_gen import cachefiles
from annex_gen.cachefiles import CACHE_ENV, cache_dir
from annex_gen.hashing import sha256
from annex_gen.model import Registry

__all__ = ["CACHE_ENV", "cache_dir", "get", "put", "stamp_of"]
KEEP = 8  # registries kept: a few releases and checkouts

Stamp = tuple[tuple[str, bytes], ...]


def stamp_of(registry_dir: Path) -> Stamp:
    """Each file's name and SHA-256; raises OSError if the directory cannot be read."""
    return tuple(sorted((p.name, sha256(p.read_bytes()).digest())
                        for p in registry_dir.iterdir() if p.is_file()))


def _name(registry_dir: Path, stamp: Stamp) -> str:
    h = sha256(cachefiles.code_digest())
    h.update(os.fsencode(registry_dir))
    for name, digest in stamp:
        h.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return f"registry-{h.hexdigest()[:32]}.pickle"


def get(registry_dir: Path, stamp: Stamp) -> Registry | None:
    """The registry stored for these files, or None."""
    try:
        data = cachefiles.read(_name(registry_dir, stamp))
        registry = pickle.loads(data) if data is not None else None
    except Exception:  # a miss: unreadable sources, or written by other code
        return None
    return registry if isinstance(registry, Registry) else None


def put(registry_dir: Path, stamp: Stamp, registry: Registry) -> None:
    """Store a registry parsed from files with this stamp; keep the KEEP most recent. Never fails: a
    registry that cannot be stored is parsed again next time."""
    with contextlib.suppress(Exception):
        cachefiles.write(_name(registry_dir, stamp), pickle.dumps(registry, protocol=pickle.HIGHEST_PROTOCOL),
                         keep=KEEP)
