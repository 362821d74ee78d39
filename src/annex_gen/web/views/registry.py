"""The registry the server serves: version, regions and products, every section and entity, the corrections."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.web.http import page, render


async def registry(request: Request) -> Response:
    """The whole registry, readable."""
    reg = await run_in_threadpool(app.load_registry, request.app.state.settings.registry_dir)
    return render(request, "registry.html.j2", {"registry": reg})


def routes() -> list[Route]:
    """The registry page."""
    return [page("/registry", registry, permission="registry.view")]
