"""Reuse WeasyPrint's computed styles across the documents of one process.

WeasyPrint computes a style for every element and for six pseudo-elements of each (its user
agent stylesheet gives every element ::marker, ::footnote-call and the like): about 2,000
computed styles an annex, each built and filled anew in every document, a tenth of a render.
A computed style depends only on its parent's computed style, the element's cascaded
declarations (values and weights), the pseudo-element, the base URL and the font
configuration. WeasyPrint already shares one computed style among the elements of a document
that have the same parent style and matched rules; this keeps that sharing across documents.

The key is the parent style (by identity, and the entry holds it, so the identity stays
unique), the pseudo-element, the base URL and the cascaded declarations, compared by value
where they are hashable (a set as a frozenset) and by identity (held by the entry too) where
they are not. Page and page-margin styles are left to WeasyPrint, which adjusts them page by
page, and anchors are collected for each document as WeasyPrint collects them.

The wrapper replaces WeasyPrint's internal `StyleFor.set_computed_styles`, so like line_cache
it is installed only on the WeasyPrint version it was verified with and only for the styles of
the font configuration given to `install`. tests/integration/test_render_reuse.py checks every
example and a notice byte for byte against renders without it.
"""

from __future__ import annotations

import threading
from typing import Any

from weasyprint.css import StyleFor
from weasyprint.text.fonts import FontConfiguration

from annex_gen.render import line_cache

MAX_ENTRIES = 20_000  # the nine examples need about 3,400; emptied when full

_original = StyleFor.set_computed_styles
_lock = threading.Lock()
_font_config: FontConfiguration | None = None
_styles: dict[tuple, tuple] = {}
_BY_IDENTITY = object()
hits = misses = 0


def install(font_config: FontConfiguration) -> bool:
    """Keep computed styles of documents using font_config from now on; False (and nothing done) if unsupported."""
    global _font_config
    if not line_cache.supported():
        return False
    with _lock:
        if _font_config is not font_config:
            _font_config = font_config
            _styles.clear()
        StyleFor.set_computed_styles = set_computed_styles
    return True


def uninstall() -> None:
    """Give WeasyPrint its own method back and forget every kept style."""
    global _font_config
    with _lock:
        StyleFor.set_computed_styles = _original
        _font_config = None
        _styles.clear()


def _declarations(cascaded: dict[str, tuple[Any, Any]]) -> tuple:
    """The cascaded declarations as a key: values by value, a list by identity, a set as a frozenset."""
    key = []
    for name, (values, weight) in cascaded.items():
        kind = type(values)
        if kind is list:  # the same object in every document (the shared stylesheet's), so identity finds it
            values = (_BY_IDENTITY, id(values))
        elif kind is set:
            values = frozenset(values)
        key.append((name, values, weight))
    return tuple(key)


def set_computed_styles(self: StyleFor, element: Any, parent: Any, root: Any = None, pseudo_type: str | None = None,
                        base_url: str | None = None, target_collector: Any = None) -> None:
    """WeasyPrint's StyleFor.set_computed_styles, remembered for the installed font configuration."""
    global hits, misses
    if self.font_config is not _font_config or isinstance(element, tuple):  # a page type is a tuple
        return _original(self, element, parent, root, pseudo_type, base_url, target_collector)
    cascaded = self.get_cascaded_styles().get((element, pseudo_type), {})
    parent_style = None if element == root and pseudo_type is None else self.get_computed_styles()[parent, None]
    key = (id(parent_style), pseudo_type, base_url, _declarations(cascaded))
    try:
        kept = _styles.get(key)
    except TypeError:  # a value holding a list or a set: computed as WeasyPrint does
        return _original(self, element, parent, root, pseudo_type, base_url, target_collector)
    if kept is not None and kept[0] is parent_style:
        hits += 1
        computed = self.get_computed_styles()[element, pseudo_type] = kept[2]
        if target_collector and computed["anchor"]:
            target_collector.collect_anchor(computed["anchor"])
        return None
    misses += 1
    _original(self, element, parent, root, pseudo_type, base_url, target_collector)
    if len(_styles) >= MAX_ENTRIES:
        _styles.clear()
    # the parent and the declarations are held, so no identity in the key is ever reused
    _styles[key] = (parent_style, cascaded, self.get_computed_styles()[element, pseudo_type])
    return None
