"""What every view shares: routes guarded by permission and CSRF, the signed-in user, rendering."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from annex_gen.app import load_registry
from annex_gen.errors import AnnexGenError
from annex_gen.users import User
from annex_gen.web.formats import Formats
from annex_gen.web.i18n import catalogs, negotiate
from annex_gen.web.messages import Messages
from annex_gen.web.permissions import LOCAL_USER, allowed

Endpoint = Callable[[Request], Awaitable[Response]]
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
MAX_FORM_FIELDS = 200
SESSION_MAX_AGE = 8 * 3600  # a working day from sign-in, however active the session
# Headers a reverse proxy adds: without logins, a request carrying one came through a proxy
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto",
                 "x-forwarded-server", "via")


class Forbidden(Exception):
    """The signed-in user's role does not allow this page."""


class ProxiedWithoutLogin(Exception):
    """A request came through a reverse proxy to a server that has no logins (loopback, no --users)."""


class UsersUnavailable(Exception):
    """The users file cannot be read now (edited into an invalid state, removed): nobody can sign in."""


class SignOutFailed(Exception):
    """The user's sessions could not be ended (the users file could not be written)."""


class CrossSiteRequest(Exception):
    """A link on another site asked for a page that writes (an annex generated, an export recorded)."""


class CsrfFailed(Exception):
    """A form arrived without the session's CSRF token (forged, or the session expired)."""


def current_user(request: Request) -> User | None:
    """The signed-in user, the local user when serving without logins, or None."""
    state = request.app.state
    if not state.settings.login_required:
        # Loopback without logins is for the person at this machine; a proxy would open it to everyone.
        if any(name in request.headers for name in PROXY_HEADERS):
            raise ProxiedWithoutLogin()
        request.state.user_name = LOCAL_USER.name
        return LOCAL_USER
    name = request.session.get("user")
    user = state.users().get(name) if isinstance(name, str) else None
    if user is None or request.session.get("sessions") != user.sessions:
        return None  # signed out, removed, or the user's sessions were ended since this one began
    since = request.session.get("since")
    if not isinstance(since, int) or time.time() - since >= SESSION_MAX_AGE:
        return None  # signed in a working day ago: the cookie's own age restarts whenever the session is saved
    request.state.user_name = user.name  # for the request log
    return user


def language(request: Request) -> str:
    """The interface language of this request: the user's choice, else the browser's."""
    return negotiate(request.headers.get("accept-language"), request.session.get("lang"))


def t(request: Request, key: str, /, **values: object) -> str:
    """A text of the interface in the request's language."""
    catalog = catalogs()[language(request)]
    return catalog.format(key, **values) if values else catalog[key]


# the values that are dates (ISO text, as the lifecycle log keeps them, or dates), by name, for t_dates()
DATE_VALUES = frozenset({"deadline", "effective", "effective_date", "objection_deadline", "received_on",
                         "resolved_on", "signed_on", "date", "on"})


def t_dates(request: Request, key: str, /, **values: object) -> str:
    """t(), with the values named in DATE_VALUES written as the language writes dates."""
    f = formats(request)
    return t(request, key, **{k: f.date(v) if k in DATE_VALUES and isinstance(v, (str, dt.date)) else v
                              for k, v in values.items()})


def formats(request: Request) -> Formats:
    """How this request's pages write numbers, dates, times (in the server's time zone) and sizes."""
    return Formats(language(request), request.app.state.settings.time_zone)


def messages(request: Request) -> Messages:
    """The library's messages in this request's language, with the registry's names where it loads."""
    try:
        registry = load_registry(request.app.state.settings.registry_dir)
    except AnnexGenError:
        registry = None
    return Messages(catalogs()[language(request)], formats(request), registry)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form carries it in a hidden field."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _check_csrf(request: Request) -> FormData:
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed()
    return form


def page(path: str, endpoint: Endpoint, *, permission: str | None, methods: tuple[str, ...] = ("GET",),
         name: str | None = None, writes: bool = False) -> Route:
    """A route whose endpoint runs only for a user with permission, and for a form only with its CSRF token.

    A GET that writes (generates a file, records an export) is refused when a browser says another site's
    link or script asked for it (Sec-Fetch-Site): the session cookie goes with such a request."""

    async def guarded(request: Request) -> Response:
        user = current_user(request)
        if permission is not None and user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        if not allowed(user, permission):
            raise Forbidden()
        if request.method not in UNSAFE_METHODS:
            if writes and request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                raise CrossSiteRequest()
            return await endpoint(request)
        try:
            await _check_csrf(request)  # the parsed form stays cached on the request for the endpoint
            return await endpoint(request)
        finally:
            await request.close()  # the form's uploaded files (spooled temporary files) are closed

    return Route(path, guarded, methods=list(methods), name=name or endpoint.__name__)


async def in_worker(request: Request, work: Callable[..., Any], *args: Any) -> Any:
    """work(*args) in the application's render processes; this request waits, the others go on."""
    return await asyncio.wrap_future(request.app.state.renders.submit(work, *args))


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> Response:
    """A page from templates/web/ with the request's user, language and CSRF token."""
    return request.app.state.templates.TemplateResponse(request, template, context or {}, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """Redirect after a successful form (POST, then GET)."""
    return RedirectResponse(url, status_code=303)
