"""The team's commands over a postgresql:// archive: worker, runs, documents, contracts; `batch` and `notices`
with --archive URL."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from annex_gen.archive.index import ARCHIVE_ENV, shown_url
from annex_gen.cli.common import err, indent
from annex_gen.counts import Counted
from annex_gen.errors import UsageError


def _url(args: argparse.Namespace) -> str:
    url = args.archive or os.environ.get(ARCHIVE_ENV)
    if not url:
        raise UsageError(f"name the team's database with --archive postgresql://... (or ${ARCHIVE_ENV})")
    return url


def _who(args: argparse.Namespace) -> str:
    if getattr(args, "by", None):
        return args.by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def print_team_migrate(url: str) -> None:
    """`archive migrate` on a database: the team schema and the job queue's too."""
    from annex_gen.team import usecases

    found, now, queue_found, queue_now = usecases.migrate(url)
    where = shown_url(url)
    if found == now:
        print(f"{where}: team schema version {now}; nothing to migrate")
    else:
        print(f"{where}: team schema {'created at' if found == 0 else f'migrated from version {found} to'} "
              f"version {now}")
    if queue_found == queue_now:
        print(f"{where}: job queue schema of procrastinate {queue_now}; nothing to migrate")
    else:
        print(f"{where}: job queue schema {'installed' if queue_found is None else f'upgraded from {queue_found}'}"
              f" (procrastinate {queue_now})")


# batch --archive


def cmd_batch_queued(args: argparse.Namespace, progress: Any, print_summary: Any) -> int:
    """Queue the batch as jobs; follow it unless --detach."""
    from annex_gen.team import usecases

    url = _url(args)
    paths = [Path(p) for p in args.customers] or None
    queued = usecases.enqueue_batch(Path(args.registry), paths, url, started_by=_who(args), engine=args.engine,
                                    force=args.force)
    for d in queued.warnings:
        err(str(d))
    if args.detach:
        print(f"run {queued.run_id}: {Counted(queued.total):contract|contracts}, {queued.to_render} to generate by "
              f"the workers; `annex-gen runs --archive URL` shows its progress")
        return 0
    result = _follow(url, queued.run_id, progress, waiting=bool(queued.to_render))
    if result is None:
        return 130
    print_summary(result, f"{shown_url(url)}, run {queued.run_id}; `annex-gen documents export DIR` writes the files")
    return 1 if result.failed else 0


def _follow(url: str, run_id: int, progress: Any, *, waiting: bool) -> Any:
    """The run's result once it has ended, following its progress; None when Ctrl-C stopped the following."""
    from annex_gen.team import usecases

    if waiting:
        err(f"run {run_id} queued; waiting for workers (`annex-gen worker --archive URL`); Ctrl-C stops "
            "waiting, not the run")
    try:
        return usecases.follow_run(url, run_id, progress)
    except KeyboardInterrupt:
        progress.close()
        err(f"stopped following run {run_id}; the workers go on with it")
        return None
    finally:
        progress.close()


# notices --archive


def cmd_notices_queued(args: argparse.Namespace, progress: Any, print_notices: Any) -> int:
    """Plan the notices here, queue one job per notice; follow the run and write its folder unless --detach."""
    from annex_gen import app
    from annex_gen.changes.notices import NoticesResult, WrittenNotice
    from annex_gen.team import usecases

    url = _url(args)
    out_dir = Path(args.out)
    sources = None if args.customers else usecases.contract_sources(url)  # the database's contracts by default
    if sources is not None and not sources:
        raise UsageError(f"{shown_url(url)} holds no contracts yet: import them with `annex-gen contracts import DIR "
                         "--archive URL`, or name the contract files")
    report = app.impact(Path(args.registry), args.old, args.new, app.contract_paths(args.customers),
                        archive=url, sources=sources)
    queued = usecases.enqueue_notices(report, url, notice_date=args.notice_date, effective_date=args.effective_date,
                                      started_by=_who(args), engine=args.engine)
    if args.detach:
        print(f"run {queued.run_id}: {Counted(len(queued.notices)):notice|notices} to write by the workers; "
              f"`annex-gen runs --archive URL` shows its progress, `annex-gen documents export DIR --notices "
              f"{queued.run_id}` writes them out once it has finished")
        for c in report.with_status("error"):
            err(f"{c.customer_id or c.source}: failed:")
            err(indent(c.error or ""))
        return 1 if report.with_status("error") else 0
    outcome = _follow(url, queued.run_id, progress, waiting=bool(queued.notices))
    if outcome is None:
        return 130
    usecases.notices_export(url, queued.run_id, out_dir)
    generated = {document_id for _cid, document_id in outcome.generated}
    result = NoticesResult(nothing_to_notify=queued.nothing_to_notify, summary_csv=out_dir / "notices.csv")
    for notice in queued.notices:
        if notice.notice_id in generated:
            annex = notice.impact.new_annex
            cid = notice.impact.customer_id
            result.written.append(WrittenNotice(notice, {
                **{f"notice_{fmt}": out_dir / cid / f"{notice.notice_id}.{fmt}" for fmt in ("pdf", "docx")},
                **{f"annex_{fmt}": out_dir / cid / f"{annex.document_id}.{fmt}" for fmt in ("pdf", "docx")}}))
    result.failed = [(f.customer_id or f.source, f.reason) for f in outcome.failed]
    return print_notices(report, result)


# send --archive


def cmd_send_queued(args: argparse.Namespace, formats: tuple[str, ...], print_sent: Any, print_summary: Any) -> int:
    """Plan the messages here, queue one job per message; follow the run as a local send prints it unless
    --detach."""
    from annex_gen.team import usecases

    if args.smtp:
        raise UsageError("--smtp: with a team's database the workers send, each with its own SMTP server "
                         "(ANNEX_GEN_SMTP and its credentials on the worker's machine); leave --smtp out")
    url = _url(args)
    queued = usecases.enqueue_send(url, Path(args.registry), [Path(p) for p in args.paths], Path(args.out),
                                   sender=args.sender, formats=formats, started_by=_who(args), engine=args.engine,
                                   customers=[Path(args.customers)] if Path(args.customers).is_dir() else [],
                                   only=args.customer)
    if args.detach:
        print(f"run {queued.run_id}: {Counted(queued.messages):message|messages} to send by the workers; "
              "`annex-gen runs --archive URL` shows its progress")
        return 0
    if queued.messages:
        err(f"run {queued.run_id} queued; waiting for workers (`annex-gen worker --archive URL`); Ctrl-C stops "
            "waiting, not the run")
    try:
        report = usecases.follow_send(url, queued.run_id, print_sent)
    except KeyboardInterrupt:
        err(f"stopped following run {queued.run_id}; the workers go on with it")
        return 130
    return print_summary(report)


# worker, runs


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from annex_gen import pgconnections
    from annex_gen.team import usecases

    pgconnections.keep_idle()  # a long-running process: its jobs reuse the database connections of the jobs before
    url = _url(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("annex_gen.worker", "procrastinate"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO if name == "annex_gen.worker" else logging.WARNING)
    usecases.worker(url, heartbeat_s=args.heartbeat, once=args.once, name=args.name, ready=lambda: err(
        f"annex-gen worker: taking jobs from {shown_url(url)} (pid {os.getpid()}); Ctrl-C or SIGTERM stops it after "
        "the running job"))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    states = usecases.list_runs(_url(args), args.limit)
    if not states:
        print("no runs yet")
    for s in states:
        c = s.counts
        when = f"finished {s.finished_at}" if s.finished else "running"
        if s.kind == "send":
            counts = (f"{c.get('generated', 0)} sent, {c.get('failed', 0)} not delivered, {c.get('queued', 0)} "
                      "queued")
            what = f"run {s.id} (sending)"
        elif s.kind == "notices":
            counts = (f"{c.get('generated', 0)} written, {c.get('unchanged', 0)} with nothing to notify, "
                      f"{c.get('failed', 0)} failed, {c.get('queued', 0)} queued")
            what = f"run {s.id} (notices dated {s.notice_date})"
        else:
            counts = (f"{c.get('generated', 0)} generated, {c.get('unchanged', 0)} unchanged, {c.get('failed', 0)} "
                      f"failed, {c.get('queued', 0)} queued")
            what = f"run {s.id}"
        print(f"{what}: {s.done}/{s.total} done ({counts}); started by {s.started_by} at {s.started_at}, {when}"
              + (f"; error: {s.error}" if s.error else ""))
    return 0


# documents


def cmd_documents_list(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    docs = usecases.documents_list(_url(args), args.customer)
    for d in docs:
        files = ", ".join(f"{fmt} {sha[:12]} {size} B" for fmt, (sha, size) in sorted(d.files.items()))
        print(f"{d.customer_id}\t{d.document_id}\t{d.registry_version}\t{d.created_at}\t{files}")
    err(f"{Counted(len(docs)):document|documents}")
    return 0


def cmd_documents_export(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    if args.notices is not None:
        if args.latest:
            raise UsageError("--latest and --notices: choose one")
        written = usecases.notices_export(_url(args), args.notices, Path(args.dir))
    else:
        written = usecases.documents_export(_url(args), Path(args.dir), latest_only=args.latest)
    for path in written:
        print(path)
    err(f"{Counted(len(written)):file|files} written to {args.dir}")
    return 0


# contracts


def cmd_contracts_import(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    imported = usecases.contracts_import(_url(args), Path(args.registry), [Path(p) for p in args.paths], _who(args))
    for cid, version in imported.saved:
        print(f"{cid}: saved as version {version}")
    print(f"{Counted(len(imported.saved)):contract|contracts} saved, {len(imported.unchanged)} unchanged")
    return 0


def cmd_contracts_export(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    written = usecases.contracts_export(_url(args), Path(args.dir))
    for path in written:
        print(path)
    err(f"{Counted(len(written)):contract|contracts} written to {args.dir}")
    return 0


def cmd_contracts_list(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    versions = usecases.contracts_list(_url(args))
    for v in versions:
        print(f"{v.customer_id}\tversion {v.version}\tsaved by {v.saved_by} at {v.saved_at}")
    err(f"{Counted(len(versions)):contract|contracts}")
    return 0


def cmd_contracts_history(args: argparse.Namespace) -> int:
    from annex_gen.team import usecases

    for v in usecases.contract_history(_url(args), args.customer):
        print(f"version {v.version}\t{v.saved_at}\t{v.saved_by}\tsha256 {v.sha256[:16]}")
    return 0


def _seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def add_archive_argument(parser: argparse.ArgumentParser, help_: str | None = None) -> None:
    """--archive URL: the team's database."""
    parser.add_argument("--archive", default=None, metavar="URL",
                        help=help_ or f"the team's database: the archive's postgresql:// URL (default: ${ARCHIVE_ENV})")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the worker, runs, documents and contracts commands."""
    p = subparsers.add_parser("worker", parents=[common], help="take batch, notices and send jobs from the team's "
                              "queue (any machine)", description="Render the annexes and change notices of queued "
                              "runs and send their messages, one job at a time; run one per core. A worker sends "
                              "with its own machine's SMTP settings (ANNEX_GEN_SMTP, ANNEX_GEN_SMTP_USER, "
                              "ANNEX_GEN_SMTP_PASSWORD or ANNEX_GEN_SMTP_PASSWORD_FILE, ANNEX_GEN_SMTP_CA_FILE).")
    add_archive_argument(p)
    p.add_argument("--heartbeat", type=_seconds, default=10.0, metavar="SECONDS",
                   help="how often the worker says it is alive; a worker silent for 3 beats has its job queued again "
                        "(default: 10)")
    p.add_argument("--once", action="store_true", help="stop when the queue is empty")
    p.add_argument("--name", default=None, help="the worker's name in the logs")
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser("runs", parents=[common], help="the team's runs (batches, notices, sending) and "
                              "their progress")
    add_archive_argument(p)
    p.add_argument("--limit", type=int, default=20, help="how many runs, newest first (default: 20)")
    p.set_defaults(func=cmd_runs)

    docs = subparsers.add_parser("documents", help="the generated documents stored in the team's database")
    sub = docs.add_subparsers(dest="documents_command", metavar="COMMAND", required=True)
    p = sub.add_parser("list", parents=[common], help="list the stored documents")
    add_archive_argument(p)
    p.add_argument("--customer", default=None, metavar="ID", help="only this customer's")
    p.set_defaults(func=cmd_documents_list)
    p = sub.add_parser("export", parents=[common], help="write the stored documents as DIR/<customer>/<id>.<format>")
    p.add_argument("dir", metavar="DIR")
    add_archive_argument(p)
    p.add_argument("--latest", action="store_true", help="only each customer's latest document")
    p.add_argument("--notices", type=int, default=None, metavar="RUN",
                   help="instead, a finished notices run as `annex-gen notices` writes its folder: "
                        "DIR/<customer>/<notice-id>|<document-id>.<format> and DIR/notices.csv")
    p.set_defaults(func=cmd_documents_export)

    cons = subparsers.add_parser("contracts", help="the contracts stored in the team's database, every version kept")
    sub = cons.add_subparsers(dest="contracts_command", metavar="COMMAND", required=True)
    p = sub.add_parser("import", parents=[common], help="store the contract files of folders (a new version each "
                       "changed one); every file is checked first, nothing is stored if any is invalid")
    p.add_argument("paths", nargs="+", metavar="DIR|FILE")
    add_archive_argument(p)
    p.add_argument("--by", default=None, metavar="NAME", help="who saves them (default: the login name)")
    p.set_defaults(func=cmd_contracts_import)
    p = sub.add_parser("export", parents=[common], help="write each contract's latest version as DIR/<id>.yaml")
    p.add_argument("dir", metavar="DIR")
    add_archive_argument(p)
    p.set_defaults(func=cmd_contracts_export)
    p = sub.add_parser("list", parents=[common], help="each contract's latest version, who saved it and when")
    add_archive_argument(p)
    p.set_defaults(func=cmd_contracts_list)
    p = sub.add_parser("history", parents=[common], help="every saved version of one contract")
    p.add_argument("customer", metavar="ID")
    add_archive_argument(p)
    p.set_defaults(func=cmd_contracts_history)
