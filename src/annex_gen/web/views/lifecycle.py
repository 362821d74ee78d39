"""A customer's life in the browser: send the annex or the notices, the timeline, objections, evidence.

Every page asks `annex_gen.lifecycle.cases`; the SMTP server and sender come from the server's
environment (ANNEX_GEN_SMTP, ANNEX_GEN_MAIL_FROM, ANNEX_GEN_SMTP_USER/PASSWORD[_FILE]).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.archive.staging import safe_name
from annex_gen.errors import AnnexGenError, InvalidInput, UsageError
from annex_gen.lifecycle import cases
from annex_gen.lifecycle.objections import OUTCOMES
from annex_gen.web.http import current_user, messages, page, render, see_other
from annex_gen.web.views.archive import parse_date

FORMATS = {"pdf": ("pdf",), "pdf+docx": ("pdf", "docx")}


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.name if user is not None else "-"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _problems(request: Request, exc: AnnexGenError) -> list[str]:
    say = messages(request)
    if isinstance(exc, InvalidInput):
        return [say.diagnostic(d) for d in exc.diagnostics if d.severity == "error"]
    return say.error(exc)


# The timeline


async def timeline_page(request: Request) -> Response:
    """A customer's events in order, where they stand, and what can be done next."""
    s = _settings(request)
    customer = request.path_params["customer"]
    line = await run_in_threadpool(cases.customer_timeline, s.archive, s.registry_dir, [s.customers_dir], customer)
    pending = await run_in_threadpool(cases.undelivered_messages, s.archive, customer)
    try:
        _, entry = await run_in_threadpool(app.contract_entry, s.registry_dir, s.customers_dir, s.out_dir, customer,
                                                s.archive)
    except AnnexGenError:
        entry = None
    return render(request, "timeline.html.j2", {
        "customer": customer, "line": line, "entry": entry, "pending": pending,
        "flash": request.query_params.get("done", ""),
    })


# Sending an annex


async def send_form(request: Request) -> Response:
    """What will be sent to whom, and the button that sends it."""
    return await _send_page(request, request.path_params["customer"], problems=[])


async def _send_page(request: Request, customer: str, problems: list[str], status_code: int = 200) -> Response:
    s = _settings(request)
    registry, entry = await run_in_threadpool(app.contract_entry, s.registry_dir, s.customers_dir, s.out_dir, customer,
                                                s.archive)
    from annex_gen.lifecycle.messages import annex_letter
    from annex_gen.lifecycle.send import annex_status

    c = entry.contract
    letter = annex_letter(c.language, company=registry.company_name, customer=c.customer_name,
                          document_id=entry.annex.document_id, registry_version=entry.annex.registry_version,
                          draft=annex_status(entry.annex) == "draft")
    return render(request, "send.html.j2", {"entry": entry, "letter": letter, "problems": problems},
                  status_code=status_code)


async def send(request: Request) -> Response:
    """Send the customer's annex; land on the timeline, which shows the server's answer."""
    s = _settings(request)
    customer = request.path_params["customer"]
    form = await request.form()
    formats = FORMATS.get(_text(form, "formats"), ("pdf",))
    try:
        _, entry = await run_in_threadpool(app.contract_entry, s.registry_dir, s.customers_dir, s.out_dir, customer,
                                                s.archive)
        if s.team_url:  # the workers send it: follow the run
            queued = await run_in_threadpool(lambda: _team(request).start_send(
                [_contract_path(entry)], s.out_dir, formats=formats, started_by=_actor(request), customers=[]))
            return see_other(f"/send/runs/{queued.run_id}?customer={customer}")
        report = await run_in_threadpool(lambda: cases.send(
            s.archive, s.registry_dir, [_contract_path(entry)], s.out_dir, smtp=None, sender=None,
            formats=formats, actor=_actor(request)))
    except AnnexGenError as exc:
        return await _send_page(request, customer, _problems(request, exc), status_code=422)
    return see_other(f"/customers/{customer}/timeline?done={'sent' if not report.failed else 'failed'}")


def _contract_path(entry: Any) -> Any:
    from pathlib import Path

    path = Path(entry.contract.source)
    if path.suffix.lower() != ".yaml":
        raise UsageError(f"{entry.contract.customer_id} comes from a CRM export ({path.name}); "
                         "send its annex with `annex-gen send`", code="lifecycle.crm",
                         params={"customer": entry.contract.customer_name})
    return path


async def retry(request: Request) -> Response:
    """Deliver again the customer's messages not yet delivered."""
    customer = request.path_params["customer"]
    s = _settings(request)
    if s.team_url:
        from annex_gen.team.usecases import refuse_retry_while_sending

        await run_in_threadpool(refuse_retry_while_sending, s.team_url)
    report = await run_in_threadpool(lambda: cases.send_retry(_settings(request).archive, smtp=None,
                                                              actor=_actor(request), customer=customer))
    return see_other(f"/customers/{customer}/timeline?done={'sent' if not report.failed else 'failed'}")


# Sending the notices of a day


async def send_notices(request: Request) -> Response:
    """Send every notice written on a date, or one customer's, each with its new annex."""
    from annex_gen.web.views.changes import notices_dir

    date = request.path_params["date"]
    parse_date(date, "notice date")
    only = str((await request.form()).get("customer") or "") or None
    folder = notices_dir(request, date)
    s = _settings(request)
    if s.team_url:  # the workers send them: follow the run
        queued = await run_in_threadpool(lambda: _team(request).start_send(
            [folder], s.out_dir, formats=("pdf",), started_by=_actor(request), customers=[s.customers_dir],
            only=only))
        return see_other(f"/send/runs/{queued.run_id}")
    report = await run_in_threadpool(lambda: cases.send(s.archive, s.registry_dir, [folder], s.out_dir, smtp=None,
                                                        sender=None, actor=_actor(request),
                                                        customers=[s.customers_dir], only=only))
    return render(request, "send_report.html.j2", {"report": report, "date": date},
                  status_code=200 if not report.failed else 502)


def _team(request: Request) -> Any:
    """The team's job queue; a send run exists only with a team database."""
    from annex_gen.errors import NotFound
    from annex_gen.web.views.changes import runner

    if not request.app.state.settings.team_url:
        text = request.path_params.get("run", "")
        raise NotFound(f"no run {text!r}", code="web.no_run", params={"run": text})
    return runner(request)


def _run_id(request: Request) -> int:
    from annex_gen.errors import NotFound

    text = request.path_params["run"]
    if not text.isdigit() or int(text) > 2**62:
        raise NotFound(f"no run {text!r}", code="web.no_run", params={"run": text})
    return int(text)


async def send_run_page(request: Request) -> Response:
    """A team's send run with a progress bar (the batch's page); the page polls its progress."""
    from annex_gen.inputs.schema import ID_RE

    run_id = _run_id(request)
    progress = await run_in_threadpool(_team(request).run_progress, run_id)
    customer = request.query_params.get("customer", "")
    customer = customer if ID_RE.match(customer) else ""  # the customer whose annex the run sends: a link back
    return render(request, "changes_batch.html.j2", {
        "progress": progress, "progress_url": f"/send/runs/{run_id}/progress", "customer": customer,
        "page_url": f"/send/runs/{run_id}" + (f"?customer={customer}" if customer else "")})


async def send_run_progress(request: Request) -> Response:
    """A send run's progress as JSON, for the progress bar."""
    from starlette.responses import JSONResponse

    progress = await run_in_threadpool(_team(request).run_progress, _run_id(request))
    return JSONResponse(progress.to_dict())


# Objections


async def objections_page(request: Request, problems: list[str] | None = None, form: dict | None = None,
                          status_code: int = 200) -> Response:
    """Notices whose objection period is running, open objections by deadline, the form to record one."""
    location = _settings(request).archive
    watch = await run_in_threadpool(cases.deadlines, location)
    everything = await run_in_threadpool(cases.objection_list, location)
    notices = await run_in_threadpool(cases.notices_sent, location)
    return render(request, "objections.html.j2", {
        "watch": watch, "objections": list(reversed(everything)), "notices": notices, "outcomes": OUTCOMES,
        "problems": problems or [],
        "form": {"notice": "", "sender": "", "text": "", "received_on": dt.date.today().isoformat(), **(form or {})},
        "today": dt.date.today(), "flash": request.query_params.get("done", ""),
    }, status_code=status_code)


async def add_objection(request: Request) -> Response:
    """Record an objection (with its letter, if one is attached)."""
    form = await request.form()
    values = {k: _text(form, k) for k in ("notice", "received_on", "sender", "text")}
    customer, _, notice_id = values["notice"].partition("/")
    letter = None
    upload = form.get("letter")
    if isinstance(upload, UploadFile) and upload.filename:
        letter = (safe_name(upload.filename), await upload.read())
        await upload.close()
    try:
        received_on = parse_date(values["received_on"], "received on")
        if received_on is None or not notice_id:
            raise UsageError("choose the notice objected to and the day the objection was received",
                             code="lifecycle.choose_notice")
        objection = await run_in_threadpool(lambda: cases.objection_add(
            _settings(request).archive, customer=customer, notice_id=notice_id, received_on=received_on,
            sender=values["sender"], text=values["text"], letter=letter, actor=_actor(request)))
    except AnnexGenError as exc:
        return await objections_page(request, _problems(request, exc), values, status_code=422)
    return see_other(f"/customers/{objection.customer_id}/timeline?done=objection")


async def resolve_objection(request: Request) -> Response:
    """Record how an objection ended."""
    form = await request.form()
    objection_id = request.path_params["objection"]
    try:
        resolved_on = parse_date(_text(form, "resolved_on"), "resolved on") or dt.date.today()
        objection = await run_in_threadpool(lambda: cases.objection_resolve(
            _settings(request).archive, objection_id, outcome=_text(form, "outcome"), resolved_on=resolved_on,
            note=_text(form, "note"), actor=_actor(request)))
    except AnnexGenError as exc:
        return await objections_page(request, _problems(request, exc), status_code=422)
    return see_other(f"/customers/{objection.customer_id}/timeline?done=resolved")


async def letter(request: Request) -> Response:
    """An objection's letter, as received."""
    name, data = await run_in_threadpool(cases.objection_letter, _settings(request).archive,
                                         request.path_params["objection"])
    return Response(data, media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{safe_name(name)}"'})


# Evidence


async def evidence(request: Request) -> Response:
    """The customer's evidence zip."""
    s = _settings(request)
    customer = request.path_params["customer"]
    data = await run_in_threadpool(lambda: cases.evidence(s.archive, s.registry_dir, [s.customers_dir], customer,
                                                          actor=_actor(request)))
    return Response(data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="{safe_name(customer)}-evidence.zip"'})


def routes() -> list[Route]:
    """Sending (sales and legal), the timeline (everyone), objections and evidence (legal)."""
    return [
        page("/customers/{customer}/timeline", timeline_page, permission="contracts.view"),
        page("/customers/{customer}/send", send_form, permission="contracts.view"),
        page("/customers/{customer}/send", send, permission="contracts.view", methods=("POST",)),
        page("/customers/{customer}/retry", retry, permission="contracts.view", methods=("POST",)),
        page("/customers/{customer}/evidence.zip", evidence, permission="legal", writes=True),
        page("/changes/notices/{date}/send", send_notices, permission="legal", methods=("POST",)),
        page("/send/runs/{run}", send_run_page, permission="contracts.view"),
        page("/send/runs/{run}/progress", send_run_progress, permission="contracts.view"),
        page("/objections", objections_page, permission="legal"),
        page("/objections", add_objection, permission="legal", methods=("POST",)),
        page("/objections/{objection}/resolve", resolve_objection, permission="legal", methods=("POST",)),
        page("/objections/{objection}/letter", letter, permission="legal"),
    ]
