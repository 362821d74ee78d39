"""The web application (`annex-gen serve`): thin views over `annex_gen.app`.

`create_app(settings)` (in `application`) builds the Starlette application: the middleware
(security headers, body-size limit, request log, signed session), the routes of every module
in `views/`, and the error pages. A view parses the request, calls a use case of
`annex_gen.app` and renders a template from `templates/web/`; it holds no business logic.
This module only re-exports.
"""

from annex_gen.web.application import create_app
from annex_gen.web.settings import Settings

__all__ = ["Settings", "create_app"]
