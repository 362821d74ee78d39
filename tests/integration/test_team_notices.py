"""Change notices as jobs on a team's queue: planned where started, rendered by workers, one killed with SIGKILL;
the folder they give back equals, byte for byte, what `annex-gen notices` writes on one machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from batch_support import ROOT, add_mailer_entry, cli, make_contracts
from starlette.testclient import TestClient
from team_support import Worker, migrated, query, wait_for

from annex_gen import app
from annex_gen.web import Settings, create_app
from archive_support import approve_release
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from web_support import csrf

NOTICES = ("--from", "registry", "--notice-date", "2026-12-01", "--effective-date", "2027-01-15")


@pytest.fixture
def new_registry(tmp_path: Path) -> Path:
    """The project's registry plus a new sub-processor for LianaMailer in the EU (every EU mailer contract)."""
    directory = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", directory)
    add_mailer_entry(directory)
    return directory


def every_file(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_notices_queued_survive_a_killed_worker_and_equal_a_local_run(tmp_path: Path, postgres_server,
                                                                      new_registry: Path) -> None:
    url = migrated(postgres_server)
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 60)  # ten EU mailer contracts: ten notices
    queued = cli("notices", "--archive", url, *NOTICES, "--to", new_registry, "--detach", contracts)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("run 1: 10 notices to write by the workers")
    assert query(url, "SELECT kind, notice_date::text, total, to_render FROM annex_team.runs") == [
        ("notices", "2026-12-01", 10, 10)]
    assert query(url, "SELECT count(*) FROM annex_queue.procrastinate_jobs WHERE status = 'todo'") == [(10,)]
    # Nothing is written out before the run has finished.
    early = cli("documents", "export", tmp_path / "early", "--notices", "1", "--archive", url)
    assert early.returncode == 2 and "run 1 is not finished yet" in early.stderr
    first = Worker(url, tmp_path / "w1.log", "w1")
    second = Worker(url, tmp_path / "w2.log", "w2")
    try:
        written = "SELECT count(*) FROM annex_team.run_items WHERE status = 'generated'"
        doing = "SELECT count(*) FROM annex_queue.procrastinate_jobs WHERE status = 'doing'"
        wait_for(lambda: query(url, written)[0][0] >= 1 and query(url, doing)[0][0] == 2, 240,
                 "both workers rendering notices")
        held = query(url, "SELECT args FROM annex_queue.procrastinate_jobs WHERE status = 'doing'")
        first.kill()
        wait_for(lambda: query(url, "SELECT finished_at FROM annex_team.runs WHERE id = 1")[0][0], 300,
                 "the notices run to finish with one worker")
    finally:
        first.stop()
        assert second.stop() == 0
    assert dict(query(url, "SELECT status, count(*) FROM annex_team.run_items GROUP BY status")) == {"generated": 10}
    assert len(held) == 2
    retried = query(url, "SELECT position FROM annex_team.run_items WHERE attempts > 1")
    log = (tmp_path / "w2.log").read_text()
    assert retried or "done already" in log, "the held job was not run again"
    assert "was held by a worker that stopped; queued again" in log
    # One notice each, four files each; no annex stored among the batch's documents.
    assert query(url, "SELECT count(*), count(DISTINCT customer_id) FROM annex_team.notices") == [(10, 10)]
    assert query(url, "SELECT count(*) FROM annex_team.notice_files") == [(40,)]
    assert query(url, "SELECT count(*) FROM annex_team.documents") == [(0,)]

    exported = cli("documents", "export", tmp_path / "team", "--notices", "1", "--archive", url)
    assert exported.returncode == 0, exported.stderr
    local = cli("notices", *NOTICES, "--to", new_registry, "--out", tmp_path / "local", contracts)
    assert local.returncode == 0, local.stderr
    team_files, local_files = every_file(tmp_path / "team"), every_file(tmp_path / "local")
    assert len(local_files) == 41 and "notices.csv" in local_files
    assert team_files.keys() == local_files.keys()
    assert [name for name in team_files if team_files[name] != local_files[name]] == []

    # Followed to its end: the same notices again (stored once), written into --out as a local run prints them.
    worker = Worker(url, tmp_path / "w3.log", "w3")
    try:
        followed = cli("notices", "--archive", url, *NOTICES, "--to", new_registry, "--out", tmp_path / "followed",
                       contracts)
    finally:
        assert worker.stop() == 0
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.splitlines()[-1] == (
        f"10 notices written, 50 customers unaffected, 0 failed; mail-merge summary: "
        f"{tmp_path / 'followed' / 'notices.csv'}")
    assert followed.stdout.splitlines()[:-1] == local.stdout.replace(str(tmp_path / "local"),
                                                                     str(tmp_path / "followed")).splitlines()[:-1]
    assert every_file(tmp_path / "followed") == local_files
    assert "stored already" in (tmp_path / "w3.log").read_text()
    assert query(url, "SELECT count(*) FROM annex_team.notices") == [(10,)]
    runs = cli("runs", "--archive", url)
    assert "run 2 (notices dated 2026-12-01): 10/10 done (10 written, 0 with nothing to notify, 0 failed" in runs.stdout
    assert "run 1 (notices dated 2026-12-01): 10/10 done" in runs.stdout


def test_notices_of_the_database_contracts_and_the_single_machine_defaults(tmp_path: Path, postgres_server,
                                                                          new_registry: Path) -> None:
    url = migrated(postgres_server)
    empty = cli("notices", "--archive", url, *NOTICES, "--to", new_registry, "--detach")
    assert empty.returncode == 2 and "holds no contracts yet" in empty.stderr
    make_contracts(tmp_path / "contracts", 6)
    assert cli("contracts", "import", tmp_path / "contracts", "--archive", url, "--by", "maija").returncode == 0
    queued = cli("notices", "--archive", url, *NOTICES, "--to", new_registry, "--detach")
    assert queued.returncode == 0 and queued.stdout.startswith("run 1: 1 notice"), queued.stderr
    assert query(url, "SELECT customer_id, source FROM annex_team.run_items") == [("c000", "database:c000@v1")]
    # One run at a time, whatever its kind.
    batch = cli("batch", "--archive", url, "--detach")
    assert batch.returncode == 1 and "run 1 is not finished yet" in batch.stderr
    assert cli("worker", "--archive", url, "--once").returncode == 0
    assert query(url, "SELECT status FROM annex_team.run_items") == [("generated",)]
    # A contract that cannot be read is named, and the others' notices are queued all the same.
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "contracts", broken)
    (broken / "zz-broken.yaml").write_text("customer: [\n", encoding="utf-8")
    partly = cli("notices", "--archive", url, *NOTICES, "--to", new_registry, "--detach", broken)
    assert partly.returncode == 1 and partly.stdout.startswith("run 2: 1 notice")
    assert "zz-broken.yaml" in partly.stderr and "failed:" in partly.stderr and "Traceback" not in partly.stderr
    # A directory archive (and no archive) writes the notices here, as before; --detach is refused there.
    detached = cli("notices", *NOTICES, "--to", new_registry, "--detach", "--archive", tmp_path / "archive",
                   tmp_path / "contracts")
    assert detached.returncode == 2 and "--detach needs --archive URL" in detached.stderr
    here = cli("notices", *NOTICES, "--to", new_registry, "--archive", tmp_path / "archive", "--out",
               tmp_path / "here", tmp_path / "contracts")
    assert here.returncode == 0, here.stderr
    assert "1 notice written" in here.stdout and (tmp_path / "here" / "notices.csv").is_file()


def _app(tmp_path: Path, name: str, registry: Path, **settings) -> TestClient:
    return TestClient(create_app(Settings(registry_dir=registry, customers_dir=tmp_path / name / "contracts",
                                          out_dir=tmp_path / name / "output", **settings)),
                      base_url="http://127.0.0.1", follow_redirects=False)


def _release_ref(client: TestClient, registry: Path, label: str) -> str:
    choices = app.release_choices(registry, client.app.state.settings.out_dir / "_notices")
    return next(r.ref for r in choices.releases if r.label == label)


def test_the_changes_page_queues_the_notices_and_every_instance_shows_them(tmp_path: Path, postgres_server) -> None:
    url = migrated(postgres_server)
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", "kauppahuone-aalto", "esimerkki-oy", "nordic-webshop")
    assert cli("contracts", "import", customers, "--archive", url, "--by", "maija").returncode == 0
    for archive in (url, tmp_path / "archive"):  # the team's, and one machine's below
        approve_release(registry, archive)  # the release customers have
    add_mailer_subprocessor(registry)  # release 2026.12.1: a new sub-processor for the EU mailer customers
    for archive in (url, tmp_path / "archive"):
        approve_release(registry, archive)  # approved, so its notices move the baseline
    worker = Worker(url, tmp_path / "w.log", "w")
    try:
        with _app(tmp_path, "a", registry, archive=url, team_url=url) as a, \
                _app(tmp_path, "b", registry, archive=url, team_url=url) as b:
            old = _release_ref(a, registry, "2026.11.1")
            assert a.post("/changes/batch", data={"csrf_token": csrf(a, "/changes")}).status_code == 303
            wait_for(lambda: b.get("/changes/batch/progress").json()["state"] == "finished", 180, "the batch")
            queued = a.post("/changes/notices", data={"csrf_token": csrf(a, "/changes"), "from": old,
                                                      "notice_date": "2026-12-01"})
            assert queued.status_code == 303 and queued.headers["location"] == "/changes/batch"
            progress = wait_for(lambda: (p := b.get("/changes/batch/progress").json())["state"] == "finished" and p,
                                180, "the notices run")
            assert (progress["total"], progress["generated"], progress["failed"]) == (2, 2, 0)
            page = b.get("/changes/batch", headers={"Accept-Language": "en"})
            assert "Writing the change notices of 2026-12-01" in page.text
            assert "2 of 2 done: 2 written, 0 with nothing to notify, 0 failed" in page.text
            assert 'href="/changes/notices/2026-12-01"' in page.text
            for client in (a, b):  # each instance writes the finished run into its notices folder
                listed = client.get(f"/changes/notices/2026-12-01?from={old}", headers={"Accept-Language": "en"})
                assert listed.status_code == 200
                assert "Kauppahuone Aalto" in listed.text and "Esimerkki Oy" in listed.text
                assert client.get("/changes/notices/2026-12-01/notices.zip").status_code == 200
                # the notices moved the baseline, on every instance, once the run had finished
                assert "Changes in the list (0)" in client.get("/changes", headers={"Accept-Language": "en"}).text
            entries = [e for e in app.audit_entries(url) if e.action == "notices written"]
            assert len(entries) == 1 and "run 2 queued: 2 notices dated 2026-12-01" in entries[0].what
    finally:
        assert worker.stop() == 0
    folder_a = every_file(tmp_path / "a" / "output" / "_notices")
    folder_b = every_file(tmp_path / "b" / "output" / "_notices")
    assert folder_a == folder_b and "notified.json" in folder_a and "2026-12-01/notices.csv" in folder_a
    # Each notice encloses the annex the team's batch stored for the contract: one document, one ID.
    stored = dict(query(url, "SELECT customer_id, document_id FROM annex_team.documents"))
    enclosed = dict(query(url, "SELECT customer_id, annex_document_id FROM annex_team.notices"))
    assert enclosed == {cid: stored[cid] for cid in ("kauppahuone-aalto", "esimerkki-oy")}
    # The same change on one machine: the Changes page's batch, then its notices; the same files, byte for byte.
    with _app(tmp_path, "single", registry, archive=tmp_path / "archive") as single:
        shutil.copytree(customers, tmp_path / "single" / "contracts")
        assert single.post("/changes/batch", data={"csrf_token": csrf(single, "/changes")}).status_code == 303
        assert single.app.state.batch_runner.wait(300).state == "finished"
        written = single.post("/changes/notices", data={"csrf_token": csrf(single, "/changes"),
                                                        "from": _release_ref(single, registry, "2026.11.1"),
                                                        "notice_date": "2026-12-01"})
        assert written.status_code == 303
    local = every_file(tmp_path / "single" / "output" / "_notices")
    assert local.keys() == folder_a.keys()
    assert [name for name in local if local[name] != folder_a[name]] == []
