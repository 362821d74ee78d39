"""`annex-gen send`, `timeline`, `objection ...` and `evidence`: argument parsing and printing only."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from annex_gen.archive.index import ARCHIVE_ENV, DEFAULT_ARCHIVE, default_location


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
    if not report.sent:
        print("nothing to retry: every message was delivered" if retry else "nothing to send")
        return 0
    failed = len(report.failed)
    print(f"{len(report.sent) - failed} of {len(report.sent)} message(s) accepted by the server")
    if failed:
        print(f"annex-gen: {failed} message(s) not delivered; they are kept: `annex-gen send --retry` "
              "sends them again", file=sys.stderr)
        return 1
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from annex_gen.lifecycle import cases

    if args.retry:
        if args.paths:
            print("annex-gen: error: --retry sends the messages not yet delivered; name no files with it",
                  file=sys.stderr)
            return 2
        report = cases.send_retry(args.archive, smtp=args.smtp, actor=_actor(), customer=args.customer,
                                  progress=_print_sent)
        return _sent_summary(report, retry=True)
    formats = ("pdf", "docx") if args.docx else ("pdf",)
    report = cases.send(args.archive, Path(args.registry), [Path(p) for p in args.paths], Path(args.out),
                        smtp=args.smtp, sender=args.sender, formats=formats, actor=_actor(),
                        engine=args.engine, progress=_print_sent)
    return _sent_summary(report)


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
                    "ANNEX_GEN_SMTP_PASSWORD_FILE), never from the command line.")
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
    p.add_argument("--customer", metavar="ID", help="with --retry: only this customer's messages")
    add_engine_argument(p)
    p.set_defaults(func=cmd_send)
