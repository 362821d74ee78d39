"""Render a document's view to HTML with Jinja2 (autoescaped, strict about undefined names)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from annex_gen.fonts import fallbacks_for, font_face_css
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views import view_of
from annex_gen.views.annex import AnnexView


@lru_cache(maxsize=4)
def environment(templates: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """The Jinja2 environment: templates/ only, autoescape on, StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["keep_suspended_hyphens"] = keep_suspended_hyphens
    env.filters["nobr"] = keep_names
    return env


_SUSPENDED = re.compile(r"(\S+ -\w+)")


def keep_suspended_hyphens(text: str) -> Markup:
    """Escaped text in which 'ja -autentikointi' never breaks after its hyphen."""
    return Markup(_SUSPENDED.sub(r'<span class="nobr">\1</span>', str(escape(text))))


# A two-word product name ("Liana WordPress") never breaks between its words.
UNBREAKABLE = re.compile(r"\bLiana [A-Z]\w+")


def keep_names(text: str) -> Markup:
    """Escaped text in which a two-word product name never breaks."""
    return Markup(UNBREAKABLE.sub(lambda m: f'<span class="nobr">{m.group(0)}</span>', str(escape(text))))


def render_html(document: Any, *, link_stylesheet: bool = True) -> str:
    """An annex or a notice as HTML; without the stylesheet link for a renderer that brings it parsed."""
    view = view_of(document)
    template = "annex.html.j2" if isinstance(view, AnnexView) else "notice.html.j2"
    # The fallback fonts load only where the document's text needs them (a Latin annex never does).
    font_faces = Markup(font_face_css(fallbacks_for(document.to_json_bytes().decode("utf-8"))))
    return environment().get_template(template).render(doc=view, font_faces=font_faces,
                                                       link_stylesheet=link_stylesheet)


def render(document: Any) -> bytes:
    """The HTML as UTF-8 bytes."""
    return render_html(document).encode("utf-8")
