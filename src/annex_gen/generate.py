"""Resolve, render and write one customer's annex files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import __version__
from .catalog import TEMPLATES_DIR
from .errors import UsageError
from .model import Annex, Contract, Registry
from .resolve import resolve
from .write import write_atomic

FORMATS = ("pdf", "docx", "html", "json")
DEFAULT_FORMATS = ("pdf", "docx")
STYLESHEET = "annex.css"


@dataclass(frozen=True)
class Generated:
    """What generate() wrote for one contract."""

    customer_id: str
    document_id: str
    files: dict[str, Path] = field(default_factory=dict)


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """'pdf,docx' -> ('pdf', 'docx'), refusing unknown formats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format {', '.join(unknown) or '(none)'}; expected a comma-separated list of "
                         + ", ".join(FORMATS))
    return formats


@lru_cache(maxsize=1)
def templates_digest() -> str:
    """A hash of templates/ and the renderer version: changes when any output could change."""
    h = hashlib.sha256(f"annex-gen {__version__}\n".encode())
    for path in sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(TEMPLATES_DIR)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for module in ("view.py", "render_html.py", "render_pdf.py", "render_docx.py"):
        h.update(hashlib.sha256((Path(__file__).parent / module).read_bytes()).digest())
    return h.hexdigest()


def render(annex: Annex, fmt: str) -> bytes:
    """The bytes of one format; the PDF and DOCX stacks load only when asked for."""
    if fmt == "pdf":
        from .render_pdf import render_pdf

        return render_pdf(annex)
    if fmt == "docx":
        from .render_docx import render_docx

        return render_docx(annex)
    if fmt == "html":
        from .render_html import render_html

        return render_html(annex).encode("utf-8")
    if fmt == "json":
        return annex.to_json_bytes()
    raise UsageError(f"unknown format {fmt!r}")


def output_path(out_dir: Path, annex: Annex, fmt: str) -> Path:
    """OUT/<customer-id>/<document-id>.<ext>."""
    return out_dir / annex.customer_id / f"{annex.document_id}.{fmt}"


def generate(
    registry: Registry,
    contract: Contract,
    out_dir: Path,
    formats: Iterable[str] = DEFAULT_FORMATS,
    annex: Annex | None = None,
) -> Generated:
    """Render every format in memory first, then write each file atomically."""
    annex = annex or resolve(registry, contract)
    rendered = {fmt: render(annex, fmt) for fmt in formats}
    files = {}
    for fmt, data in rendered.items():
        path = output_path(out_dir, annex, fmt)
        write_atomic(path, data)
        files[fmt] = path
    if "html" in rendered:  # the stylesheet the HTML links to, so it previews styled in a browser
        write_atomic(out_dir / annex.customer_id / STYLESHEET, (TEMPLATES_DIR / STYLESHEET).read_bytes())
    return Generated(annex.customer_id, annex.document_id, files)
