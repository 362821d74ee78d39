"""PostgreSQL connections: a command opens and closes its own; a server keeps idle ones to use again.

Opening a connection starts a server process on the database and logs in: about 9 ms on the
database's own machine, more across a network, and a web page used to open eight. After
`keep_idle()` (`annex-gen serve`, `annex-gen worker`) a released connection waits for the next
connect() with the same URL and settings, up to KEEP of them; one is checked with a round trip
before it is handed out again, and a connection that is closed, broken or inside a transaction is
closed, not kept. A forked child never uses its parent's connections.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

KEEP = 4  # idle connections kept per URL and settings

_lock = threading.Lock()
_keeping = False
_owner = os.getpid()  # the process the idle connections belong to
_idle: dict[tuple[str, str], list[Any]] = {}
_keys: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()  # handed out -> key


def keep_idle(keep: bool = True) -> None:
    """Keep released connections for reuse (a long-running process); keep_idle(False) closes the kept ones."""
    global _keeping
    with _lock:
        _keeping = keep
        dropped = [] if keep else [con for cons in _idle.values() for con in cons]
        if not keep:
            _idle.clear()
    for con in dropped:
        _close(con)


def connect(url: str, *, connect_timeout: int, options: str = "") -> Any:
    """An autocommit connection to url (options: the server settings, as psycopg's `options`), kept or new.

    Raises psycopg.Error when a new connection cannot be made, as psycopg.connect does."""
    import psycopg

    key = (url, options)
    while (con := _take(key)) is not None:
        try:
            con.execute("SELECT 1")  # the server may have ended it since
        except psycopg.Error:
            _close(con)
            continue
        return _handed(con, key)
    extra = {"options": options} if options else {}
    return _handed(psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout, **extra), key)


def release(con: Any) -> None:
    """Done with con: kept for the next connect() when idle connections are kept and con is clean, else closed."""
    from psycopg.pq import TransactionStatus

    with _lock:
        key = _keys.pop(con, None)
        clean = (not con.closed and con.autocommit
                 and con.info.transaction_status == TransactionStatus.IDLE)
        if key is not None and _keeping and clean and os.getpid() == _owner and len(_idle.get(key, ())) < KEEP:
            _idle.setdefault(key, []).append(con)
            return
    _close(con)


def _take(key: tuple[str, str]) -> Any:
    global _owner
    with _lock:
        if os.getpid() != _owner:  # a forked child: the parent's connections are the parent's, left untouched
            _owner = os.getpid()
            _idle.clear()
            _keys.clear()
        cons = _idle.get(key)
        return cons.pop() if _keeping and cons else None


def _handed(con: Any, key: tuple[str, str]) -> Any:
    with _lock:
        _keys[con] = key
    return con


def _close(con: Any) -> None:
    try:
        con.close()
    except Exception:  # noqa: BLE001 - a connection already broken has nothing left to close
        pass
