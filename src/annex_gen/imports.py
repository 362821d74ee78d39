"""Third-party modules imported without the parts annex-gen never uses, where that is safe.

Only in a process of one thread (a command, a worker): while the module is imported, what it does
not need stands in for what it would build, and everything is as usual again afterwards. A server
with threads imports as usual.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from typing import Any


def _alone() -> bool:
    """No other thread can import meanwhile (threading not imported means no thread was started)."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


class _OnFirstUse(types.ModuleType):
    """Stands for a module until an attribute is asked for, then imports the real one."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


class _PatternOnFirstUse:
    """Stands for a compiled pattern until it is used, then compiles it."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, attr)


def with_modules_on_first_use(name: str, modules: tuple[str, ...]) -> Any:
    """Import `name` with each of `modules` it imports (but does not use at import) imported on first use."""
    if name in sys.modules:
        return sys.modules[name]
    stand_ins = {m: _OnFirstUse(m) for m in modules if m not in sys.modules} if _alone() else {}
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module(name)
    finally:
        for m, module in stand_ins.items():
            if sys.modules.get(m) is module:
                del sys.modules[m]


def with_patterns_on_first_use(name: str) -> Any:
    """Import `name` with the patterns its modules compile at import compiled on first use instead."""
    if name in sys.modules or not _alone():
        return importlib.import_module(name)
    compile_ = re.compile

    def compile_later(pattern: Any, flags: int = 0) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if isinstance(pattern, str) and (caller == name or caller.startswith(name + ".")):
            return _PatternOnFirstUse(pattern, flags)
        return compile_(pattern, flags)  # another module imported meanwhile compiles as usual

    re.compile = compile_later  # type: ignore[assignment]
    try:
        return importlib.import_module(name)
    finally:
        re.compile = compile_
