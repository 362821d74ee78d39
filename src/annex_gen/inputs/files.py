"""Gather contract files from paths given on the command line."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from annex_gen.errors import Diagnostic

CONTRACT_SUFFIXES = (".yaml", ".yml", ".csv")


def _directory_files(directory: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The contract files of a directory; symbolic links only to files inside it (others are reported)."""
    with os.scandir(directory) as entries:  # one scandir: no stat per plain file
        listed = sorted((e.name, e.is_symlink(), e.is_dir(follow_symlinks=False)) for e in entries
                        if os.path.splitext(e.name)[1] in CONTRACT_SUFFIXES)
    root: Path | None = None
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for name, link, is_dir in listed:
        path = directory / name
        if link:
            root = root or directory.resolve()
            target = path.resolve()
            if not target.exists():
                problems.append(Diagnostic(str(path), None, None, "", "dangling symbolic link: its target does not "
                                           "exist"))
                continue
            if not target.is_relative_to(root):
                problems.append(Diagnostic(str(path), None, None, "", f"symbolic link leads outside {directory}; "
                                           "not followed (copy the file into the directory instead)"))
                continue
            is_dir = target.is_dir()
        if not is_dir:  # a device or FIFO is refused when read, not skipped silently
            found.append(path)
    if not found and not problems:
        problems.append(Diagnostic(str(directory), None, None, "", "no contract files (*.yaml, *.csv) in this "
                                   "directory"))
    return found, problems


def gather_files(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given, directories expanded to their contract files (sorted), and every problem found."""
    out: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found, found_problems = _directory_files(path)
            out.extend(found)
            problems.extend(found_problems)
        elif path.exists():
            out.append(path)
        elif path.is_symlink():
            problems.append(Diagnostic(str(path), None, None, "", "dangling symbolic link: its target does not exist"))
        else:
            problems.append(Diagnostic(str(path), None, None, "", "no such file or directory"))
    return out, problems

