"""The registry's versions from git: one per release label; `check` warns about a change without a new label."""

from __future__ import annotations

from pathlib import Path

import publish_support as ps

from annex_gen.cli import main
from annex_gen.publish.history import read_history

EXAMPLES = str(ps.ROOT / "examples")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def set_release(registry: Path, old: str, new: str) -> None:
    text = (registry / "registry.yaml").read_text(encoding="utf-8")
    assert f'release: "{old}"' in text
    (registry / "registry.yaml").write_text(text.replace(f'release: "{old}"', f'release: "{new}"'), encoding="utf-8")


def current_release(registry: Path) -> str:
    return next(line.split('"')[1] for line in (registry / "registry.yaml").read_text().splitlines()
                if line.startswith("release:"))


def add_location(registry: Path, lid: str) -> None:
    append(registry / "locations.yaml", f"  {lid}:\n    name: {{fi: {lid}, en: {lid}}}\n    eea: true\n")


def test_one_version_per_release_label_and_comments_are_no_change(tmp_path):
    release = current_release(ps.REGISTRY_DIR)
    registry = ps.scripted_history(tmp_path / "repo", [
        ps.Commit("2026-11-30T09:00:00Z", "published"),
        ps.Commit("2026-12-01T09:00:00Z", "a comment only", lambda r: append(r / "locations.yaml", "# note\n")),
        ps.Commit("2026-12-02T09:00:00Z", "new release, part 1",
                  lambda r: (set_release(r, release, "2099.1.1"), add_location(r, "oslo"))),
        ps.Commit("2026-12-03T09:00:00Z", "new release, part 2", lambda r: add_location(r, "bergen")),
    ])
    history = read_history(registry)
    assert [(v.registry.release, v.published.isoformat(), v.first) for v in history.versions] == [
        (release, "2026-11-30", True), ("2099.1.1", "2026-12-03", False)]
    assert [c.kind for c in history.versions[1].changes] == ["location-added", "location-added"]
    assert history.skipped == ()


def test_a_merged_branch_is_one_change_of_the_main_line(tmp_path):
    release = current_release(ps.REGISTRY_DIR)
    registry = ps.scripted_history(tmp_path / "repo", [ps.Commit("2026-11-30T09:00:00Z", "published")])
    repo = registry.parent
    ps.git(repo, "checkout", "-q", "-b", "side")
    set_release(registry, release, "2099.1.1")
    add_location(registry, "oslo")
    ps.git(repo, "commit", "-q", "-am", "side 1", date="2026-12-01T09:00:00Z")
    set_release(registry, "2099.1.1", "2099.1.2")
    add_location(registry, "bergen")
    ps.git(repo, "commit", "-q", "-am", "side 2", date="2026-12-02T09:00:00Z")
    ps.git(repo, "checkout", "-q", "main")
    ps.git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", date="2026-12-05T09:00:00Z")
    history = read_history(registry)
    assert [(v.registry.release, v.published.isoformat()) for v in history.versions] == [
        (release, "2026-11-30"), ("2099.1.2", "2026-12-05")]
    assert [c.kind for c in history.versions[1].changes] == ["location-added", "location-added"]


def test_a_registry_outside_git_has_no_history():
    assert read_history(Path("/nonexistent-registry-dir")).versions == ()


def test_check_warns_when_content_changed_but_the_label_did_not(tmp_path, capsys):
    registry = ps.one_commit_history(tmp_path / "repo")
    assert main(["check", "--registry", str(registry), EXAMPLES]) == 0
    assert "release label" not in capsys.readouterr().err

    # (not --strict: the registry's unsourced facts are warnings of their own)
    append(registry / "locations.yaml", "# a comment is no change\n")
    assert main(["check", "--registry", str(registry), EXAMPLES]) == 0
    assert "release label" not in capsys.readouterr().err

    add_location(registry, "oslo")
    assert main(["check", "--registry", str(registry), EXAMPLES]) == 0
    err = capsys.readouterr().err
    release = current_release(registry)
    line = next(i for i, text in enumerate((registry / "registry.yaml").read_text().splitlines(), 1)
                if text.startswith("release:"))
    sha = ps.git(registry.parent, "rev-parse", "--short=12", "HEAD").strip()
    assert (f"{registry}/registry.yaml:{line}:10: release: warning: the registry content changed since commit "
            f"{sha} but the release label is still '{release}'; customers and the change feed tell versions "
            "apart by it: set a new label, e.g.") in err

    set_release(registry, release, "2099.1.1")
    assert main(["check", "--registry", str(registry), EXAMPLES]) == 0
    assert "release label" not in capsys.readouterr().err


def test_commits_that_do_not_load_are_one_warning(tmp_path):
    from annex_gen.publish.history import left_out

    release = current_release(ps.REGISTRY_DIR)
    broken = [ps.Commit(f"2026-12-0{day}T09:00:00Z", f"broken {day}",
                        lambda r, day=day: append(r / "locations.yaml", f"  bad{day}: [\n")) for day in (1, 2, 3)]
    registry = ps.scripted_history(tmp_path / "repo", [
        ps.Commit("2026-11-30T09:00:00Z", "published"), *broken,
        ps.Commit("2026-12-04T09:00:00Z", "repaired", lambda r: (
            (r / "locations.yaml").write_text((ps.REGISTRY_DIR / "locations.yaml").read_text(encoding="utf-8"),
                                             encoding="utf-8"), set_release(r, release, "2099.1.1"),
            add_location(r, "oslo"))),
    ])
    history = read_history(registry)
    assert [v.registry.release for v in history.versions] == [release, "2099.1.1"]
    assert len(history.skipped) == 3
    (warning,) = left_out(history.skipped)
    oldest, newest = history.skipped[0].file.split(":")[0], history.skipped[-1].file.split(":")[0]
    assert warning.message.startswith(f"left out of the history: 3 commits, from {oldest} to {newest}, whose "
                                      "registry does not load with this annex-gen; the first: ")
    assert "locations.yaml" in warning.message and warning.severity == "warning"
    assert left_out(history.skipped[:1]) == [history.skipped[0]]
