"""Legal's archive pages: the drift report, verify, uploading a signed annex, a customer's history.

Every page asks `annex_gen.app`; nothing here reads PDFs, resolves annexes or touches the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.archive.intake import AddRequest
from annex_gen.archive.staging import safe_name
from annex_gen.counts import Counted
from annex_gen.errors import AnnexGenError, InvalidInput, NotFound, NotRecorded, UsageError
from annex_gen.lifecycle import cases
from annex_gen.web.http import messages, page, render, see_other, t
from annex_gen.web.views.audit import actor, record

STATES = ("current", "outdated", "unknown", "no-annex", "no-contract")


def parse_date(value: str | None, what: str) -> dt.date | None:
    """A YYYY-MM-DD form value, or None when empty; a clear error otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-30",
                         code="web.date.invalid", params={"value": text}) from None


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _staging(request: Request) -> Any:
    """Where uploads wait: the instance's folder, or a team's database (see annex_gen.web.team)."""
    from annex_gen.web.team import staging

    return staging(request, actor(request).name)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _status(request: Request, on: dt.date, customer: str | None = None) -> app.StatusReport | None:
    s = _settings(request)
    if not await run_in_threadpool(app.archive_exists, s.archive):  # a database is asked over the network
        return None
    return await run_in_threadpool(app.archive_status, s.archive, s.registry_dir, [s.customers_dir], on=on,
                                   customer=customer)


# The archive page: drift report and verify


async def archive_page(request: Request) -> Response:
    """The drift report of every customer on a date, optionally only those not current."""
    on = parse_date(request.query_params.get("on"), "date") or dt.date.today()
    only_outdated = request.query_params.get("show") == "not-current"
    chosen = request.query_params.get("state", "")
    chosen = chosen if chosen in STATES else ""  # one state alone: outdated apart from no signed annex
    report = await _status(request, on)
    customers = [] if report is None else [
        c for c in (report.not_current if only_outdated else report.customers) if not chosen or c.state == chosen]
    counts = {state: sum(1 for c in report.customers if c.state == state) for state in STATES} if report else {}
    return render(request, "archive.html.j2", {
        "report": report, "customers": customers, "on": on, "only_outdated": only_outdated, "counts": counts,
        "state": chosen, "states": STATES,
    })


async def verify(request: Request) -> Response:
    """Re-hash every archived file and check the chain; show each problem and the chain head hash."""
    location = _settings(request).archive
    if not await run_in_threadpool(app.archive_exists, location):
        raise UsageError(f"{_settings(request).archive_shown}: there is no archive yet; upload a signed annex first",
                         code="archive.none_yet", params={"location": _settings(request).archive_shown})
    report = await run_in_threadpool(app.archive_verify, location)
    head = report.head.record_hash if report.head else None
    await record(request, "archive verified",
                 f"{Counted(report.records):record|records}, {Counted(report.files):file|files}: "
                 + (f"{Counted(len(report.errors)):problem|problems}" if report.errors else "no problems")
                 + (f"; chain head {head}" if head else ""),
                 [f"#{report.head.seq}"] if report.head else [],
                 {"records": report.records, "files": report.files, "problems": len(report.errors)})
    return render(request, "archive_verify.html.j2", {"report": report, "head": head},
                  status_code=200 if not report.errors else 409)


# Uploading a signed annex: read it back, then store it


async def upload_form(request: Request) -> Response:
    """The upload form: the file alone (the customer comes from it, or is chosen after the read-back)."""
    return render(request, "archive_upload.html.j2", {
        "customer": request.query_params.get("customer", ""), "problem": None})


def _customers(request: Request) -> list[tuple[str, str]]:
    s = _settings(request)
    return cases.contract_names(s.registry_dir, [s.customers_dir])


async def upload(request: Request) -> Response:
    """Stage the uploaded file and show what the archive reads from it, before anything is stored."""
    async with request.form() as form:  # closes the request's spooled upload when done
        upload = form.get("file")
        customer = _text(form, "customer")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return render(request, "archive_upload.html.j2", {"customer": customer, "problem": "upload.no_file"},
                          status_code=400)
        staged = await run_in_threadpool(_staging(request).put_stream, upload.file, upload.filename)
        return await _review(request, staged.token, form)


async def store(request: Request) -> Response:
    """Check again with the options chosen, or store the staged file and go to the customer's timeline."""
    form = await request.form()
    token = _text(form, "token")
    if _text(form, "action") != "store":
        return await _review(request, token, form)
    staging = _staging(request)
    staged = await run_in_threadpool(staging.get, token)
    customer, problem, unsigned, _ = await _identify(request, staged.path, form)
    if problem or not customer or (unsigned and form.get("unsigned_copy") != "on"):
        return await _review(request, token, form, refused=True)
    try:
        stored = await run_in_threadpool(partial(app.archive_add, _settings(request).archive,
                                                 _request_of(request, staged.path, form, customer, unsigned),
                                                 actor=actor(request)))
    except NotRecorded:
        raise  # the audit log cannot be written: the error page says nothing was stored
    except AnnexGenError:
        return await _review(request, token, form)  # changed meanwhile: show why, nothing is stored
    await run_in_threadpool(staging.discard, token)
    return see_other(f"/customers/{stored.customer_id}/timeline?done=stored&stored={stored.seq}")


def _request_of(request: Request, path: Any, form: FormData, customer: str, unsigned: bool = False) -> AddRequest:
    note = _text(form, "note") or None
    if unsigned:  # the record says so in the words of the person who stored it
        note = t(request, "review.unsigned_note") + (f" {note}" if note else "")
    return AddRequest(
        path=path,
        customer=customer,
        signed_on=parse_date(_text(form, "signed_on"), "signed on"),
        note=note,
        document_id=_text(form, "document_id") or None,
        accept_invalid_signature=form.get("accept_invalid_signature") == "on",
        signed_draft=form.get("signed_draft") == "on",
        unsigned_copy=form.get("unsigned_copy") == "on",
    )


async def _identify(request: Request, path: Any, form: FormData) -> tuple[str, str | None, bool, AnnexGenError | None]:
    """The customer (the file's own, else the one chosen), why it cannot be used, whether the file is unsigned, and
    why it cannot be read at all (not a PDF, cut short): refused before any customer is chosen."""
    upload = await run_in_threadpool(cases.read_upload, path)
    chosen = _text(form, "customer")
    customer = chosen or upload.customer or ""
    known = {cid for _, cid in await run_in_threadpool(_customers, request)}
    problem = None
    if customer and customer not in known:
        problem = t(request, "review.no_contract", customer=customer)
    return customer, problem, upload.signed is False, upload.unreadable


async def _review(request: Request, token: str, form: FormData, *, refused: bool = False) -> Response:
    s = _settings(request)
    staged = await run_in_threadpool(_staging(request).get, token)
    customer, problem, unsigned, unreadable = await _identify(request, staged.path, form)
    inspection = None
    refusal: AnnexGenError | None = None
    if problem is None and customer:
        try:
            add = _request_of(request, staged.path, form, customer, unsigned)
        except UsageError as exc:
            refusal = exc
        else:
            # an unsigned file is read back as it would be stored once the page's box is ticked; the box gates storing
            inspection = await run_in_threadpool(app.archive_inspect, s.archive,
                                                 replace(add, unsigned_copy=True) if unsigned else add)
            refusal = inspection.refusal
    elif problem is None:  # no customer yet: a file that is no readable PDF is refused now, not after choosing one
        refusal = unreadable
    if refusal is not None:  # in the page's words, without the staged copy's name: the person knows the file by its own
        say = messages(request)
        problem = " ".join(say.text(d.code, d.params, d.message) for d in refusal.diagnostics) \
            if isinstance(refusal, InvalidInput) else say.error(refusal)[0]
        problem = problem.replace(str(staged.path), staged.name)
    documents = await run_in_threadpool(app.generated_annexes, s.out_dir, customer) if customer else []
    unsigned_copy = form.get("unsigned_copy") == "on"
    ready = problem is None and bool(customer) and (not unsigned or unsigned_copy)
    return render(request, "archive_review.html.j2", {
        "token": staged.token, "file_name": staged.name, "inspection": inspection, "problem": problem,
        "customer": customer, "customers": await run_in_threadpool(_customers, request),
        "form": {k: _text(form, k) for k in ("signed_on", "note", "document_id")},
        "accept_invalid": form.get("accept_invalid_signature") == "on", "documents": documents,
        "unsigned": unsigned, "unsigned_copy": unsigned_copy, "ready": ready, "unreadable": unreadable is not None,
        "signed_draft": form.get("signed_draft") == "on",
        "broken": bool(inspection and inspection.facts and any(not c.ok for c in inspection.facts.signatures)),
    }, status_code=422 if problem or refused else 200)


# A customer's history, and downloads


async def customer_page(request: Request) -> Response:
    """A customer's archive history and the annex in force on a date with its drift."""
    customer = request.path_params["customer"]
    on = parse_date(request.query_params.get("on"), "date") or dt.date.today()
    s = _settings(request)
    exists = await run_in_threadpool(app.archive_exists, s.archive)
    records = await run_in_threadpool(app.archive_records, s.archive, customer) if exists else []
    try:
        report = await _status(request, on, customer)
    except UsageError:
        report = None  # neither a contract nor an archived annex: the page says so
    status = report.customers[0] if report and report.customers else None
    name = ""
    if status is None:  # no archive yet, or no archived annex: the contract's name, if there is a contract
        try:
            _, entry = await run_in_threadpool(app.contract_entry, s.registry_dir, s.customers_dir, s.out_dir,
                                               customer, s.archive)
            name = entry.contract.customer_name
        except AnnexGenError:
            name = ""
    stored = request.query_params.get("stored", "")
    return render(request, "archive_customer.html.j2", {
        "customer": customer, "records": records, "status": status, "on": on, "report": report,
        "contract_name": name, "archive_exists": exists,
        "stored": int(stored) if stored.isdigit() else None,
        "annexes": [r for r in records if r.kind == "annex"],
        "attachments": {r.seq: [a for a in records if a.parent == r.seq] for r in records},
    })


async def download(request: Request) -> Response:
    """A record's file, byte-identical to what was stored."""
    location = _settings(request).archive
    stored, data = await run_in_threadpool(app.archive_file, location, request.path_params["seq"])
    media_type = stored.body["file"].get("media_type") or "application/octet-stream"
    return Response(data, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{safe_name(stored.file_name)}"'})


async def record_page(request: Request) -> Response:
    """A record number (as the audit log names it): its place in its customer's history."""
    record, _ = await run_in_threadpool(app.archive_record, _settings(request).archive, request.path_params["seq"])
    return see_other(f"/archive/customers/{record.customer_id}#rec-{record.parent or record.seq}")


async def document_page(request: Request) -> Response:
    """A document ID (as the audit log names it): the archive history holding it, else the customer's annex."""
    s = _settings(request)
    document = request.path_params["document"]
    found = await run_in_threadpool(app.document_owner, s.archive, s.out_dir, document)
    if found is None:
        raise NotFound(f"no annex with the document ID {document}", code="web.no_document",
                       params={"document": document})
    customer, archived = found
    return see_other(f"/archive/customers/{customer}" if archived else f"/customers/{customer}")


def routes() -> list[Route]:
    """The archive pages (legal and admin)."""
    return [
        page("/archive", archive_page, permission="legal"),
        page("/archive/verify", verify, permission="legal", methods=("POST",)),
        page("/archive/upload", upload_form, permission="legal"),
        page("/archive/upload", upload, permission="legal", methods=("POST",)),
        page("/archive/store", store, permission="legal", methods=("POST",)),
        page("/archive/customers/{customer}", customer_page, permission="legal"),
        page("/archive/records/{seq:int}/file", download, permission="legal"),
        page("/archive/records/{seq:int}", record_page, permission="legal"),
        page("/archive/documents/{document}", document_page, permission="legal"),
    ]
