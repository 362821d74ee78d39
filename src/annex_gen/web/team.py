"""The web application over a team's database: contracts and batch runs shared by every instance.

With `Settings.team_url`, the customers folder is this instance's working copy of the
database's contracts: `TeamSync` brings it up to date before every page (and starts copying
newly stored documents into the output folder, `DocumentCopy`), a save goes to the database
(`save_contract`), and the Changes page's batch and notices are runs on the job queue whose
progress any instance reads from the database (`TeamRunner`, the interface of BatchRunner); a
finished notices run is copied into the notices folder (`DocumentCopy`).

What keeps a user signed in is shared too: a session carries the user's session generation
in the database (`SESSION_KEY`), and `TeamSync` ends it on every instance once that moves on
(signed out anywhere, `annex-gen users`); uploads wait in the database between the read-back
and the store (`staging`), and sign-ins are throttled there (annex_gen.team.sessions).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from annex_gen import app
from annex_gen.audit import Actor
from annex_gen.batch.background import BatchProgress

LOG = logging.getLogger("annex_gen.web")
NOTICES_DIR = "_notices"  # inside the output folder; "_" keeps it apart from customer ids


def shared(state: Any) -> Any:
    """The instance's SharedContracts, or None without a team database."""
    settings = state.settings
    if not settings.team_url:
        return None
    if getattr(state, "shared_contracts", None) is None:
        from annex_gen.team.usecases import SharedContracts

        state.shared_contracts = SharedContracts(settings.team_url, settings.customers_dir)
    return state.shared_contracts


class DocumentCopy:
    """The database's documents copied into this instance's output folder, in the background.

    Downloads and the customer list's annex state read the output folder, as with a local batch;
    a run's documents land there shortly after they are stored, whichever machine rendered them.
    A finished notices run is written into the notices folder as the Changes page writes one on one
    machine (notices_dir/<notice date>/, notices.csv, and the release notified).
    """

    def __init__(self, url: str, out_dir: Path, notices_dir: Path) -> None:
        self.url, self.out_dir, self.notices_dir = url, out_dir, notices_dir
        self.seen = 0
        self.seen_notices = 0
        self._thread: threading.Thread | None = None  # set while a copy runs (under _lock)
        self._again = False  # something new was stored while the copy ran: it copies once more
        self._lock = threading.Lock()
        self._notices_copied = threading.Event()
        self._notices_copied.set()

    def kick(self, latest: tuple[int, int]) -> None:
        """Copy what is new when a document after the last copied one was stored (or a notices run finished):
        start a copy, or have the running one copy once more."""
        with self._lock:
            if latest[0] <= self.seen and latest[1] <= self.seen_notices:
                return
            if latest[1] > self.seen_notices:
                self._notices_copied.clear()
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._copy, name="annex-gen-documents", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running copy, if any."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait_notices(self, timeout: float | None = None) -> None:
        """Wait until the running copy has written the finished notices runs (the documents may go on)."""
        self._notices_copied.wait(timeout)

    def _copy(self) -> None:
        from annex_gen.team import documents, notice_runs
        from annex_gen.team.schema import connected

        while True:
            # The database or the disk failing: logged, and tried again on the next page; one kind's
            # failure never keeps the other from being copied.
            try:
                with connected(self.url) as con:  # the notices first: a few files, and pages wait for them
                    self.seen_notices = notice_runs.copy_finished(con, self.notices_dir, self.seen_notices)
            except Exception as exc:  # noqa: BLE001 - a background copy must not end the thread
                LOG.error("copying the finished change notices into %s failed: %s", self.notices_dir, exc)
            with self._lock:
                if not self._again:  # else a notices run may have finished since: the next round says
                    self._notices_copied.set()
            try:
                with connected(self.url) as con:
                    self.seen = documents.copy_new(con, self.out_dir, self.seen)
            except Exception as exc:  # noqa: BLE001
                LOG.error("copying the stored documents into %s failed: %s", self.out_dir, exc)
            with self._lock:
                if not self._again:
                    self._thread = None
                    self._notices_copied.set()
                    return
                self._again = False


def document_copy(state: Any) -> DocumentCopy | None:
    """The instance's DocumentCopy, or None without a team database."""
    settings = state.settings
    if not settings.team_url:
        return None
    if getattr(state, "document_copy", None) is None:
        state.document_copy = DocumentCopy(settings.team_url, settings.out_dir, settings.out_dir / NOTICES_DIR)
    return state.document_copy


async def notices_copied(request: Request, timeout: float = 30) -> None:
    """Wait until the copy the page started has written the finished notices runs, so the page reads them."""
    copy = document_copy(request.app.state)
    if copy is not None:
        await run_in_threadpool(copy.wait_notices, timeout)


SESSION_KEY = "team_sessions"  # the user's session generation in the database when the session began


class TeamSync:
    """Before a page (not a static file): bring the working copy of the contracts up to date, start copying
    newly stored documents into the output folder, and end a session whose user's sessions were ended
    (on any instance) since it began."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/static/"):
            state = scope["app"].state
            contracts = shared(state)
            if contracts is not None:
                from annex_gen.team.usecases import before_page

                session = scope.get("session")
                user = session.get("user") if session is not None and state.settings.login_required else None
                user = user if isinstance(user, str) else None
                latest, generation = await run_in_threadpool(before_page, state.settings.team_url, contracts, user)
                if user is not None and session.get(SESSION_KEY) != generation:
                    for key in ("user", "sessions", SESSION_KEY):  # signed out; the language stays
                        session.pop(key, None)
                copy = document_copy(state)
                if copy is not None:
                    copy.kick(latest)
        await self.app(scope, receive, send)


async def session_started(request: Request, user: str) -> dict[str, int]:
    """What a new session of user carries besides the users file's generation: the database's, with a team."""
    url = request.app.state.settings.team_url
    if not url:
        return {}
    from annex_gen.team.usecases import session_generation

    return {SESSION_KEY: await run_in_threadpool(session_generation, url, user)}


async def end_sessions(request: Request, user: str) -> None:
    """End every session of user: in the team's database (every instance), else in the users file."""
    settings = request.app.state.settings
    if settings.team_url:
        from annex_gen.team.sessions import end_everywhere as end_shared

        await run_in_threadpool(end_shared, settings.team_url, user, user)
    else:
        await run_in_threadpool(app.end_user_sessions, settings.users_file, user)


def staging(request: Request, user: str) -> Any:
    """Where this request's uploads wait to be archived: the team's database (any instance may store them),
    else the instance's staging folder."""
    from annex_gen.archive.staging import Staging

    settings = request.app.state.settings
    if settings.team_url:
        from annex_gen.team.uploads import SharedStaging

        return SharedStaging(settings.team_url, settings.staging_dir, user)
    return Staging(settings.staging_dir)


def throttle(settings: Any) -> Any:
    """Where sign-in failures are counted: the team's database (every instance), else this process."""
    if settings.team_url:
        from annex_gen.team.sessions import DatabaseThrottle

        return DatabaseThrottle(settings.team_url)
    from annex_gen.throttle import MemoryThrottle

    return MemoryThrottle()


async def save_contract(request: Request, form: Any, *, editing: str | None, digest: str, actor: Actor) -> Any:
    """Save a contract, recorded in the audit log first: into the team's database (a new version, by the
    actor) or the customers folder. NotRecorded (nothing saved) when the entry cannot be written."""
    settings = request.app.state.settings
    contracts = shared(request.app.state)
    if contracts is None:
        return await run_in_threadpool(lambda: app.save_contract(settings.registry_dir, settings.customers_dir, form,
                                                                 editing=editing, digest=digest, actor=actor))
    await run_in_threadpool(actor.ready)
    saved = await run_in_threadpool(contracts.save, settings.registry_dir, form, editing=editing, digest=digest,
                                    saved_by=actor.name)
    await run_in_threadpool(actor.record, "contract saved",
                            f"{saved.path.name} ({'new' if saved.created else 'edited'})", [saved.contract.customer_id],
                            {"variant": "new" if saved.created else "edited", "file": saved.path.name,
                             "name": saved.contract.customer_name})
    return saved


class TeamRunner:
    """The batch of the Changes page as a run on the team's queue: started here, rendered by the workers."""

    def __init__(self, url: str, registry_dir: Path) -> None:
        self.url = url
        self.registry_dir = registry_dir

    def progress(self) -> BatchProgress:
        """The latest run, from the database."""
        from annex_gen.team.usecases import batch_progress

        return batch_progress(self.url)

    def start_run(self, started_by: str) -> Any:
        """Queue a run over the database's contracts; raise OutputLocked while one is unfinished."""
        from annex_gen.team.usecases import enqueue_batch

        return enqueue_batch(self.registry_dir, None, self.url, started_by=started_by)

    def start_notices(self, report: Any, started_by: str, *, notice_date: Any, effective_date: Any,
                      release: str) -> Any:
        """Queue the notices of a change; the annex each encloses is the one the team's batch stored."""
        from annex_gen.team.usecases import enqueue_notices

        return enqueue_notices(report, self.url, notice_date=notice_date, effective_date=effective_date,
                               started_by=started_by, as_batch=True, release=release)

    def start_send(self, paths: list[Path], out_dir: Path, *, formats: tuple[str, ...], started_by: str,
                   customers: list[Path], only: str | None = None) -> Any:
        """Plan the messages here (only that customer's notice, if given) and queue them: the workers send them
        with their own SMTP settings."""
        from annex_gen.team.usecases import enqueue_send

        return enqueue_send(self.url, self.registry_dir, paths, out_dir, sender=None, formats=formats,
                            started_by=started_by, customers=customers, only=only)

    def run_progress(self, run_id: int) -> BatchProgress:
        """A send run's progress, for the page that follows it; NotFound for any other run."""
        from annex_gen.errors import NotFound
        from annex_gen.team.usecases import batch_progress

        progress = batch_progress(self.url, run_id)
        if progress.kind != "send":
            raise NotFound(f"no sending run {run_id}", code="web.no_run", params={"run": run_id})
        return progress
