"""The `check`, `resolve` and `generate` commands: argument parsing and printing only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annex_gen import app
from annex_gen.cli.common import add_archive_argument, add_engine_argument, err, jobs_arg, print_diagnostics
from annex_gen.counts import Counted
from annex_gen.render import FORMATS


def cmd_check(args: argparse.Namespace) -> int:
    report = app.check(Path(args.registry), app.contract_paths(args.paths), strict=args.strict)
    print_diagnostics(report.diagnostics)
    errors = len(report.errors)
    warnings = len(report.diagnostics) - errors
    failed = errors or (args.strict and warnings)
    if report.registry is not None:
        reg = report.registry
        print(
            f"registry {reg.version}: {len(reg.entities)} entities, {len(reg.sections)} sections, "
            f"{len(reg.regions)} regions, {len(reg.corrections)} recorded corrections"
        )
    print(f"{Counted(len(report.contracts)):contract|contracts} valid; {Counted(errors):error|errors}, "
          f"{Counted(warnings):warning|warnings}"
          + ("; warnings are errors with --strict" if args.strict and warnings else ""))
    return 1 if failed else 0


def cmd_resolve(args: argparse.Namespace) -> int:
    annex, warnings = app.resolve_contract(Path(args.registry), Path(args.contract), archive=args.archive)
    print_diagnostics(warnings)
    sys.stdout.write(annex.to_json_bytes().decode("utf-8"))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    report = app.generate(Path(args.registry), [Path(p) for p in args.contracts], Path(args.out),
                          args.format.split(","), engine=args.engine, archive=args.archive, jobs=args.jobs)
    print_diagnostics(report.warnings)
    for generated in report.generated:
        for path in generated.files.values():
            print(path)
    if report.draft and report.generated:
        err(f"note: written as drafts (marked on every page, not for signature): registry {report.registry_version} "
            "is not a release legal approved (`annex-gen release approve`)")
    return 0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the check, resolve and generate commands."""
    p = subparsers.add_parser("check", parents=[common], help="validate the registry and contracts")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="contract files (YAML), CRM CSV exports or directories (default: customers/ and examples/)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("resolve", parents=[common], help="print a contract's resolved annex as JSON")
    p.add_argument("contract", metavar="CONTRACT.yaml")
    add_archive_argument(p, "; `status` is final where it holds legal's approval of the registry, else draft")
    p.set_defaults(func=cmd_resolve)

    p = subparsers.add_parser("generate", parents=[common], help="write annex PDF/DOCX files for contracts")
    p.add_argument("contracts", nargs="+", metavar="CONTRACT",
                   help="contract files (YAML), CRM CSV exports, or directories of them")
    p.add_argument("--format", default="pdf,docx",
                   help=f"comma-separated: {', '.join(FORMATS)} (default: pdf,docx)")
    p.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output/)")
    p.add_argument("--jobs", type=jobs_arg, default=None, metavar="N",
                   help="processes that share the annexes of six or more contracts (default: one per core)")
    add_engine_argument(p)
    add_archive_argument(p, "; final annexes where it holds legal's approval of the registry, else drafts")
    p.set_defaults(func=cmd_generate)
