"""The job queue: procrastinate over the archive's database, its tables in the schema annex_queue.

One job per annex or change notice to render, or message to send (`annex_gen.render_item`,
arguments: run and row; team.send_runs sends a send run's message).
A worker is a procrastinate worker running one job at a time in this process (renders are
CPU-bound: run one worker per core). It beats a heartbeat; every worker also looks, once per heartbeat, for jobs
held by a worker whose heartbeat stopped (killed, machine gone) and puts them back in the
queue, so a SIGKILL costs only the time until the next look. The row, not the job, says whether
the annex is done (team.runs.render_item), so a job run twice renders once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from annex_gen.team.schema import QUEUE_SCHEMA, SCHEMA, connect

QUEUE = "annex-gen"
RENDER_TASK = "annex_gen.render_item"
HEARTBEAT_S = 10.0
STALLED_AFTER_HEARTBEATS = 3

log = logging.getLogger("annex_gen.worker")

_worker_url: str | None = None
_connection: Any = None
_connection_lock = threading.Lock()


def _connection_kwargs() -> dict[str, Any]:
    return {"options": f"-c search_path={QUEUE_SCHEMA}"}


def queue_app(url: str, *, worker: bool = False) -> Any:
    """The procrastinate application over url: async for a worker, sync for deferring."""
    import procrastinate

    if worker:
        connector = procrastinate.PsycopgConnector(conninfo=url, kwargs=_connection_kwargs(), min_size=1, max_size=4)
    else:
        connector = procrastinate.SyncPsycopgConnector(conninfo=url, kwargs=_connection_kwargs(), min_size=1,
                                                       max_size=2)
    app = procrastinate.App(connector=connector)
    app.task(name=RENDER_TASK, queue=QUEUE,
             retry=procrastinate.RetryStrategy(max_attempts=5, wait=2))(render_item_job)
    return app


def defer_items(url: str, run_id: int, positions: list[int]) -> list[int]:
    """One job per row to render; return the job ids."""
    if not positions:
        return []
    app = queue_app(url)
    with app.open():
        return app.configure_task(RENDER_TASK, queue=QUEUE).batch_defer(
            *({"run_id": run_id, "position": p} for p in positions))


def render_item_job(run_id: int, position: int) -> str:
    """The job: render and store one row of a run, or send its message (a plain function; procrastinate runs it
    in a thread)."""
    global _connection
    from annex_gen.team import send_runs
    from annex_gen.team.runs import kind_of, render_item

    with _connection_lock:  # one job at a time per worker; the connection is the worker's
        if _connection is None or _connection.closed:
            assert _worker_url is not None, "render_item_job runs in a worker"
            _connection = connect(_worker_url, SCHEMA)
        if kind_of(_connection, run_id) == send_runs.KIND:
            outcome = send_runs.send_item(_connection, _worker_url, run_id, position)
        else:
            outcome = render_item(_connection, run_id, position)
    log.info("run %s row %s: %s", run_id, position, outcome)
    return outcome


async def retry_stalled(app: Any, seconds: float) -> list[int]:
    """Put back in the queue the jobs of workers whose heartbeat is older than seconds; return their ids."""
    jobs = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds, queue=QUEUE)
    for job in jobs:
        await app.job_manager.retry_job(job)
        log.warning("job %s (%s) was held by a worker that stopped; queued again", job.id, job.task_kwargs)
    return [job.id for job in jobs]


async def _watch_stalled(app: Any, heartbeat_s: float) -> None:
    while True:
        with contextlib.suppress(Exception):  # a database hiccup: look again next beat
            await retry_stalled(app, heartbeat_s * STALLED_AFTER_HEARTBEATS)
        await asyncio.sleep(heartbeat_s)


def run_worker(url: str, *, heartbeat_s: float = HEARTBEAT_S, name: str | None = None,
               once: bool = False, ready: Callable[[], None] | None = None) -> None:
    """Take jobs until SIGINT or SIGTERM (a running job finishes first); with once, until the queue is empty."""
    global _worker_url
    _worker_url = url
    app = queue_app(url, worker=True)

    async def main() -> None:
        async with app.open_async():
            watcher = asyncio.create_task(_watch_stalled(app, heartbeat_s))
            if ready is not None:
                ready()
            try:
                await app.run_worker_async(
                    queues=[QUEUE], name=name, concurrency=1, wait=not once, install_signal_handlers=True,
                    update_heartbeat_interval=heartbeat_s,
                    stalled_worker_timeout=heartbeat_s * STALLED_AFTER_HEARTBEATS, delete_jobs="successful")
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    asyncio.run(main())
