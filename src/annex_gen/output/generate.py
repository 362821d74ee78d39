"""Resolve, render and write one customer's annex files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from annex_gen.model import Annex, Contract, Registry
from annex_gen.output.processes import context, default_jobs, worker_start
from annex_gen.output.write import write_atomic
from annex_gen.render import DEFAULT_ENGINE, DOCUMENT_FORMATS, load_renderers, render, renders_unlocked
from annex_gen.resolve import resolve
from annex_gen.resources import TEMPLATES_DIR

STYLESHEET = "annex.css"


@dataclass(frozen=True)
class Generated:
    """What generate() wrote for one contract."""

    customer_id: str
    document_id: str
    files: dict[str, Path] = field(default_factory=dict)


def output_path(out_dir: Path, annex: Annex, fmt: str) -> Path:
    """OUT/<customer-id>/<document-id>.<ext>."""
    return out_dir / annex.customer_id / f"{annex.document_id}.{fmt}"


def generate(
    registry: Registry,
    contract: Contract,
    out_dir: Path,
    formats: Iterable[str] = DOCUMENT_FORMATS,
    annex: Annex | None = None,
    engine: str = DEFAULT_ENGINE,
    before_write: Callable[[list[Path]], None] | None = None,
) -> Generated:
    """Render every format in memory first (the PDF with engine), then write each file atomically.

    before_write(paths) runs once everything is rendered, before any file is written; what it
    raises leaves the output as it was (the audit entry is written there).
    """
    annex = annex or resolve(registry, contract)
    rendered = {fmt: render(annex, fmt, engine) for fmt in formats}
    if before_write is not None:
        before_write([output_path(out_dir, annex, fmt) for fmt in rendered])
    files = {}
    for fmt, data in rendered.items():
        path = output_path(out_dir, annex, fmt)
        write_atomic(path, data)
        files[fmt] = path
    if "html" in rendered:  # the stylesheet the HTML links to, so it previews styled in a browser
        write_atomic(out_dir / annex.customer_id / STYLESHEET, (TEMPLATES_DIR / STYLESHEET).read_bytes())
    return Generated(annex.customer_id, annex.document_id, files)


# Several contracts: this process and worker processes share them

SHARED_FROM = 6  # a worker's start costs about what four or five annexes' renders do
_worker_registry: Registry | None = None


def _worker_start(registry: Registry) -> None:
    global _worker_registry
    _worker_registry = registry
    worker_start()


def _in_worker(contract: Contract, out_dir: Path, formats: tuple[str, ...], engine: str) -> Generated:
    assert _worker_registry is not None
    return generate(_worker_registry, contract, out_dir, formats, engine=engine)


def generate_all(registry: Registry, contracts: Sequence[Contract], out_dir: Path, formats: Sequence[str],
                 engine: str = DEFAULT_ENGINE, jobs: int | None = None) -> list[Generated]:
    """generate() for every contract, in their order; `jobs` (one per core by default) share them.

    A renderer that works outside the interpreter's lock (Typst's PDF) shares them among threads, which
    start at once. Others share them among processes, from SHARED_FROM contracts on: this one takes
    contracts from the end while the workers (forked, with the renderers imported, from a command's
    one thread) start and take them from the front. The files are the same whichever thread or process
    writes them."""
    formats = tuple(formats)
    jobs = min(jobs or default_jobs(), len(contracts))
    if jobs > 1 and renders_unlocked(formats, engine):
        return _in_threads(registry, contracts, out_dir, formats, engine, jobs)
    if jobs <= 1 or len(contracts) < SHARED_FROM:
        return [generate(registry, c, out_dir, formats, engine=engine) for c in contracts]
    import concurrent.futures as cf

    done: list[Generated | None] = [None] * len(contracts)
    mp_context = context(fork_when_alone=True)
    if mp_context.get_start_method() == "fork":
        load_renderers(formats, engine)  # once, here, for this process and the workers
    with cf.ProcessPoolExecutor(jobs - 1, mp_context=mp_context, initializer=_worker_start,
                                initargs=(registry,)) as pool:
        futures = [pool.submit(_in_worker, c, out_dir, formats, engine) for c in contracts]
        try:
            for index in reversed(range(len(contracts))):
                if futures[index].cancel():  # no worker has taken it yet
                    done[index] = generate(registry, contracts[index], out_dir, formats, engine=engine)
            return [generated or futures[i].result() for i, generated in enumerate(done)]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # the annexes being written finish; no new one starts
            raise


def _in_threads(registry: Registry, contracts: Sequence[Contract], out_dir: Path, formats: tuple[str, ...],
                engine: str, jobs: int) -> list[Generated]:
    """`jobs` threads, this one among them, take the contracts in turn; after a failure (or Ctrl-C) each
    finishes the annex it is writing and takes no other. Raised: an interruption, else the failure of
    the first contract in order, whichever thread met it first."""
    import threading

    results: list[Generated | None] = [None] * len(contracts)
    failures: list[tuple[int, BaseException]] = []  # (contract index, or -1 for an interruption here)
    turns = iter(range(len(contracts)))  # taking the next is one step under the interpreter's lock

    def work() -> None:
        for index in turns:
            if failures:
                return
            try:
                results[index] = generate(registry, contracts[index], out_dir, formats, engine=engine)
            except BaseException as exc:
                failures.append((-1 if isinstance(exc, KeyboardInterrupt) else index, exc))
                return

    others = [threading.Thread(target=work, name=f"annex-gen-render-{n}", daemon=True) for n in range(1, jobs)]
    try:
        for thread in others:
            thread.start()
        work()
    except BaseException as exc:  # Ctrl-C while starting the threads or between two annexes
        failures.append((-1, exc))
    for thread in others:
        while thread.is_alive():  # a second Ctrl-C still lets each thread finish its annex
            try:
                thread.join()
            except BaseException as exc:
                failures.append((-1, exc))
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return [generated for generated in results if generated is not None]
