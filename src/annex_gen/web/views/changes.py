"""A registry change end to end: the diff and whom it reaches, the batch with progress, the notices."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.archive.staging import safe_name
from annex_gen.batch.background import BatchProgress, BatchRunner
from annex_gen.errors import AnnexGenError, NotFound, UsageError
from annex_gen.web.http import current_user, page, render, see_other
from annex_gen.web.views.archive import parse_date
from annex_gen.web.views.audit import record

NOTICES_DIR = "_notices"  # inside the output folder; "_" keeps it apart from customer ids
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MEDIA_TYPES = {".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8",
               ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _settings(request: Request) -> Any:
    return request.app.state.settings


def runner(request: Request) -> BatchRunner:
    """The application's one background batch runner."""
    state = request.app.state
    if getattr(state, "batch_runner", None) is None:
        state.batch_runner = BatchRunner()
    return state.batch_runner


def notices_dir(request: Request, notice_date: str) -> Path:
    """Where the notices of a notice date are written."""
    if not _DATE_RE.match(notice_date):
        raise NotFound(f"no notices for {notice_date!r}")
    return _settings(request).out_dir / NOTICES_DIR / notice_date


async def changes_page(request: Request) -> Response:
    """Pick the old registry; see the registry diff and, per customer, what reaches their annex."""
    s = _settings(request)
    choices = await run_in_threadpool(app.registry_choices, s.registry_dir, s.out_dir)
    # A revision typed in wins over the one picked from the list.
    chosen = (request.query_params.get("from_other", "").strip() or request.query_params.get("from", "").strip())
    if not chosen and choices.last_batch_revision:
        chosen = choices.last_batch_revision.commit
    report, problem = None, None
    if chosen:
        try:
            report = await run_in_threadpool(app.impact, s.registry_dir, chosen, None, [s.customers_dir])
        except AnnexGenError as exc:
            problem = str(exc)
    return render(request, "changes.html.j2", {
        "choices": choices, "chosen": chosen, "report": report, "problem": problem,
        "progress": runner(request).progress(), "today": dt.date.today(),
        "affected": report.with_status("affected") if report else [],
        "unaffected": report.with_status("unaffected") if report else [],
        "errors": report.with_status("error") if report else [],
    }, status_code=200 if problem is None else 400)


async def start_batch(request: Request) -> Response:
    """Regenerate every annex the change reaches (an incremental batch) in the background."""
    s = _settings(request)
    user = current_user(request)
    by = user.name if user is not None else "-"

    def finished(progress: BatchProgress) -> None:
        result = progress.result
        what = (f"{progress.generated} generated, {progress.unchanged} unchanged, {progress.failed} failed"
                + (f"; {progress.error}" if progress.error else ""))
        refs = [document for _, document in result.generated] if result else []
        app.audit_record(s.archive, by, "batch run", what, refs)

    app.start_batch(runner(request), s.registry_dir, [s.customers_dir], s.out_dir, started_by=by,
                    on_finish=finished, archive=s.archive)
    return see_other("/changes/batch")


async def batch_page(request: Request) -> Response:
    """The running (or last) batch with a progress bar; the page polls its progress."""
    return render(request, "changes_batch.html.j2", {"progress": runner(request).progress()})


async def batch_progress(request: Request) -> Response:
    """The batch's progress as JSON, for the progress bar."""
    return JSONResponse(runner(request).progress().to_dict())


async def write_notices(request: Request) -> Response:
    """Write the change notices of every affected customer for a notice date (default today)."""
    s = _settings(request)
    form = await request.form()
    old = str(form.get("from", "")).strip()
    if not old:
        raise UsageError("choose the old registry to compare with")
    notice_date = parse_date(str(form.get("notice_date", "")), "notice date") or dt.date.today()
    effective = parse_date(str(form.get("effective_date", "")), "effective date")
    out = notices_dir(request, notice_date.isoformat())

    def write() -> Any:
        report = app.impact(s.registry_dir, old, None, [s.customers_dir], archive=s.archive)
        return app.notices(report, out, notice_date=notice_date, effective_date=effective)

    result = await run_in_threadpool(write)
    refs = [w.notice.notice_id for w in result.written] + [w.notice.annex_document_id for w in result.written]
    await record(request, "notices written",
                 f"{len(result.written)} notice(s) dated {notice_date} from registry {old}"
                 + (f", {len(result.failed)} failed" if result.failed else ""), refs)
    return see_other(f"/changes/notices/{notice_date.isoformat()}?from={quote(old, safe='')}")


async def notices_page(request: Request) -> Response:
    """The notices of a notice date: dates, deadlines, downloads."""
    notice_date = request.path_params["date"]
    folder = notices_dir(request, notice_date)
    rows = await run_in_threadpool(app.notice_rows, folder)
    return render(request, "changes_notices.html.j2", {
        "rows": rows, "notice_date": notice_date, "old": request.query_params.get("from", "")})


async def notices_zip(request: Request) -> Response:
    """Every notice, new annex and the mail-merge CSV of a notice date, as one zip."""
    notice_date = request.path_params["date"]
    data = await run_in_threadpool(app.notices_zip, notices_dir(request, notice_date))
    return Response(data, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="notices-{notice_date}.zip"'})


async def notice_file(request: Request) -> Response:
    """One file notices.csv lists (or the CSV itself); nothing else under the folder is served."""
    folder = notices_dir(request, request.path_params["date"])
    wanted = request.path_params["path"]
    listed = await run_in_threadpool(app.notice_files, folder)
    if wanted not in listed:
        raise NotFound(f"no notice file {wanted!r}")
    path = folder / wanted
    return Response(path.read_bytes(), media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
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
