"""The registry's published versions, read from the git history of the registry directory."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from annex_gen.changes.registry_diff import RegistryChange, diff_registries
from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.inputs.revisions import _git, load_registry_at
from annex_gen.model import Registry


@dataclass(frozen=True)
class Version:
    """One release of the registry: the content last committed under its label, and the day of that commit."""

    registry: Registry
    commit: str
    published: dt.date  # the commit's date (UTC): the day the change was published
    changes: tuple[RegistryChange, ...]  # from the previous version; empty for the first
    first: bool  # the oldest version of the history read
    approved_effective: dt.date | None = None  # the effective date legal set when approving it

    @property
    def effective(self) -> dt.date | None:
        """The day the version takes effect: as legal set it on approval, else in the registry (`effective`);
        None if neither sets it."""
        if self.approved_effective is not None:
            return self.approved_effective
        return self.registry.effective

    @property
    def objection_deadline(self) -> dt.date | None:
        """The last day to object: the objection period ends before the effective date; None without one."""
        if self.effective is None:
            return None
        terms = self.registry.notice
        return max(self.effective - dt.timedelta(days=terms.resolution_days),
                   min(self.effective, self.published + dt.timedelta(days=terms.objection_days)))


@dataclass(frozen=True)
class History:
    """The versions, oldest first, and the revisions that could not be read."""

    versions: tuple[Version, ...] = ()
    skipped: tuple[Diagnostic, ...] = ()

    def version_of(self, registry: Registry) -> Version | None:
        """The version with exactly this content, or None if it is not the final content of a release."""
        return next((v for v in reversed(self.versions) if v.registry.digest == registry.digest), None)


def _commits(registry_dir: Path, rev_range: str | None) -> list[tuple[str, dt.date]]:
    """The commits that touched registry_dir within rev_range, oldest first, with their UTC dates."""
    if rev_range is not None and (not rev_range or rev_range.startswith("-")):
        raise UsageError(f"--history {rev_range!r} is not a git revision range")
    inside = _git(registry_dir, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        if rev_range is not None:
            raise UsageError(f"--history {rev_range}: {registry_dir} is not inside a git repository")
        return []
    if _git(registry_dir, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return []  # a repository without commits has no history yet
    # --first-parent: what landed on the main line, a merged branch as its merge commit, never
    # the branch's intermediate states interleaved with the main line's.
    args = ["log", "--first-parent", "--reverse", "--format=%H %ct"]
    if rev_range is not None:
        args.append(rev_range)
    log = _git(registry_dir, *args, "--", ".")
    if log.returncode != 0:
        reason = log.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"--history {rev_range}: not a revision range of the repository holding "
                         f"{registry_dir}" + (f" ({reason[0]})" if reason else ""))
    commits = []
    for line in log.stdout.decode().splitlines():
        sha, stamp = line.split()
        commits.append((sha, dt.datetime.fromtimestamp(int(stamp), dt.UTC).date()))
    return commits


def _load(sha: str, registry_dir: Path, skipped: list[Diagnostic]) -> Registry | None:
    try:
        return load_registry_at(sha, registry_dir)[0]
    except InvalidInput as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        skipped.append(Diagnostic(f"{sha[:12]}:registry/", None, None, "", "left out of the history: the registry "
                                  "at this commit does not load" + (f" ({first})" if first else ""),
                                  severity="warning"))
        return None


def read_history(registry_dir: Path, rev_range: str | None = None) -> History:
    """The registry's releases committed in rev_range (default: all history), each with its changes.

    A version is a release label: consecutive commits with the same label are one version, whose
    content is the last of them and whose date is the day that content was committed (work on
    a release in several commits is one entry; the label says what customers see as a version).
    A commit that changes no content (comments, formatting) changes nothing. With a range, the
    first version is compared with the registry just before the range. A revision whose
    registry does not load with this annex-gen is left out and reported in `skipped`.
    """
    skipped: list[Diagnostic] = []
    commits = _commits(registry_dir, rev_range)
    baseline: Registry | None = None
    if rev_range is not None and commits:
        parent = f"{commits[0][0]}^"
        if _git(registry_dir, "rev-parse", "--verify", "--quiet", f"{parent}^{{commit}}").returncode == 0:
            baseline = _load(parent, registry_dir, skipped)
    states: list[tuple[str, dt.date, Registry]] = []  # distinct contents, oldest first
    last = baseline
    for sha, day in commits:
        registry = _load(sha, registry_dir, skipped)
        if registry is None or (last is not None and registry.digest == last.digest):
            continue
        if states and states[-1][2].release == registry.release:
            states[-1] = (sha, day, registry)  # the same release, completed
        else:
            states.append((sha, day, registry))
        last = registry
    versions: list[Version] = []
    previous = baseline
    for sha, day, registry in states:
        changes = diff_registries(previous, registry) if previous is not None else ()
        versions.append(Version(registry, sha, day, changes, first=previous is None))
        previous = registry
    return History(tuple(versions), tuple(skipped))


def approved_only(history: History, approved: dict[str, dt.date | None],
                  labels: dict[str, str] | None = None) -> History:
    """The versions legal approved (approved: registry digest -> effective date), each with the effective date
    legal set and its changes from the approved version before it; the others are left out.

    labels (digest -> the release label legal approved it as) name each version as approved: the label is
    not part of the content, and a commit may carry the label before approval."""
    versions: list[Version] = []
    previous: Registry | None = None
    for v in history.versions:
        if v.registry.digest not in approved:
            continue
        if previous is None:
            changes, first = v.changes, v.first
        else:
            changes, first = tuple(diff_registries(previous, v.registry)), False
        label = (labels or {}).get(v.registry.digest)
        registry = dataclasses.replace(v.registry, release=label) if label else v.registry
        versions.append(Version(registry, v.commit, v.published, changes, first, approved[v.registry.digest]))
        previous = v.registry
    return History(tuple(versions), history.skipped)


def left_out(skipped: tuple[Diagnostic, ...]) -> list[Diagnostic]:
    """The revisions left out of the history as one warning (a registry written for an older annex-gen
    fails at every commit until it was updated), naming the first and last and the first's problem."""
    if len(skipped) <= 1:
        return list(skipped)
    first, last = skipped[0], skipped[-1]
    oldest, newest = first.file.removesuffix(":registry/"), last.file.removesuffix(":registry/")
    reason = first.message.removeprefix("left out of the history: the registry at this commit does not load")
    reason = reason.strip().removeprefix("(").removesuffix(")")
    return [Diagnostic("registry/", None, None, "", f"left out of the history: {len(skipped)} commits, from "
                       f"{oldest} to {newest}, whose registry does not load with this annex-gen"
                       + (f"; the first: {reason}" if reason else ""), severity="warning")]
