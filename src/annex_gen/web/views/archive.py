"""Legal's archive pages: the drift report, verify, uploading a signed annex, a customer's history.

Every page asks `annex_gen.app`; nothing here reads PDFs, resolves annexes or touches the index.
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
from annex_gen.archive.intake import AddRequest
from annex_gen.archive.staging import Staging, safe_name
from annex_gen.errors import AnnexGenError, UsageError
from annex_gen.web.http import page, render, see_other
from annex_gen.web.views.audit import record

STATES = ("current", "outdated", "unknown", "no-annex", "no-contract")


def parse_date(value: str | None, what: str) -> dt.date | None:
    """A YYYY-MM-DD form value, or None when empty; a clear error otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-30") from None


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _staging(request: Request) -> Staging:
    return Staging(_settings(request).staging_dir)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _status(request: Request, on: dt.date, customer: str | None = None) -> app.StatusReport | None:
    s = _settings(request)
    if not app.archive_exists(s.archive):
        return None
    return await run_in_threadpool(app.archive_status, s.archive, s.registry_dir, [s.customers_dir], on=on,
                                   customer=customer)


# The archive page: drift report and verify


async def archive_page(request: Request) -> Response:
    """The drift report of every customer on a date, optionally only those not current."""
    on = parse_date(request.query_params.get("on"), "date") or dt.date.today()
    only_outdated = request.query_params.get("show") == "not-current"
    report = await _status(request, on)
    customers = [] if report is None else (report.not_current if only_outdated else report.customers)
    counts = {state: sum(1 for c in report.customers if c.state == state) for state in STATES} if report else {}
    return render(request, "archive.html.j2", {
        "report": report, "customers": customers, "on": on, "only_outdated": only_outdated, "counts": counts,
    })


async def verify(request: Request) -> Response:
    """Re-hash every archived file and check the chain; show each problem and the chain head hash."""
    location = _settings(request).archive
    if not app.archive_exists(location):
        raise UsageError(f"{_settings(request).archive_shown}: there is no archive yet; upload a signed annex first")
    report = await run_in_threadpool(app.archive_verify, location)
    head = report.head.record_hash if report.head else None
    await record(request, "archive verified",
                 f"{report.records} record(s), {report.files} file(s): "
                 + (f"{len(report.errors)} problem(s)" if report.errors else "no problems")
                 + (f"; chain head {head}" if head else ""),
                 [f"#{report.head.seq}"] if report.head else [])
    return render(request, "archive_verify.html.j2", {"report": report, "head": head},
                  status_code=200 if not report.errors else 409)


# Uploading a signed annex: read it back, then store it


async def upload_form(request: Request) -> Response:
    """The upload form; the customer may be given in the query."""
    customers = await run_in_threadpool(_customer_ids, request)
    return render(request, "archive_upload.html.j2", {
        "customers": customers, "customer": request.query_params.get("customer", ""), "problem": None})


def _customer_ids(request: Request) -> list[str]:
    s = _settings(request)
    report = app.check(s.registry_dir, [s.customers_dir])
    return sorted({c.customer_id for c in report.contracts})


async def upload(request: Request) -> Response:
    """Stage the uploaded file and show what the archive reads from it, before anything is stored."""
    form = await request.form()
    upload = form.get("file")
    customer = _text(form, "customer")
    if not isinstance(upload, UploadFile) or not upload.filename:
        customers = await run_in_threadpool(_customer_ids, request)
        return render(request, "archive_upload.html.j2", {
            "customers": customers, "customer": customer, "problem": "upload.no_file"}, status_code=400)
    staged = _staging(request).put(await upload.read(), upload.filename)
    return await _review(request, staged.token, form)


async def store(request: Request) -> Response:
    """Check again with the options chosen, or store the staged file and go to the customer's history."""
    form = await request.form()
    token = _text(form, "token")
    if _text(form, "action") != "store":
        return await _review(request, token, form)
    staging = _staging(request)
    staged = staging.get(token)
    try:
        stored = await run_in_threadpool(app.archive_add, _settings(request).archive,
                                         _request_of(staged.path, form))
    except AnnexGenError:
        return await _review(request, token, form)  # changed meanwhile: show why, nothing is stored
    staging.discard(token)
    refs = [f"#{stored.seq}"] + ([stored.document_id] if stored.document_id else [])
    await record(request, "file archived", f"{stored.file_name} for customer {stored.customer_id}", refs)
    return see_other(f"/archive/customers/{stored.customer_id}?stored={stored.seq}")


def _request_of(path: Any, form: FormData) -> AddRequest:
    return AddRequest(
        path=path,
        customer=_text(form, "customer"),
        signed_on=parse_date(_text(form, "signed_on"), "signed on"),
        note=_text(form, "note") or None,
        document_id=_text(form, "document_id") or None,
        accept_invalid_signature=form.get("accept_invalid_signature") == "on",
        signed_draft=form.get("signed_draft") == "on",
    )


async def _review(request: Request, token: str, form: FormData) -> Response:
    s = _settings(request)
    staged = _staging(request).get(token)
    try:
        add = _request_of(staged.path, form)
    except UsageError as exc:
        inspection, problem = None, str(exc)
    else:
        inspection = await run_in_threadpool(app.archive_inspect, s.archive, add)
        problem = str(inspection.refusal) if inspection.refusal else None
    if problem:  # messages name the staged copy; the person knows the file by its own name
        problem = problem.replace(str(staged.path), staged.name)
    customer = _text(form, "customer")
    documents = app.generated_annexes(s.out_dir, customer) if customer else []
    return render(request, "archive_review.html.j2", {
        "token": staged.token, "file_name": staged.name, "inspection": inspection, "problem": problem,
        "customer": customer, "form": {k: _text(form, k) for k in ("signed_on", "note", "document_id")},
        "accept_invalid": form.get("accept_invalid_signature") == "on", "documents": documents,
        "signed_draft": form.get("signed_draft") == "on",
        "broken": bool(inspection and inspection.facts and any(not c.ok for c in inspection.facts.signatures)),
    }, status_code=200 if problem is None else 422)


# A customer's history, and downloads


async def customer_page(request: Request) -> Response:
    """A customer's archive history and the annex in force on a date with its drift."""
    customer = request.path_params["customer"]
    on = parse_date(request.query_params.get("on"), "date") or dt.date.today()
    location = _settings(request).archive
    records = await run_in_threadpool(app.archive_records, location, customer) \
        if app.archive_exists(location) else []
    try:
        report = await _status(request, on, customer)
    except UsageError:
        report = None  # neither a contract nor an archived annex: the page says so
    status = report.customers[0] if report and report.customers else None
    stored = request.query_params.get("stored", "")
    return render(request, "archive_customer.html.j2", {
        "customer": customer, "records": records, "status": status, "on": on, "report": report,
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
    ]
