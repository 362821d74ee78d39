"""The audit log's hash chain checked by `archive verify` and the web Verify, on both backends.

Each test tampers with the log behind the tool's back (as an administrator with the database
could) and expects the check to name what changed. Removing the last entries leaves a chain
that is consistent in itself: only a head kept outside the archive shows it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.archive.intake import AddRequest
from annex_gen.hashing import canonical_json, sha256_text
from archive_support import scan_pdf, write
from legal_web_support import example_contracts, registry_repo
from web_support import csrf


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "annex_gen", "archive", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def audit_sql(backend, *statements: str, params: tuple = ()) -> None:
    """Run statements on the audit log with its append-only safeguards out of the way."""
    if backend.name == "postgresql":
        backend.sql(*(s.replace("entries", "audit") for s in statements), params=params)
        return
    con = sqlite3.connect(backend.root / "audit.sqlite", isolation_level=None)
    triggers = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    con.execute("DROP TRIGGER entries_no_update")
    con.execute("DROP TRIGGER entries_no_delete")
    for statement in statements:
        con.execute(statement, params if "?" in statement else ())
    for (sql,) in triggers:
        con.execute(sql)
    con.close()


@pytest.fixture
def logged(tmp_path, backend, monkeypatch):
    """An archive with one scan and an audit log of four entries; the commands' default archive is it."""
    if backend.name == "sqlite":
        monkeypatch.delenv("ANNEX_GEN_ARCHIVE", raising=False)
        backend.location = str(tmp_path / "archive")
    else:
        monkeypatch.setenv("ANNEX_GEN_ARCHIVE", backend.location)
    write(tmp_path / "scan.pdf", scan_pdf(marker="audit chain"))
    app.archive_add(backend.location, AddRequest(path=tmp_path / "scan.pdf", customer="acme",
                                                 signed_on=dt.date(2025, 1, 1)))  # no actor: no entry of its own
    for actor, action, what in (("maija", "contract saved", "acme.yaml (new)"),
                                ("maija", "annex generated", "acme: PDF"),
                                ("lauri", "file archived", "scan.pdf for customer acme"),
                                ("lauri", "archive verified", "1 record, 1 file: no problems")):
        app.audit_record(backend.location, actor, action, what)
    return backend


def _bodies(backend) -> list[dict]:
    return [json.loads(text) for _, text, _ in _rows(backend)]


def _rows(backend) -> list[tuple[int, str, str]]:
    from annex_gen.audit import open_audit_log

    return open_audit_log(backend.location).rows()


def _log_location(backend) -> str:
    from annex_gen.audit import open_audit_log

    location = open_audit_log(backend.location).location
    return "archive/audit.sqlite" if backend.name == "sqlite" else location


def test_an_untouched_log_verifies_and_its_head_is_printed(tmp_path, logged):
    head = run(tmp_path, "head")
    assert head.returncode == 0, head.stderr
    record_line, audit_line = head.stdout.splitlines()
    rows = _rows(logged)
    assert audit_line == f"audit 4 {rows[-1][2]}" and record_line.startswith("record 1 ")
    verified = run(tmp_path, "verify")
    assert verified.returncode == 0, verified.stderr
    assert "1 record, 1 file, 4 audit entries checked; no problems" in verified.stdout
    assert f"audit head: entry 4 {rows[-1][2]}" in verified.stdout
    # Without a head, what cannot be seen is said.
    assert ("note: records or audit entries removed from the end cannot be detected without a head kept outside "
            "the archive") in verified.stdout
    (tmp_path / "HEAD").write_text(head.stdout)
    anchored = run(tmp_path, "verify", "--head-file", "HEAD")
    assert (anchored.returncode, anchored.stderr) == (0, "")
    assert "note:" not in anchored.stdout


def test_a_changed_actor_is_found(tmp_path, logged):
    seq, text, digest = _rows(logged)[1]
    forged = text.replace('"actor":"maija"', '"actor":"lauri"')
    assert forged != text
    audit_sql(logged, "UPDATE entries SET body = ? WHERE seq = 2", params=(forged,))
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert f"{_log_location(logged)}: entry 2: altered (its content no longer matches its hash)" in result.stderr
    assert "1 problem found" in result.stdout


def test_a_changed_actor_with_its_hash_recomputed_breaks_the_link_after_it(tmp_path, logged):
    _, text, _ = _rows(logged)[1]
    forged = text.replace('"actor":"maija"', '"actor":"lauri"')
    audit_sql(logged, "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = 2",
              params=(forged, sha256_text(forged)))
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert (f"{_log_location(logged)}: entry 3: chain broken: the entry before it was altered, removed or "
            "reordered") in result.stderr


def test_a_removed_tail_is_found_only_against_a_head(tmp_path, logged):
    head = run(tmp_path, "head").stdout
    statements = ["DELETE FROM entries WHERE seq = 4"]
    if logged.name == "sqlite":  # and the counter that remembers it, as a careful administrator would
        statements.append("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'entries'")
    audit_sql(logged, *statements)
    alone = run(tmp_path, "verify")
    assert alone.returncode == 0, alone.stderr  # consistent in itself: the reason to keep a head
    assert "3 audit entries checked; no problems" in alone.stdout and "cannot be detected" in alone.stdout
    result = run(tmp_path, "verify", "--head", head)
    assert result.returncode == 1
    assert (f"{_log_location(logged)}: the audit log ends at entry 3, but the head kept outside the archive is "
            "entry 4: entry 4 was removed") in result.stderr


# SQLite's AUTOINCREMENT counter remembers the highest entry; PostgreSQL keeps no counter apart from
# the rows, so there the head (the test above) is the check.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_removed_tail_that_leaves_the_counter_is_found_without_a_head(tmp_path, logged):
    audit_sql(logged, "DELETE FROM entries WHERE seq = 4")
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert f"{_log_location(logged)}: audit entry 4 missing (removed from the end of the log)" in result.stderr


def test_reordered_entries_are_found(tmp_path, logged):
    rows = _rows(logged)
    (_, text2, hash2), (_, text3, hash3) = rows[1], rows[2]
    audit_sql(logged, "UPDATE entries SET entry_hash = 'x' WHERE seq = 2",
              "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = 3", params=(text2, hash2))
    audit_sql(logged, "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = 2", params=(text3, hash3))
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    where = _log_location(logged)
    assert f"{where}: entry 2: altered or moved (it says it is entry 3)" in result.stderr
    assert f"{where}: entry 3: altered or moved (it says it is entry 2)" in result.stderr


def _insert_forged_third(backend, *, rechain: bool) -> list[tuple[int, str, str]]:
    """Slip a forged entry in as number 3, moving the later ones up (each rehashed; relinked if rechain)."""
    rows = _rows(backend)
    bodies = [json.loads(text) for _, text, _ in rows]
    forged = {**bodies[1], "seq": 3, "actor": "mallory", "what": "acme.yaml (edited)", "prev": rows[1][2]}
    written, prev = [], rows[1][2]
    for body in [forged] + [{**b, "seq": b["seq"] + 1} for b in bodies[2:]]:
        text = canonical_json({**body, "prev": prev} if rechain or body is forged else body)
        written.append((body["seq"], text, sha256_text(text)))
        prev = written[-1][2]
    audit_sql(backend, "DELETE FROM entries WHERE seq >= 3")
    for row in written:
        audit_sql(backend, "INSERT INTO entries (seq, body, entry_hash) VALUES (?, ?, ?)", params=row)
    return written


def test_an_inserted_entry_breaks_the_link_after_it(tmp_path, logged):
    _insert_forged_third(logged, rechain=False)
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert (f"{_log_location(logged)}: entry 4: chain broken: the entry before it was altered, removed or "
            "reordered") in result.stderr


def test_an_inserted_entry_with_the_rest_rechained_is_found_against_the_head(tmp_path, logged):
    head = run(tmp_path, "head").stdout
    written = _insert_forged_third(logged, rechain=True)
    assert run(tmp_path, "verify").returncode == 0  # consistent in itself
    result = run(tmp_path, "verify", "--head", head)
    assert result.returncode == 1
    assert (f"{_log_location(logged)}: entry 4 is not the head kept outside the archive (its hash is "
            f"{written[1][2]}, the head is") in result.stderr


def test_the_web_verify_checks_the_audit_chain(tmp_path, logged):
    from annex_gen.web import Settings, create_app

    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", "nordic-webshop")
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=logged.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        ok = client.post("/archive/verify", data={"csrf_token": csrf(client, "/archive")})
        assert ok.status_code == 200 and "The audit log&#39;s chain is intact: 4 entries checked." in ok.text
        assert _rows(logged)[3][2] in ok.text and "only heads kept outside the archive show it" in ok.text
        _, text, _ = _rows(logged)[1]
        audit_sql(logged, "UPDATE entries SET body = ? WHERE seq = 2",
                  params=(text.replace('"actor":"maija"', '"actor":"lauri"'),))
        failed = client.post("/archive/verify", data={"csrf_token": csrf(client, "/archive")})
    assert failed.status_code == 409
    assert "entry 2: altered (its content no longer matches its hash)" in failed.text
