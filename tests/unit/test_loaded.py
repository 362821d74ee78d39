"""Contracts loaded and resolved once, again only when a file or the registry changes."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from annex_gen import loaded
from annex_gen.inputs.check import check
from annex_gen.model import Registry
from conftest import EXAMPLES_DIR, REGISTRY_DIR


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "customers"
    shutil.copytree(EXAMPLES_DIR, folder)
    return folder


def test_unchanged_files_are_not_read_again(registry: Registry, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first = loaded.resolved(registry, [folder])
    assert loaded.resolved(registry, [folder]) is first
    assert len(first.items) == len(list(folder.glob("*.yaml")))


def test_an_edited_file_is_read_again(registry: Registry, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first = loaded.resolved(registry, [folder])
    path = folder / "esimerkki-oy.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Esimerkki Oy", "Esimerkki Oyj"), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # even with an older time: size and time differ from what was read
    again = loaded.resolved(registry, [folder])
    assert again is not first
    names = {c.customer_id: c.customer_name for c in again.contracts}
    assert names["esimerkki-oy"] == "Esimerkki Oyj"
    # Only the edited file was parsed and resolved again: the others' contracts and annexes are the kept ones.
    before = {c.customer_id: (c, a) for c, a, _, _ in first.items}
    for contract, annex, _, _ in again.items:
        kept = before[contract.customer_id]
        assert (contract is kept[0] and annex is kept[1]) == (contract.customer_id != "esimerkki-oy")


def test_a_release_approval_changes_the_annexes(registry: Registry, tmp_path: Path) -> None:
    # The same content approved by legal: annexes become final without any contract changing.
    folder = _folder(tmp_path)
    draft = loaded.resolved(dataclasses.replace(registry, status="draft"), [folder])
    final = loaded.resolved(dataclasses.replace(registry, status="final"), [folder])
    assert {a.status for _, a, _, _ in draft.items} == {"draft"}
    assert {a.status for _, a, _, _ in final.items} == {"final"}


def test_the_diagnostics_are_those_check_reports(registry: Registry, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "broken.yaml").write_text("customer:\n  name: Rikki\n", encoding="utf-8")
    kept = loaded.resolved(registry, [folder, tmp_path / "missing.yaml"])
    report = check(REGISTRY_DIR, [folder, tmp_path / "missing.yaml"], load=lambda _: registry)
    assert [str(d) for d in kept.diagnostics] == [str(d) for d in report.diagnostics]
    assert kept.problems and all(d.severity == "error" for d in kept.problems)
    assert [c.customer_id for c in kept.contracts] == [c.customer_id for c in report.contracts]
    contract = kept.contracts[0]
    assert kept.annex_of(contract).customer_id == contract.customer_id


def test_a_dangling_link_does_not_hide_changes_to_the_other_files(registry: Registry, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    first = loaded.resolved(registry, [folder])
    assert any("gone.yaml" in d.file for d in first.problems)
    path = folder / "esimerkki-oy.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Esimerkki Oy", "Esimerkki Ab"), encoding="utf-8")
    assert "Esimerkki Ab" in {c.customer_name for c in loaded.resolved(registry, [folder]).contracts}


def test_a_replaced_file_of_the_same_size_and_time_is_read_again(registry: Registry, tmp_path: Path) -> None:
    # Two saves within one tick of the file system's clock: the replaced file is a new inode.
    folder = _folder(tmp_path)
    path = folder / "esimerkki-oy.yaml"
    before = path.stat()
    loaded.resolved(registry, [folder])
    fresh = folder / "fresh.tmp"
    fresh.write_text(path.read_text(encoding="utf-8").replace("Esimerkki Oy", "Esimerkki Ay"), encoding="utf-8")
    os.utime(fresh, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(fresh, path)
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert "Esimerkki Ay" in {c.customer_name for c in loaded.resolved(registry, [folder]).contracts}
