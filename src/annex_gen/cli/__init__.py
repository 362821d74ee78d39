"""The `annex-gen` command: parse arguments, call `annex_gen.app`, present the result.

Each module registers its commands (COMMANDS says which; annex: check, resolve, generate; batch: batch, diff,
notices; archive: archive ...; publish: publish; web: serve, users; lifecycle: send, timeline,
objection, evidence; team: worker, runs, documents, contracts). Errors are mapped to messages and exit
codes here, once.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from collections.abc import Sequence

from annex_gen import __version__
from annex_gen.cli.common import Parser, err, exit_code, print_diagnostics
from annex_gen.counts import Counted
from annex_gen.errors import AnnexGenError, InvalidInput
from annex_gen.shown import EscapingStream

# Each command and the module that registers it, in the order of `annex-gen --help`. A command
# imports only its own module (and what that imports): `resolve` never loads the archive's or
# the web application's code. tests/unit/test_cli_commands.py keeps this table in step.
COMMANDS = {
    "check": "annex", "resolve": "annex", "generate": "annex",
    "archive": "archive",
    "batch": "batch", "diff": "batch", "notices": "batch",
    "publish": "publish",
    "facts": "signoff", "release": "signoff",
    "serve": "web", "users": "web",
    "send": "lifecycle", "timeline": "lifecycle", "objection": "lifecycle", "evidence": "lifecycle",
    "worker": "team", "runs": "team", "documents": "team", "contracts": "team",
}
MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def command_of(argv: Sequence[str]) -> str | None:
    """The command named in argv (after the top-level options), or None (help, a typo, nothing)."""
    args = iter(argv)
    for arg in args:
        if len(arg) > 2 and "--registry".startswith(arg.split("=")[0]) and "=" not in arg:
            next(args, None)  # --registry DIR (or an abbreviation argparse accepts)
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        elif arg == "--":
            return None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand, or only of command's module when one is given."""
    # Top level: the defaults. Subcommands: the same options without defaults (SUPPRESS), so
    # `annex-gen --registry X check` and `annex-gen check --registry X` both work.
    top = Parser(add_help=False)
    top.add_argument("--registry", default="registry", metavar="DIR", help="registry directory (default: registry/)")
    top.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    common = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--registry", metavar="DIR",
                        help="registry directory (default: registry/)")
    common.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")

    parser = Parser(
        prog="annex-gen",
        description="Generate DPA sub-processor annexes from the published sub-processor list.",
        parents=[top],
    )
    parser.add_argument("--version", action="version", version=f"annex-gen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (COMMANDS[command],) if command in COMMANDS else MODULES:
        importlib.import_module(f"annex_gen.cli.{name}").register(sub, common)
    return parser


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command its reader left


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def quiet_libraries(argv: Sequence[str]) -> None:
    """Keep other libraries' warnings off the user's terminal; --debug shows every one.

    annex-gen itself reports through its own messages, never the warnings module. A filter the
    user set (-W, PYTHONWARNINGS) is left alone. PYTHONWARNINGS carries the choice to the worker
    processes (started fresh, they do not inherit filters).
    """
    if sys.warnoptions or os.environ.get("PYTHONWARNINGS"):
        return
    import warnings

    action = "default" if "--debug" in argv else "ignore"
    warnings.simplefilter(action)
    os.environ["PYTHONWARNINGS"] = action


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (141 when the reader of its output went away before the end)."""
    quiet_libraries(sys.argv[1:] if argv is None else argv)
    out, error = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(out), EscapingStream(error)  # no output can drive the terminal
    try:
        code = _run(argv)
    finally:
        sys.stdout, sys.stderr = out, error
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return code or EXIT_BROKEN_PIPE
    return code


def run() -> None:
    """The `annex-gen` program: main(), then an exit without the interpreter's teardown.

    Freeing every module and object at exit is about a tenth of a one-annex `generate`, and the
    command's files are written and closed by then. Exit handlers still run; a process with
    another thread still running (a server stopping), or under a profiler or debugger, exits as usual.
    """
    code = main()
    threading = sys.modules.get("threading")
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    alone = threading is None or threading.active_count() == 1
    if run_exit_handlers is not None and alone and sys.getprofile() is None and sys.gettrace() is None:
        run_exit_handlers()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            pass  # the usual exit reports it
        else:
            os._exit(code)
    sys.exit(code)


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser(command_of(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InvalidInput as exc:
        print_diagnostics(exc.diagnostics)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        err(f"annex-gen: {Counted(errors):error|errors}; {getattr(args, 'refused', 'nothing was written')}")
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
        # The output was cut off (e.g. `| head -1`): never report success for a command not heard out.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if args.debug:
            raise
        err(f"annex-gen: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 3
