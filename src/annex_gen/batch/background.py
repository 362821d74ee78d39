"""A batch run in a background thread, with progress a web page can poll; one at a time per process.

The batch itself renders in worker processes (batch.run); this thread only waits for them and
keeps the latest counts. A second batch while one runs is refused with the same error a
second `annex-gen batch` on a locked output directory gives.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from annex_gen.batch.run import BatchResult, Event, Progress
from annex_gen.errors import AnnexGenError, OutputLocked

IDLE, RUNNING, FINISHED, FAILED = "idle", "running", "finished", "failed"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BatchProgress:
    """A snapshot of the background batch: its state, counts so far, and its result once finished."""

    state: str = IDLE
    started_by: str = ""
    started_at: str = ""
    finished_at: str = ""
    done: int = 0
    total: int = 0
    to_render: int = 0
    generated: int = 0
    unchanged: int = 0
    failed: int = 0
    last: str = ""  # the customer the last event was about
    error: str | None = None
    error_code: str = ""  # the error's text in the web catalogs (msg.<code>), with error_params
    error_params: dict[str, Any] = field(default_factory=dict)
    result: BatchResult | None = None
    notice_date: str = ""  # a team's notices run: the date of the notices it writes
    kind: str = "batch"  # a team's run: batch, notices or send

    @property
    def percent(self) -> int:
        """How far the batch is, 0-100."""
        if self.state == FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for polling."""
        return {"state": self.state, "started_by": self.started_by, "started_at": self.started_at,
                "finished_at": self.finished_at, "done": self.done, "total": self.total,
                "to_render": self.to_render, "generated": self.generated, "unchanged": self.unchanged,
                "failed": self.failed, "percent": self.percent, "last": self.last, "error": self.error}


class BatchRunner:
    """Runs one batch at a time in a daemon thread and reports its progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress = BatchProgress()
        self._thread: threading.Thread | None = None

    def progress(self) -> BatchProgress:
        """The latest snapshot."""
        with self._lock:
            return self._progress

    def start(self, run: Callable[[Progress], BatchResult], *, out_dir: Path, started_by: str,
              on_finish: Callable[[BatchProgress], None] | None = None) -> BatchProgress:
        """Start run(progress) in the background; raise OutputLocked if a batch is running."""
        with self._lock:
            if self._progress.state == RUNNING:
                p = self._progress
                raise OutputLocked(out_dir=out_dir, holder=f"started by {p.started_by} at {p.started_at}, "
                                                           f"{p.done} of {p.total} done")
            self._progress = BatchProgress(RUNNING, started_by, _now())
            started = self._progress
        self._thread = threading.Thread(target=self._run, args=(run, on_finish), name="annex-gen-batch",
                                        daemon=True)
        self._thread.start()
        return started

    def wait(self, timeout: float | None = None) -> BatchProgress:
        """Wait for the running batch (if any) to end; return the latest snapshot."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.progress()

    def _event(self, event: Event) -> None:
        with self._lock:
            p = self._progress
            counts = {k: getattr(p, k) + (event.kind == k) for k in ("generated", "unchanged", "failed")}
            to_render = event.to_render if event.kind == "planned" else p.to_render
            self._progress = replace(p, done=event.done, total=event.total, to_render=to_render,
                                     last=event.customer_id or p.last, **counts)

    def _run(self, run: Callable[[Progress], BatchResult],
             on_finish: Callable[[BatchProgress], None] | None) -> None:
        result: BatchResult | None = None
        error: str | None = None
        code, params = "", {}
        try:
            result = run(self._event)
        except AnnexGenError as exc:
            error, code, params = str(exc), exc.code, dict(exc.params)
            result = getattr(exc, "result", None)
        except Exception as exc:  # noqa: BLE001 - reported on the page; the server keeps running
            error = f"internal error: {type(exc).__name__}: {exc}"
            code, params = "batch.internal", {"error": f"{type(exc).__name__}: {exc}"}
        with self._lock:
            self._progress = replace(self._progress, state=FAILED if error else FINISHED, finished_at=_now(),
                                     error=error, error_code=code, error_params=params, result=result)
            final = self._progress
        if on_finish is not None:
            on_finish(final)
