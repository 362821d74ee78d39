"""The methods dataclasses generates, compiled once and kept between processes.

Defining a dataclass compiles a text per generated method (__init__, __repr__, __eq__, ...): for
the fifty classes a one-annex `generate` defines that is about a fifth of the whole process, and
the web application defines more. Python compiles the same text to the same code, so the code is
kept in the user's cache keyed by the whole text (and by Python's version and -O level, in the
file's name): a text not seen before is compiled as dataclasses always does, and the file is
written again at exit. The file holds each code object marshalled on its own, turned into code
only when its class is defined: a process reads the texts of every command and the web
application, and uses a few of them.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
import sys
from types import CodeType
from typing import Any

from annex_gen.cachefiles import read as read_cache
from annex_gen.cachefiles import write as write_cache

FILE = f"dataclasses-{sys.implementation.cache_tag}-{sys.hexversion:x}-O{sys.flags.optimize}-lazy.marshal"
KEEP = 3  # files of this kind kept: two Python versions or -O levels side by side; older formats go
MAX_TEXTS = 4000  # beyond this the file keeps only what the last process used
_codes: dict[str, CodeType | bytes] = {}  # bytes: marshalled, not yet needed
_used: set[str] = set()
_new = False


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    """exec() as dataclasses calls it, with the compiled text taken from the cache."""
    global _new
    if not isinstance(source, str):
        builtins.exec(source, globals, locals)
        return
    code = _codes.get(source)
    if isinstance(code, bytes):
        code = _code(code)
    if code is None:
        # dont_inherit: dataclasses.py has no __future__ imports, so its exec() compiles with none
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _new = True
    _codes[source] = code
    _used.add(source)
    builtins.exec(code, globals, locals)


def install() -> None:
    """Route dataclasses' compiling through the cache (once per process; a no-op where
    dataclasses does not compile with exec, as in other Python versions)."""
    from annex_gen.imports import with_modules_on_first_use

    # dataclasses uses inspect only to describe a class without a docstring: imported when one is defined
    dataclasses = with_modules_on_first_use("dataclasses", ("inspect",))
    if getattr(dataclasses, "exec", None) is _exec or not hasattr(dataclasses, "_create_fn"):
        return
    _codes.update(_load())
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    atexit.register(save)


def _load() -> dict[str, bytes]:
    data = read_cache(FILE)
    if data is None:
        return {}
    try:
        stored = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, bytes)}


def _code(data: bytes) -> CodeType | None:
    """A stored code object, or None if it does not read back as one (then the text is compiled)."""
    try:
        code = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def save() -> None:
    """Write the cache if this process compiled a text it did not hold."""
    global _new
    if not _new:
        return
    kept = _codes if len(_codes) <= MAX_TEXTS else {t: _codes[t] for t in _used}
    write_cache(FILE, marshal.dumps({t: c if isinstance(c, bytes) else marshal.dumps(c) for t, c in kept.items()}),
                keep=KEEP)
    _new = False
