"""Errors become pages with the message, never a traceback: the web's one error-to-status mapping."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from annex_gen.errors import (
    AnnexGenError,
    ArchiveUnavailable,
    EditConflict,
    InvalidInput,
    NotFound,
    NotRecorded,
    OutputError,
    RenderError,
    UsageError,
)
from annex_gen.web.http import (
    CrossSiteRequest,
    CsrfFailed,
    Forbidden,
    ProxiedWithoutLogin,
    SignOutFailed,
    UsersUnavailable,
    render,
)
from annex_gen.web.middleware import BodyTooLarge, ForeignOrigin, MisdirectedHost, printable

log = logging.getLogger("annex_gen.web")


@dataclass(frozen=True)
class ErrorPage:
    """What an error page shows: a status, a title (catalog key) and the messages."""

    status: int
    title: str
    error: BaseException | None = None
    """The error whose messages the page shows in its language (an AnnexGenError, else none)."""
    detail: str = ""  # a catalog key: what the visitor can do


# The first matching kind decides; an AnnexGenError's messages are shown through the catalog (web.messages).
STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (MisdirectedHost, 421, "error.misdirected"),
    (ForeignOrigin, 403, "error.origin"),
    (UsersUnavailable, 503, "error.unavailable"),
    (SignOutFailed, 500, "error.signout"),
    (Forbidden, 403, "error.forbidden"),
    (CsrfFailed, 403, "error.csrf"),
    (CrossSiteRequest, 403, "error.cross_site"),
    (ProxiedWithoutLogin, 403, "error.proxy"),
    (BodyTooLarge, 413, "error.too_large"),
    (NotFound, 404, "error.not_found"),
    (EditConflict, 409, "error.conflict"),
    (InvalidInput, 400, "error.invalid"),
    (UsageError, 400, "error.bad_request"),
    (OutputError, 500, "error.output"),
    (RenderError, 500, "error.render"),
    (NotRecorded, 503, "error.archive"),  # the audit log cannot be written: nothing was done
    (ArchiveUnavailable, 503, "error.archive_down"),
    (AnnexGenError, 400, "error.bad_request"),
)
HTTP_TITLES = {404: "error.not_found", 405: "error.method", 413: "error.too_large"}
DETAILS = {"error.misdirected": "error.misdirected_help", "error.origin": "error.origin_help",
           "error.unavailable": "error.unavailable_help", "error.signout": "error.signout_help",
           "error.archive_down": "error.archive_down_help", "error.cross_site": "error.cross_site_help"}


def error_page(exc: BaseException) -> ErrorPage:
    """The page for an exception a request raised."""
    if isinstance(exc, HTTPException):
        return ErrorPage(exc.status_code, HTTP_TITLES.get(exc.status_code, "error.bad_request"))
    for kind, status, title in STATUS:
        if isinstance(exc, kind):
            if isinstance(exc, EditConflict) and exc.code == "contract.id_taken":
                title = "error.id_taken"
            return ErrorPage(status, title, exc if isinstance(exc, AnnexGenError) else None, DETAILS.get(title, ""))
    return ErrorPage(500, "error.internal")


def render_error(request: Request, exc: BaseException) -> Response:
    """The error page of exc for this request."""
    info = error_page(exc)
    return render(request, "error.html.j2", {"error": info}, status_code=info.status)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's handler for HTTPException (unknown path, wrong method)."""
    return render_error(request, exc)


class ErrorPages:
    """Catch whatever a request raised and answer with an error page, logging one line."""

    def __init__(self, app: ASGIApp, debug: bool = False) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:  # noqa: BLE001 - the last line of defence of every page
            if error_page(exc).status == 500:
                log.error("%s %s: %s: %s", printable(scope["method"]), printable(scope["path"]),
                          type(exc).__name__, printable(str(exc)), exc_info=self.debug)
            elif isinstance(exc, ArchiveUnavailable):  # the page sends the administrator to this line
                log.warning("%s %s: %s", printable(scope["method"]), printable(scope["path"]), printable(str(exc)))
            if started:  # too late for a page; the client sees a cut response
                return
            await render_error(Request(scope, receive), exc)(scope, receive, send)
