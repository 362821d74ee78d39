"""What every command shares: printing diagnostics, argument types, the common options."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annex_gen.errors import AnnexGenError, BatchInterrupted, Diagnostic, UsageError
from annex_gen.shown import escaped

if TYPE_CHECKING:
    from annex_gen.audit import Actor


class Parser(argparse.ArgumentParser):
    """argparse's parser, with help as wide as the terminal found once per process: argparse's own looks
    the width up, importing shutil, for every argument added (a command's start pays for it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


class _HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_columns() - 2)


@cache
def _terminal_columns() -> int:
    """COLUMNS, else the terminal's width, else 80 (as shutil.get_terminal_size)."""
    with contextlib.suppress(KeyError, ValueError):
        if (columns := int(os.environ["COLUMNS"])) > 0:
            return columns
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if (columns := os.get_terminal_size(sys.__stdout__.fileno()).columns) > 0:
            return columns
    return 80


def err(message: str) -> None:
    """A line on standard error."""
    print(message, file=sys.stderr)


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Diagnostics on standard error, in file and line order."""
    for d in sorted(diagnostics, key=lambda d: (d.file, d.line or 0, d.col or 0)):
        err(escaped(str(d)))  # one line each, whatever a file or certificate name holds


def indent(text: str, prefix: str = "    ") -> str:
    """Every line of text indented."""
    return "\n".join(prefix + line for line in text.splitlines())


def date_arg(text: str) -> dt.date:
    """argparse type: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date of the form YYYY-MM-DD") from None


def jobs_arg(text: str) -> int:
    """argparse type: a number of worker processes."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of worker processes (1 or more), got {text!r}")
    return value


EXIT_CODES: tuple[tuple[type[AnnexGenError], int], ...] = (
    (BatchInterrupted, 130),
    (UsageError, 2),
    (AnnexGenError, 1),
)


def exit_code(exc: AnnexGenError) -> int:
    """The exit status of a command that failed with exc."""
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


@contextlib.contextmanager
def local_time_zone(name: str) -> Iterator[None]:
    """ZONE as this process's local time while the server runs, whatever the machine's: its "today" (the
    default date of a contract, an objection, a notice; the day notices are sent and deadlines are counted
    from) and its local times are ZONE's, as the pages show them. Refuses a name neither Python nor the
    system knows."""
    import time

    from annex_gen.web.formats import time_zone

    zone = time_zone(name)
    before = os.environ.get("TZ")

    def use(value: str | None) -> None:
        if value is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = value
        time.tzset()

    use(name)
    try:
        # the C library takes a zone it has no data for as UTC: compare now and half a year on (summer and winter)
        for moment in (time.time(), time.time() + 182 * 86400):
            offset = dt.datetime.fromtimestamp(moment, zone).utcoffset()
            if offset is None or time.localtime(moment).tm_gmtoff != int(offset.total_seconds()):
                raise UsageError(f"the system has no time zone data for {name!r}: install its tzdata package")
        yield
    finally:
        use(before)


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """--engine: what renders the PDF (generate, batch, notices)."""
    from annex_gen.render import DEFAULT_ENGINE, ENGINES

    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help=f"what renders the PDF: {', '.join(ENGINES)} (default: {DEFAULT_ENGINE})")


def command_line_actor(location: str | Path) -> Actor:
    """The person at this terminal (their login name), recording in the audit log of the archive at location."""
    import getpass

    from annex_gen.audit import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid
        name = "-"
    return Actor(location, f"{name} (command line)")


def add_archive_argument(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """--archive: the archive directory or PostgreSQL URL (default: $ANNEX_GEN_ARCHIVE, else archive/)."""
    from annex_gen.archive.index import ARCHIVE_ENV, DEFAULT_ARCHIVE, default_location

    parser.add_argument("--archive", default=default_location(), metavar="DIR|URL",
                        help=f"archive directory, or a postgresql://user@host/db URL (default: ${ARCHIVE_ENV}, "
                             f"else {DEFAULT_ARCHIVE}/){purpose}")
