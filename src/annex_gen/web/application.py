"""Build the Starlette application: middleware, the routes of every view module, templates, users."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from importlib import import_module
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from annex_gen.resources import TEMPLATES_DIR
from annex_gen.users import User, load_users
from annex_gen.web import nav
from annex_gen.web.errors import ErrorPages, http_exception
from annex_gen.web.http import ProxiedWithoutLogin, csrf_token, current_user, language, t
from annex_gen.web.i18n import catalogs, languages
from annex_gen.web.middleware import BodyLimit, RequestLog, SecurityHeaders
from annex_gen.web.permissions import allowed
from annex_gen.web.settings import Settings

# One module per kind of page, each with routes(); a new kind of page is a module and a line here.
VIEW_MODULES = ("assets", "auth", "customers", "contract", "preview", "registry", "archive", "changes", "releases",
                "audit")
SESSION_COOKIE = "annex_gen_session"
SESSION_MAX_AGE = 8 * 3600  # a working day


def _local(lang: str, text: Mapping[str, str]) -> str:
    """A registry text (one per language) in the interface language, else in the first it has."""
    return text[lang] if lang in text else next(iter(text.values()))


def _context(request: Request) -> dict[str, Any]:
    """What every template may use: the user, the language, the texts, the navigation, the CSRF token."""
    try:
        user = current_user(request)
    except ProxiedWithoutLogin:  # its error page shows no one as signed in
        user = None
    return {
        "user": user,
        "login_required": request.app.state.settings.login_required,
        "lang": language(request),
        "languages": languages(),
        "t": partial(t, request),
        "csrf_token": partial(csrf_token, request),
        "nav": [item for item in nav.NAV if allowed(user, item.permission)],
        "can": lambda permission: allowed(user, permission),
        "local": partial(_local, language(request)),
    }


def templates() -> Jinja2Templates:
    """The web templates: templates/web/ only, autoescape on, StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env, context_processors=[_context])


class Users:
    """The users file, re-read when it changes (a user added or removed takes effect at once)."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.users_file
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}
        if self.path is not None:
            self()  # a broken users file stops the server at start, not at the first login

    def __call__(self) -> dict[str, User]:
        if self.path is None:
            return {}
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._users, self._stamp = load_users(self.path), stamp
        return self._users


def build(settings: Settings) -> Starlette:
    """The application serving settings."""
    catalogs()  # the interface texts are checked before the first request
    routes = [route for name in VIEW_MODULES for route in import_module(f"annex_gen.web.views.{name}").routes()]
    middleware = [
        Middleware(RequestLog),
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.secure_cookies),
        Middleware(ErrorPages, debug=settings.debug),
        Middleware(BodyLimit, limit_for=settings.body_limit),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_exception})
    app.state.settings = settings
    app.state.users = Users(settings)
    app.state.templates = templates()
    logging.getLogger("annex_gen.web").setLevel(logging.INFO)
    return app
