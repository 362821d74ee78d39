"""Signing in and out, and choosing the interface language.

A sign-in is throttled per user name and per client address (annex_gen.throttle), its password
checked in a thread (argon2 takes tens of milliseconds and 19 MiB), and recorded in the audit log,
failed or not. Signing out ends every session of the user, on every server reading the users file
(with a team's database, on every instance of the team: annex_gen.web.team).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen.errors import AnnexGenError
from annex_gen.users import User, hash_password, update_users, verify_password, weak_hash
from annex_gen.web.http import SignOutFailed, current_user, page, render, see_other
from annex_gen.web.i18n import languages
from annex_gen.web.middleware import printable
from annex_gen.web.team import end_sessions, session_started
from annex_gen.web.views.audit import record

log = logging.getLogger("annex_gen.web")


def _next(request: Request, value: object) -> str:
    """A local path to go to after signing in: never another site."""
    target = value if isinstance(value, str) else ""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def login_form(request: Request) -> Response:
    """The sign-in page (serving without logins: straight to the customers)."""
    if not request.app.state.settings.login_required:
        return see_other("/")
    return render(request, "login.html.j2", {"next": _next(request, request.query_params.get("next")),
                                             "failed": False, "throttled": 0, "name": ""})


def _rehash(request: Request, user: User, password: str) -> None:
    """Store the password again with today's argon2 parameters (the stored hash is weaker)."""
    new = hash_password(password)

    def change(users: dict[str, User]) -> None:
        if name in users and users[name].password_hash == user.password_hash:  # unchanged meanwhile
            users[name] = replace(users[name], password_hash=new)

    name = user.name
    try:
        update_users(request.app.state.settings.users_file, change)
    except (AnnexGenError, OSError) as exc:  # the sign-in stands; the operator sees why in the log
        log.warning("could not store a stronger password hash for %s: %s", name, printable(str(exc)))


async def login(request: Request) -> Response:
    """Check the name and password (unless throttled); on success start a fresh session."""
    state = request.app.state
    if not state.settings.login_required:
        return see_other("/")
    form = await request.form()
    name, password = str(form.get("name", "")).strip()[:100], str(form.get("password", ""))
    target = _next(request, form.get("next"))
    address = request.client.host if request.client else "-"
    keys = (f"user:{name.casefold()}", f"address:{address}")
    wait = await run_in_threadpool(state.throttle.attempt, keys)  # a team's throttle asks the database
    if wait:
        seconds = math.ceil(wait)
        return render(request, "login.html.j2", {"next": target, "failed": False, "throttled": seconds,
                                                 "name": name}, status_code=429)
    user = state.users().get(name)
    if not await run_in_threadpool(verify_password, user, password):
        await record(request, "sign-in failed", f"user name {name!r} from {address}", actor="-")
        return render(request, "login.html.j2", {"next": target, "failed": True, "throttled": 0, "name": name},
                      status_code=401)
    await run_in_threadpool(state.throttle.succeeded, keys)
    assert user is not None
    if weak_hash(user.password_hash):
        await run_in_threadpool(_rehash, request, user, password)
    await record(request, "signed in", f"from {address}", actor=user.name)
    lang = request.session.get("lang")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({"user": user.name, "sessions": user.sessions, "since": int(time.time()),
                            **await session_started(request, user.name),
                            **({"lang": lang} if lang else {})})
    return see_other(target)


async def logout(request: Request) -> Response:
    """End the session, and every other session of the same user."""
    settings = request.app.state.settings
    user = current_user(request)
    if settings.login_required and user is not None:
        try:
            await end_sessions(request, user.name)
        except (AnnexGenError, OSError) as exc:
            log.error("could not end the sessions of %s: %s", user.name, printable(str(exc)))
            raise SignOutFailed() from None
        await record(request, "signed out", "every session of the user ended", actor=user.name)
    request.session.clear()
    return see_other("/login" if settings.login_required else "/")


async def set_language(request: Request) -> Response:
    """Remember the interface language chosen for this session."""
    form = await request.form()
    lang = form.get("lang")
    if lang in languages():
        request.session["lang"] = lang
    return see_other(_next(request, form.get("next")))


async def home(request: Request) -> Response:
    """The start page is the customer list."""
    if current_user(request) is None:
        return see_other("/login")
    return see_other("/customers")


def routes() -> list[Route]:
    """Sign-in, sign-out, language and the start page."""
    return [
        page("/", home, permission=None),
        page("/login", login_form, permission=None, name="login_form"),
        page("/login", login, permission=None, methods=("POST",)),
        page("/logout", logout, permission=None, methods=("POST",)),
        page("/language", set_language, permission=None, methods=("POST",)),
    ]
