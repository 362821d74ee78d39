"""Reuse WeasyPrint's line measurements across the documents of one process.

Every annex repeats most of its text (notes, names, identifiers, purposes) at the same column
widths, and WeasyPrint measures each line with Pango anew: `split_first_line` took about a
seventh of a render. It depends only on its arguments and on the style's properties named in
TEXT_PROPERTIES, and its result holds no Pango object (the layout is deactivated before it
returns), so a result can be kept and handed out again as a copy.

The strut of a style (its line height and baseline, asked for every line and inline box) is
kept too, for each style object: WeasyPrint keeps it already, under a key it builds from
fourteen properties at every call, and with style_cache the same style objects serve every
document.

The wrappers replace WeasyPrint's internal `split_first_line` and `strut` in the modules that
call them, so they are installed only on the WeasyPrint version they were verified with
(pyproject pins it) and only for the styles of the font configuration given to `install`;
anything else calls WeasyPrint's own functions. tests/integration/test_render_reuse.py checks
every example and a notice byte for byte against renders without them, and the same words in a
dozen text styles.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import weasyprint
from weasyprint.css import computed_values, units
from weasyprint.layout import inline, preferred
from weasyprint.text import line_break
from weasyprint.text.fonts import FontConfiguration

VERIFIED_VERSIONS = ("70.0",)

# Every property split_first_line, Layout.setup, Layout.set_text and line_size read.
TEXT_PROPERTIES = (
    "white_space", "direction", "lang", "font_language_override",
    "font_family", "font_style", "font_stretch", "font_weight", "font_size", "font_variation_settings",
    "font_kerning", "font_variant_ligatures", "font_variant_position", "font_variant_caps",
    "font_variant_numeric", "font_variant_alternates", "font_variant_east_asian", "font_feature_settings",
    "letter_spacing", "word_spacing", "tab_size", "overflow_wrap", "word_break", "text_decoration_line",
    "hyphens", "hyphenate_character", "hyphenate_limit_chars", "hyphenate_limit_zone",
)
MAX_ENTRIES = 50_000  # about a kilobyte each; emptied when full, so a long batch stays bounded
STRUT_USERS = (inline, units, computed_values)

_original = inline.split_first_line
_original_strut = line_break.strut
_lock = threading.Lock()
_font_config: FontConfiguration | None = None
_results: dict[tuple, tuple] = {}
_struts: dict[int, tuple] = {}
hits = misses = 0


def supported() -> bool:
    """Whether this WeasyPrint is one the cache was verified with."""
    return weasyprint.__version__ in VERIFIED_VERSIONS


def install(font_config: FontConfiguration) -> bool:
    """Keep line splits of styles using font_config from now on; False (and nothing done) if unsupported."""
    global _font_config
    if not supported():
        return False
    with _lock:
        if _font_config is not font_config:
            _font_config = font_config
            _results.clear()
            _struts.clear()
        inline.split_first_line = preferred.split_first_line = split_first_line
        for module in STRUT_USERS:
            module.strut = strut
    return True


def uninstall() -> None:
    """Give WeasyPrint its own function back and forget every kept result."""
    global _font_config
    with _lock:
        inline.split_first_line = preferred.split_first_line = _original
        for module in STRUT_USERS:
            module.strut = _original_strut
        _font_config = None
        _results.clear()
        _struts.clear()


def split_first_line(text: str, style: Any, context: Any, max_width: float | None, justification_spacing: float,
                     is_line_start: bool = True, minimum: bool = False) -> tuple:
    """WeasyPrint's split_first_line, remembered for the installed font configuration."""
    global hits, misses
    if style.font_config is not _font_config:
        return _original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
    key = (text, max_width, justification_spacing, is_line_start, minimum,
           *(style[name] for name in TEXT_PROPERTIES))
    try:
        kept = _results.get(key)
    except TypeError:  # an unhashable property value: measure as WeasyPrint does
        return _original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
    if kept is None:
        misses += 1
        kept = _original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        if len(_results) >= MAX_ENTRIES:
            _results.clear()
        _results[key] = kept
    else:
        hits += 1
    layout, *measures = kept
    return (copy.copy(layout), *measures)  # drawing reactivates the layout: every box gets its own


def strut(style: Any) -> tuple[float, float]:
    """WeasyPrint's strut (line height, baseline), remembered for each style of the installed font configuration."""
    if style.font_config is not _font_config:
        return _original_strut(style)
    kept = _struts.get(id(style))
    if kept is not None and kept[0] is style:
        return kept[1]
    result = _original_strut(style)
    if len(_struts) >= MAX_ENTRIES:
        _struts.clear()
    _struts[id(style)] = (style, result)  # the style is held, so its identity is never reused
    return result
