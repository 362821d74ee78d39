"""The `publish` command: argument parsing and printing only."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from annex_gen import app
from annex_gen.cli.common import add_archive_argument, print_diagnostics
from annex_gen.counts import Counted


def cmd_publish(args: argparse.Namespace) -> int:
    report = app.publish(Path(args.registry), Path(args.out), args.history, archive=args.archive)
    print_diagnostics(report.warnings)
    for path in report.files:
        print(path)
    print(f"registry {report.registry.version}: "
          f"{Counted(len(report.history.versions)):version|versions} in the history; "
          f"{Counted(len(report.files)):file|files} in {args.out}")
    return 0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the publish command."""
    p = subparsers.add_parser("publish", parents=[common],
                              help="write the public sub-processor list, its JSON and change feed as a static site")
    p.add_argument("--out", default="site", metavar="DIR", help="output directory (default: site/)")
    p.add_argument("--history", metavar="REV-RANGE", default=None,
                   help="git revision range of the registry's history for the feed and changes page "
                        "(default: all of it), e.g. v1..HEAD")
    add_archive_argument(p, "; its approved releases are what is published")
    p.set_defaults(func=cmd_publish)
