"""The `facts` and `release` commands: legal's confirmations and approvals. Parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from annex_gen import app
from annex_gen.cli.common import add_archive_argument, date_arg, err, print_diagnostics
from annex_gen.counts import Counted


def cmd_facts_list(args: argparse.Namespace) -> int:
    registry = app.facts(Path(args.registry))
    shown = [f for f in registry.facts if args.all or (f.printed and f.confirmed is None)]
    if args.json:
        sys.stdout.write(json.dumps([f.to_dict() for f in shown], ensure_ascii=False, indent=2) + "\n")
        return 0
    for f in shown:
        print(f"{f.key}  [{f.status}{'' if f.printed else ', not printed'}]  {f.label}")
        if f.value is not None:
            print(f"    value: {f.value}")
        if f.confirmed:
            print(f"    confirmed by {f.confirmed.by} on {f.confirmed.on}"
                  + (f" against {f.confirmed.source}" if f.confirmed.source else ""))
        for s in f.sources:
            print(f"    source: {s.url}" + (f" ({s.note})" if s.note else ""))
        for c in f.candidates:
            print(f"    candidate: {c.value} ({Counted(len(c.sources)):source|sources})")
        for c in f.conflicts:
            print(f"    conflict: {c}")
    printed = [f for f in registry.facts if f.printed]
    open_ = sum(1 for f in printed if f.confirmed is None)
    print(f"{Counted(len(printed)):printed fact|printed facts}, {open_} not confirmed by legal")
    return 0


def cmd_facts_confirm(args: argparse.Namespace) -> int:
    before = next((f.confirmed for f in app.facts(Path(args.registry)).facts if f.key == args.key), None)
    path = app.confirm_fact(Path(args.registry), args.key, by=args.by, source=args.source, value=args.value,
                            on=args.on, archive=args.archive)  # recorded in its audit log as --by
    print(f"confirmed {args.key} in {path}")
    if before is not None:  # the file keeps one confirmation; the earlier one stays in git and the audit log
        err(f"note: this replaces the confirmation by {before.by} on {before.on}"
            + (f" against {before.source}" if before.source else ""))
    return 0


def cmd_release_approve(args: argparse.Namespace) -> int:
    try:
        release = app.release_approve(Path(args.registry), app.contract_paths(args.paths), args.archive,
                                      by=args.by, label=args.label, effective=args.effective)
    except app.InvalidInput as exc:
        print_diagnostics(exc.diagnostics)
        dates = all(d.code.startswith("signoff.effective_") for d in exc.diagnostics)
        err(f"annex-gen: release not approved: {Counted(len(exc.diagnostics)):item|items} to resolve first"
            + ("" if dates else " (`annex-gen facts confirm` records a proposed fact's confirmation; a missing one "
               "is added, with its source, to the registry file each line names)"))
        return 1
    print(f"approved release {release.label} ({release.version}) by {release.approved_by} on "
          f"{release.approved_on}, effective {release.effective}: record {release.seq}")
    return 0


def cmd_release_list(args: argparse.Namespace) -> int:
    releases = app.release_list(args.archive)
    if args.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in releases], indent=2) + "\n")
        return 0
    if not releases:
        print("no approved release")
        return 0
    for r in releases:
        print(f"{r.label}  {r.version}  approved by {r.approved_by} on {r.approved_on}  effective {r.effective}  "
              f"record {r.seq}")
    return 0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the `facts` and `release` commands."""
    facts = subparsers.add_parser("facts", parents=[common], help="the registry's facts: sources, confirmation")
    actions = facts.add_subparsers(dest="facts_command", metavar="ACTION", required=True)
    p = actions.add_parser("list", parents=[common], help="the printed facts legal has not confirmed")
    p.add_argument("--all", action="store_true", help="every fact, confirmed and not printed ones too")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_facts_list)
    p = actions.add_parser("confirm", parents=[common], help="record legal's confirmation of a fact")
    p.add_argument("key", metavar="KEY", help="the fact, e.g. entities.cyclr.address (as `facts list` shows)")
    p.add_argument("--by", required=True, metavar="NAME", help="who confirms it")
    p.add_argument("--source", required=True, metavar="TEXT",
                   help="what it was checked against, e.g. a register extract or the signed agreement")
    p.add_argument("--value", metavar="TEXT", help="the value, where legal names or chooses it")
    p.add_argument("--on", type=date_arg, metavar="DATE", help="the day of the confirmation (default: today)")
    add_archive_argument(p, "; the confirmation goes into its audit log")
    p.set_defaults(func=cmd_facts_confirm)

    release = subparsers.add_parser("release", parents=[common], help="registry releases legal approved")
    actions = release.add_subparsers(dest="release_command", metavar="ACTION", required=True)
    p = actions.add_parser("approve", parents=[common],
                           help="record legal's approval of the current registry content in the archive")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="contracts `check --strict` validates too (default: customers/ and examples/)")
    p.add_argument("--by", required=True, metavar="NAME", help="who approves it")
    p.add_argument("--label", metavar="LABEL", help="the release label to record (written into registry.yaml)")
    p.add_argument("--effective", type=date_arg, metavar="DATE",
                   help="the day the release takes effect, as legal sets it (default: the registry's `effective`, "
                        "else the day of approval; a release after the first: required, the customers' notice "
                        "period after approval or later)")
    add_archive_argument(p)
    p.set_defaults(func=cmd_release_approve)
    p = actions.add_parser("list", parents=[common], help="the approved releases")
    p.add_argument("--json", action="store_true", help="as JSON")
    add_archive_argument(p)
    p.set_defaults(func=cmd_release_list)
