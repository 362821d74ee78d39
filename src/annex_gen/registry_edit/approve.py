"""Four eyes: a legal user who did not write a proposal approves it, and the registry files change.

Approval applies the proposals (one or several, combined into one change of the list) to the
files as they are now, checks the result as `annex-gen check` does, writes the files (round-trip:
comments and order kept) and records the change in the registry's history: a git commit by the
approver when the registry is a git checkout, else the approval's event in the change log holds
the files' texts. Either way the approval is an event of the change log's chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from annex_gen.errors import AnnexGenError, Diagnostic, EditConflict, InvalidInput, OutputError
from annex_gen.hashing import sha256_text
from annex_gen.output.write import write_atomic
from annex_gen.registry_edit.changes import merge_summary
from annex_gen.registry_edit.log import ChangeLog, Event
from annex_gen.registry_edit.proposals import OPEN, Proposal, fold
from annex_gen.registry_edit.staged import read_texts, stage
from annex_gen.registry_edit.yamledit import round_trip_yaml


class FourEyesRefused(AnnexGenError):
    """The approver wrote (proposed or edited) a proposal they are approving."""


@dataclass(frozen=True)
class Approval:
    """What an approval did: the proposals, the files written, the commit (None outside git), the event."""

    proposals: tuple[int, ...]
    files: tuple[str, ...]
    commit: str | None
    event: Event
    release: str


@contextlib.contextmanager
def _locked(registry_dir: Path) -> Iterator[None]:
    """One approval at a time writes the registry (across processes): a lock on the directory itself."""
    fd = os.open(registry_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _git(registry_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(registry_dir), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def in_git(registry_dir: Path) -> bool:
    """Whether the registry directory is inside a git work tree."""
    try:
        return _git(registry_dir, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    except FileNotFoundError:
        return False


def refusal(items: Sequence[Proposal], approver: str) -> str | None:
    """Why approver may not approve these proposals (None: they may)."""
    for p in items:
        if p.status != OPEN:
            return f"Proposal #{p.id} is {p.status} already."
        if approver in p.authors:
            role = "proposed" if approver == p.proposer else "edited"
            return (f"You {role} proposal #{p.id} yourself: another legal user must approve it "
                    "(four eyes: whoever writes a change does not approve it).")
    return None


def _refused(items: Sequence[Proposal], approver: str) -> AnnexGenError | None:
    """refusal() as the error to raise: four eyes, or a proposal closed already."""
    why = refusal(items, approver)
    if why is None:
        return None
    pid = next(p.id for p in items if p.status != OPEN or approver in p.authors)
    if "four eyes" in why:
        return FourEyesRefused(why, code="editor.four_eyes", params={"id": pid})
    return EditConflict(why, code="editor.closed", params={"id": pid})


def _changed_since(items: Sequence[Proposal], seen: Mapping[int, int] | None) -> EditConflict | None:
    """A proposal edited since the revision the approver saw: approving it would approve what they did not see."""
    if seen is None:
        return None
    changed = next((p for p in items if seen.get(p.id) != p.revision), None)
    if changed is None:
        return None
    last = changed.events[-1]
    return EditConflict(f"proposal #{changed.id} changed after you opened it ({last.actor}, {last.at}): open it again "
                        "and review what it changes now", code="editor.changed_since",
                        params={"id": changed.id, "who": last.actor, "at": last.at})


def next_release(release: str) -> str:
    """A suggestion for the next release label: '2026.11.1' -> '2026.11.2'."""
    head, dot, last = release.rpartition(".")
    return f"{head}{dot}{int(last) + 1}" if last.isdigit() else f"{release}.1"


def _set_release(text: str, release: str) -> str:
    import io

    yaml = round_trip_yaml()
    data = yaml.load(text)
    if data.get("release") == release:
        return text
    data["release"] = release
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _message(items: Sequence[Proposal], approver: str, release: str) -> str:
    lines = [f"Registry: {merge_summary([c for p in items for c in p.changes])}"[:200], ""]
    for p in items:
        lines.append(f"Proposal #{p.id} by {', '.join(p.authors)} ({p.proposed_at}): {p.summary}")
        lines.append(f"Reason: {p.reason}")
        for s in p.sources:
            lines.append(f"Source: {' · '.join(s.values())}")
        lines.append("")
    lines.append(f"Release: {release}")
    lines.append(f"Approved-by: {approver}")
    return "\n".join(lines) + "\n"


def _commit(registry_dir: Path, names: Sequence[str], approver: str, message: str) -> str:
    email = f"{approver}@annex-gen.invalid"
    env = {"GIT_AUTHOR_NAME": approver, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": approver, "GIT_COMMITTER_EMAIL": email}
    added = _git(registry_dir, "add", "--", *names)
    done = added if added.returncode else _git(registry_dir, "-c", "commit.gpgsign=false", "commit", "--no-verify",
                                               "-q", "-m", message, "--",
                                               *names, env=env)
    if done.returncode != 0:
        raise OutputError(f"{registry_dir}: git could not commit the approved change: "
                          f"{(done.stderr or done.stdout).strip()}")
    return _git(registry_dir, "rev-parse", "HEAD").stdout.strip()


def approve(log: ChangeLog, registry_dir: Path, approver: str, ids: Sequence[int], *, release: str = "",
            seen: Mapping[int, int] | None = None) -> Approval:
    """Approve open proposals together: write the registry files, commit or chain them, record the approval.

    Refused (FourEyesRefused) when the approver wrote any of them; EditConflict when one changed since the
    revision the approver saw (seen: id -> Proposal.revision); InvalidInput when the list they make
    together does not pass the checks (nothing is written then).
    """
    if not ids:
        raise InvalidInput([Diagnostic("approval", None, None, "proposals", "choose at least one proposal",
                                       code="editor.choose")])
    with _locked(registry_dir):
        current = fold(log.events())
        missing = [i for i in ids if i not in current]
        if missing:
            raise EditConflict(f"there is no proposal #{missing[0]}", code="editor.no_proposal",
                               params={"id": missing[0]})
        items = [current[i] for i in sorted(set(ids))]
        refused = _refused(items, approver) or _changed_since(items, seen)
        if refused is not None:
            raise refused
        before = read_texts(registry_dir)
        staged = stage(registry_dir, [c for p in items for c in p.changes], before)
        if staged.errors:
            raise InvalidInput(staged.diagnostics)
        texts = dict(staged.texts)
        release = " ".join(release.split())
        if release:
            texts["registry.yaml"] = _set_release(texts["registry.yaml"], release)
        changed = [name for name in texts if texts[name] != before[name]]
        for name in changed:
            write_atomic(registry_dir / name, texts[name].encode("utf-8"))
        commit = None
        try:
            if in_git(registry_dir):
                commit = _commit(registry_dir, changed, approver, _message(items, approver, release or "unchanged"))
        except AnnexGenError:
            for name in changed:  # the files go back as they were: no change outside the history
                write_atomic(registry_dir / name, before[name].encode("utf-8"))
            raise
        from annex_gen import app

        registry = app.load_registry(registry_dir)
        data = {"proposals": [p.id for p in items], "summary": merge_summary([c for p in items for c in p.changes]),
                "release": registry.release, "version": registry.version, "commit": commit,
                "files": {name: {"before": sha256_text(before[name]), "after": sha256_text(texts[name])}
                          for name in changed}}
        if commit is None:  # no git: the chain is the registry's history, so it keeps the texts
            data["texts"] = {name: texts[name] for name in changed}

        def still_open(events: list[Event]) -> None:
            now = [fold(events)[p.id] for p in items]
            again = _refused(now, approver) or _changed_since(now, seen)
            if again is not None:
                raise EditConflict(str(again), code=again.code, params=again.params)

        event = log.append("approved", approver, data, guard=still_open)
    return Approval(tuple(p.id for p in items), tuple(changed), commit, event, registry.release)
