"""Gather contract files from paths given on the command line."""

from __future__ import annotations

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
            found = sorted(p for p in path.iterdir() if p.suffix in CONTRACT_SUFFIXES and p.is_file())
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
