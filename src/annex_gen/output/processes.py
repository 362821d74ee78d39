"""Processes that render: how many, how they start, and that they end with their parent.

Used by `generate`, `batch` and the web application's render pool.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # multiprocessing is imported when a worker starts, not by a one-annex command
    import multiprocessing.context


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def context(*, fork_when_alone: bool = False) -> multiprocessing.context.BaseContext:
    """spawn: fresh workers that are direct children, so the kernel can end them with the parent.

    (fork would copy a process that may run threads; forkserver workers outlive a killed parent.)
    With fork_when_alone, a process running one thread (a command) forks: its workers start with
    what it has imported and read instead of importing and reading it again.
    """
    import multiprocessing
    import threading

    if fork_when_alone and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def worker_start() -> None:
    """A worker's set-up: Ctrl-C left to the parent (which lets running annexes finish), and
    on Linux ended by the kernel when the parent dies, rather than write on unrecorded."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
