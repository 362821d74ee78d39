"""The registry editor (legal): change the list in forms, as proposals another legal user approves.

/editor                     the list's items, each with change and remove; the open proposals
/editor/{target}/new        a form for a new entity (with its first entry), location, entry, basis
/editor/{target}/change     the form of an item (?id=, or ?section=&entity=&location= for an entry)
/editor/{target}/remove     removing an item: why, and the source
/editor/proposals/{n}            a proposal: the diff in words, whom it reaches, approve / edit / withdraw
/editor/history                  every approved and withdrawn proposal: who, when, why, sources
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import EditConflict, InvalidInput, NotFound, UsageError
from annex_gen.model.registry import TRANSFER_KINDS, Entity
from annex_gen.registry_edit import approve as approving
from annex_gen.registry_edit import forms, proposals
from annex_gen.registry_edit.log import ChangeLog, open_change_log
from annex_gen.registry_edit.staged import impact_of, read_texts, stage, words
from annex_gen.web.change_words import proposal_summary
from annex_gen.web.http import current_user, language, messages, page, render, see_other
from annex_gen.web.i18n import catalogs
from annex_gen.web.views.audit import record

TARGETS = {"entity": "entity", "location": "location", "entry": "entry", "basis": "transfer_basis"}
FIELDS = {
    "entity": ("id", "name", "legal_kind", "legal_value", "legal_name", "registration", "country", "address",
               "privacy_contact", "entry_section",
               "entry_location", "entry_purpose_fi", "entry_purpose_en", "entry_option", "entry_transfer",
               "entry_entity", "reason"),
    "location": ("id", "name_fi", "name_en", "eea", "reason"),
    "transfer_basis": ("id", "kind", "module", "decision", "name_fi", "name_en", "reason"),
    "entry": ("section", "entity", "location", "purpose_fi", "purpose_en", "option", "transfer", "reason"),
}


def _log(request: Request) -> ChangeLog:
    return open_change_log(request.app.state.settings.archive)


def _registry_dir(request: Request) -> Path:
    return request.app.state.settings.registry_dir


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.name if user is not None else "-"


def _pid(request: Request) -> int:
    text = request.path_params["pid"]
    if not text.isdigit():
        raise NotFound(f"there is no registry change proposal {text!r}", code="editor.no_proposal",
                       params={"id": text})
    return int(text)


def _target(request: Request) -> str:
    target = TARGETS.get(request.path_params["target"])
    if target is None:
        raise NotFound(f"the list has no items of the kind {request.path_params['target']!r}", code="editor.no_kind")
    return target


def _key(target: str, params: Any) -> tuple[str, ...]:
    if target == "entry":
        return (str(params.get("section", "")), str(params.get("entity", "")), str(params.get("location", "")))
    return (str(params.get("id", "")),)


def _exists(registry: Any, target: str, key: tuple[str, ...]) -> bool:
    if target == "entry":
        section = next((s for s in registry.sections if s.id == key[0]), None)
        return section is not None and any(e.entity == key[1] and e.location == key[2] for e in section.entries)
    return key[0] in {"entity": registry.entities, "location": registry.locations,
                      "transfer_basis": registry.transfer_bases}[target]


def _summary(request: Request) -> Any:
    """A proposal's changes in the page's words (for the templates)."""
    say = messages(request)
    return lambda p: proposal_summary(say, p.changes)


def _fields(data: FormData) -> dict[str, list[str]]:
    return {name: [v for v in data.getlist(name) if isinstance(v, str)] for name in data}


async def home(request: Request) -> Response:
    """The list's items with their change and remove links, and the proposals still open."""
    registry = app.load_registry(_registry_dir(request))
    items = await run_in_threadpool(proposals.proposals, _log(request))
    return render(request, "editor_home.html.j2", {
        "registry": registry, "open": [p for p in items if p.status == proposals.OPEN],
        "me": _actor(request), "saved": request.query_params.get("done", ""),
        "next_release": approving.next_release(registry.release), "summary": _summary(request),
    })


def _show_form(request: Request, target: str, action: str, values: dict[str, Any], *, key: tuple[str, ...] = (),
               editing: int | None = None, reason: str = "", problems: list | None = None, conflict: str = "",
               status_code: int = 200) -> Response:
    registry = app.load_registry(_registry_dir(request))
    say = messages(request)
    errors: dict[str, list[str]] = {}
    for d in problems or []:
        where = forms.field_of(d, target, FIELDS[target]) if d.file != "proposal" else d.key
        errors.setdefault(where if where in FIELDS[target] else "", []).append(
            say.diagnostic(d, located=where not in FIELDS[target] and d.file != "proposal"))
    template = "editor_remove.html.j2" if action == "remove" else f"editor_{target}.html.j2"
    return render(request, template, {
        "registry": registry, "target": target, "action": action, "values": values, "key": key,
        "editing": editing, "reason": reason, "errors": errors, "conflict": conflict,
        "kind": next(k for k, v in TARGETS.items() if v == target), **_choices(request, registry),
        "fact_style": "legal_name" in {f.name for f in dataclasses.fields(Entity)},
        "item_name": _item_name(say, target, key),
    }, status_code=status_code)


def _item_name(say: Any, target: str, key: tuple[str, ...]) -> str:
    """The item a form is about by its names in the page's language (its ids where the list lacks it)."""
    if target == "entry" and len(key) == 3:
        return " · ".join((say.name("entity", key[1]), say.name("section", key[0]), say.name("location", key[2])))
    return say.name(target, key[0]) if key else ""


def _choices(request: Request, registry: Any) -> dict[str, list[tuple[str, str]]]:
    """The choices of the forms' selects: (value, label) in the interface language."""
    lang = language(request)

    def local(text: Any) -> str:
        return text.get(lang) or next(iter(text.values()), "")

    def section_label(s: Any) -> str:
        region = registry.regions.get(s.region or "")
        return f"{local(region.name)}: {local(s.title)}" if region else local(s.title)

    return {
        "sections": [(s.id, section_label(s)) for s in registry.sections],
        "entities": sorted(((e.id, e.name) for e in registry.entities.values()), key=lambda p: p[1].casefold()),
        "locations": [(i, local(loc.name)) for i, loc in registry.locations.items()],
        "options": [(i, local(o.name)) for i, o in registry.options.items()],
        "bases": [(i, local(b.name)) for i, b in registry.transfer_bases.items()],
        "kinds": [(i, local(k.name)) for i, k in registry.identifier_kinds.items()],
        "transfer_kinds": [(k, catalogs()[lang][f"editor.transfer_kind.{k}"]) for k in TRANSFER_KINDS],
    }


async def new_form(request: Request) -> Response:
    """An empty form for a new item (an entry may come preset with its section)."""
    target = _target(request)
    values: dict[str, Any] = {"sources": {}, "section": request.query_params.get("section", ""), "eea": True}
    return _show_form(request, target, "add", values)


async def change_form(request: Request) -> Response:
    """The form of an item as the registry has it now."""
    target = _target(request)
    key = _key(target, request.query_params)
    registry = app.load_registry(_registry_dir(request))
    if not _exists(registry, target, key):
        raise NotFound(f"the list has no such {target.replace('_', ' ')}: {' / '.join(key)}", code="editor.no_item")
    return _show_form(request, target, "change", forms.values_of(registry, target, key), key=key)


async def remove_form(request: Request) -> Response:
    """Removing an item: the reason and the source are asked for."""
    target = _target(request)
    key = _key(target, request.query_params)
    if not _exists(app.load_registry(_registry_dir(request)), target, key):
        raise NotFound(f"the list has no such {target.replace('_', ' ')}: {' / '.join(key)}", code="editor.no_item")
    return _show_form(request, target, "remove", {"sources": {}}, key=key)


async def submit(request: Request) -> Response:
    """Save a form as a new proposal, or as the new text of an open proposal (editing=N)."""
    target = _target(request)
    data = await request.form()
    fields = _fields(data)
    action = forms.one(fields, "action")
    if action not in ("add", "change", "remove"):
        raise UsageError("the form does not say whether it adds, changes or removes an item; open it again",
                         code="editor.form")
    key = tuple(fields.get("key") or ())
    if action != "add" and len(key) != (3 if target == "entry" else 1):
        raise UsageError("the form does not say which item it changes; open it again from the editor",
                         code="editor.form")
    editing = int(forms.one(fields, "editing")) if forms.one(fields, "editing").isdigit() else None
    reason = forms.one(fields, "reason")
    changes = forms.changes_of(target, action, fields, key)
    log, registry_dir, actor = _log(request), _registry_dir(request), _actor(request)
    try:
        if editing is None:
            saved = await run_in_threadpool(proposals.propose, log, registry_dir, actor, changes, reason)
        else:
            saved = await run_in_threadpool(proposals.edit, log, registry_dir, actor, editing, changes, reason)
    except (InvalidInput, EditConflict) as exc:
        values = forms.values_of_change(changes)
        problems = exc.diagnostics if isinstance(exc, InvalidInput) else []
        return _show_form(request, target, action, values, key=key, editing=editing, reason=reason,
                          problems=problems,
                          conflict=messages(request).error(exc)[0] if isinstance(exc, EditConflict) else "",
                          status_code=409 if isinstance(exc, EditConflict) else 400)
    what = f"#{saved.id}: {saved.summary}; reason: {saved.reason}"
    await record(request, "registry change edited" if editing else "registry change proposed", what, [saved.id],
                 {"id": saved.id, "reason": saved.reason})
    return see_other(f"/editor/proposals/{saved.id}")


def _files_diff(registry_dir: Path, texts: dict[str, str], changed: tuple[str, ...]) -> list[tuple[str, str]]:
    before = read_texts(registry_dir)
    return [(name, "".join(difflib.unified_diff(before[name].splitlines(True), texts[name].splitlines(True),
                                                 f"a/{name}", f"b/{name}", n=2))) for name in changed]


def _proposal_context(request: Request, pid: int) -> dict[str, Any]:
    registry_dir = _registry_dir(request)
    settings = request.app.state.settings
    found = proposals.proposal(_log(request), pid)
    context: dict[str, Any] = {"p": found, "me": _actor(request), "report": None, "words": [], "diffs": [],
                               "problems": [], "registry": app.load_registry(registry_dir)}
    context["next_release"] = approving.next_release(context["registry"].release)
    context["summary"] = _summary(request)
    context["refusal"] = approving.refusal([found], context["me"])
    if found.status == proposals.OPEN:
        staged = stage(registry_dir, found.changes)
        context["problems"] = [messages(request).diagnostic(d) for d in staged.errors]
        if staged.registry is not None and not staged.errors:
            report = impact_of(registry_dir, staged.registry, [settings.customers_dir])
            context.update(report=report, words=words(report, language(request)),
                           affected=report.with_status("affected"), errors=report.with_status("error"),
                           unaffected=report.with_status("unaffected"),
                           diffs=_files_diff(registry_dir, staged.texts, staged.changed))
    return context


async def proposal_page(request: Request) -> Response:
    """A proposal: what it changes in words, whom it reaches and how each annex changes, and its history."""
    pid = _pid(request)
    context = await run_in_threadpool(_proposal_context, request, pid)
    done = request.query_params.get("done", "")
    context["message"] = done if done in ("approved", "withdrawn") else ""  # what the redirects after the acts say
    return render(request, "editor_proposal.html.j2", context)


async def edit_proposal(request: Request) -> Response:
    """An open proposal's form, filled with its changes."""
    pid = _pid(request)
    found = proposals.proposal(_log(request), pid)
    if found.status != proposals.OPEN:
        raise EditConflict(f"proposal #{pid} is {found.status}; it can no longer be edited", code="editor.closed",
                           params={"id": pid})
    first = found.changes[0]
    key: tuple[str, ...] = ()
    if first["action"] != "add":
        was = first.get("was") or {}
        key = (first["section"], was["entity"], was["location"]) if first["target"] == "entry" else (first["id"],)
    return _show_form(request, first["target"], first["action"], forms.values_of_change(found.changes), key=key,
                      editing=pid, reason=found.reason)


async def _approve(request: Request, ids: list[int]) -> Response:
    data = await request.form()
    release = str(data.get("release", "")).strip()

    def revision(field: str) -> int:  # the revision of the proposal the page showed (-1: none shown)
        value = str(data.get(field, ""))
        return int(value) if value.isdigit() and len(value) < 19 else -1

    seen = {ids[0]: revision("seen")} if len(ids) == 1 and "seen" in data else {i: revision(f"seen-{i}") for i in ids}
    try:
        done = await run_in_threadpool(lambda: approving.approve(_log(request), _registry_dir(request),
                                                                 _actor(request), ids, release=release, seen=seen))
    except approving.FourEyesRefused as exc:
        context = await run_in_threadpool(_proposal_context, request, ids[0])
        context.update(message="", refused=messages(request).error(exc)[0])
        return render(request, "editor_proposal.html.j2", context, status_code=403)
    where = f"commit {done.commit[:12]}" if done.commit else "the registry change log"
    await record(request, "registry change approved",
                 f"{', '.join(f'#{i}' for i in done.proposals)}: {', '.join(done.files)} written, release "
                 f"{done.release}, recorded in {where}", [*done.proposals, *([done.commit] if done.commit else [])],
                 {"ids": ", ".join(f"#{i}" for i in done.proposals), "release": done.release})
    return see_other(f"/editor/proposals/{done.proposals[0]}?done=approved")


async def approve_one(request: Request) -> Response:
    """Approve one proposal (four eyes: not by anyone who wrote it)."""
    return await _approve(request, [_pid(request)])


async def approve_many(request: Request) -> Response:
    """Approve the chosen open proposals together, as one change of the list."""
    data = await request.form()
    ids = [int(v) for v in data.getlist("proposal") if isinstance(v, str) and v.isdigit()]
    if not ids:
        raise UsageError("choose the proposals to approve together", code="editor.choose")
    return await _approve(request, ids)


async def withdraw(request: Request) -> Response:
    """Withdraw an open proposal: the registry stays as it is."""
    pid = _pid(request)
    data = await request.form()
    reason = str(data.get("reason", ""))
    done = await run_in_threadpool(proposals.withdraw, _log(request), _actor(request), pid, reason)
    await record(request, "registry change withdrawn", f"#{pid}: {done.summary}; {reason}".strip("; "), [pid],
                 {"id": pid, "reason": reason or "—"})
    return see_other(f"/editor/proposals/{pid}?done=withdrawn")


async def history(request: Request) -> Response:
    """Every proposal that was approved or withdrawn, newest first, with its people, reason and sources."""
    log = _log(request)
    items = await run_in_threadpool(proposals.proposals, log)
    return render(request, "editor_history.html.j2", {"summary": _summary(request),
                                                      "items": [p for p in items if p.status != proposals.OPEN],
                                                      "open": [p for p in items if p.status == proposals.OPEN],
                                                      "chain": await run_in_threadpool(log.check)})


def routes() -> list[Route]:
    """The editor's pages, for legal users only."""
    return [
        page("/editor", home, permission="registry.edit"),
        page("/editor/{target}/new", new_form, permission="registry.edit"),
        page("/editor/{target}/change", change_form, permission="registry.edit"),
        page("/editor/{target}/remove", remove_form, permission="registry.edit"),
        page("/editor/{target}", submit, permission="registry.edit", methods=("POST",), name="editor_submit"),
        page("/editor/proposals/approve", approve_many, permission="registry.edit", methods=("POST",)),
        page("/editor/proposals/{pid}", proposal_page, permission="registry.edit"),
        page("/editor/proposals/{pid}/edit", edit_proposal, permission="registry.edit"),
        page("/editor/proposals/{pid}/approve", approve_one, permission="registry.edit", methods=("POST",)),
        page("/editor/proposals/{pid}/withdraw", withdraw, permission="registry.edit", methods=("POST",)),
        page("/editor/history", history, permission="registry.edit"),
    ]

