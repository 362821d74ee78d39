"""The audit page: every action that wrote something, who did it and what it produced; CSV export."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.audit import Actor
from annex_gen.web.http import current_user, page, render


def actor(request: Request) -> Actor:
    """The signed-in user (`local` without logins) and the audit log their acts are recorded in."""
    user = current_user(request)
    return Actor(request.app.state.settings.archive, user.name if user is not None else "-")


async def record(request: Request, action: str, what: str, refs: Iterable[str | int] = ()) -> None:
    """Append an action of the signed-in user (`local` without logins) to the audit log."""
    who = actor(request)
    await run_in_threadpool(app.audit_record, who.location, who.name, action, what, list(refs))


async def audit_page(request: Request) -> Response:
    """The audit log, newest first, filterable by action."""
    entries = await run_in_threadpool(app.audit_entries, request.app.state.settings.archive)
    action = request.query_params.get("action", "")
    shown = [e for e in reversed(entries) if not action or e.action == action]
    return render(request, "audit.html.j2", {"entries": shown, "total": len(entries), "action": action,
                                             "actions": sorted({e.action for e in entries})})


async def audit_csv(request: Request) -> Response:
    """The whole audit log as CSV."""
    data = await run_in_threadpool(app.audit_csv, request.app.state.settings.archive)
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="audit.csv"'})


def routes() -> list[Route]:
    """The audit page and its export (legal and admin)."""
    return [
        page("/audit", audit_page, permission="legal"),
        page("/audit.csv", audit_csv, permission="legal"),
    ]
