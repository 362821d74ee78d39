"""Python's cycle collector paused around work that allocates much and frees nothing meanwhile."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cycle collection inside the block (each would only walk the new objects again); as before after it.

    Used where thousands of objects are built that live until the block ends: a render's boxes,
    a batch's plan over every contract and manifest record.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
