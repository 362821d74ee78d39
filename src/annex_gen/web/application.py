"""Build the Starlette application: middleware, the routes of every view module, templates, users."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from importlib import import_module
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from annex_gen.errors import AnnexGenError
from annex_gen.output.pool import RenderPool
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.shown import escaped
from annex_gen.users import User, file_warnings, load_users
from annex_gen.web.errors import ErrorPages, http_exception
from annex_gen.web.hosts import allowed_names
from annex_gen.web.http import (
    SESSION_MAX_AGE,
    ProxiedWithoutLogin,
    UsersUnavailable,
    csrf_token,
    current_user,
    formats,
    language,
    messages,
    t,
    t_dates,
)
from annex_gen.web.i18n import catalogs, languages
from annex_gen.web.middleware import BodyLimit, HostCheck, RequestLog, SecurityHeaders, printable
from annex_gen.web.nav import NAV
from annex_gen.web.permissions import allowed
from annex_gen.web.settings import Settings
from annex_gen.web.team import TeamSync, throttle

# One module per kind of page, each with routes(); a new kind of page is a module and a line here.
VIEW_MODULES = ("assets", "auth", "customers", "contract", "preview", "registry", "archive", "changes", "releases",
                "audit", "lifecycle", "editor")
SESSION_COOKIE = "annex_gen_session"
log = logging.getLogger("annex_gen.web")


def _local(lang: str, text: Mapping[str, str]) -> str:
    """A registry text (one per language) in the interface language, else in the first it has."""
    return text[lang] if lang in text else next(iter(text.values()))


def _context(request: Request) -> dict[str, Any]:
    """What every template may use: the user, the language, the texts, the navigation, the CSRF token."""
    try:
        user = current_user(request)
    except (ProxiedWithoutLogin, UsersUnavailable):  # its error page shows no one as signed in
        user = None
    return {
        "user": user,
        "login_required": request.app.state.settings.login_required,
        "lang": language(request),
        "languages": languages(),
        "t": partial(t, request),
        "t_dates": partial(t_dates, request),
        "csrf_token": partial(csrf_token, request),
        "nav": [item for item in NAV if allowed(user, item.permission)],
        "can": lambda permission: allowed(user, permission),
        "local": partial(_local, language(request)),
        "fmt": formats(request),
        "say": _Lazy(partial(messages, request)),
    }


class _Lazy:
    """The page's Messages, made on first use (it loads the registry)."""

    def __init__(self, make: Any) -> None:
        self._make, self._made = make, None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


def _shown(value: Any) -> Any:
    """Every value a page shows, control characters escaped (a certificate or file name cannot hide text)."""
    if isinstance(value, Markup):
        return Markup(escaped(str(value), keep="\n\t"))
    return escaped(value, keep="\n\t") if isinstance(value, str) else value


def templates() -> Jinja2Templates:
    """The web templates: templates/web/ only, autoescape on, StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    return Jinja2Templates(env=env, context_processors=[_context])


class Users:
    """The users file, re-read when it changes (a user added, removed or signed out takes effect at once).

    A file that is broken at start stops the server with every problem; one broken later is an
    error in the server's log, and every request that needs a user is refused meanwhile (the
    visitor sees neither the file's path nor its contents).
    """

    def __init__(self, settings: Settings) -> None:
        self.path = settings.users_file
        self._stamp: tuple[int, int, int] | None = None
        self._failed: tuple[int, int, int] | None = None  # the stamp of the file that failed to load
        self._reported = ""  # the last problem logged, so a broken file is one line, not one per request
        self._users: dict[str, User] = {}
        self.warnings: list[str] = []
        if self.path is not None:
            self._users = load_users(self.path)  # a broken users file stops the server at start
            self._stamp = self._stat()
            self.warnings = file_warnings(self.path, self._users)

    def _stat(self) -> tuple[int, int, int]:
        assert self.path is not None
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def __call__(self) -> dict[str, User]:
        if self.path is None:
            return {}
        stamp = None
        try:
            stamp = self._stat()
            if stamp == self._failed:
                raise UsersUnavailable()
            if stamp != self._stamp:
                self._users, self._stamp = load_users(self.path), stamp
        except (AnnexGenError, OSError) as exc:
            if str(exc) != self._reported:
                log.error("the users file cannot be read; nobody can sign in until it is fixed: %s",
                          printable(str(exc)))
            self._failed, self._stamp, self._reported = stamp, None, str(exc)
            raise UsersUnavailable() from None
        self._failed, self._reported = None, ""
        return self._users


def create_app(settings: Settings) -> Starlette:
    """The application serving settings."""
    catalogs()  # the interface texts are checked before the first request
    routes = [route for name in VIEW_MODULES for route in import_module(f"annex_gen.web.views.{name}").routes()]
    middleware = [
        Middleware(RequestLog),
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.secure_cookies),
        Middleware(ErrorPages, debug=settings.debug),
        Middleware(HostCheck, names=allowed_names(settings.host, settings.allowed_hosts)),
        Middleware(BodyLimit, limit_for=settings.body_limit),
        *([Middleware(TeamSync)] if settings.team_url else []),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_exception})
    app.state.settings = settings
    app.state.users = Users(settings)
    app.state.throttle = throttle(settings)  # this process's, or the team database's
    app.state.renders = RenderPool.shared(settings.render_workers, (settings.registry_dir, settings.customers_dir))
    app.state.templates = templates()
    logging.getLogger("annex_gen.web").setLevel(logging.INFO)
    return app
