"""The output formats: the one list of them, each a renderer of a document.

A document is a resolved `Annex` or a change `Notice`; `annex_gen.views.view_of` turns
either into what a renderer prints. Adding a format is a renderer module with a
`render(document) -> bytes` function and one line in FORMATS. A format may have several
engines (the PDF: WeasyPrint, the default, or Typst), each a renderer module of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    engines: tuple[tuple[str, str], ...] = ()  # (engine, renderer module) besides the default `module`

    def renderer(self, engine: str = "") -> Any:
        """The module that renders this format with engine, imported (with the PDF or DOCX stack) on first use."""
        return renderer(dict(self.engines).get(engine, self.module))

    def render(self, document: Any, engine: str = "") -> bytes:
        """The document's bytes."""
        return self.renderer(engine).render(document)


def renderer(module: str) -> Any:
    """A renderer module, imported on first use; WeasyPrint's with its C libraries loaded by name
    (see _no_library_search)."""
    if module != WEASYPRINT_RENDERER or module in sys.modules:
        return import_module(module)  # waits for another thread importing it
    try:
        with _no_library_search():
            return import_module(module)
    except OSError:  # a library only ctypes' search finds: import again, searching
        return import_module(module)


@contextmanager
def _no_library_search() -> Iterator[None]:
    """ctypes.util.find_library answers None, on Linux, while WeasyPrint opens Pango, HarfBuzz and fontconfig.

    WeasyPrint tries several names per library for every platform; cffi passes each name that does
    not load as it is to ctypes' search, which runs ldconfig and gcc: about twenty searches per
    process that find nothing, since the names that load on Linux (libpango-1.0.so.0) load directly.
    """
    if not sys.platform.startswith("linux"):
        yield
        return
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search


WEASYPRINT_RENDERER = "annex_gen.render.pdf"
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("pdf", WEASYPRINT_RENDERER, signable=True, engines=(("typst", "annex_gen.render.typst_pdf"),)),
    Format("docx", "annex_gen.render.docx", signable=True),
    Format("html", "annex_gen.render.html", signable=False),
    Format("json", "annex_gen.render.data", signable=False),
)}
DOCUMENT_FORMATS = tuple(name for name, f in FORMATS.items() if f.signable)
DEFAULT_ENGINE = "weasyprint"
UNLOCKED_ENGINES = ("typst",)  # the compiler releases the interpreter's lock while it lays out and writes
ENGINES = (DEFAULT_ENGINE, *dict.fromkeys(e for f in FORMATS.values() for e, _ in f.engines))


def renders_unlocked(formats: Iterable[str], engine: str) -> bool:
    """Whether every format renders outside the interpreter's lock (Typst's PDF), so threads render in parallel."""
    return engine in UNLOCKED_ENGINES and set(formats) == {"pdf"}


def load_renderers(formats: Iterable[str], engine: str) -> None:
    """Import the renderers of these formats now (workers forked afterwards start with them)."""
    for fmt in formats:
        FORMATS[fmt].renderer(engine)


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """'pdf,docx' -> ('pdf', 'docx'), refusing unknown formats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format {', '.join(unknown) or '(none)'}; expected a comma-separated list of "
                         + ", ".join(FORMATS))
    return formats


def parse_engine(name: str) -> str:
    """'typst' -> 'typst', refusing unknown engines."""
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
    return name


def render(document: Any, fmt: str, engine: str = DEFAULT_ENGINE) -> bytes:
    """The bytes of one format of an annex or a notice; engine picks the PDF renderer."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}")
    return FORMATS[fmt].render(document, parse_engine(engine))


@lru_cache(maxsize=4)
def templates_digest(engine: str = DEFAULT_ENGINE) -> str:
    """A hash of the templates, the views, the renderers and the engine: changes when any output could change."""
    import hashlib  # OpenSSL's, for the fonts' megabytes; not at import (annex_gen.hashing)

    h = hashlib.sha256(f"annex-gen {__version__}\n".encode())
    if engine != DEFAULT_ENGINE:
        h.update(f"engine {engine}\n".encode())
    package = Path(__file__).resolve().parents[1]
    # The web application's templates/web/ and the public site's templates/site/ never reach an annex
    # or a notice: editing them regenerates nothing.
    documents = [p for p in TEMPLATES_DIR.rglob("*") if p.relative_to(TEMPLATES_DIR).parts[0] not in ("web", "site")]
    sources = [*documents, *(package / "views").glob("*.py"), *(package / "render").glob("*.py")]
    for path in sorted(p for p in sources if p.is_file()):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
