"""The output formats: the one list of them, each a renderer of a document.

A document is a resolved `Annex` or a change `Notice`; `annex_gen.views.build_view` turns
either into what a renderer prints. Adding a format is a renderer module with a
`render(document) -> bytes` function and one line in FORMATS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any

from annex_gen import __version__
from annex_gen.errors import UsageError
from annex_gen.resources import TEMPLATES_DIR


@dataclass(frozen=True)
class Format:
    """An output format: its name (also the file suffix) and the module that renders it."""

    name: str
    module: str
    signable: bool  # a document a customer signs (PDF, DOCX), not a preview or data

    def render(self, document: Any) -> bytes:
        """The document's bytes; the renderer (and the PDF or DOCX stack) is imported on first use."""
        return import_module(self.module).render(document)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("pdf", "annex_gen.render.pdf", signable=True),
    Format("docx", "annex_gen.render.docx", signable=True),
    Format("html", "annex_gen.render.html", signable=False),
    Format("json", "annex_gen.render.data", signable=False),
)}
DOCUMENT_FORMATS = tuple(name for name, f in FORMATS.items() if f.signable)


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """'pdf,docx' -> ('pdf', 'docx'), refusing unknown formats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format {', '.join(unknown) or '(none)'}; expected a comma-separated list of "
                         + ", ".join(FORMATS))
    return formats


def render(document: Any, fmt: str) -> bytes:
    """The bytes of one format of an annex or a notice."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}")
    return FORMATS[fmt].render(document)


@lru_cache(maxsize=1)
def templates_digest() -> str:
    """A hash of the templates, the views and the renderers: changes when any output could change."""
    h = hashlib.sha256(f"annex-gen {__version__}\n".encode())
    package = Path(__file__).resolve().parents[1]
    # The public site's templates (templates/site/) never reach an annex or a notice.
    templates = [p for p in TEMPLATES_DIR.rglob("*") if "site" not in p.relative_to(TEMPLATES_DIR).parts[:1]]
    sources = [*templates, *(package / "views").glob("*.py"), *(package / "render").glob("*.py")]
    for path in sorted(p for p in sources if p.is_file()):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
