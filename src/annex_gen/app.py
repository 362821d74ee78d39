"""The use cases every interface calls: the CLI and the web application are thin over these.

Each takes and returns library types (paths, dates, model objects, reports), never parses
arguments, prints or knows about HTTP; each raises the errors of `annex_gen.errors`. All
input is read and validated before anything is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annex_gen.counts import Counted
from annex_gen.errors import ArchiveError, Diagnostic, InvalidInput, NoArchive, UsageError
from annex_gen.model import Annex, Registry

if TYPE_CHECKING:  # imported where used, so a command loads only the stages it needs
    from annex_gen.archive.chain import Heads
    from annex_gen.archive.intake import AddRequest, Inspection
    from annex_gen.archive.status import CustomerStatus
    from annex_gen.archive.store import Archive, Record, VerifyReport
    from annex_gen.audit import Actor, AuditEntry
    from annex_gen.batch.background import BatchProgress, BatchRunner
    from annex_gen.batch.journal import RunLog
    from annex_gen.batch.run import BatchResult
    from annex_gen.changes.bundle import NoticeRow
    from annex_gen.changes.impact import ImpactReport
    from annex_gen.changes.notices import NoticesResult
    from annex_gen.changes.releases import Release as ComparedRelease
    from annex_gen.inputs.check import CheckReport
    from annex_gen.inputs.revisions import Revision
    from annex_gen.output.generate import Generated
    from annex_gen.publish.history import History
    from annex_gen.signoff.releases import Release
    from annex_gen.workspace import ContractEntry, ContractForm, Listing, Saved

__all__ = [
    "CopyReport", "GenerateReport", "RegistryChoices", "StatusReport", "add_user", "annex_file",
    "archive_add", "archive_copy", "archive_exists", "archive_export", "archive_file", "archive_head",
    "archive_inspect", "archive_migrate", "archive_record", "archive_records", "archive_status", "archive_verify",
    "approved_release", "audit_csv", "audit_entries", "audit_record", "batch", "check", "confirm_fact",
    "contract_entry", "contract_listing", "document_owner", "facts", "generate", "generated_annexes", "impact",
    "load_registry", "notice_files", "notice_rows", "notices", "notices_zip", "open_archive", "preview_html",
    "publish", "record_notified", "registry_choices", "release_approve", "release_blockers", "release_choices",
    "release_list", "resolve_contract", "save_contract", "start_batch", "with_status",
]

DEFAULT_CONTRACT_DIRS = (Path("customers"), Path("examples"))


def contract_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The paths given, or the default contract directories that exist."""
    if paths:
        return [Path(p) for p in paths]
    return [d for d in DEFAULT_CONTRACT_DIRS if d.is_dir()]


def load_registry(registry_dir: Path) -> Registry:
    """The registry in a directory; raise InvalidInput with every problem found.

    Kept while its files' content is unchanged: a server parses it once, not per request, and
    a command reads it from the on-disk cache (inputs.registry_cache) when another already has.
    """
    from annex_gen.inputs import registry_cache

    try:
        stamp = registry_cache.stamp_of(registry_dir)
    except OSError:
        return _parse_registry(registry_dir)  # missing or unreadable: the loader words the error
    key = str(registry_dir.resolve())
    cached = _REGISTRIES.get(key)
    if cached is None or cached[0] != stamp:
        registry = registry_cache.get(registry_dir, stamp)
        if registry is None:
            registry = _parse_registry(registry_dir)
            with contextlib.suppress(OSError):
                if registry_cache.stamp_of(registry_dir) == stamp:  # not edited while it was parsed
                    registry_cache.put(registry_dir, stamp, registry)
        _REGISTRIES[key] = cached = (stamp, registry)
    return cached[1]


def _parse_registry(registry_dir: Path) -> Registry:
    from annex_gen.inputs.registry import load_registry as load

    return load(registry_dir)


_REGISTRIES: dict[str, tuple[tuple, Registry]] = {}


def check(registry_dir: Path, paths: Iterable[Path], *, strict: bool = False) -> CheckReport:
    """`check`: the registry and every contract; warnings for what the registry lacks (unsourced facts, missing
    Annex III details), for printed facts legal has not confirmed (each one when strict, else a count) and
    for registry content that changed while its release label did not."""
    from annex_gen.inputs.check import check as check_inputs
    from annex_gen.inputs.revisions import release_label_warning
    from annex_gen.signoff.facts import fact_warnings

    report = check_inputs(registry_dir, list(paths), registry_warnings=True, load=load_registry)
    if report.registry is not None:
        report.diagnostics[:0] = fact_warnings(report.registry, each=strict)
        warning = release_label_warning(registry_dir, report.registry)
        if warning is not None:
            report.diagnostics.insert(0, warning)
    return report


# Legal's sign-off: facts and releases


def approved_release(registry: Registry, archive: str | Path | None) -> Release | None:
    """The archive's approval of exactly this registry content; None without an archive or an approval."""
    # a directory without an index holds no archive: say so without importing the archive's code
    if archive is None or ("://" not in str(archive) and not (Path(archive) / "index.sqlite").is_file()):
        return None
    from annex_gen.signoff.releases import approved

    opened = _existing_archive(archive)
    if opened is None:
        return None
    with opened:
        return approved(opened, registry.digest)


def with_status(registry: Registry, archive: str | Path | None) -> Registry:
    """The registry marked final when legal approved its content (annexes made from it are final), else draft.

    An approved registry takes effect on the date legal set in the approval, whatever its own
    `effective` says: `batch` dates the replacement annexes and `notices` the change from it."""
    import dataclasses

    release = approved_release(registry, archive)
    if release is None:
        return registry if registry.status == "draft" else dataclasses.replace(registry, status="draft")
    effective = release.effective or registry.effective
    by_approval = release.effective is not None
    if (registry.status, registry.effective, registry.effective_approved) == ("final", effective, by_approval):
        return registry
    return dataclasses.replace(registry, status="final", effective=effective, effective_approved=by_approval)


def facts(registry_dir: Path) -> Registry:
    """The registry, whose `facts` list every fact with its sources and confirmation."""
    return load_registry(registry_dir)


def confirm_fact(registry_dir: Path, key: str, *, by: str, source: str, value: str | None = None,
                 on: dt.date | None = None, archive: str | Path | None = None,
                 actor: Actor | None = None) -> Path:
    """Record legal's confirmation of a fact in the registry file that states it.

    With actor (or archive: `by` recording in its audit log) the confirmation is recorded in the audit
    log before the file is replaced; NotRecorded, nothing written, when the entry cannot be written."""
    from annex_gen.audit import Actor
    from annex_gen.signoff.facts import confirm

    if actor is None and archive is not None:
        actor = Actor(archive, by)
    on = on or dt.date.today()
    what = f"{key}" + (f" = {value}" if value else "") + f" (source: {source})"

    def recorded() -> None:
        if actor is not None:
            params = {"key": key, "source": source} | ({"variant": "value", "value": value} if value else {})
            actor.record("fact confirmed", what, [key], params)

    if actor is not None:
        actor.ready()
    return confirm(registry_dir, _parse_registry(registry_dir), key, by=by, on=on, source=source, value=value,
                   before_write=recorded)


def release_blockers(registry_dir: Path, paths: Iterable[Path]) -> tuple[Registry | None, list[Diagnostic]]:
    """What keeps the current registry content from approval: every problem `check --strict` reports."""
    report = check(registry_dir, list(paths), strict=True)
    return report.registry, list(report.diagnostics)


def release_approve(registry_dir: Path, paths: Iterable[Path], archive: str | Path, *, by: str,
                    label: str | None = None, effective: dt.date | None = None,
                    on: dt.date | None = None, actor: Actor | None = None) -> Release:
    """Record in the archive that legal approved the current registry content; refuse, listing every item,
    while a printed fact is unconfirmed, an Annex III detail is missing or `check --strict` fails.

    The approval is in the audit log (of actor, else of `by` in the archive) before its record commits."""
    from annex_gen.audit import Actor
    from annex_gen.signoff.releases import effective_refusal, record_approval

    by = " ".join(by.split())
    if not by:
        raise UsageError("name who approves the release (--by NAME)", code="signoff.approve_who")
    meta = registry_dir / "registry.yaml"
    before = meta.read_bytes() if meta.is_file() else None
    if label is not None:
        _set_release_label(registry_dir, label)
    registry, problems = release_blockers(registry_dir, paths)
    on = on or dt.date.today()
    if registry is not None and not problems:
        effective = effective or registry.effective
        listed = release_list(archive)
        if not any(r.digest == registry.digest for r in listed):  # approved already: record_approval says so
            refusal = effective_refusal(listed, registry_dir, effective, on, registry.notice.period_days)
            problems = [refusal] if refusal is not None else []
    if registry is None or problems:
        if before is not None and meta.read_bytes() != before:  # refused: the label is not changed either
            from annex_gen.output.write import write_atomic

            write_atomic(meta, before)
        raise InvalidInput([dataclass_replace(d, severity="error") for d in problems] or [Diagnostic(
            str(registry_dir), None, None, "", "the registry does not load", code="signoff.registry_invalid")])
    actor = actor or Actor(archive, by)
    effective = effective or on

    def recorded(record: Record) -> None:
        actor.record("release approved", f"release {registry.release} ({registry.version}), effective {effective}",
                     [registry.version, record.seq],
                     {"label": registry.release, "version": registry.version, "effective": effective.isoformat()})

    actor.ready()
    with open_archive(archive, create=True) as opened:
        return record_approval(opened, registry_dir, registry, by=by, on=on, effective=effective,
                               before_commit=recorded)


def _set_release_label(registry_dir: Path, label: str) -> None:
    """Write the release label into registry.yaml (round-trip), when it differs."""
    import io

    from annex_gen.output.write import write_atomic
    from annex_gen.signoff.facts import _yaml

    label = label.strip()
    if not label or any(c.isspace() for c in label):
        raise UsageError(f"--label {label!r}: expected a release label without spaces, e.g. 2026.12.1",
                         code="signoff.label", params={"value": label})
    path = registry_dir / "registry.yaml"
    yaml = _yaml()
    data = yaml.load(path.read_text(encoding="utf-8"))
    if data.get("release") == label:
        return
    data["release"] = label
    out = io.StringIO()
    yaml.dump(data, out)
    write_atomic(path, out.getvalue().encode("utf-8"))


def release_list(archive: str | Path) -> list[Release]:
    """The releases legal approved, oldest first (none without an archive; see _existing_archive)."""
    from annex_gen.signoff.releases import releases

    opened = _existing_archive(archive)
    if opened is None:
        return []
    with opened:
        return releases(opened)


def _existing_archive(location: str | Path) -> Archive | None:
    """The archive at location, or None where there is none. Anything else raises: a database that cannot
    be reached (ArchiveUnavailable), an index that cannot be read, a schema to migrate. Whether legal
    approved the content is then not known, which is not "no"."""
    try:
        return open_archive(location)
    except NoArchive:
        return None


# Annexes


def resolve_contract(registry_dir: Path, path: Path,
                     archive: str | Path | None = None) -> tuple[Annex, list[Diagnostic]]:
    """One YAML contract resolved against the registry (final where the archive holds legal's approval of it,
    else a draft), with the contract's warnings."""
    from annex_gen.inputs.contract import load_contract
    from annex_gen.resolve import resolve

    if path.suffix.lower() == ".csv":
        raise UsageError(f"{path}: resolve takes one contract YAML file; "
                         "check, generate and batch read CRM CSV exports")
    registry = load_registry(registry_dir)
    contract, warnings = load_contract(registry, path)
    return resolve(with_status(registry, archive), contract), warnings


@dataclass
class GenerateReport:
    """What `generate` wrote, and the warnings of its inputs."""

    generated: list[Generated] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    registry_version: str = ""
    draft: bool = False  # the registry is not a release legal approved: every annex written is a draft


def generate(registry_dir: Path, paths: Iterable[Path], out_dir: Path,
             formats: Sequence[str], engine: str = "weasyprint", archive: str | Path | None = None,
             jobs: int | None = None) -> GenerateReport:
    """Validate the registry and every contract, then write each annex in every format (PDF by engine);
    many contracts are shared by `jobs` processes, or threads for Typst's PDF (one per core by default).

    The annexes are final when the archive holds legal's approval of this registry content, else drafts.

    Nothing is written if any input has an error (raises InvalidInput with all of them).
    """
    from annex_gen.inputs.check import check as check_inputs
    from annex_gen.output.generate import generate_all
    from annex_gen.render import parse_engine, parse_formats

    formats = parse_formats(formats)
    engine = parse_engine(engine)
    report = check_inputs(registry_dir, list(paths), load=load_registry)
    if report.errors:
        raise InvalidInput(report.diagnostics)
    assert report.registry is not None
    registry = with_status(report.registry, archive)
    return GenerateReport(generate_all(registry, report.contracts, out_dir, formats, engine, jobs),
                          list(report.diagnostics), registry.version, registry.status == "draft")


def batch(registry_dir: Path, paths: Iterable[Path], out_dir: Path, *, jobs: int | None = None,
          force: bool = False, progress: Callable | None = None, engine: str = "weasyprint",
          actor: Actor | None = None, archive: str | Path | None = None) -> BatchResult:
    """Regenerate every annex whose contract, registry content or approval, templates or engine changed (see
    batch.run); the archive's approved releases decide final or draft.

    With actor, the run is recorded in the audit log: refused before anything is written when it
    cannot be, and an earlier run into out_dir killed before its entry was written gets its entry.
    """
    from annex_gen.batch.run import run_batch
    from annex_gen.render import parse_engine

    registry = with_status(load_registry(registry_dir), archive)
    return run_batch(registry, list(paths), out_dir, jobs=jobs, force=force, progress=progress,
                     engine=parse_engine(engine), log=_run_log(actor) if actor is not None else None)


def _run_log(actor: Actor) -> RunLog:
    from annex_gen.audit import open_audit_log
    from annex_gen.batch.journal import RunLog
    from annex_gen.errors import NotRecorded

    def record(what: str, refs: list[str], params: dict | None = None) -> None:
        try:
            open_audit_log(actor.location).record(actor.name, "batch run", what, refs, params)
        except ArchiveError as exc:
            raise NotRecorded(f"{exc}; the annexes the run generated are kept, and recorded when the next "
                              "recorded run into the same folder starts") from None

    return RunLog(ready=actor.ready, record=record, started_by=actor.name)


def reconcile_batch(out_dir: Path, actor: Actor) -> str | None:
    """Record a batch run into out_dir that was killed before its entry was written; return the entry's text.

    Does nothing while a batch holds out_dir (it reconciles when it starts) or when there is nothing to record.
    """
    from annex_gen.batch import journal
    from annex_gen.batch.manifest import Manifest, locked
    from annex_gen.errors import OutputLocked

    if not (out_dir / journal.JOURNAL_NAME).exists():
        return None
    try:
        with locked(out_dir):
            manifest = Manifest.load(out_dir)
            manifest.sweep()
            return journal.reconcile(manifest, _run_log(actor))
    except OutputLocked:
        return None


def start_batch(runner: BatchRunner, registry_dir: Path, paths: Iterable[Path], out_dir: Path, *, started_by: str,
                jobs: int | None = None, force: bool = False, actor: Actor | None = None,
                on_finish: Callable[[BatchProgress], None] | None = None,
                archive: str | Path | None = None) -> BatchProgress:
    """Start `batch` in the runner's background thread; raise OutputLocked if one is running."""
    paths = list(paths)
    return runner.start(lambda progress: batch(registry_dir, paths, out_dir, jobs=jobs, force=force,
                                               progress=progress, actor=actor, archive=archive),
                        out_dir=out_dir, started_by=started_by, on_finish=on_finish)


def generated_annexes(out_dir: Path, customer: str) -> list[str]:
    """The document IDs of a customer's annexes in the output directory (PDF or DOCX), sorted."""
    from annex_gen.inputs.schema import ID_RE

    folder = out_dir / customer
    if not ID_RE.match(customer) or not folder.is_dir():  # an id names one folder, never a path
        return []
    return sorted({p.stem for p in folder.glob("ANX-*") if p.suffix in (".pdf", ".docx")})


# Registry changes


@dataclass(frozen=True)
class RegistryChoices:
    """The old registries a change can be compared from: recent git revisions, and what the last batch used."""

    revisions: list[Revision]
    last_batch_version: str | None  # the registry version of the newest annex in the batch manifest

    @property
    def last_batch_revision(self) -> Revision | None:
        """The newest revision whose registry is the one the last batch used."""
        return next((r for r in self.revisions if r.version and r.version == self.last_batch_version), None)


def registry_choices(registry_dir: Path, out_dir: Path, limit: int = 20) -> RegistryChoices:
    """Recent git revisions of the registry directory and the version the last batch into out_dir used."""
    from annex_gen.batch.manifest import Manifest
    from annex_gen.inputs.revisions import registry_revisions

    records = Manifest.load(out_dir).records.values()
    newest = max(records, key=lambda r: r.generated_at, default=None)
    return RegistryChoices(registry_revisions(registry_dir, limit), newest.registry_version if newest else None)


@dataclass(frozen=True)
class ReleaseChoices:
    """The releases a change can be compared with, newest first, and the default: the one last notified."""

    releases: list[ComparedRelease]
    baseline: ComparedRelease | None
    current_version: str
    notified: bool  # whether the baseline is the release customers were last notified of

    def find(self, ref: str) -> ComparedRelease | None:
        """The offered release of a ref (as the page's form sends it), or None."""
        return next((r for r in self.releases if r.ref == ref), None)


def release_choices(registry_dir: Path, notices_dir: Path, archive: str | Path | None = None) -> ReleaseChoices:
    """The registry's releases (see changes.releases) and the baseline, given where notices are written.

    The releases legal approved in the archive are the choices when there are any: each loads from the
    registry's git history (the commit that published its content), dated the day it was approved."""
    from annex_gen.changes import releases as rel

    found = rel.releases(registry_dir, _approved_choices(registry_dir, archive))
    current = load_registry(registry_dir).version
    notified = rel.notified(notices_dir)
    chosen = rel.baseline(found, notified, current)
    return ReleaseChoices(found, chosen, current, chosen is not None and chosen.version == notified)


def _approved_choices(registry_dir: Path, archive: str | Path | None) -> list[ComparedRelease]:
    """The archive's approved releases as changes.releases names them (only those git history can load)."""
    from annex_gen.changes.releases import Release as Choice
    from annex_gen.publish.history import read_history

    approved = release_list(archive) if archive is not None else []
    if not approved:
        return []
    commits = {v.registry.version: v.commit for v in read_history(registry_dir).versions}
    return [Choice(commits[r.version], r.label, r.version, r.approved_on, approved=True)
            for r in approved if r.version in commits]


def record_notified(notices_dir: Path, version: str, notice_date: dt.date) -> None:
    """Remember that customers were notified of a registry version: the Changes page's baseline from now on."""
    from annex_gen.changes.releases import record_notified as record

    record(notices_dir, version, notice_date)


def impact(registry_dir: Path, old: str, new: str | None, paths: Iterable[Path],
           archive: str | Path | None = None, sources: list[Any] | None = None) -> ImpactReport:
    """The diff from registry `old` to `new` (directories or git revisions) and whom it reaches.

    Both are resolved with the new registry's status (final where the archive holds legal's approval of
    it), so the new annexes a notice carries are final once approved and the diff shows content only; the
    report's old registry keeps its own status, which names the annex in force a new one replaces."""
    import dataclasses

    from annex_gen.changes.impact import impact as impact_of
    from annex_gen.inputs.revisions import load_registry_at
    from annex_gen.inputs.sources import gather, load_all

    old_registry, old_label = load_registry_at(old, registry_dir)
    new_registry, new_label = load_registry_at(new or str(registry_dir), registry_dir)
    new_registry = with_status(new_registry, archive)
    in_force = with_status(old_registry, archive)
    if old_registry.status != new_registry.status:
        old_registry = dataclasses.replace(old_registry, status=new_registry.status)
    sources, failures = (sources, []) if sources is not None else gather(paths)  # sources: a team's database
    # the annexes in force were dated under the old list; a notice dates the new annex itself
    loaded = load_all(new_registry, sources, failures, check_date=False)
    report = impact_of(old_registry, new_registry, loaded.contracts,
                       [(f.label, f.message, f.diagnostics) for f in loaded.failures], old_label=old_label,
                       new_label=new_label)
    return dataclasses.replace(report, old=in_force)


def notices(report: ImpactReport, out_dir: Path, *, notice_date: dt.date,
            effective_date: dt.date | None = None, jobs: int | None = None,
            engine: str = "weasyprint", batch_dir: Path | None = None) -> NoticesResult:
    """Write the change notice and new annex of every customer the change reaches, and the mail-merge CSV;
    with batch_dir the annex enclosed is the document a batch into batch_dir generates (the same one)."""
    from annex_gen.changes.notices import write_notices
    from annex_gen.render import parse_engine

    return write_notices(report, out_dir, notice_date=notice_date, effective_date=effective_date, jobs=jobs,
                         engine=parse_engine(engine), batch_dir=batch_dir)


def notice_rows(out_dir: Path) -> list[NoticeRow]:
    """The notices written into out_dir, as its notices.csv lists them."""
    from annex_gen.changes.bundle import notice_rows as rows

    return rows(out_dir)


def notice_files(out_dir: Path) -> list[str]:
    """notices.csv and every file it lists, relative to out_dir: what may be downloaded from there."""
    from annex_gen.changes.bundle import notice_files as files

    return files(out_dir)


def notices_zip(out_dir: Path) -> bytes:
    """A zip of notices.csv and every notice and annex it lists (deterministic)."""
    from annex_gen.changes.bundle import notices_zip as zipped

    return zipped(out_dir)


# The public list


@dataclass(frozen=True)
class PublishReport:
    """What `publish` wrote: every file's path, the history it was built from, and warnings."""

    files: list[Path]
    registry: Registry
    history: History
    warnings: list[Diagnostic]


def publish(registry_dir: Path, out_dir: Path, history: str | None = None,
            archive: str | Path | None = None) -> PublishReport:
    """Write the public list's static site (pages, JSON, Atom feed) from the releases legal approved.

    The archive's approvals pick the versions of the registry's git history (history: a revision
    range, default all of it) that are published, each with the effective date legal set; the
    list shown is the newest approved one (the registry's current content when it is approved).
    Nothing is published without an approved release. Everything is built before anything is
    written; each file is replaced atomically.
    """
    from annex_gen.output.write import write_atomic
    from annex_gen.publish.history import approved_only, left_out, read_history
    from annex_gen.publish.site import build_site

    current = load_registry(registry_dir)
    releases = release_list(archive) if archive is not None else []
    approved = {r.digest: r.effective for r in releases}
    if not approved:
        from annex_gen.archive.index import shown_url

        where = f" ({shown_url(str(archive))})" if archive is not None else ""
        raise UsageError(f"no approved release in the archive{where}: the public list shows "
                         "releases legal approved (`annex-gen release approve`); give the archive with --archive",
                         code="publish.no_release")
    labels = {r.digest: r.label for r in releases}  # the label legal approved each content as
    past = approved_only(read_history(registry_dir, history), approved, labels)
    warnings = left_out(past.skipped)
    registry = dataclass_replace(current, release=labels[current.digest]) if current.digest in labels else current
    if current.digest not in approved:
        if not past.versions:
            raise UsageError("no approved release is committed in the registry's history read: commit the "
                             "registry content legal approved, then publish", code="publish.release_uncommitted")
        registry = past.versions[-1].registry
        warnings.append(Diagnostic(str(registry_dir), None, None, "", f"the registry's content ({current.version}) "
                                   f"is not an approved release; the site shows release {registry.version}",
                                   "warning", code="publish.not_approved",
                                   params={"current": current.version, "shown": registry.version}))
    elif past.version_of(registry) is None:
        warnings.append(Diagnostic(str(registry_dir), None, None, "", "the registry's content is not committed "
                                   "in the history read; the pages show no date it took effect", "warning",
                                   code="publish.uncommitted"))
    files = build_site(registry, past)
    written = []
    for name, data in files.items():
        write_atomic(out_dir / name, data)
        written.append(out_dir / name)
    return PublishReport(written, registry, past, warnings)


# The signed-annex archive


def open_archive(location: str | Path, *, create: bool = False) -> Archive:
    """The archive at a location (a directory or a postgresql:// URL); use it as a context manager."""
    from annex_gen.archive.store import Archive

    return Archive.open(location, create=create)


def archive_add(location: str | Path, request: AddRequest, *, actor: Actor | None = None) -> Record:
    """Read, check and store one signed file (or an attachment of a record).

    With actor, the act is recorded in the audit log before the record commits: a file whose
    entry cannot be written is not archived.
    """
    from annex_gen.archive.intake import add_file

    def recorded(record: Record) -> None:
        if actor is not None:
            refs = [f"#{record.seq}"] + ([record.document_id] if record.document_id else [])
            actor.record("file archived", f"{record.file_name} for customer {record.customer_id}", refs,
                         {"file": record.file_name, "customer": record.customer_id})

    if actor is not None:
        actor.ready()
    with open_archive(location, create=True) as archive:
        return add_file(archive, request, before_commit=recorded)


def archive_exists(location: str | Path) -> bool:
    """Whether an archive exists at location (a directory with its index, or a database with its schema);
    raises where that is not known (see _existing_archive)."""
    opened = _existing_archive(location)
    if opened is not None:
        opened.close()
    return opened is not None


def archive_inspect(location: str | Path, request: AddRequest) -> Inspection:
    """What archive_add would read from the file and store, or why it would refuse it; stores nothing."""
    import tempfile

    from annex_gen.archive.intake import inspect_file

    if archive_exists(location):
        with open_archive(location) as archive:
            return inspect_file(archive, request)
    with tempfile.TemporaryDirectory(prefix="annex-gen-inspect-") as empty, \
            open_archive(empty, create=True) as archive:  # no archive yet: nothing is a duplicate
        return inspect_file(archive, request)


def archive_file(location: str | Path, ref: str | int) -> tuple[Record, bytes]:
    """A record and its file's bytes, checked against the recorded SHA-256."""
    with open_archive(location) as archive:
        record = archive.get(ref)
        return record, archive.read_file(record)


def archive_records(location: str | Path, customer: str | None = None) -> list[Record]:
    """Every record, or one customer's, in record order."""
    with open_archive(location) as archive:
        return archive.records(customer)


def document_owner(location: str | Path, out_dir: Path, document_id: str) -> tuple[str, bool] | None:
    """Whose annex a document ID is, and whether it is archived (else generated into out_dir); None if unknown."""
    if not re.match(r"^ANX-[0-9A-F-]{19}$", document_id):
        return None
    if archive_exists(location):
        with open_archive(location) as archive:
            found = archive.with_document(document_id)
            if found:
                return found[0].customer_id, True
    for ext in ("pdf", "docx"):
        for path in sorted(out_dir.glob(f"*/{document_id}.{ext}")):
            return path.parent.name, False
    return None


def archive_record(location: str | Path, ref: str | int) -> tuple[Record, list[Record]]:
    """One record (by number or file SHA-256 prefix) and its attachments."""
    with open_archive(location) as archive:
        record = archive.get(ref)
        return record, archive.attachments(record.seq)


def archive_export(location: str | Path, ref: str | int, out: Path, *, force: bool = False) -> tuple[Record, bytes]:
    """Write a record's file to out, byte-identical; refuse to replace out unless force."""
    from annex_gen.output.write import write_atomic

    if out.exists() and not force:
        raise UsageError(f"{out} already exists; choose another --out or add --force to replace it")
    with open_archive(location) as archive:
        record = archive.get(ref)
        data = archive.read_file(record)
    write_atomic(out, data)
    return record, data


def archive_verify(location: str | Path, *, head: Heads | None = None) -> VerifyReport:
    """Re-hash every file, check the record chain, the index, that each record says what its file does,
    and the audit log's chain.

    With heads kept outside the archive, each chain must still lead through its head unchanged:
    the only way to notice that the last records or audit entries were removed.
    """
    from annex_gen.archive.intake import recheck
    from annex_gen.audit import open_audit_log

    with open_archive(location) as archive:
        report = archive.verify(head.record if head else None)
        if not report.errors:  # a damaged index or file is reported as such, not as a forgery
            recheck(archive, report)
    open_audit_log(location).verify(report, head.audit if head else None)
    report.anchored = tuple(name for name, h in (("records", head and head.record), ("audit", head and head.audit))
                            if h is not None)
    return report


def archive_head(location: str | Path) -> Heads:
    """The heads of the record chain and the audit log (last number and hash) to keep outside the archive."""
    from annex_gen.archive.chain import Heads
    from annex_gen.audit import open_audit_log

    with open_archive(location) as archive:
        record = archive.head()
    return Heads(record, open_audit_log(location).head())


def archive_migrate(location: str | Path) -> tuple[int | None, int]:
    """Create the archive's schema or bring it to the current version: (version found or None, version now)."""
    from annex_gen.archive.store import Archive

    with Archive.open(location, create=True, migrate=True) as archive:
        return archive.index.migrated_from, archive.index.schema_version()


@dataclass(frozen=True)
class CopyReport:
    """What `archive copy` copied, and the verification of the copy."""

    copied: int
    already: int
    verify: VerifyReport
    audit_copied: int = 0


def archive_copy(source: str | Path, target: str | Path, *,
                 progress: Callable[[Record], None] | None = None) -> CopyReport:
    """Copy every record (numbers, hashes, chain) and file, and the audit log, from source to target; verify the copy.

    The source must verify; the target must be empty or hold a prefix of the source (an interrupted
    copy), so a copy can be repeated until it completes. The copy is verified against the source's heads.
    """
    from annex_gen.archive.chain import Heads
    from annex_gen.archive.store import Archive, Head, copy_records
    from annex_gen.audit import open_audit_log

    with open_archive(source) as src:
        report = src.verify()
        open_audit_log(source).verify(report)
        if report.errors:
            raise ArchiveError(f"{src.location}: the archive to copy does not verify "
                               f"({Counted(len(report.errors)):problem|problems}; `annex-gen archive verify` "
                               "lists them); nothing was copied")
        with Archive.open(target, create=True) as dst:
            copied, already = copy_records(src, dst, progress=progress)
    audit_copied, _ = open_audit_log(target).copy_from(open_audit_log(source))
    heads = Heads(report.head and Head(report.head.seq, report.head.record_hash), report.audit_head)
    return CopyReport(copied, already, archive_verify(target, head=heads), audit_copied)


@dataclass(frozen=True)
class StatusReport:
    """The annex in force per customer on a date, compared with the current registry."""

    on: dt.date
    registry: Registry
    customers: list[CustomerStatus]
    diagnostics: list[Diagnostic]
    names: dict[str, str] = field(default_factory=dict)  # customer id -> name, from the contracts

    def name_of(self, status: CustomerStatus) -> str:
        """A customer's name: the contract's, else the one its archived annex printed, else ''."""
        annex = status.record.annex if status.record is not None else None
        customer = annex.get("customer") if annex is not None else None
        printed = customer.get("name", "") if isinstance(customer, dict) else ""
        return self.names.get(status.customer_id) or printed or ""

    @property
    def not_current(self) -> list[CustomerStatus]:
        """The customers whose annex in force is not what the registry resolves today."""
        return [s for s in self.customers if s.state != "current"]

    @property
    def input_errors(self) -> list[Diagnostic]:
        """The problems of contract files that left their customers out of the report (not the warnings)."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def to_dict(self) -> dict:
        """The stable JSON interface of `annex-gen archive status --json`."""
        return {"on": self.on.isoformat(), "registry_version": self.registry.version,
                "customers": [s.to_dict() for s in self.customers]}


def archive_status(location: str | Path, registry_dir: Path, customers: Iterable[Path], *,
                   on: dt.date | None = None, customer: str | None = None) -> StatusReport:
    """Each customer's annex in force on a date (default today) and its drift from the current registry."""
    from annex_gen.archive.status import archive_status as status
    from annex_gen.loaded import resolved

    on = on or dt.date.today()
    registry = with_status(load_registry(registry_dir), location)  # what the registry resolves now: final once approved
    contracts = resolved(registry, list(customers))  # kept while the files are unchanged: a server asks per page
    with open_archive(location) as archive:
        statuses = status(archive, registry, contracts.contracts, on, customer, annex_of=contracts.annex_of)
    return StatusReport(on, registry, statuses, list(contracts.diagnostics),
                        {c.customer_id: c.customer_name for c in contracts.contracts})


# Users of the web application


def add_user(path: Path, name: str, role: str, password: str) -> bool:
    """Add a user to the users file (created if missing), or replace their role and password; True if replaced.

    Replacing ends every session the user has (on every server reading the file).
    """
    from annex_gen.users import check_new_user, set_user, update_users

    check_new_user(name, role, password)
    replaced = False

    def change(users: dict) -> None:
        nonlocal replaced
        replaced = name in users
        set_user(users, name, role, password)

    update_users(path, change, create=True)
    return replaced


def remove_user(path: Path, name: str) -> None:
    """Remove a user from the users file; they can no longer sign in and their sessions end."""
    from annex_gen.users import update_users

    def change(users: dict) -> None:
        if users.pop(name, None) is None:
            raise UsageError(f"no user {name!r} in {path}")

    update_users(path, change)


def end_user_sessions(path: Path, name: str) -> None:
    """End every session of a user, on every server reading the users file."""
    from annex_gen.users import end_sessions, update_users

    def change(users: dict) -> None:
        if name not in users:
            raise UsageError(f"no user {name!r} in {path}")
        end_sessions(users, name)

    update_users(path, change)


def team_sessions_url(archive: str | Path) -> str | None:
    """The team database whose web instances keep users' session generations, when the archive is one (a
    postgresql:// archive with the team schema); raise ArchiveError when it cannot be asked."""
    from annex_gen.archive.index import is_server_url

    if not is_server_url(archive):
        return None
    from annex_gen.team import schema

    return str(archive) if schema.installed(str(archive)) else None


def end_team_sessions(url: str, path: Path, name: str, by: str, *, changed: str = "") -> None:
    """End every session of a user of the users file at path on every web instance of the team database at url;
    changed says what was already written to the users file, for the message when the database fails."""
    from annex_gen.team.sessions import end_everywhere as end_sessions
    from annex_gen.users import load_users

    if not changed and name not in load_users(path):
        raise UsageError(f"no user {name!r} in {path}")
    try:
        end_sessions(url, name, by)
    except ArchiveError as exc:
        if not changed:
            raise
        raise ArchiveError(f"{changed}, but their sessions on the team's web instances were not ended: {exc}; "
                           f"end them with `annex-gen users sign-out {name} --archive URL` once the database "
                           "answers") from None


# The customers folder, as the web application edits it (see workspace)


def contract_listing(registry_dir: Path, customers_dir: Path, out_dir: Path,
                     archive: str | Path | None = None) -> tuple[Registry, Listing]:
    """The registry and every contract of the folder with its annex state (final where the archive holds
    legal's approval of the registry, else drafts); unreadable files as problems."""
    from annex_gen.workspace import list_contracts

    registry = with_status(load_registry(registry_dir), archive)
    return registry, list_contracts(registry, customers_dir, out_dir)


def contract_entry(registry_dir: Path, customers_dir: Path, out_dir: Path,
                   customer_id: str, archive: str | Path | None = None) -> tuple[Registry, ContractEntry]:
    """One customer's contract, annex and annex state; raise NotFound."""
    registry, listing = contract_listing(registry_dir, customers_dir, out_dir, archive)
    return registry, listing.get(customer_id)


def save_contract(registry_dir: Path, customers_dir: Path, form: ContractForm, *, editing: str | None = None,
                  digest: str = "", actor: Actor | None = None) -> Saved:
    """Validate a contract form and write its YAML atomically (new, or a round-trip edit of `editing`).

    Raises InvalidInput (every problem, as `check` words it) or EditConflict (id taken, or the file
    changed since it was read with `digest`). With actor, the save is recorded in the audit log
    before the file is written; ArchiveError (nothing saved) when the entry cannot be written.
    """
    from annex_gen.workspace import save_contract as save

    def recorded(saved: Saved) -> None:
        if actor is not None:
            actor.record("contract saved", f"{saved.path.name} ({'new' if saved.created else 'edited'})",
                         [saved.contract.customer_id], {"variant": "new" if saved.created else "edited",
                                                        "file": saved.path.name, "name": saved.contract.customer_name})

    if actor is not None:
        actor.ready()
    return save(load_registry(registry_dir), customers_dir, form, editing=editing, digest=digest,
                before_write=recorded)


def preview_html(annex: Annex) -> bytes:
    """The annex as the HTML that becomes its PDF (it links annex.css and fonts/ beside it)."""
    from annex_gen.render import render

    return render(annex, "html")


def annex_output(registry_dir: Path, customers_dir: Path, out_dir: Path, customer_id: str, fmt: str,
                 archive: str | Path | None = None) -> Path:
    """Where annex_file keeps a customer's current annex in a format (the file may not be written yet)."""
    from annex_gen.output.generate import output_path
    from annex_gen.render import DOCUMENT_FORMATS

    if fmt not in DOCUMENT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(DOCUMENT_FORMATS)}")
    _, entry = contract_entry(registry_dir, customers_dir, out_dir, customer_id, archive)
    return output_path(out_dir, entry.annex, fmt)


def annex_file(registry_dir: Path, customers_dir: Path, out_dir: Path, customer_id: str, fmt: str, *,
               actor: Actor | None = None, archive: str | Path | None = None) -> Path:
    """OUT/<customer>/<document-id>.<fmt>, generated on first request and then served as it is.

    The bytes are those `annex-gen generate` writes: the same resolution, renderer and path. With
    actor, a file generated now is recorded in the audit log before it is written; ArchiveError
    (nothing written) when the entry cannot be written.
    """
    from annex_gen.output.generate import generate as write_annex
    from annex_gen.output.generate import output_path
    from annex_gen.render import DOCUMENT_FORMATS

    if fmt not in DOCUMENT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(DOCUMENT_FORMATS)}")
    registry, entry = contract_entry(registry_dir, customers_dir, out_dir, customer_id, archive)
    path = output_path(out_dir, entry.annex, fmt)
    if not path.is_file():  # the document ID names the content: an existing file is this annex
        def recorded(paths: list[Path]) -> None:
            if actor is not None:
                actor.record("annex generated", f"{path.parent.name}: {fmt.upper()}", [path.stem],
                             {"customer": path.parent.name, "format": fmt.upper()})

        if actor is not None:
            actor.ready()
        write_annex(registry, entry.contract, out_dir, (fmt,), annex=entry.annex, before_write=recorded)
    return path


# The audit trail


def audit_record(location: str | Path, actor: str, action: str, what: str,
                 refs: Iterable[str | int] = (), params: dict | None = None) -> AuditEntry:
    """Append an action to the audit log of the archive at location (a directory or a postgresql:// URL)."""
    from annex_gen.audit import open_audit_log

    return open_audit_log(location).record(actor, action, what, refs, params)


def audit_entries(location: str | Path) -> list[AuditEntry]:
    """The audit log of the archive at location, oldest first."""
    from annex_gen.audit import open_audit_log

    return open_audit_log(location).entries()


def audit_csv(location: str | Path) -> bytes:
    """The audit log as CSV."""
    from annex_gen.audit import entries_csv

    return entries_csv(audit_entries(location))
