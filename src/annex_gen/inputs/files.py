"""Gather contract files from paths given on the command line."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput

CONTRACT_SUFFIXES = (".yaml", ".yml", ".csv")


def contract_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories expanded to their contract files: *.yaml and CRM *.csv (sorted)."""
    out: list[Path] = []
    missing: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found = [path / name for name in directory_contract_names(path)]
            if not found:
                missing.append(Diagnostic(str(path), None, None, "",
                                          "no contract files (*.yaml, *.csv) in this directory"))
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            missing.append(Diagnostic(str(path), None, None, "", "no such file or directory"))
    if missing:
        raise InvalidInput(missing)
    return out


def directory_contract_names(directory: Path) -> list[str]:
    """The names of a directory's contract files, sorted (one scandir: no stat per file, no Path per name)."""
    with os.scandir(directory) as entries:
        return sorted(e.name for e in entries if os.path.splitext(e.name)[1] in CONTRACT_SUFFIXES and e.is_file())
