"""`annex-gen send`, `timeline`, `objection ...` and `evidence`: argument parsing and printing only."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from annex_gen.archive.index import ARCHIVE_ENV, DEFAULT_ARCHIVE, default_location
from annex_gen.cli.common import date_arg
from annex_gen.counts import Counted


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "-"


def _print_sent(sent: Any) -> None:
    verdict = "sent" if sent.answer.accepted else "NOT SENT"
    print(f"{sent.customer_id}: {verdict} to {sent.recipient}: {sent.subject}")
    print(f"  Message-ID {sent.message_id}; server: {sent.answer.reply}")


def _sent_summary(report: Any, retry: bool = False) -> int:
    if getattr(report, "already_sent", None):
        print(f"{Counted(len(report.already_sent)):notice|notices} sent before, not sent again: "
              f"{', '.join(report.already_sent)}")
    if not report.sent:
        print("nothing to retry: every message was delivered" if retry else "nothing to send")
        return 0
    failed = len(report.failed)
    print(f"{len(report.sent) - failed} of {Counted(len(report.sent)):message|messages} accepted by the server")
    if failed:
        print(f"annex-gen: {Counted(failed):message|messages} not delivered and kept: `annex-gen send --retry` "
              "tries again", file=sys.stderr)
        return 1
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from annex_gen.lifecycle import cases

    if args.retry:
        if args.paths:
            print("annex-gen: error: --retry sends the messages not yet delivered; name no files with it",
                  file=sys.stderr)
            return 2
        from annex_gen.cli.batch import team_database

        if team_database(args.archive):
            from annex_gen.team.usecases import refuse_retry_while_sending

            refuse_retry_while_sending(str(args.archive))
        report = cases.send_retry(args.archive, smtp=args.smtp, actor=_actor(), customer=args.customer,
                                  progress=_print_sent)
        return _sent_summary(report, retry=True)
    formats = ("pdf", "docx") if args.docx else ("pdf",)
    from annex_gen.cli.batch import team_database

    team = team_database(args.archive)
    if args.detach and not team:
        print("annex-gen: error: --detach needs --archive URL of a team's database: only a team's queued run goes "
              "on without this command", file=sys.stderr)
        return 2
    if team:  # one job per message on the database's queue, sent by `annex-gen worker`
        from annex_gen.cli.team import cmd_send_queued

        return cmd_send_queued(args, formats, _print_sent, _sent_summary)
    report = cases.send(args.archive, Path(args.registry), [Path(p) for p in args.paths], Path(args.out),
                        smtp=args.smtp, sender=args.sender, formats=formats, actor=_actor(),
                        engine=args.engine, progress=_print_sent,
                        customers=[Path(args.customers)] if Path(args.customers).is_dir() else [],
                        only=args.customer)
    return _sent_summary(report)


def cmd_timeline(args: argparse.Namespace) -> int:
    from annex_gen.lifecycle import cases

    line = cases.customer_timeline(args.archive, Path(args.registry), [Path(args.customers)], args.customer,
                                   today=args.today)
    if args.json:
        print(json.dumps(line.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{line.customer_id}: {line.state.text}")
    if line.terms:
        own = line.terms
        print(f"  own terms: notice period {own['notice_period_days'] or 'as the registry'} days, "
              f"objections within {own['objection_days'] or 'as the registry'} days")
        for e in own["exclusions"]:
            print(f"  excluded: {e['entity']} from {e['from']}" + (f" ({e['note']})" if e["note"] else ""))
    if not line.steps:
        print("  nothing recorded yet")
    for step in line.steps:
        print(f"  {step.at[:10]}  {step.text}")
    return 0


def _print_objection(o: Any) -> None:
    late = " (after the deadline)" if o.late else ""
    print(f"{o.id}  {o.customer_id}  notice {o.notice_id}  received {o.received_on} from {o.sender}{late}; "
          f"deadline {o.deadline}, takes effect {o.effective_date}")
    if o.text:
        print(f"    {' '.join(o.text.split())[:200]}")
    if o.letter:
        print(f"    letter: {o.letter['name']} (SHA-256 {o.letter['sha256']})")
    if o.outcome:
        from annex_gen.lifecycle.objections import OUTCOME_TEXT

        note = f": {o.note}" if o.note else ""
        print(f"    resolved {o.resolved_on}: {OUTCOME_TEXT[o.outcome]}{note}")
    else:
        print("    open")


def cmd_objection_add(args: argparse.Namespace) -> int:
    from annex_gen.errors import UsageError
    from annex_gen.lifecycle import cases

    letter = None
    if args.letter:
        path = Path(args.letter)
        try:
            letter = (path.name, path.read_bytes())
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the letter: {exc.strerror}") from None
    objection = cases.objection_add(args.archive, customer=args.customer, notice_id=args.notice,
                                    received_on=args.received_on, sender=args.sender, text=args.text,
                                    letter=letter, actor=_actor())
    print(f"recorded {objection.id}: customer {objection.customer_id} objects to notice {objection.notice_id}")
    _print_objection(objection)
    return 0


def cmd_objection_resolve(args: argparse.Namespace) -> int:
    import datetime as dt

    from annex_gen.lifecycle import cases

    objection = cases.objection_resolve(args.archive, args.objection, outcome=args.outcome,
                                        resolved_on=args.on or dt.date.today(), note=args.note or "",
                                        actor=_actor())
    print(f"resolved {objection.id}")
    _print_objection(objection)
    return 0


def cmd_objection_list(args: argparse.Namespace) -> int:
    from annex_gen.lifecycle import cases

    found = [o for o in cases.objection_list(args.archive) if not args.open or o.open]
    if args.json:
        watch = cases.deadlines(args.archive, today=args.today)
        print(json.dumps({"objections": [o.to_dict() for o in found],
                          "objection_periods_running": [
                              {"customer_id": n.customer_id, "notice_id": n.notice_id,
                               "notice_date": n.notice_date.isoformat(),
                               "objection_deadline": n.objection_deadline.isoformat(),
                               "effective_date": n.effective_date.isoformat()} for n in watch.running]},
                         ensure_ascii=False, indent=2))
        return 0
    watch = cases.deadlines(args.archive, today=args.today)
    if watch.running:
        print("objection periods running:")
        for n in watch.running:
            print(f"  {n.objection_deadline}  {n.customer_id}  notice {n.notice_id} (given {n.notice_date}, "
                  f"takes effect {n.effective_date})")
    if not found:
        print("no open objections" if args.open else "no objections")
    for o in found:
        _print_objection(o)
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from annex_gen.errors import UsageError
    from annex_gen.lifecycle import cases
    from annex_gen.output.write import write_atomic

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UsageError(f"{out} already exists; choose another --out or add --force to replace it")
    data = cases.evidence(args.archive, Path(args.registry), [Path(args.customers)], args.customer, actor=_actor())
    write_atomic(out, data)
    print(f"{out}: evidence of {args.customer} ({len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}); "
          "its README says how to check it with sha256sum")
    return 0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add send, timeline, objection and evidence."""
    from annex_gen.cli.common import add_engine_argument

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--archive", default=default_location(), metavar="DIR|URL",
                       help=f"the archive whose log records it (default: ${ARCHIVE_ENV}, else {DEFAULT_ARCHIVE}/)")

    p = subparsers.add_parser(
        "send", parents=[common, where], help="e-mail annexes (or a folder of change notices) to the customers",
        description="E-mail each contract's annex to its contact_email, or each notice of a notices folder with "
                    "its new annex. Every message, its Message-ID and the server's answer are recorded with "
                    "the archive; a message not delivered is kept and sent again by --retry. The SMTP user and "
                    "password come from ANNEX_GEN_SMTP_USER and ANNEX_GEN_SMTP_PASSWORD (or "
                    "ANNEX_GEN_SMTP_PASSWORD_FILE), never from the command line. With --archive URL of a team's "
                    "database the messages are planned here and sent by `annex-gen worker`, with each worker "
                    "machine's own SMTP settings.")
    p.add_argument("paths", nargs="*", metavar="CONTRACT|NOTICES",
                   help="contract files or folders, or a folder `annex-gen notices` wrote")
    p.add_argument("--smtp", metavar="URL",
                   help="smtp://HOST[:PORT] (STARTTLS when offered; ?starttls=required to insist) or "
                        "smtps://HOST[:PORT] (default: $ANNEX_GEN_SMTP)")
    p.add_argument("--from", dest="sender", metavar="ADDRESS",
                   help="the sender's address (default: $ANNEX_GEN_MAIL_FROM)")
    p.add_argument("--docx", action="store_true", help="attach the DOCX as well as the PDF")
    p.add_argument("--out", default="output", metavar="DIR",
                   help="where annexes are generated and found (default: output/)")
    p.add_argument("--retry", action="store_true", help="send again every message not yet delivered")
    p.add_argument("--customer", metavar="ID",
                   help="only this customer's notice of a notices folder; with --retry, only their messages")
    p.add_argument("--detach", action="store_true",
                   help="with --archive URL of a team's database: queue the messages for the workers and return "
                        "(`annex-gen runs` shows the progress)")
    p.add_argument("--customers", default="customers", metavar="DIR",
                   help="contract files, for the notice terms of contracts that have their own (default: customers/)")
    add_engine_argument(p)
    p.set_defaults(func=cmd_send, refused="nothing was sent")

    p = subparsers.add_parser("timeline", parents=[common, where],
                              help="a customer's events in order (generated, sent, signed, notices, objections)")
    p.add_argument("customer", metavar="CUSTOMER", help="the customer's id")
    p.add_argument("--customers", default="customers", metavar="DIR",
                   help="directory of contract files (default: customers/)")
    p.add_argument("--today", type=date_arg, metavar="DATE", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the timeline as JSON")
    p.set_defaults(func=cmd_timeline)

    objection = subparsers.add_parser("objection", parents=[common],
                                      help="record objections to change notices and their outcome")
    actions = objection.add_subparsers(dest="objection_command", metavar="ACTION", required=True)
    p = actions.add_parser("add", parents=[common, where], help="record an objection received")
    p.add_argument("customer", metavar="CUSTOMER", help="the customer who objects")
    p.add_argument("--notice", required=True, metavar="NTC-ID", help="the notice objected to")
    p.add_argument("--received-on", required=True, type=date_arg, metavar="DATE", help="the day it arrived")
    p.add_argument("--from", dest="sender", required=True, metavar="WHO", help="who sent it (name or address)")
    p.add_argument("--text", metavar="TEXT", help="what it says")
    p.add_argument("--letter", metavar="FILE", help="the letter (PDF, scan, e-mail) to keep with it")
    p.set_defaults(func=cmd_objection_add)
    p = actions.add_parser("resolve", parents=[common, where], help="record how an objection ended")
    p.add_argument("objection", metavar="OBJ-ID", help="the objection (OBJ-<number>)")
    p.add_argument("--outcome", required=True, choices=("withdrawn", "accepted", "terminated"),
                   help="withdrawn; accepted: the change is not applied to this customer; terminated: services "
                        "terminated")
    p.add_argument("--on", type=date_arg, metavar="DATE", help="the day it was resolved (default: today)")
    p.add_argument("--note", metavar="TEXT", help="what was agreed")
    p.set_defaults(func=cmd_objection_resolve)
    p = actions.add_parser("list", parents=[common, where],
                           help="objections, and the notices whose objection period is running")
    p.add_argument("--open", action="store_true", help="only objections not yet resolved")
    p.add_argument("--today", type=date_arg, metavar="DATE", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=cmd_objection_list)

    p = subparsers.add_parser("evidence", parents=[common, where],
                              help="a zip of everything recorded about a customer, checkable with sha256sum")
    p.add_argument("customer", metavar="CUSTOMER", help="the customer's id")
    p.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the zip")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--customers", default="customers", metavar="DIR",
                   help="directory of contract files (default: customers/)")
    p.set_defaults(func=cmd_evidence)
