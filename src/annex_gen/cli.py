"""The `annex-gen` command: parse arguments, call the library, map errors to exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import AnnexGenError, InvalidInput, UsageError

DEFAULT_CONTRACT_DIRS = (Path("customers"), Path("examples"))


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _print_diagnostics(diagnostics) -> None:
    for d in sorted(diagnostics, key=lambda d: (d.file, d.line or 0, d.col or 0)):
        _err(str(d))


def _load_registry(args):
    from .registry import load_registry

    return load_registry(Path(args.registry))


def contract_paths(paths: Sequence[str]) -> list[Path]:
    """The paths given, or the default contract directories that exist."""
    if paths:
        return [Path(p) for p in paths]
    return [d for d in DEFAULT_CONTRACT_DIRS if d.is_dir()]


def date_arg(text: str) -> dt.date:
    """argparse type: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date of the form YYYY-MM-DD") from None


def cmd_check(args) -> int:
    from .check import check

    report = check(Path(args.registry), contract_paths(args.paths))
    _print_diagnostics(report.diagnostics)
    errors = len(report.errors)
    warnings = len(report.diagnostics) - errors
    failed = errors or (args.strict and warnings)
    if report.registry is not None:
        reg = report.registry
        print(
            f"registry {reg.version}: {len(reg.entities)} entities, {len(reg.sections)} sections, "
            f"{len(reg.regions)} regions, {len(reg.corrections)} recorded corrections"
        )
    print(f"{len(report.contracts)} contract(s) valid; {errors} error(s), {warnings} warning(s)"
          + ("; warnings are errors with --strict" if args.strict and warnings else ""))
    return 1 if failed else 0


def cmd_resolve(args) -> int:
    from .contract import load_contract
    from .resolve import resolve

    path = Path(args.contract)
    if path.suffix.lower() == ".csv":
        raise UsageError(f"{path}: resolve takes one contract YAML file; "
                         "check, generate and batch read CRM CSV exports")
    registry = _load_registry(args)
    contract, warnings = load_contract(registry, path)
    _print_diagnostics(warnings)
    annex = resolve(registry, contract)
    sys.stdout.write(annex.to_json_bytes().decode("utf-8"))
    return 0


def cmd_generate(args) -> int:
    from .check import check
    from .generate import generate, parse_formats

    formats = parse_formats(args.format)
    report = check(Path(args.registry), [Path(p) for p in args.contracts])
    if report.errors:
        raise InvalidInput(report.diagnostics)
    _print_diagnostics(report.diagnostics)
    out = Path(args.out)
    for contract in report.contracts:
        result = generate(report.registry, contract, out, formats)
        for path in result.files.values():
            print(path)
    return 0


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

    p = sub.add_parser("check", parents=[common], help="validate the registry and contracts")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="contract files (YAML), CRM CSV exports or directories (default: customers/ and examples/)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("resolve", parents=[common], help="print a contract's resolved annex as JSON")
    p.add_argument("contract", metavar="CONTRACT.yaml")
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser("generate", parents=[common], help="write annex PDF/DOCX files for contracts")
    p.add_argument("contracts", nargs="+", metavar="CONTRACT",
                   help="contract files (YAML), CRM CSV exports, or directories of them")
    p.add_argument("--format", default="pdf,docx", help="comma-separated: pdf, docx, html, json (default: pdf,docx)")
    p.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output/)")
    p.set_defaults(func=cmd_generate)

    from .cli_archive import register as register_archive

    register_archive(sub, common)
    from .cli_batch import register as register_batch

    register_batch(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InvalidInput as exc:
        _print_diagnostics(exc.diagnostics)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        _err(f"annex-gen: {errors} error(s); nothing was written")
        return exc.exit_code
    except AnnexGenError as exc:
        if args.debug:
            raise
        _err(f"annex-gen: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("annex-gen: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if args.debug:
            raise
        _err(f"annex-gen: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 3
