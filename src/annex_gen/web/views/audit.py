"""The audit page: every action that wrote something, who did it and what it produced; CSV export."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.audit import Actor, AuditEntry
from annex_gen.inputs.schema import ID_RE
from annex_gen.web.http import current_user, messages, page, render
from annex_gen.web.messages import Messages


def actor(request: Request) -> Actor:
    """The signed-in user (`local` without logins) and the audit log their acts are recorded in."""
    user = current_user(request)
    return Actor(request.app.state.settings.archive, user.name if user is not None else "-")


async def record(request: Request, action: str, what: str, refs: Iterable[str | int] = (),
                 params: dict[str, Any] | None = None, *, actor: str | None = None) -> None:
    """Append an action of the signed-in user (`local` without logins), or of actor, to the audit log; params
    are what `what` says, for the page to write in its language (audit_what.audit.<action> in the catalogs)."""
    if actor is None:
        user = current_user(request)
        actor = user.name if user is not None else "-"
    await run_in_threadpool(app.audit_record, request.app.state.settings.archive, actor, action, what,
                            list(refs), params)


def describe(say: Messages, entry: AuditEntry) -> str:
    """What an entry says in the page's language; an entry written without params by its stored text."""
    if not entry.params:
        return entry.what
    params = dict(entry.params)
    key = entry.action.replace(" ", "_") + (f"_{params.pop('variant')}" if "variant" in params else "")
    return say.text(f"audit.{key}", params, entry.what, group="audit_what")


def ref_link(ref: str) -> str | None:
    """The page of a reference in the log: a record (#12) or an annex document ID, else None."""
    if ref.startswith("#") and ref[1:].isdigit():
        return f"/archive/records/{ref[1:]}"
    if ref.startswith("ANX-"):
        return f"/archive/documents/{ref}"
    if ID_RE.match(ref):  # a customer id (a saved contract)
        return f"/customers/{ref}"
    return None


async def audit_page(request: Request) -> Response:
    """The audit log, newest first, filterable by action."""
    entries = await run_in_threadpool(app.audit_entries, request.app.state.settings.archive)
    action = request.query_params.get("action", "")
    shown = [e for e in reversed(entries) if not action or e.action == action]
    say = messages(request)
    rows = [(e, describe(say, e), [(r, ref_link(r)) for r in e.refs]) for e in shown]
    return render(request, "audit.html.j2", {"entries": shown, "rows": rows, "total": len(entries),
                                             "action": action, "actions": sorted({e.action for e in entries})})


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
