"""The batch: regenerate every changed annex of many contracts in parallel worker processes.

`run_batch()` reads top to bottom: lock the output directory, read its manifest, sweep what
a killed run left behind, gather the inputs, decide per customer (unchanged, to render or
failed), list the files about to be written, render in worker processes, and record each
result in the manifest as it lands. A worker process that dies (killed, out of memory) costs
only the contracts it held: they are retried once in a new pool, then recorded as failed.

A customer is unchanged when its input, the registry content and the templates are those
recorded (no parsing needed), or when its resolved content and the templates are (the
registry changed elsewhere). Only rendering imports WeasyPrint and python-docx, and only in
the workers, so a batch with nothing to do stays fast.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen import __version__, collector
from annex_gen.batch import journal
from annex_gen.batch.journal import RunLog
from annex_gen.batch.manifest import FileRecord, Manifest, Record, locked
from annex_gen.errors import AnnexGenError, BatchInterrupted, Diagnostic
from annex_gen.inputs.sources import InputFailure, Source, duplicate_ids, gather
from annex_gen.model import Annex, Contract, Registry
from annex_gen.output.processes import context, default_jobs, worker_start
from annex_gen.resolve import in_force_after, next_annex, resolve

FLUSH_SECONDS = 1.0
MAX_ATTEMPTS = 2  # a contract whose worker process dies is retried once in a new pool


@dataclass(frozen=True)
class Failure:
    """A contract that produced no annex, and why."""

    source: str
    reason: str
    customer_id: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)  # the reason's, for other languages


@dataclass(frozen=True)
class Event:
    """A progress report: 'planned' once, then one of generated, unchanged or failed per contract."""

    kind: str
    done: int
    total: int
    to_render: int = 0
    customer_id: str | None = None
    source: str = ""
    detail: str = ""


Progress = Callable[[Event], None]


@dataclass
class BatchResult:
    """What a batch did: generated (customer id, document id), unchanged ids and failures."""

    total: int = 0
    generated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class _Job:
    source: Source
    contract: Contract
    annex: Annex
    content: str
    input_key: str


def _date_problem(registry: Registry, date: dt.date) -> str | None:
    """inputs.contract.date_problem, imported only when a contract is read (a no-op batch reads none)."""
    from annex_gen.inputs.contract import date_problem

    return date_problem(registry, date)


def input_key(source: Source, registry: Registry) -> str:
    """What the annex depends on besides the templates: the input, the registry content, the code."""
    return hashlib.sha256(f"{source.digest}\0{registry.digest}\0{registry.status}\0{__version__}".encode()).hexdigest()


# Worker processes

_worker_registry: Registry | None = None


def _init_worker(registry: Registry) -> None:
    """Keep the registry; Ctrl-C left to the parent, ended with it (processes.worker_start)."""
    global _worker_registry
    _worker_registry = registry
    worker_start()


def _render(job: tuple[Contract, Annex, str], out_dir: Path, registry: Registry) -> tuple:
    """Write one annex with a PDF engine; return ('ok', document_id, {format: FileRecord}) or ('failed', reason)."""
    from annex_gen.output.generate import generate  # the PDF/DOCX stack loads only where annexes are rendered

    contract, annex, engine = job
    try:
        result = generate(registry, contract, out_dir, annex=annex, engine=engine)
        return ("ok", result.document_id, {fmt: FileRecord.of(out_dir, p) for fmt, p in result.files.items()})
    except AnnexGenError as exc:
        return ("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken annex must not stop the batch
        return ("failed", f"internal error: {type(exc).__name__}: {exc}")


class StopRequest:
    """Ctrl-C or SIGTERM asks the batch to stop: no new work starts, running work finishes.

    The first signal only sets a flag that the loop polls, so it can never land between
    writing an annex and recording it; a second one raises KeyboardInterrupt to stop at once.
    """

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A StopRequest set by SIGINT and SIGTERM while the block runs (main thread only)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, stop._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stamp(source: Source) -> tuple[str | None, str | None]:
    """The input's stat stamp (None while it cannot be trusted) and its digest, as the record keeps them."""
    return source.stamp, source.digest


class _Recorder:
    """Applies results to the manifest, writing it at most once a second, then drops superseded files."""

    def __init__(self, manifest: Manifest, registry: Registry, templates: str) -> None:
        self.manifest = manifest
        self.registry = registry
        self.templates = templates
        self.superseded: list[Path] = []
        self.dirty = False
        self.flushed = time.monotonic()

    def generated(self, job: _Job, document_id: str, files: dict[str, FileRecord]) -> None:
        cid = job.contract.customer_id
        old = self.manifest.records.get(cid)
        self.manifest.records[cid] = Record(
            cid, job.source.label, job.input_key, document_id, job.content, self.registry.version,
            self.templates, files, dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            *_stamp(job.source), job.annex.status, in_force_after(old, job.annex),
        )
        if old is not None:
            keep = {f.path for f in files.values()}
            self.superseded += [self.manifest.out_dir / f.path for f in old.files.values()
                                if f.path not in keep]
        self.touch()

    def unchanged(self, record: Record, source: Source, key: str) -> None:
        stamp = _stamp(source)
        if (record.source, record.input_key, record.source_stamp, record.source_sha256) != (source.label, key, *stamp):
            self.manifest.records[record.customer_id] = record._replace(
                source=source.label, input_key=key, source_stamp=stamp[0], source_sha256=stamp[1])
            self.touch()

    def touch(self) -> None:
        self.dirty = True
        if time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.dirty:
            self.manifest.save()
            self.dirty = False
        self.flushed = time.monotonic()
        # Only once the manifest no longer lists them.
        for path in self.superseded:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.superseded.clear()


def _plan(registry: Registry, sources: list[Source], input_failures: list[InputFailure], manifest: Manifest,
          templates: str, force: bool, result: BatchResult, recorder: _Recorder) -> list[_Job]:
    """Decide per input: unchanged (recorded now), failed (recorded now) or a job to render."""
    by_source = manifest.by_source()
    result.failed += [Failure(f.label, f.message, diagnostics=f.diagnostics) for f in input_failures]
    unchanged: list[tuple[Record, Source, str]] = []
    jobs: list[_Job] = []
    for source in sources:
        key = input_key(source, registry)
        record = by_source.get(source.label)
        if (not force and record is not None and record.input_key == key and record.templates == templates
                and manifest.files_present(record)):
            unchanged.append((record, source, key))
            continue
        try:
            # the date is checked below: a replacement under the change procedure is dated anew
            contract, warnings = source.load(registry, check_date=False)
            annex = resolve(registry, contract)
        except AnnexGenError as exc:
            result.failed.append(Failure(source.label, str(exc),
                                         diagnostics=tuple(getattr(exc, "diagnostics", ()))))
            continue
        content = annex.content_hash()
        record = manifest.records.get(contract.customer_id)
        if (not force and record is not None and record.content_hash == content
                and record.templates == templates and manifest.files_present(record)):
            result.warnings += warnings
            unchanged.append((record, source, key))
            continue
        # the annex it replaces, if any; when only the registry changed, the one its change notice issues
        # (dated the day the change takes effect), so both give one ID
        annex = next_annex(registry, contract, annex, record,
                           same_contract=record is not None and record.source_sha256 == source.digest)
        if not annex.issued_by_notice and (problem := _date_problem(registry, contract.date)):
            result.failed.append(Failure(source.label, f"{source.label}: contract.date: {problem}"))
            continue
        result.warnings += warnings
        jobs.append(_Job(source, contract, annex, content, key))
    ids = [(r.customer_id, s.label) for r, s, _ in unchanged]
    ids += [(j.contract.customer_id, j.source.label) for j in jobs]
    duplicates = duplicate_ids(ids)
    for label, message in duplicates.items():
        cid = next(cid for cid, lab in ids if lab == label)
        result.failed.append(Failure(label, message, cid))
    for record, source, key in unchanged:
        if source.label not in duplicates:
            recorder.unchanged(record, source, key)
            result.unchanged.append(record.customer_id)
    return [j for j in jobs if j.source.label not in duplicates]


def run_batch(registry: Registry, paths: Iterable[Path], out_dir: Path, *, jobs: int | None = None,
              force: bool = False, progress: Progress | None = None, engine: str = "weasyprint",
              log: RunLog | None = None) -> BatchResult:
    """Regenerate the annexes of every contract in paths whose content, templates or PDF engine changed.

    Raises OutputLocked if another batch holds out_dir, and BatchInterrupted (carrying the
    result so far) on Ctrl-C or SIGTERM, after recording everything that finished. With log, the
    run is recorded in the audit log (refused before anything is written if it cannot be), and an
    earlier run killed before its entry was written gets its entry first (see batch.journal).
    """
    from annex_gen.output.generate import output_path
    from annex_gen.render import DOCUMENT_FORMATS, templates_digest

    start = time.perf_counter()
    result = BatchResult()
    notify = progress or (lambda event: None)
    with locked(out_dir), stop_on_signals() as stop:
        with collector.paused():  # planning allocates per contract and frees nothing: a tenth of a no-op
            try:
                manifest = Manifest.load(out_dir)
            except AnnexGenError:
                if not force:
                    raise
                manifest = Manifest(out_dir)
            result.warnings += manifest.corrupt
            manifest.sweep()
            if log is not None:
                log.ready()
                journal.reconcile(manifest, log)
            templates = templates_digest(engine)
            recorder = _Recorder(manifest, registry, templates)
            sources, input_failures = gather(paths, {} if force else manifest.stamps())
            todo = _plan(registry, sources, input_failures, manifest, templates, force, result, recorder)
        total = result.total = len(result.unchanged) + len(result.failed) + len(todo)
        done = 0
        notify(Event("planned", 0, total, to_render=len(todo)))
        for cid in result.unchanged:
            done += 1
            notify(Event("unchanged", done, total, customer_id=cid))
        for failure in result.failed:
            done += 1
            notify(Event("failed", done, total, customer_id=failure.customer_id, source=failure.source,
                         detail=failure.reason))

        def finished(index: int, outcome: tuple) -> None:
            nonlocal done
            done += 1
            job = todo[index]
            cid = job.contract.customer_id
            if outcome[0] == "ok":
                recorder.generated(job, outcome[1], outcome[2])
                result.generated.append((cid, outcome[1]))
            else:
                result.failed.append(Failure(job.source.label, outcome[1], cid))
            kind = "generated" if outcome[0] == "ok" else "failed"
            notify(Event(kind, done, total, customer_id=cid, source=job.source.label, detail=outcome[1]))

        def retried(index: int) -> None:
            result.warnings.append(Diagnostic(
                todo[index].source.label, None, None, "", "a worker process died while this contract was being "
                "rendered (killed, or out of memory); it is rendered again in a new worker process", "warning"))

        if log is not None:
            journal.begin(out_dir, log.started_by)
        if todo:
            manifest.begin([output_path(out_dir, job.annex, fmt) for job in todo for fmt in DOCUMENT_FORMATS])
        try:
            payloads = [(job.contract, job.annex, engine) for job in todo]
            run_in_workers(_render, registry, payloads, out_dir, jobs, finished, stop, retried)
            result.interrupted = stop.requested
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            recorder.flush()
            manifest.sweep()
            if log is not None:
                _record_run(log, result, out_dir)
        result.seconds = time.perf_counter() - start
    if result.interrupted:
        raise BatchInterrupted(result=result)
    return result


def _record_run(log: RunLog, result: BatchResult, out_dir: Path) -> None:
    """The run's audit entry, then its journal removed; a run whose entry cannot be written keeps its journal."""
    what = (f"{len(result.generated)} generated, {len(result.unchanged)} unchanged, {len(result.failed)} failed"
            + ("; interrupted" if result.interrupted else ""))
    log.record(what, [document for _, document in result.generated],
               {"variant": "failed" if result.interrupted else "done", "generated": len(result.generated),
                "unchanged": len(result.unchanged), "failed": len(result.failed)})
    journal.end(out_dir)


Work = Callable[[Any, Path, Registry], tuple]


def _call(work: Work, payload: Any, out_dir: Path) -> tuple:
    assert _worker_registry is not None
    return work(payload, out_dir, _worker_registry)


def run_in_workers(work: Work, registry: Registry, payloads: list, out_dir: Path, jobs: int | None,
                   finished: Callable[[int, tuple], None], stop: Callable[[], bool] = lambda: False,
                   retried: Callable[[int], None] = lambda index: None) -> None:
    """work(payload, out_dir, registry) for every payload; finished(index, outcome) as each ends.

    Runs in this process for one job (or one payload), else in `jobs` worker processes, one
    payload per worker at a time. Once stop() is true no new payload starts and the running
    ones finish and are reported; a KeyboardInterrupt (a second Ctrl-C) kills the workers.
    When a worker process dies, the payloads its pool held are retried once each, alone in a
    new pool (retried(index) says so); one whose retry dies too is reported as failed. work
    must be a module-level function returning a picklable outcome, and must not raise.
    """
    workers = min(jobs or default_jobs(), len(payloads))
    if workers <= 1:
        for index, payload in enumerate(payloads):
            if stop():
                return
            finished(index, work(payload, out_dir, registry))
        return
    import concurrent.futures as cf  # a pool's modules load only when there is one
    from concurrent.futures.process import BrokenProcessPool

    pending = collections.deque(enumerate(payloads))
    attempts: collections.Counter[int] = collections.Counter()
    running: dict[cf.Future, int] = {}

    def new_pool() -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(workers, mp_context=context(), initializer=_init_worker,
                                      initargs=(registry,))

    def submit() -> None:
        # A retry runs alone, so a second death is its own and never takes another contract with it.
        while len(running) < workers and pending and not stop():
            index, payload = pending[0]
            if (attempts[index] and running) or any(attempts[i] > 1 for i in running.values()):
                return
            pending.popleft()
            attempts[index] += 1
            running[pool.submit(_call, work, payload, out_dir)] = index

    def outcome_of(future: cf.Future, index: int) -> tuple | None:
        """The outcome, or None when the work goes back to the queue (its pool broke, first time)."""
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (kill -9, the OOM killer): every contract the pool held lands here.
            if attempts[index] < MAX_ATTEMPTS:
                pending.appendleft((index, payloads[index]))
                retried(index)
                return None
            return ("failed", f"its worker process died {attempts[index]} times while rendering it "
                              "(killed, or out of memory); the other contracts went on")
        except Exception as exc:  # noqa: BLE001 - the work itself must not raise; report it if it does
            return ("failed", f"worker process failed: {type(exc).__name__}: {exc}")

    pool = new_pool()
    try:
        submit()
        while running:
            done, _ = cf.wait(running, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                index = running.pop(future)
                outcome = outcome_of(future, index)
                if outcome is None:
                    broken = True
                else:
                    finished(index, outcome)
            if broken or getattr(pool, "_broken", False):
                # The rest of a broken pool's work fails at once; collect it, then start a new pool.
                for future in cf.wait(running).done:
                    index = running.pop(future)
                    outcome = outcome_of(future, index)
                    if outcome is not None:
                        finished(index, outcome)
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
            submit()
    except KeyboardInterrupt:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
