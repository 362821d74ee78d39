"""Resolve, render and write one customer's annex files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from annex_gen.model import Annex, Contract, Registry
from annex_gen.output.write import write_atomic
from annex_gen.render import DEFAULT_ENGINE, DOCUMENT_FORMATS, render
from annex_gen.resolve import resolve
from annex_gen.resources import TEMPLATES_DIR

STYLESHEET = "annex.css"


@dataclass(frozen=True)
class Generated:
    """What generate() wrote for one contract."""

    customer_id: str
    document_id: str
    files: dict[str, Path] = field(default_factory=dict)


def output_path(out_dir: Path, annex: Annex, fmt: str) -> Path:
    """OUT/<customer-id>/<document-id>.<ext>."""
    return out_dir / annex.customer_id / f"{annex.document_id}.{fmt}"


def generate(
    registry: Registry,
    contract: Contract,
    out_dir: Path,
    formats: Iterable[str] = DOCUMENT_FORMATS,
    annex: Annex | None = None,
    engine: str = DEFAULT_ENGINE,
    before_write: Callable[[list[Path]], None] | None = None,
) -> Generated:
    """Render every format in memory first (the PDF with engine), then write each file atomically.

    before_write(paths) runs once everything is rendered, before any file is written; what it
    raises leaves the output as it was (the audit entry is written there).
    """
    annex = annex or resolve(registry, contract)
    rendered = {fmt: render(annex, fmt, engine) for fmt in formats}
    if before_write is not None:
        before_write([output_path(out_dir, annex, fmt) for fmt in rendered])
    files = {}
    for fmt, data in rendered.items():
        path = output_path(out_dir, annex, fmt)
        write_atomic(path, data)
        files[fmt] = path
    if "html" in rendered:  # the stylesheet the HTML links to, so it previews styled in a browser
        write_atomic(out_dir / annex.customer_id / STYLESHEET, (TEMPLATES_DIR / STYLESHEET).read_bytes())
    return Generated(annex.customer_id, annex.document_id, files)
