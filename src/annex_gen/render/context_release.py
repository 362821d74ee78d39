"""Free a render's layout context when its PDF is written, not at the next cycle collection.

WeasyPrint's LayoutContext holds `partial(get_image_from_uri, context=self)`, a reference
cycle through which it keeps every computed style, box and measurement of the render (about
25,000 objects an annex) until Python's cycle collector finds them: a tenth of a render's
time went to that collection. Inside `released()`, each context made is remembered, and when
the block ends (the PDF written, nothing uses the context any more) that one attribute is
dropped, so reference counting frees the rest at once.

LayoutContext.__init__ is wrapped, so this is installed only on the WeasyPrint versions
line_cache was verified with; test_render_reuse compares every example and a notice with and
without it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from weasyprint import layout

from annex_gen.render import line_cache

_original_init = layout.LayoutContext.__init__
_made = threading.local()


def _init(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    made = getattr(_made, "contexts", None)
    if made is not None:
        made.append(self)


def install() -> bool:
    """Wrap LayoutContext.__init__; False (and nothing done) on an unverified WeasyPrint."""
    if not line_cache.supported():
        return False
    layout.LayoutContext.__init__ = _init
    return True


def uninstall() -> None:
    """Give WeasyPrint its own LayoutContext.__init__ back."""
    layout.LayoutContext.__init__ = _original_init


@contextmanager
def released() -> Iterator[None]:
    """Break the cycle of every layout context made in this thread while the block runs, once it ends."""
    outer = getattr(_made, "contexts", None)
    _made.contexts = made = []
    try:
        yield
    finally:
        _made.contexts = outer
        for context in made:
            context.__dict__.pop("get_image_from_uri", None)
        made.clear()
