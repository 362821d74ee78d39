"""Render a document's view to PDF/A-3b with Typst, the engine of `--engine typst`.

The view (`annex_gen.views.view_of`) goes to templates/typst/ as JSON in `sys.inputs`, and the
templates place its strings as text: customer data is never parsed as Typst markup. Fonts come
from templates/fonts only (system fonts ignored), found once per process, and the compiler, a wheel
with no run-time downloads, is built once per thread and reused, keeping its caches across documents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from typing import Any

import typst

from annex_gen.errors import RenderError
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views import view_of
from annex_gen.views.annex import AnnexView

TYPST_DIR = TEMPLATES_DIR / "typst"
_compilers = threading.local()


def compiler(template: str) -> typst.Compiler:
    """The compiler of one template, with the bundled fonts only; one per thread (a compiler compiles
    one document at a time, and releases the interpreter's lock while it does)."""
    made = _compilers.__dict__.setdefault("by_template", {})
    if template not in made:
        made[template] = typst.Compiler(str(TYPST_DIR / template), root=str(TEMPLATES_DIR), font_paths=fonts(),
                                        ignore_system_fonts=True)
    return made[template]


_fonts: list[typst.Fonts] = []
_fonts_lock = threading.Lock()


def fonts() -> typst.Fonts:
    """The bundled fonts and Typst's own (its fallback may pick one), found once: every thread's
    compilers share them and each face Typst loads from them."""
    with _fonts_lock:
        if not _fonts:
            _fonts.append(typst.Fonts(include_system_fonts=False, include_embedded_fonts=True,
                                      font_paths=[str(TEMPLATES_DIR / "fonts")]))
        return _fonts[0]


def view_json(document: Any) -> tuple[str, str]:
    """The template to use and the document's view as JSON text."""
    view = view_of(document)
    template = "annex.typ" if isinstance(view, AnnexView) else "notice.typ"
    return template, json.dumps(dataclasses.asdict(view), ensure_ascii=False, sort_keys=True)


def render_pdf(document: Any) -> bytes:
    """An annex or a notice as a tagged PDF/A-3b with its JSON embedded (relationship Source)."""
    template, view = view_json(document)
    inputs = {
        "view": view,
        "attachment": document.to_json_bytes().decode("utf-8"),
        "attachment_name": document.ATTACHMENT,
    }
    moment = dt.datetime.combine(document.issued, dt.time(0, 0), tzinfo=dt.UTC)
    try:
        pdf = compiler(template).compile(format="pdf", sys_inputs=inputs, pdf_standards="a-3b",
                                         timestamp=moment, pdf_tags=True)
    except typst.TypstError as exc:
        raise RenderError(f"Typst could not render the {template.removesuffix('.typ')}: {exc.message}") from None
    assert isinstance(pdf, bytes)
    return pdf


render = render_pdf
