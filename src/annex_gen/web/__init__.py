"""The web application (`annex-gen serve`): thin views over `annex_gen.app`.

`create_app(settings)` builds the Starlette application: the middleware (security headers,
body-size limit, request log, signed session), the routes of every module in `views/`, and
the error pages. A view parses the request, calls a use case of `annex_gen.app` and renders
a template from `templates/web/`; it holds no business logic.
"""

from __future__ import annotations

from annex_gen.web.settings import Settings

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings):  # noqa: ANN201 - starlette imported lazily
    """The ASGI application for these settings."""
    from annex_gen.web.application import build

    return build(settings)
