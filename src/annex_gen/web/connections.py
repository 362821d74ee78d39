"""The server's connections: a request's headers within a time limit, and no more connections than open files
allow. uvicorn bounds neither, so clients that open connections and never finish a request used to exhaust
the server's files until it stopped answering (and logged every refused accept)."""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0  # from connecting to a request's complete headers
MAX_FILES = 65_536  # the soft open-file limit serve raises itself to, if the hard one allows


def connection_limit() -> int:
    """Raise the soft open-file limit as far as the hard one allows (at most MAX_FILES); half of it is
    for connections, the rest for the process's own files, render workers and database connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_FILES)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):
            pass
    return max(64, min(soft, MAX_FILES) // 2)


def bounded_protocol(limit: int) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, closing a connection beyond limit at once and one without a complete
    request's headers after HEADER_TIMEOUT_S."""

    class Bounded(H11Protocol):
        _waiting: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limit:
                transport.close()
                return
            self._waiting = self.loop.call_later(HEADER_TIMEOUT_S, self._no_request)

        def _no_request(self) -> None:
            if self.cycle is None and not self.transport.is_closing():  # no request's headers yet
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._waiting is not None:
                self._waiting.cancel()
            super().connection_lost(exc)

    return Bounded
