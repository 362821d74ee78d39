"""The `batch`, `diff` and `notices` commands: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from annex_gen import app
from annex_gen.archive.index import ARCHIVE_ENV, default_location, is_server_url
from annex_gen.cli.common import (
    add_archive_argument,
    add_engine_argument,
    command_line_actor,
    date_arg,
    exit_code,
    indent,
    jobs_arg,
)
from annex_gen.cli.common import err as _err
from annex_gen.counts import Counted
from annex_gen.errors import BatchInterrupted, UsageError


def _out(text: str = "") -> None:
    print(text)


# batch


class _PlainProgress:
    """One line per annex written or failed, for logs and pipes."""

    def __call__(self, event) -> None:
        if event.kind == "planned":
            _err(f"{Counted(event.total):contract|contracts}, {event.to_render} to generate")
        elif event.kind == "generated":
            _err(f"[{event.done}/{event.total}] generated {event.customer_id} {event.detail}")
        elif event.kind == "failed":
            _err(f"[{event.done}/{event.total}] failed {event.customer_id or event.source}")

    def close(self) -> None:
        pass


class _RichProgress:
    """A progress bar on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        self.task = None

    def __call__(self, event) -> None:
        if event.kind == "planned":
            self.progress.start()
            self.task = self.progress.add_task(f"{event.to_render} to generate", total=event.total)
        elif self.task is not None:
            self.progress.update(self.task, completed=event.done)

    def close(self) -> None:
        self.progress.stop()


def _print_batch_summary(result, out_dir: Path) -> None:
    for d in result.warnings:
        _err(str(d))
    left = result.total - len(result.generated) - len(result.unchanged) - len(result.failed)
    _out(f"{Counted(result.total):contract|contracts} in {result.seconds:.1f} s: {len(result.generated)} generated, "
         f"{len(result.unchanged)} unchanged, {len(result.failed)} failed"
         + (f", {left} not done; interrupted, the next run continues" if result.interrupted else "")
         + f" (output: {out_dir})")
    if result.failed:
        _out("failed:")
        for f in sorted(result.failed, key=lambda f: f.source):
            who = f"{f.source} ({f.customer_id})" if f.customer_id else f.source
            _out(f"  {who}:")
            _out(indent(f.reason))


def cmd_batch(args) -> int:
    out_dir = Path(args.out)
    progress = _RichProgress() if sys.stderr.isatty() and not args.plain else _PlainProgress()
    team = bool(args.archive) and is_server_url(args.archive)
    if args.detach and not team:
        raise UsageError("--detach needs --archive URL: only a team's queued run goes on without this command")
    if team:  # a team's batch: jobs on the database's queue, rendered by `annex-gen worker`
        from annex_gen.cli.team import cmd_batch_queued

        return cmd_batch_queued(args, progress, _print_batch_summary)
    try:
        archive = args.archive or os.environ.get(ARCHIVE_ENV)
        result = app.batch(Path(args.registry), app.contract_paths(args.customers), out_dir, jobs=args.jobs,
                           force=args.force, progress=progress, engine=args.engine,
                           actor=command_line_actor(archive) if archive else None,
                           archive=archive or default_location())
    except BatchInterrupted as exc:
        progress.close()
        _print_batch_summary(exc.result, out_dir)
        return exit_code(exc)
    finally:
        progress.close()
    _print_batch_summary(result, out_dir)
    return 1 if result.failed else 0


# diff


def _impact(args):
    return app.impact(Path(args.registry), args.old, args.new, app.contract_paths(args.customers),
                      archive=args.archive)


def _row_text(row) -> str:
    entry = row.new or row.old
    where = f"{row.section_title}: {entry.location}: {entry.purpose}"
    if row.kind == "added":
        return f"+ {row.name} -- {where}"
    if row.kind == "removed":
        return f"- {row.name} -- {where}"
    parts = []
    for name in row.fields:
        if name == "section":
            parts.append(f"section {row.old_section_title} -> {row.section_title}")
        elif name == "purpose":
            parts.append(f"purpose {row.old.purpose!r} -> {row.new.purpose!r}")
        else:
            parts.append(f"{name} {getattr(row.old, name)} -> {getattr(row.new, name)}")
    return f"~ {row.name} -- {row.section_title}: " + "; ".join(parts)


def print_impact(report) -> None:
    """The diff as readable text."""
    _out(f"Registry: {report.old_label} ({report.old.version}) -> {report.new_label} ({report.new.version})")
    _out(f"{Counted(len(report.changes)):change|changes}" + (":" if report.changes else ""))
    for c in report.changes:
        langs = f" [{', '.join(sorted(c.languages))} only]" if c.languages is not None else ""
        _out(f"  [{c.id}] {c.summary}{langs}")
    affected, unaffected, errors = (report.with_status(s) for s in ("affected", "unaffected", "error"))
    _out()
    _out(f"Customers: {len(affected)} affected, {len(unaffected)} unaffected, {Counted(len(errors)):error|errors}")
    for c in affected:
        ids = ", ".join(f"[{i}]" for i in c.changes) or "(annex text)"
        _out(f"  {c.customer_id}: affected by {ids} -- {c.customer_name} ({c.source}, {c.language})")
        for row in c.annex.rows:
            _out(f"      {_row_text(row)}")
        for other in c.annex.other:
            _out(f"      ~ {other.key}: {other.old!r} -> {other.new!r}" if other.key != "content"
                 else "      ~ annex content")
    for c in unaffected:
        _out(f"  {c.customer_id}: unaffected -- {c.customer_name} ({c.source})")
    for c in errors:
        _out(f"  {c.customer_id or c.source}: error -- {c.source}")
        _out(indent(c.error or "", "      "))


def cmd_diff(args) -> int:
    report = _impact(args)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_impact(report)
    return 1 if report.with_status("error") else 0


# notices


def team_database(archive) -> bool:
    """Whether the archive is a team's database (PostgreSQL with the team schema, of any version)."""
    if not (archive and is_server_url(str(archive))):
        return False
    from annex_gen.team.usecases import team_version

    return team_version(str(archive)) > 0


def cmd_notices(args) -> int:
    team = team_database(args.archive)
    if args.detach and not team:
        raise UsageError("--detach needs --archive URL of a team's database: only a team's queued run goes on "
                         "without this command")
    if team:  # jobs on the database's queue, rendered by `annex-gen worker`
        from annex_gen.cli.team import cmd_notices_queued

        progress = _RichProgress() if sys.stderr.isatty() else _PlainProgress()
        return cmd_notices_queued(args, progress, print_notices)
    report = _impact(args)
    out_dir = Path(args.out)
    result = app.notices(report, out_dir, notice_date=args.notice_date, effective_date=args.effective_date,
                         jobs=args.jobs, engine=args.engine)
    code = print_notices(report, result)
    approved = report.new.effective if report.new.status == "final" else None
    if result.written and approved and args.effective_date and args.effective_date != approved:
        _err(f"warning: legal approved release {report.new.release} to take effect on {approved}; these notices "
             f"say {args.effective_date}, and `batch` dates the replacement annexes {approved}")
    if result.written and report.new.status != "final":
        _err(f"warning: registry {report.new.version} is not a release legal approved, so the new annexes these "
             "notices enclose are drafts (not for signature); approve it (`annex-gen release approve`) and write "
             "the notices again before sending them")
    return code


def print_notices(report, result) -> int:
    """What a notices run wrote, and what failed; the exit code."""
    for w in result.written:
        dates = w.notice.dates
        _out(f"{w.customer_id}: takes effect {dates.effective_date}, "
             f"objections by {dates.objection_deadline}")
        for path in w.files.values():
            _out(f"    {path}")
    for cid in result.nothing_to_notify:
        _out(f"{cid}: the annex changes, but nothing it prints does; no notice")
    no_email = [w.customer_id for w in result.written
                if w.notice.impact.contract and not w.notice.impact.contract.contact_email]
    if no_email:
        _err(f"warning: no contact_email for {', '.join(no_email)}: their row in the mail-merge CSV has no "
             "address; send these notices another way or add contact_email to the contracts")
    failed = [(c.customer_id or c.source, c.error or "") for c in report.with_status("error")] + result.failed
    for who, reason in failed:
        _err(f"{who}: failed:")
        _err(indent(reason))
    unaffected = Counted(len(report.with_status("unaffected")))
    _out(f"{Counted(len(result.written)):notice|notices} written, {unaffected:customer|customers} unaffected, "
         f"{len(failed)} failed; mail-merge summary: {result.summary_csv}")
    return 1 if failed else 0


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the batch, diff and notices commands."""
    customers_help = ("contract files, directories of them, or CRM CSV exports "
                      "(default: customers/ and examples/)")

    p = subparsers.add_parser(
        "batch", parents=[common], help="regenerate every changed annex in parallel",
        description="Regenerate the annexes of every contract whose content or templates changed since the "
        "last batch into the same output directory.")
    p.add_argument("customers", nargs="*", metavar="CUSTOMERS", help=customers_help)
    p.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output/)")
    p.add_argument("--jobs", type=jobs_arg, default=None, metavar="N",
                   help="worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help="regenerate every annex, changed or not")
    p.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    p.add_argument("--archive", metavar="DIR|URL", default=None,
                   help=f"record the run in this archive's audit log (default: ${ARCHIVE_ENV} when set; without "
                        "either the run is not recorded; a run killed before its entry gets one when the next "
                        "recorded run into the same --out starts). A postgresql:// URL given here makes it a team's "
                        "run: jobs on the database's queue for `annex-gen worker`, the documents stored there "
                        "(without CUSTOMERS: the database's contracts); --out and --jobs unused. Annexes are final "
                        "where this archive (else archive/) holds legal's approval of the registry, else drafts")
    add_engine_argument(p)
    p.add_argument("--detach", action="store_true", help="with --archive: queue the run and return at once")
    p.set_defaults(func=cmd_batch)

    for name, help_ in (("diff", "what changed between two registries, and which customers it reaches"),
                        ("notices", "write change notices for every customer a registry change reaches")):
        p = subparsers.add_parser(name, parents=[common], help=help_)
        p.add_argument("customers", nargs="*", metavar="CUSTOMERS", help=customers_help)
        p.add_argument("--from", dest="old", required=True, metavar="OLD",
                       help="the old registry: a directory or a git revision (e.g. HEAD~1, v2026.11.1)")
        p.add_argument("--to", dest="new", default=None, metavar="NEW",
                       help="the new registry: a directory or a git revision (default: --registry)")
        add_archive_argument(p, "; the new annexes are final where it holds legal's approval of NEW, else drafts"
                             + ("" if name == "diff" else
                                ". A team's database (a postgresql:// URL with the team schema) makes it a team's "
                                "run: one job per notice on its queue for `annex-gen worker`, the files stored "
                                "there and written into --out once the run has finished (without CUSTOMERS: the "
                                "database's contracts); --jobs unused"))
        if name == "diff":
            p.add_argument("--json", action="store_true", help="print JSON instead of text")
            p.set_defaults(func=cmd_diff)
        else:
            p.add_argument("--notice-date", type=date_arg, required=True, metavar="DATE",
                           help="the date the notices are sent (YYYY-MM-DD)")
            p.add_argument("--effective-date", type=date_arg, default=None, metavar="DATE",
                           help="when the change takes effect (default: the effective date legal approved for the new "
                           "registry, else its own `effective` date, else notice date + the registry's notice "
                           "period, which is also the minimum)")
            p.add_argument("--out", default="notices", metavar="DIR",
                           help="output directory (default: notices/)")
            p.add_argument("--jobs", type=jobs_arg, default=None, metavar="N",
                           help="worker processes (default: one per core)")
            add_engine_argument(p)
            p.add_argument("--detach", action="store_true",
                           help="with --archive URL: queue the notices and return at once (`annex-gen documents "
                                "export DIR --notices RUN` writes them out once the run has finished)")
            p.set_defaults(func=cmd_notices)



