"""A change run (a batch, or change notices) over the database: planned here, rendered by workers, followed
by anyone.

`plan_run` decides per contract as the local batch does (unchanged, failed, or to render,
filling `replaces` the same way), against each customer's latest stored document instead of
a manifest, and records the run with one row per contract. Each row to render carries the
resolved annex as JSON, so a worker needs neither the registry nor the contracts. `render_item`
is what a worker does with one row: it renders unless the row is done already, stores the
document (once per document ID) and marks the row in one transaction, so a worker killed at
any moment leaves the row queued for a retry and never a document without its row or twice.
A notices run (team.notice_runs) is the same machinery with a notice in each row, and a send run
(team.send_runs) with a message in each row.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from annex_gen.batch.run import BatchResult, Event, Failure, Progress
from annex_gen.errors import AnnexGenError, Diagnostic, OutputLocked
from annex_gen.inputs.sources import InputFailure, Source, duplicate_ids
from annex_gen.model import Annex, Contract, Registry
from annex_gen.resolve import next_annex, resolve
from annex_gen.team import documents
from annex_gen.team.schema import QUEUE_SCHEMA

RUN_LOCK = 0x72756E73  # "runs": taken while a run is planned, so two runs never overlap
MAX_ATTEMPTS = 3  # a row whose worker died this many times while rendering it fails


class RunInProgress(OutputLocked):
    """Another run of the team is unfinished: one at a time, as one batch per output directory."""

    def __init__(self, *, run_id: int, holder: str) -> None:
        AnnexGenError.__init__(self, f"run {run_id} is not finished yet ({holder}); wait for the workers to "
                               "finish it (`annex-gen runs --archive URL` shows its progress)")
        self.out_dir, self.holder = f"run {run_id}", holder


@dataclass(frozen=True)
class Item:
    """One contract of a run as planned."""

    source: str
    customer_id: str | None
    status: str  # queued, unchanged or failed
    document_id: str | None = None
    content_hash: str | None = None
    annex: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Plan:
    """What a run will do: its rows and the warnings of loading the contracts."""

    items: list[Item]
    warnings: list[Diagnostic]

    @property
    def to_render(self) -> int:
        return sum(1 for i in self.items if i.status == "queued")


def _payload(annex: Annex) -> str:
    return json.dumps({"annex": annex.to_dict(), "customer_register_id": annex.customer_register.id},
                      ensure_ascii=False, sort_keys=True)


def annex_of(payload: str) -> Annex:
    """The annex a row carries."""
    data = json.loads(payload)
    return Annex.from_dict(data["annex"], customer_register_id=data["customer_register_id"])


def plan(registry: Registry, sources: Iterable[Source], input_failures: Iterable[InputFailure],
         latest: dict[str, documents.StoredDocument], templates: str, formats: tuple[str, ...],
         force: bool = False,
         with_status: Callable[[list[documents.StoredDocument]], dict[str, documents.StoredDocument]] | None = None,
         ) -> Plan:
    """Per contract: unchanged, failed or to render, as the local batch decides against its manifest.

    with_status(stored documents) gives the latest documents the annexes to render replace with their status
    (documents.with_status): without it, each counts as final."""
    items: list[Item] = [Item(f.label, None, "failed", detail=f.message) for f in input_failures]
    warnings: list[Diagnostic] = []
    candidates: list[Item | tuple[Source, Contract, Annex, str, documents.StoredDocument | None]] = []
    for source in sources:
        try:
            contract, found = source.load(registry)
            annex = resolve(registry, contract)
        except AnnexGenError as exc:
            items.append(Item(source.label, None, "failed", detail=str(exc)))
            continue
        warnings += found
        cid, content = contract.customer_id, annex.content_hash()
        previous = latest.get(cid)
        if (not force and previous is not None and previous.content_hash == content
                and previous.templates == templates and set(formats) <= set(previous.files)):
            candidates.append(Item(source.label, cid, "unchanged", previous.document_id, content))
        else:
            candidates.append((source, contract, annex, content, previous))
    replaced = [c[4] for c in candidates if isinstance(c, tuple) and c[4] is not None]
    known = with_status(replaced) if with_status is not None and replaced else {}
    for index, candidate in enumerate(candidates):
        if isinstance(candidate, tuple):
            source, contract, annex, content, previous = candidate
            previous = known.get(previous.document_id, previous) if previous is not None else None
            # the annex it replaces (resolve.next_annex); never dated as a notice's: a team's stored documents keep
            # no digest of the contract, so an edited contract cannot be told from an unchanged one
            annex = next_annex(registry, contract, annex, previous, same_contract=False)
            candidates[index] = Item(source.label, contract.customer_id, "queued", annex.document_id, content,
                                     _payload(annex))
    duplicates = duplicate_ids((i.customer_id, i.source) for i in candidates if isinstance(i, Item))
    for item in candidates:
        assert isinstance(item, Item)
        if item.source in duplicates:
            items.append(Item(item.source, item.customer_id, "failed", detail=duplicates[item.source]))
        else:
            items.append(item)
    return Plan(items, warnings)


def record_run(con: Any, plan_: Plan, *, started_by: str, registry_version: str, engine: str,
               templates: str, kind: str = "batch", notice_date: dt.date | None = None,
               release: str | None = None) -> int:
    """Store the run (a batch, or notices of a notice date) and its rows; raise OutputLocked while another run
    is unfinished."""
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
        running = con.execute(
            "SELECT r.id, r.started_by, r.started_at, r.total, "
            "(SELECT count(*) FROM run_items i WHERE i.run_id = r.id AND i.status <> 'queued') "
            "FROM runs r WHERE r.finished_at IS NULL ORDER BY r.id LIMIT 1").fetchone()
        if running is not None and lost(con, running[0], min_age_s=LOST_AFTER_S):
            fail_run(con, running[0], LOST)
            running = None
        if running is not None:
            run_id, by, at, total, done = running
            raise RunInProgress(run_id=run_id,
                                holder=f"started by {by} at {at:%Y-%m-%dT%H:%M:%SZ}, {done} of {total} done")
        run_id = con.execute(
            "INSERT INTO runs (started_by, registry_version, engine, templates, total, to_render, finished_at, kind, "
            "notice_date, release) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (started_by, registry_version, engine, templates, len(plan_.items), plan_.to_render,
             None if plan_.to_render else dt.datetime.now(dt.UTC), kind, notice_date, release)).fetchone()[0]
        with con.cursor() as cur:
            cur.executemany(
                "INSERT INTO run_items (run_id, position, source, customer_id, status, document_id, content_hash, "
                "annex, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(run_id, n, i.source, i.customer_id, i.status, i.document_id, i.content_hash, i.annex, i.detail)
                 for n, i in enumerate(plan_.items)])
    return run_id


def queued_positions(con: Any, run_id: int) -> list[int]:
    """The rows of a run still to render."""
    rows = con.execute("SELECT position FROM run_items WHERE run_id = %s AND status = 'queued' ORDER BY position",
                       (run_id,)).fetchall()
    return [r[0] for r in rows]


LOST = "its job left the queue without finishing (it failed there; see the workers' logs)"
LOST_AFTER_S = 60  # a run younger than this may still be having its jobs queued


def lost(con: Any, run_id: int, *, min_age_s: float = 0) -> bool:
    """Whether the run has rows to render but no job in the queue that could still render them."""
    row = con.execute(
        "SELECT EXISTS (SELECT 1 FROM run_items WHERE run_id = %s AND status = 'queued') AND NOT EXISTS "
        f"(SELECT 1 FROM {QUEUE_SCHEMA}.procrastinate_jobs WHERE status IN ('todo', 'doing') "
        "AND (args ->> 'run_id')::bigint = %s) AND (SELECT started_at FROM runs WHERE id = %s) "
        "< now() - make_interval(secs => %s)", (run_id, run_id, run_id, min_age_s)).fetchone()
    return bool(row[0])


def fail_run(con: Any, run_id: int, error: str) -> None:
    """End a run whose jobs could not be queued or were lost: its queued rows fail with the reason."""
    with con.transaction():
        con.execute("UPDATE run_items SET status = 'failed', detail = %s, updated_at = now() "
                    "WHERE run_id = %s AND status = 'queued'", (error, run_id))
        con.execute("UPDATE runs SET finished_at = now(), error = %s WHERE id = %s", (error, run_id))


# What a worker does with one row


def finish(con: Any, run_id: int, position: int, status: str, detail: str = "") -> None:
    """Mark a queued row done (in the caller's transaction), and the run finished with its last row."""
    con.execute("UPDATE run_items SET status = %s, detail = %s, updated_at = now() "
                "WHERE run_id = %s AND position = %s AND status = 'queued'", (status, detail, run_id, position))
    con.execute("UPDATE runs SET finished_at = now() WHERE id = %s AND finished_at IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM run_items WHERE run_id = %s AND status = 'queued')", (run_id, run_id))


def notices_plan(report: Any, notices: list[Any], nothing_to_notify: list[str]) -> Plan:
    """A notices run's rows: one per notice (its payload), then one per customer with nothing to notify."""
    from annex_gen.changes.notices import notice_payload
    from annex_gen.team.notice_runs import NOTHING_TO_NOTIFY

    items = [Item(n.impact.source, n.impact.customer_id, "queued", n.notice_id, None, notice_payload(n))
             for n in notices]
    sources = {c.customer_id: c.source for c in report.customers}
    items += [Item(sources.get(cid, cid), cid, "unchanged", detail=NOTHING_TO_NOTIFY) for cid in nothing_to_notify]
    return Plan(items, [])


def kind_of(con: Any, run_id: int) -> str | None:
    """A run's kind (batch, notices or send); None when there is no such run."""
    row = con.execute("SELECT kind FROM runs WHERE id = %s", (run_id,)).fetchone()
    return row[0] if row else None


def render_item(con: Any, run_id: int, position: int) -> str:
    """Render and store one queued row (an annex, or a change notice with its enclosed annex); return what
    happened (done already, generated, stored already, failed)."""
    from annex_gen.render import DOCUMENT_FORMATS, render, templates_digest
    from annex_gen.team import notice_runs

    with con.transaction():
        row = con.execute(
            "UPDATE run_items i SET attempts = attempts + 1 FROM runs r WHERE r.id = i.run_id AND i.run_id = %s "
            "AND i.position = %s AND i.status = 'queued' RETURNING i.attempts, i.annex, i.customer_id, "
            "i.content_hash, i.document_id, r.engine, r.templates, r.registry_version, r.kind",
            (run_id, position)).fetchone()
    if row is None:
        return "done already"
    attempts, payload, customer_id, content_hash, document_id, engine, templates, registry_version, kind = row
    notice = kind == notice_runs.KIND
    if (notice_runs.exists(con, document_id) if notice else documents.exists(con, document_id, DOCUMENT_FORMATS)):
        with con.transaction():
            finish(con, run_id, position, "generated")
        return "stored already"
    if attempts > MAX_ATTEMPTS:
        with con.transaction():
            finish(con, run_id, position, "failed", f"its worker stopped {attempts - 1} times while rendering it "
                    "(killed, or out of memory); the other contracts went on")
        return "failed"
    if templates_digest(engine) != templates:
        with con.transaction():
            finish(con, run_id, position, "failed", "this worker's annex-gen renders differently from the one that "
                    "planned the run (another version or templates); upgrade every machine to the same annex-gen")
        return "failed"
    try:
        if notice:
            from annex_gen.changes.notices import notice_of, render_notice

            the_notice = notice_of(payload)
            notice_files = render_notice(the_notice, engine)
        else:
            annex = annex_of(payload)
            files = {fmt: render(annex, fmt, engine) for fmt in DOCUMENT_FORMATS}
    except AnnexGenError as exc:
        with con.transaction():
            finish(con, run_id, position, "failed", str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - one broken annex must not stop the run
        with con.transaction():
            finish(con, run_id, position, "failed", f"internal error: {type(exc).__name__}: {exc}")
        return "failed"
    with con.transaction():
        if notice:
            notice_runs.store(con, the_notice, notice_files, templates=templates, run_id=run_id)
        else:
            documents.store(con, document_id=document_id, customer_id=customer_id, content_hash=content_hash,
                            templates=templates, registry_version=registry_version, run_id=run_id, files=files)
        finish(con, run_id, position, "generated")
    return "generated"


# Progress


@dataclass(frozen=True)
class RunState:
    """A run's state as anyone reads it from the database."""

    id: int
    started_by: str
    started_at: str
    finished_at: str
    total: int
    to_render: int
    counts: dict[str, int]
    last: str
    error: str | None
    kind: str = "batch"
    notice_date: str = ""  # a notices run's

    @property
    def done(self) -> int:
        return self.total - self.counts.get("queued", 0)

    @property
    def finished(self) -> bool:
        return bool(self.finished_at)


def _iso(value: Any) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def run_state(con: Any, run_id: int | None = None) -> RunState | None:
    """A run (default: the latest) with its counts; None when there is none."""
    where, params = ("WHERE id = %s", (run_id,)) if run_id is not None else ("", ())
    row = con.execute(f"SELECT id, started_by, started_at, finished_at, total, to_render, error, kind, notice_date "
                      f"FROM runs {where} ORDER BY id DESC LIMIT 1", params).fetchone()
    if row is None:
        return None
    counts = dict(con.execute("SELECT status, count(*) FROM run_items WHERE run_id = %s GROUP BY status",
                              (row[0],)).fetchall())
    last = con.execute("SELECT coalesce(customer_id, source) FROM run_items WHERE run_id = %s AND status <> 'queued' "
                       "ORDER BY updated_at DESC, position DESC LIMIT 1", (row[0],)).fetchone()
    return RunState(row[0], row[1], _iso(row[2]), _iso(row[3]), row[4], row[5], counts, last[0] if last else "",
                    row[6], row[7], row[8].isoformat() if row[8] else "")


def list_runs(con: Any, limit: int = 20) -> list[RunState]:
    """The latest runs, newest first."""
    ids = [r[0] for r in con.execute("SELECT id FROM runs ORDER BY id DESC LIMIT %s", (limit,)).fetchall()]
    return [s for s in (run_state(con, i) for i in ids) if s is not None]


def result_of(con: Any, run_id: int) -> BatchResult:
    """The run's outcome in the local batch's terms."""
    result = BatchResult()
    rows = con.execute("SELECT status, source, customer_id, document_id, detail FROM run_items WHERE run_id = %s "
                       "ORDER BY position", (run_id,)).fetchall()
    result.total = len(rows)
    for status, source, cid, document_id, detail in rows:
        if status == "generated":
            result.generated.append((cid, document_id))
        elif status == "unchanged":
            result.unchanged.append(cid)
        elif status == "failed":
            result.failed.append(Failure(source, detail, cid))
    return result


def follow(con: Any, run_id: int, progress: Progress, *, poll_s: float = 0.5) -> BatchResult:
    """Report the run's events to progress as its rows finish, until it ends; return its outcome."""
    state = run_state(con, run_id)
    assert state is not None
    progress(Event("planned", 0, state.total, to_render=state.to_render))
    seen: set[int] = set()
    done = 0
    while True:
        finished = run_state(con, run_id)
        rows = con.execute("SELECT position, status, source, customer_id, document_id, detail FROM run_items "
                           "WHERE run_id = %s AND status <> 'queued' ORDER BY updated_at, position",
                           (run_id,)).fetchall()
        for position, status, source, cid, document_id, detail in rows:
            if position in seen:
                continue
            seen.add(position)
            done += 1
            progress(Event(status, done, state.total, customer_id=cid, source=source,
                           detail=document_id if status == "generated" else detail))
        if finished is not None and finished.finished and len(seen) == finished.total:
            break
        if finished is not None and not finished.finished and lost(con, run_id):
            fail_run(con, run_id, LOST)
            continue
        time.sleep(poll_s)
    result = result_of(con, run_id)
    took = con.execute("SELECT extract(epoch FROM finished_at - started_at) FROM runs WHERE id = %s",
                       (run_id,)).fetchone()[0]
    result.seconds = float(took or 0)
    return result
