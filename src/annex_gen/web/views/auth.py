"""Signing in and out, and choosing the interface language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen.users import verify_password
from annex_gen.web.http import current_user, page, render, see_other
from annex_gen.web.i18n import languages


def _next(request: Request, value: object) -> str:
    """A local path to go to after signing in: never another site."""
    target = value if isinstance(value, str) else ""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def login_form(request: Request) -> Response:
    """The sign-in page (serving without logins: straight to the customers)."""
    if not request.app.state.settings.login_required:
        return see_other("/")
    return render(request, "login.html.j2", {"next": _next(request, request.query_params.get("next")),
                                             "failed": False, "name": ""})


async def login(request: Request) -> Response:
    """Check the name and password; on success start a fresh session."""
    if not request.app.state.settings.login_required:
        return see_other("/")
    form = await request.form()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = _next(request, form.get("next"))
    user = request.app.state.users().get(name)
    if not verify_password(user, password):
        return render(request, "login.html.j2", {"next": target, "failed": True, "name": name}, status_code=401)
    lang = request.session.get("lang")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({"user": name, **({"lang": lang} if lang else {})})
    return see_other(target)


async def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return see_other("/login" if request.app.state.settings.login_required else "/")


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
