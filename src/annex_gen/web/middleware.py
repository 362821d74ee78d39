"""ASGI middleware: one log line per request, security headers, Host and Origin, and the request body limit."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from annex_gen.shown import escaped
from annex_gen.web.hosts import host_allowed, origin_allowed

log = logging.getLogger("annex_gen.web")

# No inline script or style anywhere: every script and stylesheet is a file served by the app.
# Pages may frame only this origin (the annex preview is a same-origin frame).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
     b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """Add the security headers to every HTTP response, and keep pages out of shared caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class MisdirectedHost(Exception):
    """The request's Host is not a name this server answers to."""


class ForeignOrigin(Exception):
    """A state-changing request came from another site (its Origin is not this server)."""


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIX = "/static/"  # the interface's stylesheet, script and fonts: the same for everyone, no data


class HostCheck:
    """Refuse a request whose Host is not this server's (421), and a form sent from another origin (403)."""

    def __init__(self, app: ASGIApp, names: frozenset[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        host = headers[b"host"].decode("latin-1") if b"host" in headers else None
        public = scope["method"] in ("GET", "HEAD") and scope["path"].startswith(PUBLIC_PREFIX)
        if not host_allowed(host, self.names) and not public:
            raise MisdirectedHost()
        origin = headers.get(b"origin")
        if (scope["method"] in UNSAFE_METHODS and origin is not None
                and not origin_allowed(origin.decode("latin-1"), host, scope.get("scheme", "http"), self.names)):
            raise ForeignOrigin()
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """The request body is larger than the limit for its path."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    """Refuse a request body over the path's limit: by Content-Length, and while streaming (no length)."""

    def __init__(self, app: ASGIApp, limit_for: Any) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def printable(text: str) -> str:
    """text for a log line: control characters escaped (annex_gen.shown.escaped), backslash and quote too.

    A path is decoded before it is logged, so an encoded newline (%0A) would otherwise start a forged line.
    """
    return escaped(text.replace("\\", "\\\\").replace('"', '\\"'))


class RequestLog:
    """One line per request: client, user (signed in, else -), method, path, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client") or ("-", 0)
            user = scope.get("state", {}).get("user_name", "-")
            log.info('%s %s "%s %s" %d %.0fms', printable(str(client[0])), printable(user),
                     printable(scope["method"]), printable(scope["path"]), status,
                     (time.perf_counter() - start) * 1000)
