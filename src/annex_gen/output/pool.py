"""Warm render processes shared by every request of a server.

A download whose file is not generated yet is written by one of `workers` processes (one per
core by default); the server's own threads only wait for it. The processes are started as the
batch's are (spawn, ended with their parent, Ctrl-C left to the parent: batch.run), and each
imports the renderers and renders one annex in memory as it starts, so the first download
after start-up is as fast as the next. They run at a lower priority (nice 5) than the server,
so pages and cached files are answered while they render. A process that dies (killed, out of memory) costs only
the renders it held: the pool is replaced and each is tried once more, then reported failed.

The pool is shared by every application in a process (`RenderPool.shared`): a server has one.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from annex_gen.batch.run import _init_worker
from annex_gen.errors import RenderError
from annex_gen.output.processes import context as _mp_context
from annex_gen.output.processes import default_jobs

if TYPE_CHECKING:
    from annex_gen.audit import Actor

MAX_ATTEMPTS = 2
NICENESS = 5


def _init(warm_with: tuple[Path, Path] | None) -> None:
    """A worker's start: the batch's process set-up, then every renderer imported and run once."""
    _init_worker(None)  # type: ignore[arg-type] - the web's renders load the registry per request
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # the server's own process answers first; renders take the rest of the CPU
    with contextlib.suppress(Exception):  # warming is best effort: a render's own errors come with the render
        warm(*warm_with) if warm_with else warm_imports()


def warm_imports() -> None:
    """Import the PDF and DOCX stacks (WeasyPrint, python-docx) and the templates."""
    from annex_gen.output import generate  # noqa: F401
    from annex_gen.render import docx, html, pdf  # noqa: F401


def warm(registry_dir: Path, customers_dir: Path) -> None:
    """Render the first readable contract's annex in memory, in every document format (nothing written)."""
    from annex_gen import app
    from annex_gen.render import DOCUMENT_FORMATS, render

    warm_imports()
    _, listing = app.contract_listing(registry_dir, customers_dir, Path(os.devnull))
    if listing.entries:
        for fmt in DOCUMENT_FORMATS:
            render(listing.entries[0].annex, fmt)


def write_annex(registry_dir: Path, customers_dir: Path, out_dir: Path, customer_id: str, fmt: str,
                archive: str | Path | None = None, actor: Actor | None = None) -> tuple[Path, bool, int]:
    """app.annex_file in a worker, final or draft by the archive's approvals and recorded by actor before it is
    written: (the file, whether it was written now, the worker's process id)."""
    from annex_gen import app

    existed = app.annex_output(registry_dir, customers_dir, out_dir, customer_id, fmt, archive).is_file()
    path = app.annex_file(registry_dir, customers_dir, out_dir, customer_id, fmt, actor=actor, archive=archive)
    return path, not existed, os.getpid()


class RenderPool:
    """Worker processes for renders; submit() returns a future the caller may wait on from any thread."""

    _shared: ClassVar[dict[int, RenderPool]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, workers: int | None = None, warm_with: tuple[Path, Path] | None = None) -> None:
        self.workers = workers or default_jobs()
        self.warm_with = warm_with
        self._lock = threading.Lock()
        self._executor: cf.ProcessPoolExecutor | None = None

    @classmethod
    def shared(cls, workers: int | None = None, warm_with: tuple[Path, Path] | None = None) -> RenderPool:
        """The process's pool of that many workers (one per core by default), made on first use."""
        count = workers or default_jobs()
        with cls._shared_lock:
            if count not in cls._shared:
                cls._shared[count] = cls(count, warm_with)
            return cls._shared[count]

    def _current(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = cf.ProcessPoolExecutor(self.workers, mp_context=_mp_context(), initializer=_init,
                                                        initargs=(self.warm_with,))
            return self._executor

    def _replace(self, broken: cf.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def start(self) -> None:
        """Start (and warm) every worker now rather than at the first render."""
        executor = self._current()
        try:
            for _ in range(self.workers):
                executor.submit(os.getpid)
        except BrokenProcessPool:  # a worker of an earlier use died: start afresh
            self._replace(executor)
            self.start()

    def submit(self, work: Callable[..., Any], *args: Any) -> cf.Future:
        """work(*args) in a worker process; a worker's death retries it once in a new pool."""
        result: cf.Future = cf.Future()

        def attempt(number: int) -> None:
            executor = self._current()
            try:
                inner = executor.submit(work, *args)
            except BrokenProcessPool:  # broke between _current() and submit
                self._replace(executor)
                inner = self._current().submit(work, *args)
            inner.add_done_callback(lambda done: settle(done, executor, number))

        def settle(done: cf.Future, executor: cf.ProcessPoolExecutor, number: int) -> None:
            if done.cancelled() or result.cancelled():  # the pool shut down, or the waiting request went away
                result.cancel()
                return
            error = done.exception()
            if isinstance(error, BrokenProcessPool):
                self._replace(executor)
                if number < MAX_ATTEMPTS:
                    threading.Thread(target=attempt, args=(number + 1,), daemon=True).start()
                    return
                error = RenderError(f"the render process stopped {number} times while rendering this annex "
                                    "(killed, or out of memory); try again, or tell the administrator")
            with contextlib.suppress(cf.InvalidStateError):  # cancelled meanwhile
                if error is not None:
                    result.set_exception(error)
                else:
                    result.set_result(done.result())

        attempt(1)
        return result

    def shutdown(self) -> None:
        """Stop the workers (at the server's end)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
