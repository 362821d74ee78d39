"""What a team's web instances share on a real PostgreSQL: staged uploads, session generations, sign-in failures."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import psycopg
import pytest

from annex_gen import app
from annex_gen.archive.staging import CHUNK
from annex_gen.cli import main
from annex_gen.errors import UsageError
from annex_gen.team import schema, sessions, uploads
from annex_gen.team.uploads import SharedStaging
from annex_gen.throttle import MemoryThrottle
from annex_gen.users import load_users
from web_support import PASSWORD, csrf, login, web_client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def url(postgres_server) -> str:
    url = postgres_server.database()
    schema.migrate(url)
    return url


def _rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as con:
        cursor = con.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def test_version_1_is_migrated_to_the_latest_with_the_shared_tables(postgres_server) -> None:
    url = postgres_server.database()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(schema.MIGRATIONS[0])
        con.execute(f"INSERT INTO {schema.SCHEMA}.schema_version (version) VALUES (1)")
    found, now, _, _ = schema.migrate(url)
    assert (found, now) == (1, schema.SCHEMA_VERSION)
    tables = {r[0] for r in _rows(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                  (schema.SCHEMA,))}
    assert {"uploads", "upload_chunks", "session_ends", "signin_failures", "notices", "notice_files"} <= tables
    assert schema.migrate(url)[:2] == (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)


def test_version_2_is_migrated_to_the_latest_keeping_its_runs_as_batches(postgres_server) -> None:
    url = postgres_server.database()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(schema.MIGRATIONS[0])
        con.execute(schema.MIGRATIONS[1])
        con.execute(f"INSERT INTO {schema.SCHEMA}.schema_version (version) VALUES (1), (2)")
        con.execute(f"INSERT INTO {schema.SCHEMA}.runs (started_by, registry_version, engine, templates, total, "
                    "to_render) VALUES ('maija', 'v', 'weasyprint', 't', 0, 0)")
    assert schema.migrate(url)[:2] == (2, schema.SCHEMA_VERSION)
    assert _rows(url, f"SELECT kind, notice_date FROM {schema.SCHEMA}.runs") == [("batch", None)]


def test_an_upload_staged_on_one_instance_is_read_and_discarded_on_another(url: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * (CHUNK * 5 // 2 // 256)  # 2.5 MiB: three chunks
    a = SharedStaging(url, tmp_path / "a", "maija")
    b = SharedStaging(url, tmp_path / "b", "ville")
    staged = a.put_stream(io.BytesIO(data), "C:\\scans\\Sopimus allekirjoitettu.pdf")
    assert staged.token == hashlib.sha256(data).hexdigest() and staged.name == "Sopimus allekirjoitettu.pdf"
    assert _rows(url, "SELECT name, size, staged_by, expires_at > now() + interval '23 hours' FROM "
                      "annex_team.uploads") == [("Sopimus allekirjoitettu.pdf", len(data), "maija", True)]
    assert _rows(url, "SELECT n, octet_length(data) FROM annex_team.upload_chunks ORDER BY n") == \
        [(0, CHUNK), (1, CHUNK), (2, len(data) - 2 * CHUNK)]
    on_b = b.get(staged.token)  # copied from the database into B's folder
    assert on_b.path == tmp_path / "b" / staged.token / staged.name and on_b.path.read_bytes() == data
    assert b.get(staged.token).path == on_b.path  # the copy is used again
    b.discard(staged.token)
    assert not on_b.path.parent.exists()
    assert _rows(url, "SELECT count(*) FROM annex_team.uploads")[0][0] == 0
    assert _rows(url, "SELECT count(*) FROM annex_team.upload_chunks")[0][0] == 0
    with pytest.raises(UsageError, match="no longer waiting to be archived; upload it again"):
        a.get(staged.token)  # stored from B: gone on A too, and A's copy with it
    assert not (tmp_path / "a" / staged.token).exists()


def test_a_cached_copy_is_dropped_once_its_upload_was_stored_elsewhere(url: str, tmp_path: Path) -> None:
    a = SharedStaging(url, tmp_path / "a", "maija")
    first = a.put_stream(io.BytesIO(b"%PDF first"), "1.pdf")
    SharedStaging(url, tmp_path / "b", "ville").discard(first.token)
    assert (tmp_path / "a" / first.token).is_dir()  # A does not know yet
    a.put_stream(io.BytesIO(b"%PDF second"), "2.pdf")
    assert not (tmp_path / "a" / first.token).exists()


def test_the_quotas_hold_over_every_instance_in_all_and_per_person(url: str, tmp_path: Path) -> None:
    def staging(name: str, by: str) -> SharedStaging:
        return SharedStaging(url, tmp_path / name, by, quota=100, user_quota=60)

    staging("a", "maija").put_stream(io.BytesIO(b"m" * 50), "m1.pdf")
    with pytest.raises(UsageError, match="you have too many uploads waiting .* per person") as caught:
        staging("b", "maija").put_stream(io.BytesIO(b"n" * 20), "m2.pdf")  # another instance, the same person
    assert caught.value.code == "archive.file.user_quota"
    assert not list((tmp_path / "b").glob("*/*"))  # nothing of a refused upload is kept
    staging("b", "ville").put_stream(io.BytesIO(b"v" * 40), "v1.pdf")
    with pytest.raises(UsageError, match="too many uploads are waiting to be archived .* in all") as caught:
        staging("c", "liisa").put_stream(io.BytesIO(b"l" * 20), "l1.pdf")
    assert caught.value.code == "archive.file.quota"
    assert sorted(_rows(url, "SELECT staged_by, size FROM annex_team.uploads")) == [("maija", 50), ("ville", 40)]
    # The same content again is kept once (no new bytes), under the latest name.
    again = staging("c", "liisa").put_stream(io.BytesIO(b"v" * 40), "v1 again.pdf")
    assert _rows(url, "SELECT name FROM annex_team.uploads WHERE token = %s", (again.token,)) == [("v1 again.pdf",)]


def test_an_expired_upload_is_gone_and_deleted(url: str, tmp_path: Path) -> None:
    old = SharedStaging(url, tmp_path / "a", "maija", keep_s=0).put_stream(io.BytesIO(b"%PDF old"), "old.pdf")
    with pytest.raises(UsageError, match="upload it again"):
        SharedStaging(url, tmp_path / "b", "ville").get(old.token)
    SharedStaging(url, tmp_path / "b", "ville").put_stream(io.BytesIO(b"%PDF new"), "new.pdf")
    assert [r[0] for r in _rows(url, "SELECT name FROM annex_team.uploads")] == ["new.pdf"]
    assert _rows(url, "SELECT count(*) FROM annex_team.upload_chunks")[0][0] == 1


@pytest.mark.parametrize("token", ["../../etc", "abc", "A" * 64, ""])
def test_a_malformed_token_is_refused(url: str, tmp_path: Path, token: str) -> None:
    with pytest.raises(UsageError, match="upload it again"):
        SharedStaging(url, tmp_path, "maija").get(token)


def test_a_copy_that_does_not_match_its_hash_is_not_used(url: str, tmp_path: Path) -> None:
    staged = SharedStaging(url, tmp_path / "a", "maija").put_stream(io.BytesIO(b"%PDF data"), "x.pdf")
    _rows(url, "UPDATE annex_team.upload_chunks SET data = 'tampered'")
    with psycopg.connect(url, autocommit=True, options="-c search_path=annex_team") as con, \
            pytest.raises(UsageError, match="upload it again"):
        uploads.copy_out(con, staged.token, 9, tmp_path / "b" / staged.token / "x.pdf")
    assert not list((tmp_path / "b").rglob("*.pdf")) and not list((tmp_path / "b").glob(".upload.*"))


def test_session_generations_move_on_for_one_user(url: str) -> None:
    con = schema.connect(url)
    try:
        assert sessions.generation(con, "maija") == 0
        assert sessions.end(con, "maija", "maija") == 1
        assert sessions.end(con, "maija", "admin (command line)") == 2
        assert (sessions.generation(con, "maija"), sessions.generation(con, "ville")) == (2, 0)
        assert con.execute("SELECT ended_by FROM session_ends").fetchall() == [("admin (command line)",)]
    finally:
        con.close()


def test_the_database_throttle_counts_as_the_memory_one_and_for_every_instance(url: str) -> None:
    clock = Clock()
    one, two = sessions.DatabaseThrottle(url, clock=clock), sessions.DatabaseThrottle(url, clock=clock)
    memory = MemoryThrottle(clock=Clock())
    alice, mallory = ("user:alice", "address:198.51.100.1"), ("user:bob", "address:203.0.113.9")
    for i in range(5):
        assert (one if i % 2 else two).attempt(alice) == 0 and memory.attempt(alice) == 0
    waits = []
    for i in range(6):
        waits.append((one if i % 2 else two).attempt(alice))  # failures on either instance count on both
        assert memory.attempt(alice) == waits[-1]
        clock.now += waits[-1]
        memory.clock.now += waits[-1]
        assert one.attempt(alice) == 0 and memory.attempt(alice) == 0
    assert waits == [2, 4, 8, 16, 32, 64]
    assert two.attempt(alice) == 128  # refused: not counted
    clock.now += 24 * 3600  # a quiet day forgets
    assert two.attempt(alice) == 0
    for i in range(20):
        assert one.attempt((f"user:n{i}", mallory[1])) == 0
    assert two.attempt(("user:someone-else", mallory[1])) == 1
    # a success forgets the name's failures, and takes one back from the address
    for _ in range(3):
        one.attempt(("user:carol", "address:192.0.2.7"))
    two.succeeded(("user:carol", "address:192.0.2.7"))
    assert _rows(url, "SELECT key, failures FROM annex_team.signin_failures WHERE key IN ('address:192.0.2.7', "
                      "'user:carol')") == [("address:192.0.2.7", 2)]


def test_the_database_throttle_uses_the_database_clock(url: str) -> None:
    throttle = sessions.DatabaseThrottle(url)
    keys = ("user:dave", "address:192.0.2.9")
    for _ in range(5):
        assert throttle.attempt(keys) == 0
    assert 1.5 < throttle.attempt(keys) <= 2.0
    # a day-old failure is forgotten
    _rows(url, "UPDATE annex_team.signin_failures SET last_at = now() - interval '25 hours'")
    assert throttle.attempt(keys) == 0
    assert _rows(url, "SELECT failures FROM annex_team.signin_failures WHERE key = 'user:dave'") == [(1,)]


def test_users_commands_end_sessions_in_the_team_database(url: str, tmp_path: Path, capsys) -> None:
    users = tmp_path / "users.yaml"
    app.add_user(users, "maija", "sales", PASSWORD)
    before = users.read_bytes()
    assert main(["users", "sign-out", "maija", "--users", str(users), "--archive", url]) == 0
    assert "ended their sessions on every web instance" in capsys.readouterr().out
    assert users.read_bytes() == before  # every machine's copy of the file stays the same
    assert main(["users", "sign-out", "nobody", "--users", str(users), "--archive", url]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert main(["users", "remove", "maija", "--users", str(users), "--archive", url]) == 0
    assert _rows(url, "SELECT user_name, generation FROM annex_team.session_ends") == [("maija", 2)]
    # A database that cannot be asked: nothing is changed, and the error says why.
    app.add_user(users, "ville", "sales", PASSWORD)
    before = users.read_bytes()
    nowhere = f"postgresql://lauri:pw@/nowhere?host={tmp_path / 'no-socket'}"
    assert main(["users", "remove", "ville", "--users", str(users), "--archive", nowhere]) == 1
    assert "cannot connect to the database" in capsys.readouterr().err and users.read_bytes() == before
    # A directory archive: the users file alone, as before.
    assert main(["users", "sign-out", "ville", "--users", str(users), "--archive", str(tmp_path / "archive")]) == 0
    assert load_users(users)["ville"].sessions == 1


def test_the_application_role_of_the_documented_grants_can_use_the_shared_tables(url: str, postgres_server,
                                                                                tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "operators" / "team.md").read_text(encoding="utf-8")
    block = docs.split("-- as annex_owner:")[1].split("(The tests")[0]
    statements = " ".join(line.strip() for line in block.splitlines() if "annex-gen" not in line).split(";")
    grants = [g.strip() for g in statements if g.strip().startswith("GRANT") and "annex_team" in g]
    assert len(grants) >= 4 and any("signin_failures" in g for g in grants)
    _rows(url, "CREATE SCHEMA IF NOT EXISTS annex_archive")  # the archive's, named in the same grants
    role = f"annex_app_{tmp_path.name[-12:].replace('-', '_').lower()}"
    _rows(url, f"CREATE ROLE {role} LOGIN")
    for grant in grants:
        _rows(url, grant.replace("annex_app", role))
    as_app = url.replace(f"//{postgres_server.user}@", f"//{role}@")
    a, b = SharedStaging(as_app, tmp_path / "a", "maija"), SharedStaging(as_app, tmp_path / "b", "ville")
    staged = a.put_stream(io.BytesIO(b"%PDF staged"), "x.pdf")
    assert b.get(staged.token).path.read_bytes() == b"%PDF staged"
    b.discard(staged.token)
    SharedStaging(as_app, tmp_path / "c", "liisa", keep_s=0).put_stream(io.BytesIO(b"%PDF old"), "old.pdf")
    a.put_stream(io.BytesIO(b"%PDF new"), "new.pdf")  # deletes the expired one
    from annex_gen.team.sessions import end_everywhere as end_sessions
    from annex_gen.team.usecases import session_generation

    assert end_sessions(as_app, "maija", "maija") == 1 and end_sessions(as_app, "maija", "maija") == 2
    assert session_generation(as_app, "maija") == 2
    throttle = sessions.DatabaseThrottle(as_app)
    assert throttle.attempt(("user:x", "address:y")) == 0
    throttle.succeeded(("user:x", "address:y"))
    _rows(url, "UPDATE annex_team.signin_failures SET last_at = now() - interval '2 days'")
    assert throttle.attempt(("user:z", "address:y")) == 0  # deletes the forgotten


def test_an_upload_beyond_a_persons_quota_is_a_page_in_their_language(url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(SharedStaging.__init__.__kwdefaults__, "user_quota", 10)
    client = web_client(tmp_path, users={"maija": "legal"}, archive=url, team_url=url)
    login(client, "maija")
    for lang, text in (("en", "You have too many uploads waiting to be archived (at most"),
                       ("fi", "Sinulla on liian monta tuotua tiedostoa odottamassa arkistointia (enintään")):
        refused = client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive")},
                              files={"file": ("big.pdf", b"%PDF " + b"x" * 20, "application/pdf")},
                              headers={"Accept-Language": lang})
        assert refused.status_code == 400 and text in refused.text, refused.text
    assert _rows(url, "SELECT count(*) FROM annex_team.uploads")[0][0] == 0
    assert not list((tmp_path / "output" / ".incoming").glob("*/*"))


def test_serve_on_a_team_schema_of_another_version_says_which_and_what_to_do(postgres_server, tmp_path: Path,
                                                                             capsys) -> None:
    import argparse

    from annex_gen.cli.web import _team_contracts

    url = postgres_server.database()
    args = argparse.Namespace(archive=url, customers=str(tmp_path / "customers"), state=None)
    assert _team_contracts(args) == (tmp_path / "customers", None)
    assert "holds no team schema: contracts stay in --customers" in capsys.readouterr().err
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(schema.MIGRATIONS[0])
        con.execute(f"INSERT INTO {schema.SCHEMA}.schema_version (version) VALUES (1)")
    assert _team_contracts(args) == (tmp_path / "customers", None)
    said = capsys.readouterr().err
    assert f"holds the team schema version 1, this annex-gen's is {schema.SCHEMA_VERSION}: contracts stay in " \
           "--customers and a batch runs in this process; `annex-gen archive migrate` brings it up to date" in said
    schema.migrate(url)
    folder, team = _team_contracts(args)
    assert team == url and folder.is_dir()


def test_a_notices_run_that_never_got_going_leaves_the_dates_folder_alone(url: str, tmp_path: Path) -> None:
    # Run 1 wrote the notices of 2026-12-01; run 2 for the same date could not queue its jobs.
    from annex_gen.team import notice_runs

    folder = tmp_path / "_notices" / "2026-12-01"
    folder.mkdir(parents=True)
    (folder / "notices.csv").write_text("the notices run 1 wrote\n", encoding="utf-8")
    inserted = _rows(url, f"INSERT INTO {schema.SCHEMA}.runs (started_by, registry_version, engine, templates, "
                          "total, to_render, kind, notice_date, error, finished_at) VALUES ('maija', 'v', "
                          "'weasyprint', 't', 0, 0, 'notices', '2026-12-01', 'its jobs could not be queued', now()) "
                          "RETURNING id")
    run_id = inserted[0][0]
    with schema.connected(url) as con:
        assert notice_runs.copy_finished(con, tmp_path / "_notices", 0) == run_id  # seen, so not looked at again
    assert (folder / "notices.csv").read_text(encoding="utf-8") == "the notices run 1 wrote\n"
    assert sorted(p.name for p in folder.iterdir()) == ["notices.csv"]


def test_an_instance_copies_the_documents_when_the_notices_cannot_be_copied(url: str, tmp_path: Path,
                                                                            monkeypatch, caplog) -> None:
    from annex_gen.team import documents, notice_runs
    from annex_gen.web.team import DocumentCopy

    def broken(*_args: object) -> int:
        raise OSError(28, "No space left on device")

    copied: list[Path] = []
    monkeypatch.setattr(notice_runs, "copy_finished", broken)
    monkeypatch.setattr(documents, "copy_new", lambda con, out, seen: copied.append(out) or 7)
    copy = DocumentCopy(url, tmp_path / "out", tmp_path / "out" / "_notices")
    copy.kick((1, 1))
    copy.wait(60)
    assert copied == [tmp_path / "out"] and copy.seen == 7 and copy.seen_notices == 0
    assert "copying the finished change notices" in caplog.text and "No space left" in caplog.text
