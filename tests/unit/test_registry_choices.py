"""The old registries a change can be compared from: git revisions of registry/ and the last batch's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from annex_gen import app
from annex_gen.inputs.registry import load_registry
from conftest import copy_registry, replace_once


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def test_revisions_newest_first_with_versions_and_the_last_batch_version(tmp_path: Path):
    repo = tmp_path / "repo"
    registry = copy_registry(repo / "registry")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "Registry as published")
    old_version = load_registry(registry).version
    replace_once(registry / "registry.yaml", "period_days: 30", "period_days: 45")
    _git(repo, "commit", "-qam", "Longer notice period")
    new_version = load_registry(registry).version
    out = build_manifest(tmp_path / "out", {"a": (old_version, "2026-11-01T00:00:00+00:00"),
                                            "b": (old_version, "2026-11-02T00:00:00+00:00")})
    choices = app.registry_choices(registry, out)
    assert [(r.subject, r.version) for r in choices.revisions] == [
        ("Longer notice period", new_version), ("Registry as published", old_version)]
    assert choices.last_batch_version == old_version
    assert choices.last_batch_revision == choices.revisions[1]


def test_outside_git_there_are_no_revisions(tmp_path: Path):
    choices = app.registry_choices(copy_registry(tmp_path / "registry"), tmp_path / "out")
    assert (choices.revisions, choices.last_batch_version, choices.last_batch_revision) == ([], None, None)


def build_manifest(out: Path, customers: dict[str, tuple[str, str]]) -> Path:
    """A batch manifest naming each customer's registry version and generation time."""
    out.mkdir(parents=True)
    data = {"schema": "annex-gen/manifest/1", "updated": "2026-11-02T00:00:00+00:00", "customers": {
        cid: {"source": f"{cid}.yaml", "input_key": "k", "document_id": "ANX-0000-0000-0000-0000",
              "content_hash": "h", "registry_version": version, "templates": "t", "generated_at": at, "files": {}}
        for cid, (version, at) in customers.items()}}
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    return out


def test_generated_annexes_of_a_customer_and_never_of_a_path(tmp_path: Path):
    folder = tmp_path / "out" / "acme"
    folder.mkdir(parents=True)
    for name in ("ANX-0000-0000-0000-0002.pdf", "ANX-0000-0000-0000-0002.docx", "ANX-0000-0000-0000-0001.pdf",
                 "NTC-0000.pdf", "notes.txt"):
        (folder / name).write_bytes(b"x")
    assert app.generated_annexes(tmp_path / "out", "acme") == ["ANX-0000-0000-0000-0001", "ANX-0000-0000-0000-0002"]
    assert app.generated_annexes(tmp_path / "out" / "sub", "../acme") == []
    assert app.generated_annexes(tmp_path / "out", "nobody") == []
