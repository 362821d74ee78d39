"""The web server's defences: request log, Host and Origin, sign-in throttling and sessions, the users file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from web_support import login, web_client


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "annex_gen.web"]


def test_an_encoded_newline_cannot_forge_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path)
    caplog.set_level(logging.INFO, logger="annex_gen.web")
    client.get("/static/x%0AINFO:%20%20%20%20%20127.0.0.1%20admin%20%22GET%20/audit%22%20200%0D%1B[2J")
    lines = _request_lines(caplog)
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0] and "\x1b" not in lines[0]
    assert '/static/x\\x0aINFO:     127.0.0.1 admin \\x22GET /audit\\x22 200\\x0d\\x1b[2J" 404' in lines[0]


def test_log_lines_name_the_signed_in_user(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    login(client, "maija")
    caplog.set_level(logging.INFO, logger="annex_gen.web")
    client.get("/customers")
    assert _request_lines(caplog)[-1].startswith('testclient maija "GET /customers" 200')
    local = web_client(tmp_path / "local")
    local.get("/customers")
    assert _request_lines(caplog)[-1].startswith('testclient local "GET /customers" 200')
