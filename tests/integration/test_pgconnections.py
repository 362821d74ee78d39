"""A server keeps its PostgreSQL connections: reused when clean, replaced when broken, never shared with a fork."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from annex_gen import pgconnections
from annex_gen.archive.postgres_index import PostgresIndex
from annex_gen.team import schema
from annex_gen.web import Settings, create_app


@pytest.fixture
def keeping():
    pgconnections.keep_idle()
    yield
    pgconnections.keep_idle(False)


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The URL of every new connection psycopg makes."""
    made: list[str] = []
    connect = psycopg.connect

    def counting(url, **kwargs):
        made.append(url)
        return connect(url, **kwargs)

    monkeypatch.setattr(psycopg, "connect", counting)
    return made


def _backend(con) -> int:
    return con.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_command_closes_what_it_releases(postgres_server, opened):
    url = postgres_server.database()
    opened.clear()
    con = pgconnections.connect(url, connect_timeout=5)
    pgconnections.release(con)
    assert con.closed
    pgconnections.release(pgconnections.connect(url, connect_timeout=5))
    assert len(opened) == 2


def test_a_server_reuses_a_clean_connection_per_url_and_settings(postgres_server, opened, keeping):
    url = postgres_server.database()
    opened.clear()
    con = pgconnections.connect(url, connect_timeout=5, options="-c search_path=annex_team")
    pid = _backend(con)
    pgconnections.release(con)
    again = pgconnections.connect(url, connect_timeout=5, options="-c search_path=annex_team")
    assert again is con and _backend(again) == pid and not again.closed
    assert again.execute("SHOW search_path").fetchone()[0] == "annex_team"
    other = pgconnections.connect(url, connect_timeout=5)  # other settings: a connection of its own
    assert other is not con and other.execute("SHOW search_path").fetchone()[0] != "annex_team"
    pgconnections.release(other)
    pgconnections.release(again)
    assert len(opened) == 2


def test_a_connection_in_a_transaction_or_broken_is_not_handed_out_again(postgres_server, opened, keeping):
    url = postgres_server.database()
    opened.clear()
    con = pgconnections.connect(url, connect_timeout=5)
    con.execute("BEGIN")
    pgconnections.release(con)  # left inside a transaction: closed, not kept
    assert con.closed
    fresh = pgconnections.connect(url, connect_timeout=5)
    pid = _backend(fresh)
    pgconnections.release(fresh)
    with psycopg.connect(url, autocommit=True) as admin:  # the database ends the idle session
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    replaced = pgconnections.connect(url, connect_timeout=5)  # checked before it is handed out: a new one
    assert replaced is not fresh and _backend(replaced) != pid
    pgconnections.release(replaced)
    assert len(opened) == 4  # con, fresh, the admin's, replaced


def test_no_more_than_keep_idle_connections_are_kept(postgres_server, keeping):
    url = postgres_server.database()
    cons = [pgconnections.connect(url, connect_timeout=5) for _ in range(pgconnections.KEEP + 2)]
    for con in cons:
        pgconnections.release(con)
    assert [con.closed for con in cons] == [False] * pgconnections.KEEP + [True, True]


def test_a_forked_child_opens_its_own(postgres_server, keeping):
    url = postgres_server.database()
    con = pgconnections.connect(url, connect_timeout=5)
    parent_pid = _backend(con)
    pgconnections.release(con)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: must not use the parent's session
        code = 1
        try:
            mine = pgconnections.connect(url, connect_timeout=5)
            code = 0 if mine is not con and _backend(mine) != parent_pid else 2
            pgconnections.release(mine)
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"\x00"
    os.waitpid(child, 0)
    again = pgconnections.connect(url, connect_timeout=5)  # the parent's connection still works
    assert again is con and _backend(again) == parent_pid
    pgconnections.release(again)


def test_team_pages_open_no_connection_once_warm(postgres_server, tmp_path, opened, keeping):
    from starlette.testclient import TestClient

    url = postgres_server.database()
    schema.migrate(url)
    PostgresIndex.open(url, create=True).close()
    settings = Settings(registry_dir=Path("registry").resolve(), customers_dir=tmp_path / "customers",
                        out_dir=tmp_path / "out", team_url=url, archive=url)
    opened.clear()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        for path in ("/", "/customers", "/archive"):  # warm: each URL and setting connected once
            assert client.get(path).status_code == 200
        before = len(opened)
        assert before > 0
        for path in ("/", "/customers", "/archive", "/", "/customers"):
            assert client.get(path).status_code == 200
        assert len(opened) == before
