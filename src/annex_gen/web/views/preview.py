"""A contract's annex: the page that becomes the PDF, why each sub-processor is in it, and the downloads."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import NotFound
from annex_gen.explain import included_sections
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.web.http import page, render
from annex_gen.web.views.audit import record

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
    registry, entry = _entry(request)
    return render(request, "preview.html.j2", {
        "entry": entry, "annex": entry.annex, "sections": included_sections(registry, entry.annex),
        "saved": request.query_params.get("saved") == "1",
    })


async def annex_html(request: Request) -> Response:
    """The annex's HTML exactly as it goes to WeasyPrint; it links annex.css and fonts/ beside it."""
    _, entry = _entry(request)
    return Response(app.preview_html(entry.annex), media_type="text/html; charset=utf-8")


async def annex_asset(request: Request) -> Response:
    """The annex's stylesheet and bundled fonts, from the package (never the system's fonts)."""
    name = request.path_params["name"]
    if name == STYLESHEET:
        return FileResponse(TEMPLATES_DIR / STYLESHEET, media_type="text/css; charset=utf-8")
    fonts = {p.name: p for p in FONTS_DIR.glob("*.ttf")}
    if name.startswith("fonts/") and name.removeprefix("fonts/") in fonts:
        return FileResponse(fonts[name.removeprefix("fonts/")], media_type="font/ttf")
    raise NotFound(f"no annex file {name!r}")


async def download(request: Request) -> Response:
    """The PDF or DOCX, generated once per document ID into the output folder, as <customer>-<document-id>.<fmt>."""
    settings = request.app.state.settings
    fmt = request.path_params["fmt"]
    if fmt not in MEDIA_TYPES:
        raise NotFound(f"no download format {fmt!r}; expected pdf or docx")
    generated: list[Path] = []
    path = app.annex_file(settings.registry_dir, settings.customers_dir, settings.out_dir,
                          request.path_params["customer_id"], fmt, on_generate=generated.append,
                          archive=settings.archive)
    if generated:
        await record(request, "annex generated", f"{path.parent.name}: {fmt.upper()}", [path.stem])
    customer = path.parent.name
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=f"{customer}-{path.stem}.{fmt}")


def routes() -> list[Route]:
    """Preview, the annex page and its files, and the downloads."""
    return [
        page("/customers/{customer_id}", preview, permission="contracts.view"),
        page("/customers/{customer_id}/annex/annex.html", annex_html, permission="contracts.view"),
        page("/customers/{customer_id}/annex/{name:path}", annex_asset, permission="contracts.view"),
        page("/customers/{customer_id}/download/{fmt}", download, permission="contracts.view"),
    ]
