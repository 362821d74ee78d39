"""The `serve` and `users` commands: the web application and its users file."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from annex_gen import app
from annex_gen.archive.index import ARCHIVE_ENV, DEFAULT_ARCHIVE, default_location
from annex_gen.cli.common import local_time_zone
from annex_gen.errors import UsageError

DEFAULT_USERS_FILE = "users.yaml"


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}")
    return int(text)


def cmd_serve(args: argparse.Namespace) -> int:
    with local_time_zone(args.time_zone):  # "today" is the users' day, not the machine's (often UTC)
        return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from annex_gen import pgconnections
    from annex_gen.web import Settings, create_app
    from annex_gen.web.connections import bounded_protocol, connection_limit

    pgconnections.keep_idle()  # a server: each page reuses the database connections of the pages before
    customers, team_url = _team_contracts(args)
    settings = Settings(
        registry_dir=Path(args.registry), customers_dir=customers, out_dir=Path(args.out), team_url=team_url,
        archive=args.archive, state_dir=Path(args.state) if args.state else None,
        users_file=Path(args.users) if args.users else None, host=args.host,
        allowed_hosts=tuple(args.allowed_host or ()), render_workers=args.render_workers,
        secure_cookies=args.secure_cookies, debug=args.debug, time_zone=args.time_zone,
        **({"secret_key": os.environ["ANNEX_GEN_SECRET_KEY"]} if os.environ.get("ANNEX_GEN_SECRET_KEY") else {}),
    )
    app.load_registry(settings.registry_dir)  # a broken registry stops the server here, with every problem
    if args.host.strip("[]") in ("0.0.0.0", "::") and not args.allowed_host:
        print(f"annex-gen: warning: serving on {args.host}, but only loopback names (127.0.0.1, localhost) are "
              "answered; give the name your users open with --allowed-host NAME", file=sys.stderr)
    from annex_gen.audit import Actor

    recovered = app.reconcile_batch(settings.out_dir, Actor(settings.archive, "annex-gen serve"))
    if recovered:  # a batch killed with the previous server: its annexes are named in the audit log now
        print(f"annex-gen: recorded in the audit log: a batch run {recovered}", file=sys.stderr)
    application = create_app(settings)
    for warning in application.state.users.warnings:
        print(f"annex-gen: warning: {warning}", file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)  # one line per request, in uvicorn's style
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    logging.getLogger("annex_gen.web").addHandler(handler)
    shown = f"the contracts of {settings.archive_shown}" if team_url else settings.customers_dir
    print(f"annex-gen: serving {shown} on http://{args.host}:{args.port}/"
          + ("" if settings.login_required else " (no login: this machine only)")
          + f"; archive: {settings.archive_shown}", file=sys.stderr)
    application.state.renders.start()  # warm render processes before the first download
    try:
        uvicorn.run(application, host=args.host, port=args.port, access_log=False, log_level="info",
                    proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips, server_header=False,
                    http=bounded_protocol(connection_limit()))
    finally:
        application.state.renders.shutdown()
        pgconnections.keep_idle(False)
    return 0


def _team_contracts(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The customers folder, and the team database when the archive is one (its contracts replace --customers)."""
    from annex_gen.archive.index import is_server_url

    if not is_server_url(args.archive):
        return Path(args.customers), None
    from annex_gen.team.schema import SCHEMA_VERSION
    from annex_gen.team.usecases import team_version

    found = team_version(args.archive)
    if found != SCHEMA_VERSION:
        held, fix = ("no team schema", "`annex-gen archive migrate` shares them") if found == 0 else \
            (f"the team schema version {found}, this annex-gen's is {SCHEMA_VERSION}",
             "`annex-gen archive migrate` brings it up to date" if found < SCHEMA_VERSION
             else "upgrade annex-gen to the version the other machines run")
        print(f"annex-gen: the archive's database holds {held}: contracts stay in --customers and a batch runs in "
              f"this process; {fix}", file=sys.stderr)
        return Path(args.customers), None
    import atexit
    import shutil
    import tempfile

    if args.state:
        folder = Path(args.state) / "contracts"
    else:  # a private working copy, removed when the server stops
        folder = Path(tempfile.mkdtemp(prefix="annex-gen-contracts-"))
        atexit.register(shutil.rmtree, folder, True)
    return folder, args.archive


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask the password on; pass it on standard input with --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise UsageError("the two passwords differ; nothing was written")
    return first


def _team_sessions(args: argparse.Namespace, changed: str = "") -> bool:
    """End the user's sessions in the team's database too, when --archive is one; whether it is."""
    from annex_gen.archive.index import shown_url
    from annex_gen.cli.common import command_line_actor

    url = app.team_sessions_url(args.archive)
    if url is None:
        return False
    app.end_team_sessions(url, Path(args.users), args.name, command_line_actor(url).name, changed=changed)
    print(f"ended their sessions on every web instance of {shown_url(url)}")
    return True


def cmd_users_add(args: argparse.Namespace) -> int:
    from annex_gen.users import load_users

    path = Path(args.users)
    # Replacing a user ends their sessions in a team's database too: one that cannot be asked stops it here.
    url = app.team_sessions_url(args.archive) if path.exists() and args.name in load_users(path) else None
    replaced = app.add_user(path, args.name, args.role, _read_password(args))
    print(f"{'replaced' if replaced else 'added'} user {args.name} ({args.role}) in {path}"
          + ("; their sessions have ended" if replaced else ""))
    if replaced and url is not None:
        _team_sessions(args, changed=f"the users file {path} was written")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    app.team_sessions_url(args.archive)  # a database that cannot be asked stops here, before any change
    app.remove_user(Path(args.users), args.name)
    print(f"removed user {args.name} from {args.users}; their sessions have ended")
    _team_sessions(args, changed=f"{args.name} was removed from {args.users}")
    return 0


def cmd_users_sign_out(args: argparse.Namespace) -> int:
    # With a team's database the users file stays as it is: every machine's copy keeps the same generation.
    if not _team_sessions(args):
        app.end_user_sessions(Path(args.users), args.name)
    print(f"ended every session of {args.name} (they sign in again)")
    return 0


def _add_sessions_archive(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", default=default_location(), metavar="DIR|URL",
                        help="with a team's postgresql:// database, the user's sessions also end on every web "
                             f"instance of the team (default: ${ARCHIVE_ENV}; a directory archive: the users file "
                             "alone)")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the serve and users commands."""
    p = subparsers.add_parser("serve", parents=[common], help="serve the web application for sales")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1; any other address needs --users)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--customers", default="customers", metavar="DIR",
                   help="contract YAML files and CRM CSV exports (default: customers/)")
    p.add_argument("--out", default="output", metavar="DIR", help="where annexes are generated (default: output/)")
    p.add_argument("--archive", default=default_location(), metavar="DIR|URL",
                   help="the signed-annex archive and its audit log: a directory or a postgresql://user@host/db "
                        f"URL (default: ${ARCHIVE_ENV}, else {DEFAULT_ARCHIVE}/)")
    p.add_argument("--state", metavar="DIR",
                   help="where uploads wait between the read-back and the store, in DIR/.incoming/ (default: "
                        "the archive directory; for a postgresql:// archive, the --out directory); with a team "
                        "database, uploads wait in the database and DIR/.incoming/ holds copies being read, and "
                        "DIR/contracts/ is the working copy of its contracts (default: a temporary folder)")
    p.add_argument("--users", metavar="FILE", help="users file: sign-in required (written by `annex-gen users add`)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="send the session cookie over HTTPS only (behind a TLS reverse proxy)")
    p.add_argument("--render-workers", type=_positive, metavar="N",
                   help="processes that render PDF and DOCX downloads, shared by all requests "
                        "(default: one per core)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a host name requests may carry besides the --host address and loopback names, e.g. the "
                        "name of a reverse proxy in front (repeatable); other names are refused (421)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="proxies whose X-Forwarded-* headers are trusted (default: 127.0.0.1)")
    p.add_argument("--time-zone", default="Europe/Helsinki", metavar="ZONE",
                   help="IANA time zone of the server's dates and times: the day it takes as today (a new "
                        "contract's date, a notice's, an objection's) and the times pages show "
                        "(default: Europe/Helsinki)")
    p.set_defaults(func=cmd_serve)

    users = subparsers.add_parser("users", help="manage the users of the web application")
    users_sub = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    p = users_sub.add_parser("add", parents=[common], help="add a user, or replace their role and password")
    p.add_argument("name", help="user name (a-z, 0-9, '.', '_', '-')")
    p.add_argument("--role", required=True, choices=("sales", "legal", "admin"), help="what the user may do")
    p.add_argument("--users", default=DEFAULT_USERS_FILE, metavar="FILE",
                   help=f"the users file (default: {DEFAULT_USERS_FILE})")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _add_sessions_archive(p)
    p.set_defaults(func=cmd_users_add)
    for command, func, text in (("remove", cmd_users_remove, "remove a user (their sessions end)"),
                                ("sign-out", cmd_users_sign_out, "end every session of a user, e.g. a lost laptop")):
        p = users_sub.add_parser(command, parents=[common], help=text)
        p.add_argument("name", help="user name")
        p.add_argument("--users", default=DEFAULT_USERS_FILE, metavar="FILE",
                       help=f"the users file (default: {DEFAULT_USERS_FILE})")
        _add_sessions_archive(p)
        p.set_defaults(func=func)
