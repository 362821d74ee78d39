"""The CLI's table of commands: each command builds only its own module's parser, the same one."""

from __future__ import annotations

import argparse

import pytest

from annex_gen.cli import COMMANDS, build_parser, command_of


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_table_lists_every_command_in_help_order():
    assert list(_subparsers(build_parser())) == list(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_alone_parses_and_helps_as_with_every_command(command):
    alone = _subparsers(build_parser(command))
    full = _subparsers(build_parser())
    assert command in alone
    assert set(alone) == {c for c, m in COMMANDS.items() if m == COMMANDS[command]}
    assert alone[command].format_help() == full[command].format_help()


@pytest.mark.parametrize(("argv", "command"), [
    (["resolve", "x.yaml"], "resolve"),
    (["--registry", "reg", "generate", "c.yaml"], "generate"),
    (["--registry=reg", "--debug", "check"], "check"),
    (["--reg", "archive", "resolve", "c.yaml"], "resolve"),  # an abbreviated option's value is not the command
    (["--help"], None),
    (["--version"], None),
    (["resolv", "x.yaml"], None),  # a typo: the full parser says which commands exist
    ([], None),
])
def test_command_of(argv, command):
    assert command_of(argv) == command
