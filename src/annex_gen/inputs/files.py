"""Gather contract files from paths given on the command line, and read an input file safely."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from annex_gen.errors import Diagnostic, InvalidInput

CONTRACT_SUFFIXES = (".yaml", ".yml", ".csv")
MAX_BYTES = 2 * 1024 * 1024
MAX_CONTRACT_BYTES = 256 * 1024


class Found(NamedTuple):
    """A contract file: its path as shown, and its real path (the same file given twice is read once)."""

    label: str
    real: str


def _directory_files(directory: Path) -> tuple[list[Found], list[Diagnostic]]:
    """The contract files of a directory; symbolic links only to files inside it (others are reported)."""
    with os.scandir(directory) as entries:  # one scandir: no stat per plain file
        listed = sorted((e.name, e.is_symlink(), e.is_dir(follow_symlinks=False)) for e in entries
                        if os.path.splitext(e.name)[1] in CONTRACT_SUFFIXES)
    shown = str(directory)
    prefix = "" if shown == "." else shown.rstrip("/") + "/"  # as str(directory / name) spells it
    real_prefix: str | None = None
    root: Path | None = None
    found: list[Found] = []
    problems: list[Diagnostic] = []
    for name, link, is_dir in listed:
        label = prefix + name
        if link:
            root = root or directory.resolve()
            target = Path(label).resolve()
            if not target.exists():
                problems.append(Diagnostic(label, None, None, "", "dangling symbolic link: its target does not "
                                           "exist", code="file.dangling_link"))
                continue
            if not target.is_relative_to(root):
                problems.append(Diagnostic(label, None, None, "", f"symbolic link leads outside {directory}; "
                                           "not followed (copy the file into the directory instead)",
                                           code="file.link_outside"))
                continue
            if not target.is_dir():
                found.append(Found(label, str(target)))
        elif not is_dir:  # a device or FIFO is refused when read, not skipped silently
            real_prefix = real_prefix or os.path.realpath(directory).rstrip("/") + "/"
            found.append(Found(label, real_prefix + name))
    if not found and not problems:
        problems.append(Diagnostic(shown, None, None, "", "no contract files (*.yaml, *.csv) in this directory",
                                   code="file.no_contracts"))
    return found, problems


def gather_files(paths: Iterable[Path]) -> tuple[list[Found], list[Diagnostic]]:
    """Files as given, directories expanded to their contract files (sorted), and every problem found."""
    out: list[Found] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found, found_problems = _directory_files(path)
            out.extend(found)
            problems.extend(found_problems)
        elif path.exists():
            out.append(Found(str(path), os.path.realpath(path)))
        elif path.is_symlink():
            problems.append(Diagnostic(str(path), None, None, "", "dangling symbolic link: its target does not exist",
                                       code="file.dangling_link"))
        else:
            problems.append(Diagnostic(str(path), None, None, "", "no such file or directory", code="file.missing"))
    return out, problems


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a regular file as strict UTF-8, at most max_bytes, with a located error for anything else."""
    shown = str(path)

    def refuse(message: str, code: str, params: dict | None = None) -> InvalidInput:
        return InvalidInput([Diagnostic(shown, None, None, "", message, code=code, params=params or {})])

    try:
        # O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise refuse("no such file", "file.missing") from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror}", "file.unreadable") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise refuse("is a directory, expected a file", "file.not_file")
        raise refuse("is not a regular file (a device, FIFO or socket); expected a file", "file.not_file")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = fh.read(max_bytes + 1)  # never more than the limit, whatever the size claims
        except OSError as exc:
            raise refuse(f"cannot read: {exc.strerror}", "file.unreadable") from None
    if len(raw) > max_bytes:
        raise refuse(f"file is larger than {max_bytes} bytes", "file.too_large", {"limit_bytes": max_bytes})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidInput(
            [Diagnostic(shown, line, col, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                        code="file.not_utf8", params={"line": line})]
        ) from None
    return text.removeprefix("\ufeff")
