"""A registry from a directory or from a git revision of the registry directory."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.model import Registry


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed; give registry directories instead of revisions") from None


def load_registry_at(spec: str, registry_dir: Path) -> tuple[Registry, str]:
    """The registry in directory spec, or in revision spec of the git repository holding registry_dir.

    Returns the registry and a label saying where it came from (the directory, or
    'REV:path/to/registry/'). Diagnostics of a revision name the file as 'REV:path/file'.
    """
    import tempfile

    from annex_gen.inputs.registry import FILES, load_registry  # `check` rarely gets this far

    if Path(spec).is_dir():
        return load_registry(Path(spec)), spec
    if not registry_dir.is_dir():
        raise UsageError(f"{spec!r} is not a directory, and {registry_dir} is not a registry directory "
                         "inside a git repository to look the revision up in")
    if spec.startswith("-") or _git(registry_dir, "rev-parse", "--verify", "--quiet",
                                    f"{spec}^{{commit}}").returncode != 0:
        raise UsageError(f"{spec!r} is neither a registry directory nor a git revision of {registry_dir}")
    prefix = _git(registry_dir, "rev-parse", "--show-prefix").stdout.decode().strip()
    label = f"{spec}:{prefix}"
    with tempfile.TemporaryDirectory(prefix="annex-gen-registry-") as tmp:
        missing = []
        for name in FILES:
            shown = _git(registry_dir, "show", f"{spec}:./{name}")
            if shown.returncode != 0:
                missing.append(Diagnostic(f"{label}{name}", None, None, "", "not in this revision"))
                continue
            (Path(tmp) / name).write_bytes(shown.stdout)
        if missing:
            raise InvalidInput(missing)
        try:
            return load_registry(Path(tmp)), label
        except InvalidInput as exc:
            shown = [replace(d, file=d.file.replace(tmp + "/", label)) for d in exc.diagnostics]
            raise InvalidInput(shown) from None


@dataclass(frozen=True)
class Revision:
    """A commit that changed the registry directory."""

    commit: str
    date: str  # the commit date, YYYY-MM-DD
    subject: str
    version: str | None  # the registry version at that commit; None if it does not load


def registry_revisions(registry_dir: Path, limit: int = 20) -> list[Revision]:
    """The latest commits that changed registry_dir, newest first, each with its registry version.

    Empty when registry_dir is not in a git repository (or git is missing).
    """
    try:
        log = _git(registry_dir, "log", f"-n{limit}", "--format=%H%x09%cs%x09%s", "--", ".")
    except UsageError:
        return []
    if log.returncode != 0:
        return []
    out = []
    for line in log.stdout.decode("utf-8", "replace").splitlines():
        commit, date, subject = line.split("\t", 2)
        out.append(Revision(commit, date, subject, _version_at(commit, str(registry_dir.resolve()))))
    return out

def _next_release(release: str) -> str:
    """A suggestion for the next release label: '2026.11.1' -> '2026.11.2'."""
    head, dot, last = release.rpartition(".")
    return f"{head}{dot}{int(last) + 1}" if last.isdigit() else f"{release}.1"


def release_label_warning(registry_dir: Path, registry: Registry) -> Diagnostic | None:
    """A warning when the registry content differs from its last commit but its release label does not.

    Customers and the change feed tell versions apart by the label. None outside git, when
    nothing changed since that commit, or when the label was changed too.
    """
    from annex_gen.inputs.yamlio import load, parse_text

    try:
        # One process in the common case: the files as in HEAD are as in the last commit touching them.
        if _git(registry_dir, "diff", "--quiet", "HEAD", "--", ".").returncode == 0:
            return None
        log = _git(registry_dir, "log", "--max-count=1", "--format=%H", "--", ".")
    except UsageError:
        return None  # no git: nothing to compare with
    sha = log.stdout.decode().strip()
    if log.returncode != 0 or not sha:
        return None
    # Cheap answers first (check runs often): files as committed, or a new label, need no loading.
    if _git(registry_dir, "diff", "--quiet", sha, "--", ".").returncode == 0:
        return None
    shown = _git(registry_dir, "show", f"{sha}:./registry.yaml")
    try:
        meta = parse_text(shown.stdout.decode("utf-8"), f"{sha}:registry.yaml").data if shown.returncode == 0 else None
    except (InvalidInput, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("release") != registry.release:
        return None
    try:
        committed, _ = load_registry_at(sha, registry_dir)
    except (InvalidInput, UsageError):
        return None  # an older layout: nothing comparable
    if committed.digest == registry.digest:
        return None  # only comments or formatting changed
    doc = load(registry_dir / "registry.yaml")
    return doc.diag(("release",), f"the registry content changed since commit {sha[:12]} but the release label "
                    f"is still {registry.release!r}; customers and the change feed tell versions apart by it: "
                    f"set a new label, e.g. {_next_release(registry.release)!r}", severity="warning",
                    code="registry.release_unchanged",
                    params={"release": registry.release, "next": _next_release(registry.release)})


@lru_cache(maxsize=256)
def _version_at(commit: str, registry_dir: str) -> str | None:
    """The registry version at a commit (a full hash names fixed content, so it is cached)."""
    try:
        return load_registry_at(commit, Path(registry_dir))[0].version
    except (InvalidInput, UsageError):
        return None
