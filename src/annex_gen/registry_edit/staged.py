"""The registry as changes would leave it: written to a scratch copy, loaded and checked as `check` does,
then compared with the registry in use (the diff in words) and resolved for every customer (the impact)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from annex_gen.changes.impact import ImpactReport
from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.inputs.check import check
from annex_gen.inputs.registry import FILES
from annex_gen.model import Registry
from annex_gen.registry_edit.changes import Change
from annex_gen.registry_edit.yamledit import apply


def read_texts(registry_dir: Path) -> dict[str, str]:
    """The registry's files as text, by name."""
    return {name: (registry_dir / name).read_text(encoding="utf-8") for name in FILES}


@dataclass
class Staged:
    """What changes make of the registry: the files' new texts, the registry they load as, the problems."""

    texts: dict[str, str]
    changed: tuple[str, ...]  # the names of the files whose text changes
    registry: Registry | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The problems that keep the change from being saved."""
        return [d for d in self.diagnostics if d.severity == "error"]


def stage(registry_dir: Path, changes: Sequence[Change], texts: dict[str, str] | None = None) -> Staged:
    """Apply changes to the registry's files in a scratch directory and check them as `annex-gen check` does.

    Diagnostics name the real files (registry_dir/NAME); the registry's own warnings are kept only
    where they are about an item the changes touch.
    """
    before = texts if texts is not None else read_texts(registry_dir)
    try:
        after = apply(before, changes)
    except InvalidInput as exc:
        return Staged(dict(before), (), None, [replace(d, file=str(registry_dir / d.file)) for d in exc.diagnostics])
    changed = tuple(name for name in FILES if after[name] != before[name])
    with tempfile.TemporaryDirectory(prefix="annex-gen-edit-") as tmp:
        for name, text in after.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        report = check(Path(tmp), [], registry_warnings=True)
    touched = [_key_prefix(c) for c in changes]
    diagnostics = [replace(d, file=d.file.replace(tmp, str(registry_dir))) for d in report.diagnostics
                   if d.severity == "error" or any(d.key.startswith(p) for p in touched if p)]
    return Staged(after, changed, report.registry, diagnostics)


def _key_prefix(change: Change) -> str:
    return {"entity": f"entities.{change.get('id')}", "location": f"locations.{change.get('id')}",
            "transfer_basis": f"transfer_bases.{change.get('id')}"}.get(change["target"], "")


def impact_of(registry_dir: Path, new: Registry, customer_dirs: Iterable[Path]) -> ImpactReport:
    """The diff from the registry in use to new, and how it reaches every customer's annex."""
    from annex_gen import app
    from annex_gen.changes.impact import impact
    from annex_gen.inputs.sources import gather, load_all

    old = app.load_registry(registry_dir)
    loaded = load_all(new, *gather(list(customer_dirs)))
    return impact(old, new, loaded.contracts, [(f.label, f.message) for f in loaded.failures],
                  old_label=str(registry_dir), new_label="proposed")


def words(report: ImpactReport, lang: str) -> list[str]:
    """The registry changes as the public changes page words them."""
    from annex_gen.publish.site import site_catalogs
    from annex_gen.publish.words import describe

    cat = site_catalogs()[lang if lang in site_catalogs() else "en"]
    return [describe(c, report.old, report.new, cat) for c in report.changes]
