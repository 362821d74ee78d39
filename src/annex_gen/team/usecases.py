"""The team's use cases over a postgresql:// archive: plain functions the CLI and the web application call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annex_gen import pgconnections
from annex_gen.archive.index import shown_url
from annex_gen.errors import ArchiveError, EditConflict, InvalidInput, UsageError
from annex_gen.team import contracts, documents, runs, schema
from annex_gen.team.schema import connected

if TYPE_CHECKING:
    from annex_gen.batch.background import BatchProgress
    from annex_gen.batch.run import BatchResult, Progress
    from annex_gen.inputs.sources import Source
    from annex_gen.workspace import ContractForm, Saved


def migrate(url: str) -> tuple[int, int, str | None, str]:
    """Create or upgrade the team schema and the queue's: (found, now) of each."""
    return schema.migrate(url)


# Batches as jobs


def database_sources(con: Any) -> list[Source]:
    """The contracts stored in the database, each as a source like a file's."""
    from annex_gen.inputs.sources import Source

    return [Source(f"database:{v.customer_id}@v{v.version}", v.sha256, text=v.text) for v in contracts.latest(con)]


@dataclass(frozen=True)
class Enqueued:
    """A run recorded and its jobs queued."""

    run_id: int
    total: int
    to_render: int
    warnings: list


def enqueue_batch(registry_dir: Path, paths: list[Path] | None, url: str, *, started_by: str,
                  engine: str = "weasyprint", force: bool = False) -> Enqueued:
    """Plan a batch over paths (None: the database's contracts) and queue one job per annex to render."""
    from annex_gen.app import load_registry, with_status
    from annex_gen.inputs.sources import gather
    from annex_gen.render import DOCUMENT_FORMATS, templates_digest

    registry = with_status(load_registry(registry_dir), url)  # final where the database holds legal's approval
    templates = templates_digest(engine)
    with connected(url) as con:
        if paths is None:
            sources, failures = database_sources(con), []
            if not sources:
                raise UsageError(f"{shown_url(url)} holds no contracts yet: import them with `annex-gen contracts "
                                 "import DIR --archive URL`, or name the contract files to batch")
        else:
            sources, failures = gather(paths)
        plan = runs.plan(registry, sources, failures, documents.latest(con), templates, DOCUMENT_FORMATS, force,
                         with_status=lambda stored: documents.with_status(con, stored))
        run_id = runs.record_run(con, plan, started_by=started_by, registry_version=registry.version,
                                 engine=engine, templates=templates)
        _defer(con, url, run_id)
    return Enqueued(run_id, len(plan.items), plan.to_render, plan.warnings)


@dataclass(frozen=True)
class NoticesEnqueued:
    """A notices run recorded and its jobs queued: the notices planned, and the customers with nothing to notify."""

    run_id: int
    notices: list
    nothing_to_notify: list[str]


def contract_sources(url: str) -> list[Source]:
    """The database's contracts as sources (see database_sources)."""
    with connected(url) as con:
        return database_sources(con)


def enqueue_notices(report: Any, url: str, *, notice_date: Any, effective_date: Any = None, started_by: str,
                    engine: str = "weasyprint", as_batch: bool = False, release: str | None = None) -> NoticesEnqueued:
    """Plan the notices of a registry change here (as `annex-gen notices` does) and queue one job per notice.

    With as_batch the annex each notice encloses is the document the team's batch stored for the contract
    (the Changes page's choice on one machine: the batch's output folder), else one dated the effective date."""
    from annex_gen.changes.notices import contract_in_pdf, plan_notices
    from annex_gen.render import parse_engine, templates_digest
    from annex_gen.team import notice_runs

    engine = parse_engine(engine)
    templates = templates_digest(engine)
    with connected(url) as con:
        records, replaced = None, None
        if as_batch:
            # the affected customers' latest, each with its status: a notice's annex replaces the final one in force
            affected = {impact.customer_id for impact in report.with_status("affected")}
            latest = [d for d in documents.latest(con).values() if d.customer_id in affected]
            records = {d.customer_id: d for d in documents.with_status(con, latest).values()}

            def replaced(customer_id: str, document_id: str) -> dict | None:
                doc = records.get(customer_id)
                if doc is None or doc.document_id != document_id or "pdf" not in doc.files:
                    return None
                return contract_in_pdf(documents.read_file(con, doc.files["pdf"][0]), f"documents/{document_id}.pdf")

        notices, nothing = plan_notices(report, notice_date=notice_date, effective_date=effective_date,
                                        records=records, batch_dir=replaced, dated=False)
        plan = runs.notices_plan(report, notices, nothing)
        run_id = runs.record_run(con, plan, started_by=started_by, registry_version=report.new.version, engine=engine,
                                 templates=templates, kind=notice_runs.KIND, notice_date=notice_date, release=release)
        _defer(con, url, run_id)
    return NoticesEnqueued(run_id, notices, nothing)


@dataclass(frozen=True)
class SendEnqueued:
    """A send run recorded and its jobs queued: one per message."""

    run_id: int
    messages: int


def enqueue_send(url: str, registry_dir: Path, paths: list[Path], out_dir: Path, *, sender: str | None,
                 formats: tuple[str, ...] = ("pdf",), started_by: str, engine: str = "weasyprint",
                 customers: list[Path] | None = None, only: str | None = None) -> SendEnqueued:
    """Plan the messages here, as `annex-gen send` does on one machine (the annexes generated into out_dir where
    missing), and queue one job per message: the workers send them with their own SMTP settings."""
    from annex_gen.app import load_registry
    from annex_gen.lifecycle.cases import event_log, not_sent_before, plan_send, sender_address
    from annex_gen.team import send_runs

    sender = sender_address(sender)
    with connected(url):
        pass  # refuse a database without the team schema before generating anything
    planned = plan_send(url, registry_dir, paths, out_dir, formats=formats, actor=started_by, engine=engine,
                        customers=customers or [], only=only)
    with connected(url) as con:  # a notice a run still holds is not queued twice
        pending = send_runs.pending_notices(con)
    outgoing, _ = not_sent_before(event_log(url), planned, pending)
    plan = send_runs.plan(outgoing, sender)
    with connected(url) as con:
        run_id = runs.record_run(con, plan, started_by=started_by, registry_version=load_registry(registry_dir).version,
                                 engine=engine, templates="", kind=send_runs.KIND)
        _defer(con, url, run_id)
    return SendEnqueued(run_id, len(plan.items))


def refuse_retry_while_sending(url: str) -> None:
    """Raise UsageError while a send run is unfinished: a retry now could send again a message a worker is
    sending (queued in the log, its answer not yet recorded)."""
    from annex_gen.team import send_runs

    with connected(url) as con:
        row = con.execute("SELECT id FROM runs WHERE kind = %s AND finished_at IS NULL ORDER BY id LIMIT 1",
                          (send_runs.KIND,)).fetchone()
    if row is not None:
        raise UsageError(f"the workers are still sending run {row[0]}; retry once it has finished (`annex-gen runs "
                         "--archive URL` shows its progress): a message of it may be on its way",
                         code="lifecycle.send_running", params={"run": row[0]})


def follow_send(url: str, run_id: int, progress: Callable[[Any], None] | None = None) -> Any:
    """Report each message of a send run as it is sent, until the run ends; its SendReport."""
    from annex_gen.team import send_runs

    with connected(url) as con:
        return send_runs.follow(con, run_id, progress)


def _defer(con: Any, url: str, run_id: int) -> None:
    """Queue a recorded run's jobs; a run whose jobs cannot be queued ends failed with the reason."""
    try:
        from annex_gen.team.queue import defer_items

        defer_items(url, run_id, runs.queued_positions(con, run_id))
    except Exception as exc:
        runs.fail_run(con, run_id, f"its jobs could not be queued: {exc}")
        raise ArchiveError(f"{shown_url(url)}: run {run_id}: its jobs could not be queued: {exc}; "
                           "is the queue's schema installed (`annex-gen archive migrate`)?") from None


def notices_export(url: str, run_id: int, out_dir: Path) -> list[Path]:
    """Write a finished notices run as `annex-gen notices` lays out its folder (notices.csv last)."""
    from annex_gen.team import notice_runs

    with connected(url) as con:
        return notice_runs.export_run(con, run_id, out_dir)


def follow_run(url: str, run_id: int, progress: Progress) -> BatchResult:
    """Report a run's progress until it ends; its outcome."""
    with connected(url) as con:
        return runs.follow(con, run_id, progress)


def run_state(url: str, run_id: int | None = None) -> runs.RunState | None:
    """A run (default: the latest) with its counts."""
    with connected(url) as con:
        return runs.run_state(con, run_id)


def list_runs(url: str, limit: int = 20) -> list[runs.RunState]:
    """The latest runs, newest first."""
    with connected(url) as con:
        return runs.list_runs(con, limit)


def worker(url: str, *, heartbeat_s: float, once: bool = False, name: str | None = None,
           ready: Callable[[], None] | None = None) -> None:
    """Take jobs from the queue until stopped (or, with once, until it is empty); ready() once connected."""
    from annex_gen.team.queue import run_worker

    with connected(url):
        pass  # refuse a database without the team schema before waiting for jobs
    run_worker(url, heartbeat_s=heartbeat_s, once=once, name=name, ready=ready)


# Documents and contracts


def documents_list(url: str, customer_id: str | None = None) -> list[documents.StoredDocument]:
    """Every stored document (or a customer's)."""
    with connected(url) as con:
        return documents.list_documents(con, customer_id)


def documents_export(url: str, out_dir: Path, *, latest_only: bool = False) -> list[Path]:
    """Write the stored documents as OUT/<customer>/<document-id>.<format>."""
    with connected(url) as con:
        return documents.export(con, out_dir, latest_only=latest_only)


def contracts_import(url: str, registry_dir: Path, paths: list[Path], saved_by: str) -> contracts.Imported:
    """Validate every contract file of paths, then store each changed one as a new version."""
    from annex_gen.app import load_registry

    registry = load_registry(registry_dir)
    with connected(url) as con:
        return contracts.import_folder(con, registry, paths, saved_by)


def contracts_export(url: str, out_dir: Path) -> list[Path]:
    """Write each contract's latest version as OUT/<customer-id>.yaml."""
    with connected(url) as con:
        return contracts.export_folder(con, out_dir)


def contracts_list(url: str) -> list[contracts.Version]:
    """Each contract's latest version."""
    with connected(url) as con:
        return contracts.latest(con, with_text=False)


def contract_history(url: str, customer_id: str) -> list[contracts.Version]:
    """Every saved version of one contract."""
    with connected(url) as con:
        return contracts.history(con, customer_id)


# The web application's shared state


class SharedContracts:
    """The contracts of a web instance kept in the database, with a working copy in a local folder."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.mirror = contracts.Mirror(folder)

    @property
    def folder(self) -> Path:
        return self.mirror.folder

    def sync(self) -> tuple[int, int]:
        """Bring the working copy up to date with the database; return the last stored document's seq and the
        last finished notices run's id."""
        with connected(self.url) as con:
            return self.sync_on(con)

    def sync_on(self, con: Any) -> tuple[int, int]:
        """sync() on an open connection."""
        from annex_gen.team import notice_runs

        self.mirror.sync(con)
        latest = con.execute("SELECT coalesce(max(seq), 0) FROM documents").fetchone()[0]
        return latest, notice_runs.finished_marker(con)

    def save(self, registry_dir: Path, form: ContractForm, *, editing: str | None, digest: str,
             saved_by: str) -> Saved:
        """A folder save (same checks and conflicts) on an up-to-date copy, stored as a new version."""
        from annex_gen.app import save_contract

        with connected(self.url) as con:
            try:
                with contracts.save_lock(con):
                    self.mirror.sync(con, force=True)
                    saved = save_contract(registry_dir, self.folder, form, editing=editing, digest=digest)
                    text = saved.path.read_text(encoding="utf-8")
                    contracts.add_version(con, saved.contract.customer_id, text, saved_by)
            except (EditConflict, InvalidInput):
                raise
            except BaseException:
                with contextlib.suppress(Exception):
                    self.mirror.sync(con, force=True)  # the copy back to what the database holds
                raise
            self.mirror.seen = None  # the next page compares every file: a sync racing this save may have lost it
        return saved


def before_page(url: str, shared: SharedContracts, user: str | None) -> tuple[tuple[int, int], int | None]:
    """What a page needs first, on one connection: the working copy brought up to date (the last stored
    document's seq and finished notices run), and the signed-in user's session generation (None without one)."""
    from annex_gen.team import sessions

    with connected(url) as con:
        latest = shared.sync_on(con)
        return latest, sessions.generation(con, user) if user is not None else None


def session_generation(url: str, user: str) -> int:
    """A user's session generation in the database, which a new session carries."""
    from annex_gen.team import sessions

    with connected(url) as con:
        return sessions.generation(con, user)


def team_state(url: str) -> bool:
    """Whether the database at url holds the team schema (so contracts, documents and runs are shared)."""
    return team_version(url) == schema.SCHEMA_VERSION


def team_version(url: str) -> int:
    """The version of the team schema in the database at url; 0 without one (or without a database)."""
    try:
        con = schema.connect(url)
    except Exception:  # noqa: BLE001 - no database, no sharing: the caller says so
        return 0
    try:
        return schema.version(con)
    except Exception:  # noqa: BLE001
        return 0
    finally:
        pgconnections.release(con)


def batch_progress(url: str, run_id: int | None = None) -> BatchProgress:
    """A run (default: the latest) as the web page's progress."""
    from annex_gen.batch.background import FAILED, FINISHED, IDLE, RUNNING, BatchProgress

    state = run_state(url, run_id)
    if state is None:
        return BatchProgress(IDLE)
    c = state.counts
    return BatchProgress(
        FAILED if state.error else FINISHED if state.finished else RUNNING, state.started_by, state.started_at,
        state.finished_at, state.done, state.total, state.to_render, c.get("generated", 0), c.get("unchanged", 0),
        c.get("failed", 0), state.last, state.error, notice_date=state.notice_date, kind=state.kind)
