"""`annex-gen archive ...`: argument parsing and printing for the signed-annex archive."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annex_gen import app
from annex_gen.archive.index import ARCHIVE_ENV, DEFAULT_ARCHIVE, default_location, is_server_url, shown_url
from annex_gen.cli.common import command_line_actor, date_arg
from annex_gen.counts import Counted
from annex_gen.errors import UsageError
from annex_gen.shown import escaped as e

if TYPE_CHECKING:
    from annex_gen.archive.chain import Heads, VerifyReport
    from annex_gen.archive.status import CustomerStatus
    from annex_gen.archive.store import Record


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _signature_line(s: Mapping[str, Any]) -> str:
    who = f" by {e(s['signer'])}" if s.get("signer") else ""
    when = s.get("timestamp") or s.get("signing_time")
    when = f", signed {when}" if when else ""
    if s.get("ok"):
        verdict = f"intact, covers the {s.get('coverage')}"
        if s.get("coverage") != "entire file":
            verdict += f" (later: {(s.get('changes_after') or '').replace('_', ' ')})"
    else:
        verdict = f"BROKEN: {e(s.get('problem'))}"
    return f"{s.get('kind', 'signature')} {e(s.get('field'))}{who}{e(when or '')}: {verdict}"


def _signatures_summary(record: Record) -> str:
    sigs = record.signatures
    if record.kind != "annex":
        return "-"
    if not sigs:
        return "none"
    broken = sum(1 for s in sigs if not s.get("ok"))
    return f"{len(sigs)} ok" if not broken else f"{broken}/{len(sigs)} BROKEN"


_SIGNED_ON_FROM = {
    "given": "as given",
    "signature": "from the digital signature",
    "archived": "the day it was archived; no date was given",
}
_LINK = {
    "embedded": "from the embedded annex.json",
    "given": "as given; the file has no embedded annex.json",
}


def cmd_add(args: argparse.Namespace) -> int:
    from annex_gen.archive.intake import AddRequest
    from annex_gen.lifecycle.cases import Upload, read_upload

    customer = args.customer
    if customer is None and args.attach_to is not None:
        raise UsageError("an attachment needs its customer: add --customer ID")
    upload = read_upload(Path(args.file)) if args.attach_to is None else Upload()  # an attachment: any file
    if customer is None:
        if upload.customer is None:
            raise UsageError(f"{args.file}: the file names no customer (no embedded annex.json); "
                             "say whose it is with --customer ID")
        customer = upload.customer
    note = args.note
    if upload.unsigned_original and args.unsigned_copy:
        note = "Recorded as a scanned or unsigned copy." + (f" {note}" if note else "")  # as the web says it
    request = AddRequest(
        path=Path(args.file),
        customer=customer,
        signed_on=args.signed_on,
        note=note,
        document_id=args.document_id,
        accept_invalid_signature=args.accept_invalid_signature,
        attach_to=args.attach_to,
        signed_draft=args.signed_draft,
        unsigned_copy=args.unsigned_copy,
    )
    record = app.archive_add(args.archive, request, actor=command_line_actor(args.archive))  # in the audit log
    body = record.body
    if record.kind == "attachment":
        print(f"archived {e(args.file)} as record {record.seq}, an attachment of record {record.parent} "
              f"(customer {record.customer_id})")
        return 0
    print(f"archived {e(args.file)} as record {record.seq} (customer {record.customer_id})")
    if record.document_id:
        print(f"  document {record.document_id} ({_LINK[body['link']]})")
    if record.annex:
        print(f"  registry {e(body['registry_version'])}, {len(record.annex['subprocessors'])} sub-processors")
    for s in record.signatures:
        print(f"  {_signature_line(s)}")
    if not record.signatures:
        print("  no digital signature in the file (a scan or an unsigned copy)")
    print(f"  signed on {body['signed_on']} ({_SIGNED_ON_FROM[body['signed_on_from']]})")
    if body["accepted_invalid_signature"]:
        _warn(f"record {record.seq} has a broken signature; archived as invalid because of "
              "--accept-invalid-signature")
    if body["link"] == "unlinked":
        _warn(f"record {record.seq} is not linked to a document: the file has no embedded annex.json and no "
              "--document-id was given, so `archive status` cannot compare it")
    if body.get("signed_draft"):
        _warn(f"record {record.seq} is a signed DRAFT (not for signature), archived because of --signed-draft")
    if body["signed_on_from"] == "archived":
        _warn(f"record {record.seq} has no signing date; recorded as signed today. Give --signed-on DATE "
              "(the date on the signed paper) when adding a scan")
    return 0


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def cmd_list(args: argparse.Namespace) -> int:
    records = app.archive_records(args.archive, args.customer)
    if not records:
        print("no records" + (f" for customer {args.customer}" if args.customer else ""))
        return 0
    rows = [["RECORD", "CUSTOMER", "SIGNED ON", "DOCUMENT", "SIGNATURES", "FILE"]]
    for r in records:
        document = r.document_id or ("(unlinked)" if r.kind == "annex" else f"(attachment of {r.parent})")
        if r.body.get("signed_draft"):
            document += " DRAFT"
        rows.append([str(r.seq), r.customer_id, r.body.get("signed_on") or "-", document,
                     _signatures_summary(r), e(r.file_name)])
    _table(rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    record, attachments = app.archive_record(args.archive, args.record)
    if args.json:
        json.dump({"seq": record.seq, "record_hash": record.record_hash, "body": record.body}, sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    body, f = record.body, record.body["file"]
    print(f"record {record.seq} ({record.kind})")
    lines = [
        ("customer", record.customer_id),
        ("file", f"{e(f['name'])} ({f['size']} bytes, {e(f['media_type'])})"),
        ("sha256", f["sha256"]),
        ("archived at", body["archived_at"]),
    ]
    if record.kind == "attachment":
        lines.append(("attached to", f"record {record.parent}"))
    elif record.kind == "release":
        lines = lines[1:] + [("release", f"{body['release']} ({body['registry_version']})"),
                             ("approved", f"by {body['approved_by']} on {body['approved_on']}"),
                             ("effective", body["effective"])]
    else:
        lines.append(("signed on", f"{body['signed_on']} ({_SIGNED_ON_FROM[body['signed_on_from']]})"))
        lines.append(("document", f"{record.document_id} ({_LINK[body['link']]})" if record.document_id
                      else "(unlinked)"))
        if body.get("registry_version"):
            lines.append(("registry", e(body["registry_version"])))
        if body.get("signed_draft"):
            lines.append(("status", "a signed DRAFT (not for signature), archived with --signed-draft"))
    if body.get("note"):
        lines.append(("note", e(body["note"])))
    for label, value in lines:
        print(f"  {label + ':':<13}{value}")
    if record.kind == "annex":
        print("  signatures:" + ("" if record.signatures else " none"))
        for s in record.signatures:
            print(f"    {_signature_line(s)}")
        if body.get("accepted_invalid_signature"):
            print("    (archived with --accept-invalid-signature)")
    if record.annex:
        parties = record.annex["subprocessors"]
        print(f"  sub-processors ({len(parties)}):")
        for p in parties:
            legal = f" ({e(p['legal_id'])})" if p.get("legal_id") else ""
            where = ", ".join(e(place) for place in p.get("locations") or [])
            print(f"    {e(p['name'])}{legal}: {where}{' [outside the EEA]' if p.get('outside_eea') else ''}")
    if attachments:
        print("  attachments: " + ", ".join(f"record {a.seq} ({e(a.file_name)})" for a in attachments))
    print(f"  record hash: {record.record_hash}")
    print(f"  previous:    {body['prev']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    record, data = app.archive_export(args.archive, args.record, out, force=args.force)
    print(f"wrote {out} (record {record.seq}, {len(data)} bytes, sha256 {record.sha256})")
    return 0


def _shown(location: str) -> str:
    return shown_url(location)


def _head_arg(args: argparse.Namespace) -> Heads | None:
    from annex_gen.archive.chain import Heads

    if args.head_file:
        path = Path(args.head_file)
        try:
            text, where = path.read_text(encoding="utf-8", errors="replace")[:1000], str(path)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the head file: {exc.strerror}") from None
    elif args.head:
        text, where = args.head, "--head"
    else:
        return None
    try:
        return Heads.parse(text, where)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _unanchored(report: VerifyReport) -> str:
    """What a verification without a head for a chain cannot see, said plainly."""
    missing = [name for name in ("records", "audit") if name not in report.anchored]
    labels = {"records": "records", "audit": "audit entries"}
    if not missing:
        return ""
    which = " or ".join(labels[m] for m in missing)
    return (f"note: {which} removed from the end cannot be detected without a head kept outside the archive "
            "(`annex-gen archive head`; verify with --head-file)")


def cmd_verify(args: argparse.Namespace) -> int:
    report = app.archive_verify(args.archive, head=_head_arg(args))
    for problem in report.problems:
        print(e(problem), file=sys.stderr)
    errors = len(report.errors)
    summary = (f"{_shown(args.archive)}: {Counted(report.records):record|records}, {Counted(report.files):file|files}, "
               f"{Counted(report.audit_entries):audit entry|audit entries} checked")
    if errors:
        print(f"{summary}; {Counted(errors):problem|problems} found")
        return 1
    head, audit = report.head, report.audit_head
    print(summary + "; no problems" + (f"; chain head: record {head.seq} {head.record_hash}" if head else "")
          + (f"; audit head: entry {audit}" if audit else ""))
    if note := _unanchored(report):
        print(note)
    return 0


def cmd_head(args: argparse.Namespace) -> int:
    heads = app.archive_head(args.archive)
    if heads.record is None and heads.audit is None:
        print(f"{_shown(args.archive)}: the archive and its audit log are empty; they have no head yet",
              file=sys.stderr)
        return 1
    print(heads)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    found, now = app.archive_migrate(args.archive)
    where = _shown(args.archive)
    if found is None:
        print(f"{where}: archive schema version {now}; nothing to migrate")
    elif found == 0:
        print(f"{where}: archive created at schema version {now}")
    else:
        print(f"{where}: archive schema migrated from version {found} to {now}")
    if is_server_url(args.archive):  # a database archive also holds the team's shared state and job queue
        from annex_gen.cli.team import print_team_migrate

        print_team_migrate(args.archive)
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    def progress(record: Record) -> None:
        if args.verbose:
            print(f"  record {record.seq} ({record.customer_id}, {e(record.file_name)})")

    report = app.archive_copy(args.source, args.target, progress=progress)
    for problem in report.verify.problems:
        print(e(problem), file=sys.stderr)
    source, target = _shown(args.source), _shown(args.target)
    skipped = f" ({Counted(report.already):was|were} already there)" if report.already else ""
    print(f"copied {Counted(report.copied):record|records} from {source} to {target}{skipped}"
          + (f", and {Counted(report.audit_copied):audit entry|audit entries}" if report.audit_copied else ""))
    if report.verify.errors:
        print(f"{target}: the copy does not verify; {Counted(len(report.verify.errors)):problem|problems} found")
        return 1
    v = report.verify
    print(f"{target}: {Counted(v.records):record|records}, {Counted(v.files):file|files}, "
          f"{Counted(v.audit_entries):audit entry|audit entries} checked; no problems"
          + (f"; chain head: record {v.head.seq} {v.head.record_hash}" if v.head else "")
          + (f"; audit head: entry {v.audit_head}" if v.audit_head else "")
          + (", as in the source" if v.head or v.audit_head else ""))
    return 0


_STATE = {
    "current": "current",
    "outdated": "OUTDATED",
    "unknown": "UNKNOWN",
    "no-annex": "NO SIGNED ANNEX",
    "no-contract": "NO CONTRACT",
}


def cmd_status(args: argparse.Namespace) -> int:
    folders = app.contract_paths([args.customers] if args.customers else [])
    if not folders:  # else every archived customer would read "no contract"
        raise UsageError("no customers/ or examples/ folder here: the contracts to compare with are given with "
                         "--customers DIR")
    if not folders[0].exists():
        raise UsageError(f"{args.customers}: no such folder; the contracts to compare with are given with "
                         "--customers DIR (default: customers/ and examples/)")
    report = app.archive_status(args.archive, Path(args.registry), folders, on=args.on, customer=args.customer)
    for d in report.diagnostics:
        print(str(d), file=sys.stderr)
    statuses, on = report.customers, report.on
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"annexes in force on {on}, compared with registry {report.registry.version}")
        for s in statuses:
            _print_status(s, on)
    not_current = len(report.not_current)
    if not args.json:
        print(f"{Counted(len(statuses)):customer|customers}: {len(statuses) - not_current} current, {not_current} not")
    return 1 if not_current or report.input_errors else 0


def _print_status(s: CustomerStatus, on: dt.date) -> None:
    r = s.record
    line = f"{s.customer_id}: {_STATE[s.state]}"
    if r is not None:
        line += f": record {r.seq}, {r.document_id or 'unlinked scan'}, signed {r.body['signed_on']}"
        if r.body.get("accepted_invalid_signature"):
            line += " (its digital signature is BROKEN)"
    elif s.state == "no-annex":
        line += f" on or before {on}"
    print(line)
    if s.state == "outdated" or (s.state == "unknown" and s.current_document_id):
        print(f"  the registry now resolves to {s.current_document_id}")
    if s.state == "unknown":
        print("  the annex in force is a scan without embedded data, and no archived annex with its "
              "document ID has any; the differences cannot be listed")
    if s.state == "no-contract":
        print("  no contract file for this customer; nothing to compare with")
    marks = {"added": "+ added  ", "removed": "- removed", "changed": "~ changed"}
    for c in s.changes:
        legal = f" ({c.legal_id})" if c.legal_id else ""
        print(f"  {marks[c.change]} {c.name}{legal} [{c.id}]")
        for d in c.details:
            print(f"      {d}")
    if s.other_changes:
        print(f"  also changed: {', '.join(s.other_changes)}")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the `archive` command and its actions to the CLI."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--archive", default=default_location(), metavar="DIR|URL",
                       help=f"archive directory, or a postgresql://user@host/db URL (default: ${ARCHIVE_ENV}, "
                            f"else {DEFAULT_ARCHIVE}/)")
    parents = [common, where]

    archive = subparsers.add_parser(
        "archive", parents=[common], help="archive signed annexes; list, verify and compare them",
        description="The signed-annex archive: files stored by SHA-256, with an append-only, "
                    "hash-chained index.",
    )
    actions = archive.add_subparsers(dest="archive_command", metavar="ACTION", required=True)

    p = actions.add_parser("add", parents=parents, help="store a signed annex (or an attachment of one)")
    p.add_argument("file", metavar="FILE", help="the signed PDF (or, with --attach-to, any file)")
    p.add_argument("--customer", metavar="ID",
                   help="the customer who signed it (default: the customer the file's embedded annex.json names)")
    p.add_argument("--signed-on", type=date_arg, metavar="DATE",
                   help="the signing date (default: from the digital signature, else today)")
    p.add_argument("--note", metavar="TEXT", help="a note kept with the record")
    p.add_argument("--document-id", metavar="ID",
                   help="the annex's document ID, for a scan without the embedded annex.json")
    p.add_argument("--accept-invalid-signature", action="store_true",
                   help="archive a PDF whose digital signature is broken, recorded as invalid")
    p.add_argument("--signed-draft", action="store_true",
                   help="the customer signed a draft (not for signature): archive it, recorded as a signed draft")
    p.add_argument("--unsigned-copy", action="store_true",
                   help="keep an annex as generated, without a digital signature, recorded as an unsigned copy")
    p.add_argument("--attach-to", metavar="RECORD",
                   help="keep FILE (e.g. a DOCX) as an attachment of this annex record")
    p.set_defaults(func=cmd_add)

    p = actions.add_parser("list", parents=parents, help="list the archived records")
    p.add_argument("--customer", metavar="ID", help="only this customer's records")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("show", parents=parents, help="show one record")
    p.add_argument("record", metavar="RECORD", help="record number, or a SHA-256 prefix of its file")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=cmd_show)

    p = actions.add_parser("export", parents=parents, help="write a record's file, byte-identical")
    p.add_argument("record", metavar="RECORD", help="record number, or a SHA-256 prefix of its file")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write it (must not exist)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_export)

    p = actions.add_parser("verify", parents=parents,
                           help="re-hash every file, check the record chain, the index and the audit log's chain")
    heads = p.add_mutually_exclusive_group()
    heads.add_argument("--head", metavar="'record SEQ HASH audit SEQ HASH'",
                       help="the heads kept outside the archive (as `archive head` prints them): each chain must "
                            "still lead through its head unchanged; the only check that finds the last records "
                            "or audit entries removed")
    heads.add_argument("--head-file", metavar="FILE", help="read the head from FILE")
    p.set_defaults(func=cmd_verify)

    p = actions.add_parser("head", parents=parents,
                           help="print the heads of the record chain and the audit log (number and hash) to keep "
                                "outside the archive")
    p.set_defaults(func=cmd_head)

    p = actions.add_parser("migrate", parents=parents,
                           help="create the archive's schema or bring it to this version's")
    p.set_defaults(func=cmd_migrate)

    p = actions.add_parser("copy", parents=[common],
                           help="copy an archive record by record (e.g. a directory to PostgreSQL), then verify it")
    p.add_argument("--from", dest="source", required=True, metavar="DIR|URL", help="the archive to copy")
    p.add_argument("--to", dest="target", required=True, metavar="DIR|URL",
                   help="an empty archive (or one an interrupted copy filled partly)")
    p.add_argument("--verbose", action="store_true", help="print each record copied")
    p.set_defaults(func=cmd_copy)

    p = actions.add_parser("status", parents=parents,
                           help="the annex in force per customer, and its drift from the current registry")
    p.add_argument("--customer", metavar="ID", help="only this customer")
    p.add_argument("--on", type=date_arg, metavar="DATE", help="the date to report on (default: today)")
    p.add_argument("--customers", metavar="DIR",
                   help="directory of contract files (default: customers/ and examples/, those that exist)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_status)
