"""Everything in the audit log, or nothing done.

An act whose entry cannot be written is not made (a contract saved, an annex generated, a file
archived: with the archive's database down, nothing is written and the page says so), and a
batch killed before its entry names what it wrote in an entry when the next run starts.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest
from batch_support import assert_consistent, cli, make_contracts, manifest, start, wait_for_records
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.audit import Actor
from annex_gen.batch.journal import JOURNAL_NAME
from annex_gen.counts import Counted
from annex_gen.errors import ArchiveError
from annex_gen.workspace import ContractForm
from archive_support import scan_pdf, write
from conftest import REGISTRY_DIR
from legal_web_support import example_contracts, registry_repo
from web_support import csrf

DOWN = "postgresql://nobody@/archive?host=/nonexistent-socket-dir"  # a database server that does not answer
NOTHING_DONE = "the action cannot be recorded, so nothing was done"


def _form(customer_id: str = "new-customer") -> ContractForm:
    return ContractForm(customer_id=customer_id, name="New Customer Oy", business_id="1234567-1",
                        contact_email="dpo@example.fi", reference="DPA-1", date="2026-11-30", region="eu",
                        language="fi", products=("mailer",), options=())


def _unwritable(backend) -> str:
    """An archive location whose audit log cannot be written now: for PostgreSQL a database of the same
    server that answers but refuses every write (one that does not answer is tested on its own)."""
    if backend.name == "postgresql":
        import psycopg

        name = backend.location.split("@/", 1)[1].split("?", 1)[0]
        with psycopg.connect(backend.location, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}_ro")
            con.execute(f"ALTER DATABASE {name}_ro SET default_transaction_read_only = on")
        return backend.location.replace(f"@/{name}?", f"@/{name}_ro?", 1)
    backend.root.mkdir(parents=True, exist_ok=True)
    (backend.root / "audit.sqlite").mkdir()  # a directory where the log's file should be: it cannot be opened
    return str(backend.root)


def test_a_contract_whose_entry_cannot_be_written_is_not_saved(tmp_path: Path, backend):
    customers = tmp_path / "customers"
    customers.mkdir()
    with pytest.raises(ArchiveError, match=NOTHING_DONE):
        app.save_contract(REGISTRY_DIR, customers, _form(), actor=Actor(_unwritable(backend), "maija"))
    assert list(customers.iterdir()) == []
    location = backend.location if backend.name == "postgresql" else str(tmp_path / "writable")
    saved = app.save_contract(REGISTRY_DIR, customers, _form(), actor=Actor(location, "maija"))
    assert saved.path.is_file()
    (entry,) = app.audit_entries(location)
    assert (entry.actor, entry.action, entry.what) == ("maija", "contract saved", "new-customer.yaml (new)")


def test_the_web_says_truthfully_that_nothing_was_saved(tmp_path: Path, backend):
    from annex_gen.web import Settings, create_app

    customers = example_contracts(tmp_path / "customers", "nordic-webshop")
    before = sorted(p.name for p in customers.iterdir())
    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"), customers_dir=customers,
                        out_dir=tmp_path / "output", archive=_unwritable(backend))
    form = {k: v for k, v in _form().__dict__.items() if isinstance(v, str)}
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        saved = client.post("/customers/new", data={"csrf_token": csrf(client, "/customers/new"), "action": "save",
                                                    **form, "products": "mailer"})
        assert saved.status_code == 503
        assert "The audit log cannot be written" in saved.text and "Someone else changed" not in saved.text
        assert NOTHING_DONE in saved.text and "Nothing was saved or changed by this request." in saved.text
        assert 'value="New Customer Oy"' in saved.text  # the form is kept: nothing typed is lost
        download = client.get("/customers/nordic-webshop/download/pdf")
        assert download.status_code == 503
        assert NOTHING_DONE in download.text and "Nothing was saved or changed by this request." in download.text
    assert sorted(p.name for p in customers.iterdir()) == before
    assert not list((tmp_path / "output").rglob("*.pdf"))


def test_a_file_whose_entry_cannot_be_written_is_not_archived(tmp_path: Path, backend, monkeypatch):
    from annex_gen.archive.intake import AddRequest

    path = write(tmp_path / "scan.pdf", scan_pdf(marker="unlogged"))
    request = AddRequest(path=path, customer="acme", signed_on=dt.date(2025, 1, 1))
    real_record = Actor.record
    calls = []

    def failing(self, action, what, refs=(), params=None):  # the log passes the check before, then fails at the entry
        calls.append(action)
        raise ArchiveError(f"the audit log went away; {NOTHING_DONE}")

    monkeypatch.setattr(Actor, "record", failing)
    with pytest.raises(ArchiveError, match=NOTHING_DONE):
        app.archive_add(backend.location, request, actor=Actor(backend.location, "lauri"))
    assert calls == ["file archived"]
    assert app.archive_records(backend.location) == []  # the record was rolled back
    monkeypatch.setattr(Actor, "record", real_record)
    stored = app.archive_add(backend.location, request, actor=Actor(backend.location, "lauri"))
    (entry,) = app.audit_entries(backend.location)
    assert (entry.actor, entry.action, entry.refs) == ("lauri", "file archived", (f"#{stored.seq}",))


def test_the_cli_add_is_recorded_or_not_made(tmp_path: Path, backend):
    from archive_support import scan_pdf as scan

    write(tmp_path / "scan.pdf", scan(marker="cli add"))
    refused = cli("archive", "add", tmp_path / "scan.pdf", "--customer", "acme", "--signed-on", "2025-01-01",
                  "--archive", _unwritable(backend))
    assert refused.returncode != 0 and NOTHING_DONE in refused.stderr
    location = backend.location if backend.name == "postgresql" else str(tmp_path / "writable")
    added = cli("archive", "add", tmp_path / "scan.pdf", "--customer", "acme", "--signed-on", "2025-01-01",
                "--archive", location)
    assert added.returncode == 0, added.stderr
    (entry,) = app.audit_entries(location)
    assert entry.action == "file archived" and entry.actor.endswith(" (command line)")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_batchs_files_are_named_when_the_next_run_starts(tmp_path: Path, backend, sig):
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 6)
    out = tmp_path / "out"
    # the archive that records a local batch, by $ANNEX_GEN_ARCHIVE (a database URL given as --archive
    # queues a team's run for its workers instead)
    recorded = {"ANNEX_GEN_ARCHIVE": backend.location}
    proc = start("batch", contracts, "--out", out, "--jobs", "1", env=recorded)
    wait_for_records(out, 1, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    written = {r["document_id"] for r in manifest(out).values()}
    assert written
    entries = app.audit_entries(backend.location)
    if sig == signal.SIGTERM:  # stopped cleanly: its own entry says so
        assert [e.what.endswith("; interrupted") for e in entries] == [True]
        assert set(entries[0].refs) == written and not (out / JOURNAL_NAME).exists()
        return
    assert entries == [] and (out / JOURNAL_NAME).is_file()  # no chance to write its entry: the journal is left
    resumed = cli("batch", contracts, "--out", out, "--jobs", "2", env=recorded)
    assert resumed.returncode == 0, resumed.stderr
    killed, run = app.audit_entries(backend.location)
    assert killed.action == "batch run" and killed.what.startswith("interrupted: the run started by ")
    annexes = Counted(len(written))
    assert f"stopped before it was recorded; what it generated ({annexes:annex|annexes}) is in {out}" in killed.what
    assert set(killed.refs) == written
    assert run.what == f"{6 - len(written)} generated, {len(written)} unchanged, 0 failed"
    assert not (out / JOURNAL_NAME).exists()
    assert len(assert_consistent(out)) == 6


def test_a_batch_whose_log_cannot_be_written_does_not_start(tmp_path: Path, backend):
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 2)
    out = tmp_path / "out"
    result = cli("batch", contracts, "--out", out, env={"ANNEX_GEN_ARCHIVE": _unwritable(backend)})
    assert result.returncode != 0
    assert NOTHING_DONE in result.stderr
    assert not list(out.rglob("*.pdf")) and not (out / JOURNAL_NAME).exists()


def test_the_web_batch_is_recorded_by_the_run_and_a_killed_one_at_the_next_start(tmp_path: Path, backend):
    from annex_gen.web import Settings, create_app

    customers = example_contracts(tmp_path / "customers", "nordic-webshop", "kauppahuone-aalto")
    out = tmp_path / "output"
    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"), customers_dir=customers, out_dir=out,
                        archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        started = client.post("/changes/batch", data={"csrf_token": csrf(client, "/changes")})
        assert started.status_code == 303
        assert client.app.state.batch_runner.wait(300).state == "finished"
    (entry,) = app.audit_entries(backend.location)
    assert (entry.actor, entry.action, entry.what) == ("local", "batch run", "2 generated, 0 unchanged, 0 failed")
    assert not (out / JOURNAL_NAME).exists()
    # A server killed during a batch leaves the journal; the next server start names what the run wrote.
    (out / JOURNAL_NAME).write_text('{"started_by": "maija", "started_at": "2000-01-01T00:00:00+00:00"}')
    assert app.reconcile_batch(out, Actor(backend.location, "annex-gen serve")).startswith(
        "interrupted: the run started by maija at 2000-01-01T00:00:00+00:00 stopped before it was recorded; "
        "what it generated (2 annexes) is in ")
    assert set(app.audit_entries(backend.location)[-1].refs) == set(entry.refs)
    assert app.reconcile_batch(out, Actor(backend.location, "annex-gen serve")) is None


def test_a_database_that_does_not_answer_makes_no_annex_final_or_draft(tmp_path: Path):
    from annex_gen.web import Settings, create_app

    # whether legal approved the list is not known: nothing is made, and the page and the command say why
    customers = example_contracts(tmp_path / "customers", "nordic-webshop")
    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"), customers_dir=customers,
                        out_dir=tmp_path / "output", archive=DOWN)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        download = client.get("/customers/nordic-webshop/download/pdf")
    assert download.status_code == 503 and "The archive is not available" in download.text
    assert "cannot connect to the archive database" in download.text
    result = cli("generate", customers / "nordic-webshop.yaml", "--out", tmp_path / "out",
                 env={"ANNEX_GEN_ARCHIVE": DOWN})
    assert result.returncode != 0 and "cannot connect to the archive database" in result.stderr
    assert not list(tmp_path.rglob("*.pdf"))
