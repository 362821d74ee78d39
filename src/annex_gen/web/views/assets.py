"""The interface's stylesheet and script, served from the package (never from the system)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen.errors import NotFound
from annex_gen.fonts import fallback_faces_css
from annex_gen.resources import TEMPLATES_DIR

ASSETS = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}


async def asset(request: Request) -> Response:
    """One file of templates/web/ named in ASSETS, or fonts.css: the faces of Arabic, Hebrew and CJK text."""
    name = request.path_params["name"]
    if name == "fonts.css":
        return Response(fallback_faces_css(), media_type="text/css; charset=utf-8",
                        headers={"cache-control": "no-cache"})
    if name not in ASSETS:
        raise NotFound(f"no file {name!r}", code="web.no_file", params={"name": name})
    return Response((TEMPLATES_DIR / "web" / name).read_bytes(), media_type=ASSETS[name],
                    headers={"cache-control": "no-cache"})


async def font(request: Request) -> Response:
    """A bundled font (the documents' own), so every machine shows the interface alike."""
    fonts = {p.name: p for p in (TEMPLATES_DIR / "fonts").glob("*.ttf")}
    name = request.path_params["name"]
    if name not in fonts:
        raise NotFound(f"no font {name!r}", code="web.no_file", params={"name": name})
    return Response(fonts[name].read_bytes(), media_type="font/ttf", headers={"cache-control": "max-age=86400"})


def routes() -> list[Route]:
    """The asset routes (public: the login page needs the stylesheet)."""
    return [Route("/static/{name}", asset, name="asset"), Route("/static/fonts/{name}", font, name="font")]
