"""Helpers of the publish tests: scripted registry histories in git, and the list page's text."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from annex_gen.inputs.yamlio import load

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_DIR = ROOT / "registry"
GOLDEN_SITE_DIR = ROOT / "tests" / "output" / "site"
# The files of the site kept as golden files: both pages, both change pages, the JSON and the feed.
GOLDEN_FILES = ("index.html", "en.html", "changes.html", "changes-en.html", "subprocessors.json", "changes.atom")
# The published list lives in shared/ beside the repository.
_BESIDE_REPO = ROOT.parent / "shared" / "source" / "published-subprocessor-list-fi.txt"
PUBLISHED_LIST = Path(os.environ.get("ANNEX_GEN_PUBLISHED_LIST", str(_BESIDE_REPO)))


def git(repo: Path, *args: str, date: str | None = None) -> str:
    """Run git in repo with a fixed identity (and commit date), failing loudly."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Registry Editor", "GIT_AUTHOR_EMAIL": "registry@example.com",
           "GIT_COMMITTER_NAME": "Registry Editor", "GIT_COMMITTER_EMAIL": "registry@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout


Edit = Callable[[Path], None]


@dataclass(frozen=True)
class Commit:
    """One scripted commit: an edit of the registry directory, its date and message."""

    date: str
    message: str
    edit: Edit | None = None


def scripted_history(repo: Path, commits: Sequence[Commit], registry: Path = REGISTRY_DIR) -> Path:
    """A git repository at repo whose registry/ starts as a copy of registry and changes commit by commit."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(registry, repo / "registry")
    for commit in commits:
        if commit.edit is not None:
            commit.edit(repo / "registry")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", commit.message, date=commit.date)
    approve_history(repo / "registry")
    return repo / "registry"


def archive_of(registry_dir: Path) -> Path:
    """The archive beside a scripted history's repository, where legal approved its versions."""
    return registry_dir.parent.parent / "archive"


def approve_history(registry_dir: Path) -> None:
    """Legal's approval of every version in the registry's git history, each effective when its notice period
    ends (the library's own record; `release approve` and its checks are tested in test_signoff_cli.py)."""
    import tempfile

    from annex_gen.archive.store import Archive
    from annex_gen.inputs.registry import FILES
    from annex_gen.publish.history import read_history
    from annex_gen.signoff.releases import approved, record_approval

    with Archive.open(archive_of(registry_dir), create=True) as archive:
        for version in read_history(registry_dir).versions:
            if approved(archive, version.registry.digest) is not None:
                continue
            with tempfile.TemporaryDirectory() as tmp:  # the approved files, as committed
                for name in FILES:
                    shown = subprocess.run(["git", "show", f"{version.commit}:./{name}"], cwd=registry_dir,
                                           capture_output=True, check=True)
                    (Path(tmp) / name).write_bytes(shown.stdout)
                # the date the registry sets, else none: a version without one is never said to be in
                # effect from a computed date
                record_approval(archive, Path(tmp), version.registry, by="Test Legal", on=version.published,
                                effective=version.registry.effective)


def one_commit_history(repo: Path) -> Path:
    """The project's registry committed once, on a fixed date: what the golden files are built from."""
    return scripted_history(repo, [Commit("2026-11-30T09:00:00Z", "The registry as published")])


class _ListText(HTMLParser):
    """The text of the list part of a page (<div id="list">): a line per heading, paragraph and table row.

    Table cells are joined by tabs, as in the published list's text; list items in a cell are
    written ' • item', as a browser shows them.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # element depth inside the list part; 0 = outside
        self.lines: list[str] = []
        self.block: list[str] | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.depth == 0:
            if tag == "div" and ("id", "list") in attrs:
                self.depth = 1
            return
        if tag not in ("col", "br"):
            self.depth += 1
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "li" and self.cell is not None:
            self.cell.append(" • ")
        elif tag in ("h1", "h2", "h3", "p"):
            self.block = []

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0:
            return
        self.depth -= 1
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.lines.append("\t".join(self.row))
            self.row = None
        elif tag in ("h1", "h2", "h3", "p") and self.block is not None:
            self.lines.append(" ".join("".join(self.block).split()))
            self.block = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        elif self.block is not None:
            self.block.append(data)


def list_text_lines(html: str) -> list[str]:
    """The lines of the list part of a list page."""
    parser = _ListText()
    parser.feed(html)
    parser.close()
    return parser.lines


@dataclass(frozen=True)
class Applied:
    """A recorded correction and how many times each of its replacements matched the published text."""

    index: int
    record: dict
    replacements: tuple[tuple[str, str], ...]
    matches: tuple[int, ...]


def corrections(registry: Path = REGISTRY_DIR) -> list[dict]:
    """The correction records of corrections.yaml, read now (not a copy taken when the test was written)."""
    return list(load(registry / "corrections.yaml").data["corrections"])


def replacements_of(record: dict) -> tuple[tuple[str, str], ...]:
    """A record's literal replacements: its `text` list, or else its published -> registry texts."""
    if "text" in record:
        return tuple((r["published"], r["registry"]) for r in record["text"] or ())
    return ((str(record["published"]), str(record["registry"])),)


def apply_corrections(published: str, records: Sequence[dict]) -> tuple[str, list[Applied]]:
    """The published text with every record's replacements applied in order, and what each matched."""
    text = published
    applied = []
    for i, record in enumerate(records):
        pairs = replacements_of(record)
        counts = []
        for old, new in pairs:
            counts.append(text.count(old))
            text = text.replace(old, new)
        applied.append(Applied(i, record, pairs, tuple(counts)))
    return text, applied


def text_lines(text: str) -> list[str]:
    """Non-empty lines, without the whitespace at their ends."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def publish_site(tmp: Path, registry_dir: Path | None = None, history: str | None = None) -> dict[str, bytes]:
    """Every file `annex-gen publish` writes for a registry directory inside git, by relative path."""
    from annex_gen import app

    out = tmp / "site"
    registry_dir = registry_dir or one_commit_history(tmp / "repo")
    report = app.publish(registry_dir, out, history, archive=archive_of(registry_dir))
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in report.files}


def golden_site_files(tmp: Path) -> dict[Path, bytes]:
    """The golden files of the site (tests/output/site/) as the current code writes them."""
    files = publish_site(tmp)
    return {GOLDEN_SITE_DIR / name: files[name] for name in GOLDEN_FILES}
