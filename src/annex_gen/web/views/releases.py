"""The Releases page (legal): what the annexes print that legal has not confirmed, confirming a fact with
its source, approving the registry's content as a release. Thin over `app`; every act is in the audit log."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import AnnexGenError, InvalidInput, UsageError
from annex_gen.web.http import messages, page, render, see_other
from annex_gen.web.views.archive import _text, parse_date
from annex_gen.web.views.audit import actor


def _contracts(request: Request) -> list:
    customers = request.app.state.settings.customers_dir
    return [customers] if customers.is_dir() else []


async def _page(request: Request, *, problem: str | None = None, problems: list | None = None,
                status_code: int = 200, form: dict | None = None) -> Response:
    s = request.app.state.settings
    registry, blockers = await run_in_threadpool(app.release_blockers, s.registry_dir, _contracts(request))
    facts = [f for f in registry.facts if f.printed and f.confirmed is None] if registry else []
    keys = {f.key for f in facts}
    others = [d for d in blockers if d.key not in keys]
    releases = await run_in_threadpool(app.release_list, s.archive)
    say = messages(request)
    current = next((r for r in reversed(releases) if registry and r.digest == registry.digest), None)
    return render(request, "releases.html.j2", {
        "registry": registry, "facts": facts, "others": others, "releases": list(reversed(releases)),
        "current": current, "problem": problem, "problems": problems or [], "form": form or {},
        "confirmed": request.query_params.get("confirmed", ""), "approved": request.query_params.get("approved", ""),
        "fact_label": lambda fact: say.fact(fact.key, fact.label),
    }, status_code=status_code)


async def releases_page(request: Request) -> Response:
    """The current content's state, the facts to confirm, the approval form and the approved releases."""
    return await _page(request)


async def confirm(request: Request) -> Response:
    """Confirm one fact with the source legal checked it against (and, where chosen, its value)."""
    form = await request.form()
    key, source, value = _text(form, "key"), _text(form, "source"), _text(form, "value")
    current = _text(form, "current")
    s = request.app.state.settings
    who = actor(request)
    try:
        if not source:
            raise UsageError(f"{key}: name the source you checked the fact against", code="signoff.source_missing",
                             params={"key": key})
        await run_in_threadpool(lambda: app.confirm_fact(s.registry_dir, key, by=who.name, source=source,
                                                         value=value if value and value != current else None,
                                                         actor=who))
    except InvalidInput as exc:
        return await _page(request, problem=key, problems=messages(request).error(exc), status_code=422)
    except AnnexGenError as exc:  # a refusal, or an audit log that cannot be written: nothing was changed
        return await _page(request, problem=messages(request).error(exc)[0], status_code=422)
    return see_other(f"/releases?confirmed={key}")


async def approve(request: Request) -> Response:
    """Record legal's approval of the current content; refused with every item while anything is open."""
    form = await request.form()
    s = request.app.state.settings
    label = _text(form, "label") or None
    who = actor(request)
    try:
        effective = parse_date(_text(form, "effective"), "effective")
        release = await run_in_threadpool(lambda: app.release_approve(
            s.registry_dir, _contracts(request), s.archive, by=who.name, label=label, effective=effective,
            actor=who))
    except InvalidInput as exc:
        return await _page(request, problem="approve", problems=messages(request).error(exc),
                           status_code=422, form={"label": label or ""})
    except AnnexGenError as exc:
        return await _page(request, problem=messages(request).error(exc)[0], status_code=422,
                           form={"label": label or ""})
    return see_other(f"/releases?approved={release.label}")


def routes() -> list[Route]:
    """The Releases page and its two acts (legal)."""
    return [
        page("/releases", releases_page, permission="legal"),
        page("/releases/confirm", confirm, permission="legal", methods=("POST",)),
        page("/releases/approve", approve, permission="legal", methods=("POST",)),
    ]
