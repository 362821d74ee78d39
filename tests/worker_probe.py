"""Functions the web tests run in the server's render processes (importable by spawned workers)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def loaded(module: str) -> tuple[int, bool]:
    """This process's id, and whether module is imported here."""
    return os.getpid(), module in sys.modules


def wait_for(path: Path, timeout: float = 60.0) -> int:
    """Wait until path exists (a slow render), at most timeout seconds; this process's id."""
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()
