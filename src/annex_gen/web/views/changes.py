"""A registry change end to end: the diff and whom it reaches, the batch with progress, the notices."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.archive.staging import safe_name
from annex_gen.batch.background import BatchRunner
from annex_gen.counts import Counted
from annex_gen.errors import AnnexGenError, NotFound, UsageError
from annex_gen.lifecycle import cases
from annex_gen.web.change_words import describe as describe_change
from annex_gen.web.http import language, messages, page, render, see_other
from annex_gen.web.i18n import catalogs
from annex_gen.web.team import NOTICES_DIR, TeamRunner, notices_copied
from annex_gen.web.views.archive import parse_date
from annex_gen.web.views.audit import actor, record

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MEDIA_TYPES = {".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8",
               ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _settings(request: Request) -> Any:
    return request.app.state.settings


def runner(request: Request) -> BatchRunner | TeamRunner:
    """The application's one background batch runner (with a team database: its job queue)."""
    state = request.app.state
    if getattr(state, "batch_runner", None) is None:
        s = state.settings
        state.batch_runner = TeamRunner(s.team_url, s.registry_dir) if s.team_url else BatchRunner()
    return state.batch_runner


def notices_dir(request: Request, notice_date: str) -> Path:
    """Where the notices of a notice date are written."""
    if not _DATE_RE.match(notice_date):
        raise NotFound(f"no notices for {notice_date!r}", code="web.no_notices", params={"date": notice_date})
    return _settings(request).out_dir / NOTICES_DIR / notice_date


def _release(choices: app.ReleaseChoices, ref: str) -> app.Release:
    """The offered release a form names; nothing else (no typed revision) is compared."""
    found = choices.find(ref)
    if found is None:
        raise UsageError(f"{ref!r} is not one of the registry's releases", code="changes.unknown_release")
    return found


async def changes_page(request: Request) -> Response:
    """Pick a release (default: the one customers were last notified of); see the registry diff from it and,
    per customer, what reaches their annex."""
    s = _settings(request)
    await notices_copied(request)  # a team's finished notices (and the release notified) first
    choices = await run_in_threadpool(app.release_choices, s.registry_dir, s.out_dir / NOTICES_DIR, s.archive)
    asked = request.query_params.get("from", "").strip()
    chosen = asked or (choices.baseline.ref if choices.baseline else "")
    report, problem, release = None, None, None
    if chosen:
        try:
            release = _release(choices, chosen)
            report = await run_in_threadpool(lambda: app.impact(s.registry_dir, release.ref, None, [s.customers_dir],
                                                                 archive=s.archive))
        except AnnexGenError as exc:
            problem = messages(request).error(exc)[0]
    return render(request, "changes.html.j2", {
        "choices": choices, "chosen": chosen, "release": release, "report": report, "problem": problem,
        "progress": await run_in_threadpool(runner(request).progress), "today": dt.date.today(),
        "describe_change": partial(describe_change, messages(request)),
        "catalog_keys": catalogs()[language(request)],
        "affected": report.with_status("affected") if report else [],
        "unaffected": report.with_status("unaffected") if report else [],
        "errors": report.with_status("error") if report else [],
    }, status_code=200 if problem is None else 400)


async def start_batch(request: Request) -> Response:
    """Regenerate every annex the change reaches (an incremental batch) in the background."""
    s = _settings(request)
    who = actor(request)
    batches = runner(request)
    if isinstance(batches, TeamRunner):  # the workers render; the audit log records the run as queued
        queued = await run_in_threadpool(batches.start_run, who.name)
        await record(request, "batch run", f"run {queued.run_id} queued: {Counted(queued.total):contract|contracts}, "
                     f"{queued.to_render} to generate by the workers", [],
                     {"variant": "queued", "run": queued.run_id, "total": queued.total, "to_render": queued.to_render})
        return see_other("/changes/batch")
    # the run is recorded by the batch itself, and a killed run when the next one starts
    app.start_batch(batches, s.registry_dir, [s.customers_dir], s.out_dir, started_by=who.name, actor=who,
                    archive=s.archive)
    return see_other("/changes/batch")


async def batch_page(request: Request) -> Response:
    """The running (or last) batch with a progress bar; the page polls its progress."""
    return render(request, "changes_batch.html.j2", {"progress": await run_in_threadpool(runner(request).progress)})


async def batch_progress(request: Request) -> Response:
    """The batch's progress as JSON, for the progress bar."""
    return JSONResponse((await run_in_threadpool(runner(request).progress)).to_dict())


async def write_notices(request: Request) -> Response:
    """Write the change notices of every affected customer for a notice date (default today)."""
    s = _settings(request)
    form = await request.form()
    old = str(form.get("from", "")).strip()
    if not old:
        raise UsageError("choose the old registry to compare with", code="changes.no_baseline")
    choices = await run_in_threadpool(app.release_choices, s.registry_dir, s.out_dir / NOTICES_DIR, s.archive)
    release = _release(choices, old)
    notice_date = parse_date(str(form.get("notice_date", "")), "notice date") or dt.date.today()
    effective = parse_date(str(form.get("effective_date", "")), "effective date")
    out = notices_dir(request, notice_date.isoformat())

    who = actor(request)
    batches = runner(request)
    if isinstance(batches, TeamRunner):  # the workers write them; the audit log records the run as queued
        def queue() -> Any:
            who.ready()
            report = app.impact(s.registry_dir, release.ref, None, [s.customers_dir], archive=s.archive)
            return batches.start_notices(report, who.name, notice_date=notice_date, effective_date=effective,
                                         release=release.label)

        queued = await run_in_threadpool(queue)
        refs = [n.notice_id for n in queued.notices] + [n.annex_document_id for n in queued.notices]
        await record(request, "notices written",
                     f"run {queued.run_id} queued: {Counted(len(queued.notices)):notice|notices} dated {notice_date} "
                     f"from registry {old}, to be written by the workers", refs,
                     {"variant": "queued", "run": queued.run_id, "count": len(queued.notices), "date": notice_date,
                      "release": release.label})
        return see_other("/changes/batch")

    def write() -> Any:
        who.ready()  # an unwritable audit log stops it before any notice is written
        report = app.impact(s.registry_dir, release.ref, None, [s.customers_dir], archive=s.archive)
        # the annex enclosed is the one the batch generates for the contract: one document, one ID
        result = app.notices(report, out, notice_date=notice_date, effective_date=effective, batch_dir=s.out_dir)
        # the new list is what customers know from now on, once approved: drafts are written again after approval
        if result.written and not result.failed and report.new.status == "final":
            app.record_notified(s.out_dir / NOTICES_DIR, report.new.version, notice_date)
        return result

    result = await run_in_threadpool(write)
    refs = [w.notice.notice_id for w in result.written] + [w.notice.annex_document_id for w in result.written]
    await record(request, "notices written",
                 f"{Counted(len(result.written)):notice|notices} dated {notice_date} from registry {old}"
                 + (f", {len(result.failed)} failed" if result.failed else ""), refs,
                 {"count": len(result.written), "date": notice_date, "failed": len(result.failed),
                  "release": release.label})
    return see_other(f"/changes/notices/{notice_date.isoformat()}?from={quote(old, safe='')}")


async def notices_page(request: Request) -> Response:
    """The notices of a notice date: dates, deadlines, downloads."""
    notice_date = request.path_params["date"]
    folder = notices_dir(request, notice_date)
    await notices_copied(request)
    rows = await run_in_threadpool(app.notice_rows, folder)
    return render(request, "changes_notices.html.j2", {
        "rows": rows, "notice_date": notice_date, "old": request.query_params.get("from", ""),
        "draft": await run_in_threadpool(cases.notices_enclose_drafts, folder, rows),
        "late": cases.notices_late(rows, dt.date.today()),
        "sent": {f"{n.customer_id}/{n.notice_id}": n
                 for n in await run_in_threadpool(cases.notices_sent, _settings(request).archive)}})


async def notices_zip(request: Request) -> Response:
    """Every notice, new annex and the mail-merge CSV of a notice date, as one zip."""
    notice_date = request.path_params["date"]
    await notices_copied(request)
    data = await run_in_threadpool(app.notices_zip, notices_dir(request, notice_date))
    return Response(data, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="notices-{notice_date}.zip"'})


async def notice_file(request: Request) -> Response:
    """One file notices.csv lists (or the CSV itself); nothing else under the folder is served."""
    folder = notices_dir(request, request.path_params["date"])
    await notices_copied(request)
    wanted = request.path_params["path"]
    listed = await run_in_threadpool(app.notice_files, folder)
    if wanted not in listed:
        raise NotFound(f"no notice file {wanted!r}", code="web.no_file", params={"name": wanted})
    path = folder / wanted
    data = await run_in_threadpool(path.read_bytes)
    return Response(data, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                    headers={"content-disposition": f'attachment; filename="{safe_name(path.name)}"'})


def routes() -> list[Route]:
    """The changes pages (legal and admin)."""
    return [
        page("/changes", changes_page, permission="legal"),
        page("/changes/batch", start_batch, permission="legal", methods=("POST",)),
        page("/changes/batch", batch_page, permission="legal"),
        page("/changes/batch/progress", batch_progress, permission="legal"),
        page("/changes/notices", write_notices, permission="legal", methods=("POST",)),
        page("/changes/notices/{date}", notices_page, permission="legal"),
        page("/changes/notices/{date}/notices.zip", notices_zip, permission="legal"),
        page("/changes/notices/{date}/files/{path:path}", notice_file, permission="legal"),
    ]
