"""The `annex-gen` command: parse arguments, call `annex_gen.app`, present the result.

Each module registers its commands (annex: check, resolve, generate; batch: batch, diff,
notices; archive: archive ...; publish: publish). Errors are mapped to messages and exit codes here, once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from annex_gen import __version__
from annex_gen.cli import annex, archive, batch, publish
from annex_gen.cli.common import err, exit_code, print_diagnostics
from annex_gen.errors import AnnexGenError, InvalidInput


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    # Top level: the defaults. Subcommands: the same options without defaults (SUPPRESS), so
    # `annex-gen --registry X check` and `annex-gen check --registry X` both work.
    top = argparse.ArgumentParser(add_help=False)
    top.add_argument("--registry", default="registry", metavar="DIR", help="registry directory (default: registry/)")
    top.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--registry", metavar="DIR",
                        help="registry directory (default: registry/)")
    common.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")

    parser = argparse.ArgumentParser(
        prog="annex-gen",
        description="Generate DPA sub-processor annexes from the published sub-processor list.",
        parents=[top],
    )
    parser.add_argument("--version", action="version", version=f"annex-gen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (annex, archive, batch, publish):
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InvalidInput as exc:
        print_diagnostics(exc.diagnostics)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        err(f"annex-gen: {errors} error(s); nothing was written")
        return exit_code(exc)
    except AnnexGenError as exc:
        if args.debug:
            raise
        err(f"annex-gen: error: {exc}")
        return exit_code(exc)
    except KeyboardInterrupt:
        err("annex-gen: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if args.debug:
            raise
        err(f"annex-gen: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 3
