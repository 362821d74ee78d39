"""A team's batch as jobs on procrastinate's queue: workers in child processes, one killed with SIGKILL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from batch_support import cli, make_contracts
from team_support import RENDERING, Worker, files_of, migrated, query, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_migrate_installs_the_team_schema_and_the_queue_once(postgres_server) -> None:
    url = postgres_server.database()
    first = cli("archive", "migrate", "--archive", url)
    assert first.returncode == 0, first.stderr
    assert "team schema created at version 4" in first.stdout
    assert "job queue schema installed (procrastinate 3." in first.stdout
    again = cli("archive", "migrate", "--archive", url)
    assert again.returncode == 0 and "team schema version 4; nothing to migrate" in again.stdout
    assert "job queue schema of procrastinate 3." in again.stdout and "nothing to migrate" in again.stdout
    tables = {r[0] for r in query(url, "SELECT table_schema || '.' || table_name FROM information_schema.tables")}
    assert {"annex_queue.procrastinate_jobs", "annex_queue.procrastinate_workers", "annex_team.documents",
            "annex_team.contracts", "annex_team.runs", "annex_team.run_items", "annex_team.uploads",
            "annex_team.upload_chunks", "annex_team.session_ends", "annex_team.signin_failures",
            "annex_team.notices", "annex_team.notice_files"} <= tables
    assert not any(t.startswith("public.procrastinate") for t in tables)


def test_migrate_from_version_3_lets_runs_send(postgres_server) -> None:
    from annex_gen.team.schema import MIGRATIONS

    url = postgres_server.database()
    with psycopg.connect(url, autocommit=True) as con:
        for version, sql in enumerate(MIGRATIONS[:3], start=1):
            con.execute(sql)
            con.execute("INSERT INTO annex_team.schema_version (version) VALUES (%s)", (version,))
        con.execute("INSERT INTO annex_team.runs (started_by, registry_version, engine, templates, total, to_render, "
                    "kind) VALUES ('maija', '1', 'weasyprint', '', 0, 0, 'notices')")
    done = cli("archive", "migrate", "--archive", url)
    assert done.returncode == 0, done.stderr
    assert "team schema migrated from version 3 to version 4" in done.stdout
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("INSERT INTO annex_team.runs (started_by, registry_version, engine, templates, total, to_render, "
                    "kind) VALUES ('maija', '1', 'weasyprint', '', 0, 0, 'send')")
        with pytest.raises(psycopg.errors.CheckViolation):
            con.execute("INSERT INTO annex_team.runs (started_by, registry_version, engine, templates, total, "
                        "to_render, kind) VALUES ('maija', '1', 'weasyprint', '', 0, 0, 'other')")
    assert query(url, "SELECT kind FROM annex_team.runs ORDER BY id") == [("notices",), ("send",)]


def test_a_directory_archive_migrates_as_before(tmp_path: Path) -> None:
    done = cli("archive", "migrate", "--archive", tmp_path / "archive")
    assert done.returncode == 0 and "team" not in done.stdout and "queue" not in done.stdout


def test_batch_without_team_schema_says_to_migrate(postgres_server) -> None:
    url = postgres_server.database()
    done = cli("batch", "--archive", url, str(EXAMPLES))
    assert done.returncode == 1
    assert "annex-gen archive migrate" in done.stderr and "Traceback" not in done.stderr


def test_detach_without_archive_is_a_usage_error() -> None:
    done = cli("batch", "--detach", str(EXAMPLES))
    assert done.returncode == 2 and "--detach needs --archive" in done.stderr


def test_a_killed_worker_loses_nothing_and_the_run_matches_a_local_batch(tmp_path: Path, postgres_server) -> None:
    url = migrated(postgres_server)
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 36)
    queued = cli("batch", "--archive", url, "--detach", contracts)
    assert queued.returncode == 0, queued.stderr
    assert "run 1: 36 contracts, 36 to generate" in queued.stdout
    first = Worker(url, tmp_path / "w1.log", "w1")
    second = Worker(url, tmp_path / "w2.log", "w2")
    try:
        # Both busy, a few annexes stored: the first worker holds a job when it is killed.
        generated = "SELECT count(*) FROM annex_team.run_items WHERE status = 'generated'"
        wait_for(lambda: query(url, generated)[0][0] >= 4 and query(url, RENDERING)[0][0] == 2, 240,
                 "both workers rendering")
        held = query(url, "SELECT args FROM annex_queue.procrastinate_jobs WHERE status = 'doing'")
        first.kill()
        wait_for(lambda: query(url, "SELECT finished_at FROM annex_team.runs WHERE id = 1")[0][0], 300,
                 "the run to finish with one worker")
    finally:
        first.stop()
        assert second.stop() == 0
    counts = dict(query(url, "SELECT status, count(*) FROM annex_team.run_items WHERE run_id = 1 GROUP BY status"))
    assert counts == {"generated": 36}
    # The job the killed worker held went back to the queue and ran again elsewhere.
    assert len(held) == 2
    # Its row was rendered again, or (killed in the moment between its commit and the job's end) found done.
    retried = query(url, "SELECT position, attempts FROM annex_team.run_items WHERE attempts > 1")
    assert retried or "done already" in (tmp_path / "w2.log").read_text(), "the held job was not run again"
    assert "was held by a worker that stopped; queued again" in (tmp_path / "w2.log").read_text()
    # Exactly one document per contract, two files each.
    assert query(url, "SELECT count(*), count(DISTINCT customer_id) FROM annex_team.documents") == [(36, 36)]
    assert query(url, "SELECT count(*) FROM annex_team.document_files") == [(72,)]
    listed = cli("documents", "list", "--archive", url)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 36
    exported = cli("documents", "export", tmp_path / "team", "--archive", url)
    assert exported.returncode == 0, exported.stderr
    local = cli("batch", contracts, "--out", tmp_path / "local", "--plain")
    assert local.returncode == 0, local.stderr
    team_files, local_files = files_of(tmp_path / "team"), files_of(tmp_path / "local")
    assert len(local_files) == 72
    assert team_files.keys() == local_files.keys()
    assert [name for name in team_files if team_files[name] != local_files[name]] == []
    # A second run: nothing changed, nothing to render, and it is followed to its end without workers.
    again = cli("batch", "--archive", url, contracts, "--plain")
    assert again.returncode == 0, again.stderr
    assert "36 contracts" in again.stdout and "0 generated, 36 unchanged, 0 failed" in again.stdout


def test_runs_one_at_a_time_and_the_database_contracts_by_default(tmp_path: Path, postgres_server) -> None:
    url = migrated(postgres_server)
    none = cli("batch", "--archive", url, "--detach")
    assert none.returncode == 2 and "holds no contracts yet" in none.stderr
    assert cli("contracts", "import", EXAMPLES, "--archive", url, "--by", "maija").returncode == 0
    queued = cli("batch", "--archive", url, "--detach", "--engine", "typst")
    assert queued.returncode == 0 and "9 contracts, 9 to generate" in queued.stdout
    second = cli("batch", "--archive", url, "--detach")
    assert second.returncode == 1 and "run 1 is not finished yet" in second.stderr
    worker = Worker(url, tmp_path / "w.log", "w")
    try:
        wait_for(lambda: query(url, "SELECT finished_at FROM annex_team.runs WHERE id = 1")[0][0], 120,
                 "run 1 to finish")
        # --force renders again what changed nothing: the stored document is kept, not written twice.
        followed = cli("batch", "--archive", url, "--plain", "--engine", "typst", "--force",
                       EXAMPLES / "esimerkki-oy.yaml")
    finally:
        assert worker.stop() == 0
    assert followed.returncode == 0, followed.stderr
    assert "[1/1] generated esimerkki-oy ANX-" in followed.stderr and "1 generated, 0 unchanged" in followed.stdout
    runs = cli("runs", "--archive", url)
    assert "run 2: 1/1 done (1 generated" in runs.stdout and "run 1: 9/9 done (9 generated" in runs.stdout
    assert "stored already" in (tmp_path / "w.log").read_text()
    assert query(url, "SELECT count(*) FROM annex_team.documents") == [(9,)]
