"""A contract's annex: the page that becomes the PDF, why each sub-processor is in it, and the downloads.

Contracts are read in a thread and PDFs and DOCX files rendered in the render processes
(output.pool), so no request waits for another's render.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import NotFound
from annex_gen.explain import included_sections
from annex_gen.fonts import FALLBACKS, font_face_css
from annex_gen.output.pool import write_annex
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.web.http import in_worker, language, page, render
from annex_gen.web.views.audit import actor

STYLESHEET = "annex.css"
FONTS_DIR = TEMPLATES_DIR / "fonts"
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _entry(request: Request):  # noqa: ANN202
    settings = request.app.state.settings
    return app.contract_entry(settings.registry_dir, settings.customers_dir, settings.out_dir,
                              request.path_params["customer_id"], settings.archive)


async def preview(request: Request) -> Response:
    """The annex in a frame, and the sections with the rule that includes each."""

    def read():  # noqa: ANN202
        registry, entry = _entry(request)
        return entry, included_sections(registry, entry.annex, language(request))

    entry, sections = await run_in_threadpool(read)
    return render(request, "preview.html.j2", {
        "entry": entry, "annex": entry.annex, "sections": sections,
        "saved": request.query_params.get("saved") == "1",
    })


async def annex_html(request: Request) -> Response:
    """The annex's HTML exactly as it goes to WeasyPrint; it links annex.css and fonts/ beside it."""
    html = await run_in_threadpool(lambda: app.preview_html(_entry(request)[1].annex))
    return Response(html, media_type="text/html; charset=utf-8")


async def annex_asset(request: Request) -> Response:
    """The annex's stylesheet and bundled fonts, from the package (never the system's fonts)."""
    name = request.path_params["name"]
    if name == STYLESHEET:
        return FileResponse(TEMPLATES_DIR / STYLESHEET, media_type="text/css; charset=utf-8")
    if name == "fonts.css":  # the fallback faces of every script; a browser loads those a page needs
        return Response(font_face_css(FALLBACKS), media_type="text/css; charset=utf-8")
    fonts = {p.name: p for p in FONTS_DIR.glob("*.ttf")}
    if name.startswith("fonts/") and name.removeprefix("fonts/") in fonts:
        return FileResponse(fonts[name.removeprefix("fonts/")], media_type="font/ttf")
    raise NotFound(f"no annex file {name!r}", code="web.no_file", params={"name": name})


async def download(request: Request) -> Response:
    """The PDF or DOCX, generated once per document ID into the output folder, as <customer>-<document-id>.<fmt>."""
    settings = request.app.state.settings
    fmt = request.path_params["fmt"]
    if fmt not in MEDIA_TYPES:
        raise NotFound(f"no download format {fmt!r}; expected pdf or docx", code="web.no_file", params={"name": fmt})
    where = (settings.registry_dir, settings.customers_dir, settings.out_dir, request.path_params["customer_id"], fmt,
             settings.archive)
    path: Path = await run_in_threadpool(app.annex_output, *where)
    if not path.is_file():  # the document ID names the content: an existing file is this annex
        # recorded in the audit log by the worker before the file is written: unrecorded, nothing is written
        path, _, _ = await in_worker(request, write_annex, *where, actor(request))
    customer = path.parent.name
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=f"{customer}-{path.stem}.{fmt}")


def routes() -> list[Route]:
    """Preview, the annex page and its files, and the downloads."""
    return [
        page("/customers/{customer_id}", preview, permission="contracts.view"),
        page("/customers/{customer_id}/annex/annex.html", annex_html, permission="contracts.view"),
        page("/customers/{customer_id}/annex/{name:path}", annex_asset, permission="contracts.view"),
        page("/customers/{customer_id}/download/{fmt}", download, permission="contracts.view", writes=True),
    ]
