"""`annex-gen archive ...` end to end, as a user runs it: real annex-gen PDFs, signed in the test."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pikepdf
import pytest

from annex_gen.archive.chain import GENESIS, record_hash
from annex_gen.errors import InvalidInput
from annex_gen.hashing import canonical_json
from annex_gen.team.schema import SCHEMA_VERSION as TEAM_SCHEMA_VERSION
from archive_support import (
    annex_pdf,
    example_annex,
    flip_signed_byte,
    scan_pdf,
    sign,
    update_after_signing,
    write,
)
from conftest import EXAMPLES_DIR, REGISTRY_DIR


def procrastinate_version() -> str:
    from importlib.metadata import version

    return version("procrastinate")


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`annex-gen archive ARGS` in cwd (so the default archive/ and customers/ are cwd's)."""
    return subprocess.run([sys.executable, "-m", "annex_gen", "archive", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def ok(cwd: Path, *args: str) -> str:
    result = run(cwd, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(cwd: Path, *args: str, code: int = 1) -> str:
    result = run(cwd, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture
def backend_env(backend, monkeypatch):
    """The test's archive as the commands' default: archive/ in cwd, or $ANNEX_GEN_ARCHIVE naming a database."""
    if backend.name == "sqlite":
        monkeypatch.delenv("ANNEX_GEN_ARCHIVE", raising=False)
    else:
        monkeypatch.setenv("ANNEX_GEN_ARCHIVE", backend.location)
    return backend


def stored_files(cwd: Path) -> list[Path]:
    objects = cwd / "archive" / "objects"
    return sorted(p for p in objects.rglob("*") if p.is_file()) if objects.is_dir() else []


def test_add_list_show_export_verify(tmp_path, backend_env):
    signed = write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop"), signer="Maija Meikäläinen"))
    document = example_annex("nordic-webshop").document_id

    out = ok(tmp_path, "add", "signed.pdf", "--customer", "nordic-webshop", "--note", "DPA 2026")
    assert out.splitlines()[0] == "archived signed.pdf as record 1 (customer nordic-webshop)"
    assert f"  document {document} (from the embedded annex.json)" in out
    assert "signature Signature1 by Maija Meikäläinen, signed 20" in out
    assert out.splitlines()[-1].endswith("(from the digital signature)")

    err = refused(tmp_path, "add", "signed.pdf", "--customer", "nordic-webshop")
    assert err.startswith("signed.pdf: already archived as record 1 (customer nordic-webshop, "
                          f"document {document}, added 20")
    assert err.endswith("annex-gen: 1 error; nothing was written\n")

    write(tmp_path / "scan.pdf", scan_pdf())
    ok(tmp_path, "add", "scan.pdf", "--customer", "nordic-webshop", "--document-id", document,
       "--signed-on", "2025-03-01")
    write(tmp_path / "annex.docx", b"PK\x03\x04 a Word copy")
    assert "not a PDF" in refused(tmp_path, "add", "annex.docx", "--customer", "nordic-webshop")
    assert ok(tmp_path, "add", "annex.docx", "--customer", "nordic-webshop", "--attach-to", "1") == (
        "archived annex.docx as record 3, an attachment of record 1 (customer nordic-webshop)\n")

    listing = ok(tmp_path, "list").splitlines()
    assert listing[0].split() == ["RECORD", "CUSTOMER", "SIGNED", "ON", "DOCUMENT", "SIGNATURES", "FILE"]
    assert listing[2].split() == ["2", "nordic-webshop", "2025-03-01", document, "none", "scan.pdf"]
    assert listing[3].split() == ["3", "nordic-webshop", "-", "(attachment", "of", "1)", "-", "annex.docx"]
    assert ok(tmp_path, "list", "--customer", "esimerkki-oy") == "no records for customer esimerkki-oy\n"

    shown = ok(tmp_path, "show", "1")
    assert "  note:        DPA 2026" in shown
    assert "    Upcloud Oy (FI24315605): Helsinki, Finland" in shown
    assert "  attachments: record 3 (annex.docx)" in shown
    record = json.loads(ok(tmp_path, "show", "1", "--json"))
    assert record["body"]["annex"]["document_id"] == document
    assert record["body"]["signatures"][0]["signer"] == "Maija Meikäläinen"

    ok(tmp_path, "export", "1", "--out", "copy.pdf")
    assert (tmp_path / "copy.pdf").read_bytes() == signed.read_bytes()

    for path in stored_files(tmp_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert len(backend_env.stored_objects()) == 3
    out = ok(tmp_path, "verify")
    shown = "archive" if backend_env.name == "sqlite" else backend_env.location
    assert out.startswith(f"{shown}: 3 records, 3 files, 3 audit entries checked; no problems; chain head: "
                          "record 3 ")  # each add is in the audit log


@pytest.mark.parametrize("tamper", [flip_signed_byte, update_after_signing])
def test_a_tampered_signature_is_refused_unless_accepted(tmp_path, tamper, backend_env):
    write(tmp_path / "tampered.pdf", tamper(sign(annex_pdf("nordic-webshop"))))
    err = refused(tmp_path, "add", "tampered.pdf", "--customer", "nordic-webshop")
    assert err.startswith("tampered.pdf: signature Signature1 by Test Signer: the ")
    assert "give --accept-invalid-signature to archive it anyway" in err
    assert backend_env.stored_objects() == [] and ok(tmp_path, "list") == "no records\n"

    result = run(tmp_path, "add", "tampered.pdf", "--customer", "nordic-webshop",
                 "--accept-invalid-signature")
    assert result.returncode == 0
    assert "warning: record 1 has a broken signature; archived as invalid" in result.stderr
    assert "BROKEN: the " in ok(tmp_path, "show", "1")
    assert ok(tmp_path, "list").splitlines()[1].split()[4] == "1/1"


def _encrypted(data: bytes) -> bytes:
    out = io.BytesIO()
    pikepdf.open(io.BytesIO(data)).save(out, encryption=pikepdf.Encryption(owner="o", user=""))
    return out.getvalue()


def test_bad_input_gets_a_clear_error_and_nothing_is_stored(tmp_path, backend_env):
    data = annex_pdf("nordic-webshop")
    write(tmp_path / "notes.txt", b"just some text")
    write(tmp_path / "locked.pdf", _encrypted(data))
    write(tmp_path / "cut.pdf", data[: len(data) // 2])
    with (tmp_path / "huge.pdf").open("wb") as fh:  # sparse: no disk is used
        fh.write(b"%PDF-1.7\n")
        fh.truncate(101 * 1024 * 1024)
    write(tmp_path / "theirs.pdf", data)
    cases = {
        "notes.txt": ("nordic-webshop", "notes.txt: a file of an unrecognised format, not a PDF;"),
        "locked.pdf": ("nordic-webshop", "locked.pdf: encrypted PDF; archive the unencrypted original"),
        "cut.pdf": ("nordic-webshop", "cut.pdf: truncated PDF: no %%EOF marker at the end of the file"),
        "huge.pdf": ("nordic-webshop", "huge.pdf: file is larger than the archive's limit of 100 MiB"),
        "theirs.pdf": ("esimerkki-oy", "theirs.pdf: annex.json: this annex is for customer 'nordic-webshop'"),
        "missing.pdf": ("nordic-webshop", "missing.pdf: no such file"),
    }
    for name, (customer, message) in cases.items():
        unsigned = ["--unsigned-copy"] if name == "theirs.pdf" else []  # past the unsigned-original check
        err = refused(tmp_path, "add", name, "--customer", customer, *unsigned)
        assert err.startswith(message), err
    err = refused(tmp_path, "add", "theirs.pdf", "--customer", "x", "--signed-on", "yesterday", code=2)
    assert err.endswith("argument --signed-on: 'yesterday' is not a date of the form YYYY-MM-DD\n")
    assert backend_env.stored_objects() == []
    assert ok(tmp_path, "list") == "no records\n"


def test_commands_on_a_missing_archive_explain_themselves(tmp_path):
    for args in (["list"], ["verify"], ["show", "1"], ["export", "1", "--out", "x.pdf"]):
        err = refused(tmp_path, *args)
        assert err == ("annex-gen: error: archive: no archive here (no index.sqlite); "
                       "`annex-gen archive add` creates one\n")
    assert not (tmp_path / "archive").exists()


def test_verify_reports_each_kind_of_tampering(tmp_path):
    for i in range(1, 4):
        write(tmp_path / f"scan{i}.pdf", scan_pdf(marker=str(i)))
        ok(tmp_path, "add", f"scan{i}.pdf", "--customer", "acme", "--signed-on", f"2025-0{i}-01")
    records = [json.loads(ok(tmp_path, "show", str(i), "--json")) for i in (1, 2, 3)]
    objects = tmp_path / "archive" / "objects"
    altered = objects / records[0]["body"]["file"]["sha256"][:2] / records[0]["body"]["file"]["sha256"]
    altered.chmod(0o644)
    altered.write_bytes(altered.read_bytes() + b"%% appended\n")
    missing = objects / records[1]["body"]["file"]["sha256"][:2] / records[1]["body"]["file"]["sha256"]
    missing.unlink()
    index = tmp_path / "archive" / "index.sqlite"
    con = sqlite3.connect(index, isolation_level=None)
    con.execute("DROP TRIGGER records_no_update")
    con.execute("UPDATE records SET body = json_set(body, '$.signed_on', '2024-01-01') WHERE seq = 3")
    con.close()

    result = run(tmp_path, "verify")
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert "archive/index.sqlite: trigger records_no_update missing" in problems
    assert "archive/index.sqlite: record 3: record altered (its content no longer matches its hash)" in (
        problems)
    altered_name = f"archive/objects/{altered.parent.name}/{altered.name}"
    assert f"{altered_name}: record 1: file altered (SHA-256 is now " in result.stderr
    assert f"archive/objects/{missing.parent.name}/{missing.name}: record 2: file missing" in problems
    assert result.stdout == "archive: 3 records, 3 files, 3 audit entries checked; 4 problems found\n"
    assert "1" in refused(tmp_path, "export", "1", "--out", "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def _customers(tmp_path: Path) -> None:
    (tmp_path / "customers").mkdir()
    shutil.copy(EXAMPLES_DIR / "kauppahuone-aalto.yaml", tmp_path / "customers")
    shutil.copytree(REGISTRY_DIR, tmp_path / "registry")


def test_status_before_between_and_after_two_signed_versions(tmp_path, backend_env):
    _customers(tmp_path)
    # The first annex predates the dedicated MTA option; the second is what the contract resolves to now.
    write(tmp_path / "v1.pdf", sign(annex_pdf("kauppahuone-aalto", dedicated_mta=False)))
    write(tmp_path / "v2.pdf", sign(annex_pdf("kauppahuone-aalto")))
    ok(tmp_path, "add", "v1.pdf", "--customer", "kauppahuone-aalto", "--signed-on", "2025-03-01")
    ok(tmp_path, "add", "v2.pdf", "--customer", "kauppahuone-aalto", "--signed-on", "2025-09-01")
    current = example_annex("kauppahuone-aalto")
    _approve_the_registry(backend_env.location)  # the signed annexes are finals of an approved release

    before = run(tmp_path, "status", "--on", "2025-01-01")
    assert before.returncode == 1
    assert "kauppahuone-aalto: NO SIGNED ANNEX on or before 2025-01-01" in before.stdout

    between = run(tmp_path, "status", "--on", "2025-05-01")
    assert between.returncode == 1
    old = example_annex("kauppahuone-aalto", options={"dedicated_mta": False})
    assert between.stdout.splitlines()[1:] == [
        f"kauppahuone-aalto: OUTDATED: record 1, {old.document_id}, signed 2025-03-01",
        f"  the registry now resolves to {current.document_id}",
        "  + added   Upcloud Oy (FI24315605) [upcloud]",
        "  also changed: options",
        "1 customer: 0 current, 1 not",
    ]

    after = run(tmp_path, "status", "--on", "2025-10-01", "--customer", "kauppahuone-aalto")
    assert after.returncode == 0, after.stdout
    assert f"kauppahuone-aalto: current: record 2, {current.document_id}, signed 2025-09-01" in after.stdout

    report = json.loads(run(tmp_path, "status", "--on", "2025-05-01", "--json").stdout)
    (customer,) = report["customers"]
    assert (customer["state"], customer["record"]) == ("outdated", 1)
    assert customer["changes"] == [{"change": "added", "id": "upcloud", "name": "Upcloud Oy",
                                    "legal_id": "FI24315605", "details": []}]


def _approve_the_registry(location: str) -> None:
    """Legal's approval of the project's registry content in the archive (the library's own record)."""
    import datetime as dt

    from annex_gen.archive.store import Archive
    from annex_gen.inputs.registry import load_registry
    from annex_gen.signoff.releases import record_approval

    with Archive.open(location, create=True) as archive:
        record_approval(archive, REGISTRY_DIR, load_registry(REGISTRY_DIR), by="Test Legal",
                        on=dt.date(2025, 1, 1), effective=dt.date(2025, 1, 1))


def test_status_needs_the_contracts(tmp_path):
    shutil.copytree(REGISTRY_DIR, tmp_path / "registry")
    write(tmp_path / "scan.pdf", scan_pdf())
    ok(tmp_path, "add", "scan.pdf", "--customer", "acme", "--signed-on", "2025-01-01")
    err = refused(tmp_path, "status", code=2)  # stopped, not every archived customer reported as "no contract"
    assert err == ("annex-gen: error: no customers/ or examples/ folder here: the contracts to compare with are "
                   "given with --customers DIR\n")
    err = refused(tmp_path, "status", "--customers", "contracts", code=2)
    assert err == ("annex-gen: error: contracts: no such folder; the contracts to compare with are given with "
                   "--customers DIR (default: customers/ and examples/)\n")
    shutil.copytree(EXAMPLES_DIR, tmp_path / "examples")  # the default folders, as other commands read them
    result = run(tmp_path, "status", "--on", "2025-06-01")  # 1: acme has no contract there, so is not current
    assert result.returncode == 1 and "acme: " in result.stdout and "10 customers" in result.stdout


def test_concurrent_adds_lose_nothing(tmp_path, backend_env):
    distinct = [write(tmp_path / f"scan{i}.pdf", scan_pdf(marker=f"concurrent {i}")) for i in range(6)]
    same = sign(annex_pdf("nordic-webshop"))
    twins = [write(tmp_path / f"twin{i}.pdf", same) for i in range(2)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "annex_gen", "archive", "add", str(p), "--customer",
                          "nordic-webshop" if p in twins else "acme", "--signed-on", "2025-01-01"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in [*distinct, *twins]
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results[:6]] == [0] * 6, results
    twin_codes = sorted(code for code, _, _ in results[6:])
    assert twin_codes == [0, 1], results
    assert any("already archived as record" in err for _, _, err in results[6:])

    listing = ok(tmp_path, "list").splitlines()[1:]
    assert sorted(int(line.split()[0]) for line in listing) == list(range(1, 8))
    assert ": 7 records, 7 files, 7 audit entries checked; no problems" in ok(tmp_path, "verify")


_KILLER = textwrap.dedent("""
    import os, signal, sys
    from annex_gen.archive.postgres_index import PostgresIndex
    from annex_gen.archive.sqlite_index import SqliteIndex
    from annex_gen.cli import main

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    point = sys.argv[1]
    for index in (SqliteIndex, PostgresIndex):
        if point == "after-file":  # the file is staged (SQLite), the transaction not begun
            index.writing = die
        elif point == "before-commit":  # the record is inserted, not committed
            insert = index.insert
            def inserted(self, *args, insert=insert):
                insert(self, *args)
                die()
            index.insert = inserted
        else:  # committed, before the WAL checkpoint
            index.committed = die
    main(sys.argv[2:])
""")


@pytest.mark.parametrize("point", ["after-file", "before-commit", "after-commit"])
def test_a_killed_add_leaves_no_record_without_its_file_and_can_be_repeated(tmp_path, point, backend_env):
    write(tmp_path / "first.pdf", scan_pdf(marker="first"))
    ok(tmp_path, "add", "first.pdf", "--customer", "acme", "--signed-on", "2025-01-01")
    write(tmp_path / "second.pdf", scan_pdf(marker="second"))
    args = ["archive", "add", "second.pdf", "--customer", "acme", "--signed-on", "2025-02-01"]
    killed = subprocess.run([sys.executable, "-c", _KILLER, point, *args], cwd=tmp_path, capture_output=True,
                            timeout=120)
    assert killed.returncode == -9

    if point == "after-commit":  # the record is kept, with its file, and the chain is sound
        assert len(ok(tmp_path, "list").splitlines()) == 3
        assert run(tmp_path, "verify").stderr == ""
        assert "already archived as record 2" in refused(tmp_path, *args[1:])
        return
    assert len(ok(tmp_path, "list").splitlines()) == 2  # header and record 1
    result = run(tmp_path, "verify")
    assert result.returncode == 0
    if backend_env.name == "sqlite":  # the file is written first; a young unrecorded file is a note
        assert "note: no record names this file; it is not archived" in result.stderr
    else:  # file and record commit together
        assert result.stderr == ""
    assert ok(tmp_path, *args[1:]).startswith("archived second.pdf as record 2")
    assert run(tmp_path, "verify").stderr == ""


# The archive's evidence: tampering that only a head kept outside the archive, or re-reading the files, reveals.


def _three_scans(tmp_path: Path) -> list[dict]:
    for i in range(1, 4):
        write(tmp_path / f"scan{i}.pdf", scan_pdf(marker=f"evidence {i}"))
        ok(tmp_path, "add", f"scan{i}.pdf", "--customer", "acme", "--signed-on", f"2025-0{i}-01")
    return [json.loads(ok(tmp_path, "show", str(i), "--json")) for i in (1, 2, 3)]


def _rechained(records: list[dict], change: dict) -> list[tuple[str, str, int]]:
    """The records with change applied to each body and every hash recomputed: a rewritten chain."""
    out, prev = [], GENESIS
    for r in records:
        text = canonical_json({**r["body"], **change, "prev": prev})
        prev = record_hash(text)
        out.append((text, prev, r["seq"]))
    return out


def test_archive_head_and_verify_head_accept_an_untouched_archive(tmp_path, backend_env):
    records = _three_scans(tmp_path)
    head = ok(tmp_path, "head")
    record_line, audit_line = head.splitlines()
    assert record_line == f"record 3 {records[2]['record_hash']}"
    assert re.fullmatch(r"audit 3 [0-9a-f]{64}", audit_line)  # each add is in the audit log
    (tmp_path / "HEAD").write_text(head)
    bare = record_line.removeprefix("record ")  # as older versions printed it: the record chain only
    for args in (["--head", head.strip()], ["--head-file", "HEAD"], ["--head", bare]):
        result = run(tmp_path, "verify", *args)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
    write(tmp_path / "scan4.pdf", scan_pdf(marker="evidence 4"))
    ok(tmp_path, "add", "scan4.pdf", "--customer", "acme", "--signed-on", "2025-04-01")
    result = run(tmp_path, "verify", "--head-file", "HEAD")
    assert result.returncode == 0
    notes = result.stderr.splitlines()
    assert [n.split(": note: ")[1] for n in notes] == [
        "record 4 was added after the head kept outside the archive; check the additions are expected, then keep "
        "the new head",
        "entry 4 was added after the head kept outside the archive; check the additions are expected, then keep "
        "the new head"]
    assert refused(tmp_path, "verify", "--head", "12 not-a-hash", code=2) == (
        "annex-gen: error: --head: expected a chain head as `annex-gen archive head` prints it: the record "
        "number and its 64-digit hash, e.g. '12 3f9a…', optionally followed by the audit log's 'audit 40 b2c1…'\n")


@pytest.mark.parametrize("tamper", ["tail edited", "chain rewritten", "last removed"])
def test_tampering_the_tail_or_the_whole_chain_is_found_with_the_head(tmp_path, backend_env, tamper):
    records = _three_scans(tmp_path)
    head = ok(tmp_path, "head").strip()
    if tamper == "tail edited":
        text = canonical_json({**records[2]["body"], "signed_on": "2024-12-24"})  # its link to record 2 kept
        digest = record_hash(text)
        backend_env.sql("UPDATE records SET body = ?, record_hash = ? WHERE seq = 3", params=(text, digest))
    elif tamper == "chain rewritten":
        for text, digest, seq in _rechained(records, {"customer_id": "someone-else"}):
            backend_env.sql(f"UPDATE records SET body = ?, record_hash = ? WHERE seq = {seq}", params=(text, digest))
    else:
        statements = ["DELETE FROM records WHERE seq = 3"]
        if backend_env.name == "sqlite":
            statements.append("UPDATE sqlite_sequence SET seq = 2 WHERE name = 'records'")
        backend_env.sql(*statements)
    assert run(tmp_path, "verify").returncode == 0 or tamper == "last removed"  # the chain alone is consistent
    result = run(tmp_path, "verify", "--head", head)
    assert result.returncode == 1, result.stderr
    index = backend_env.index_location if backend_env.name == "postgresql" else "archive/index.sqlite"
    expected = {
        "tail edited": f"{index}: record 3 is not the head kept outside the archive (its hash is",
        "chain rewritten": f"{index}: record 3 is not the head kept outside the archive (its hash is",
        "last removed": f"{index}: the chain ends at record 2, but the head kept outside the archive is record 3: "
                        "record 3 was removed",
    }[tamper]
    assert expected in result.stderr


def test_a_forged_record_appended_behind_the_tools_back_is_found(tmp_path, backend_env):
    from annex_gen.archive.chain import new_record

    records = _three_scans(tmp_path)
    head = ok(tmp_path, "head").strip()
    # A PDF whose signature is broken, recorded as if its signature were intact.
    data = flip_signed_byte(sign(annex_pdf("nordic-webshop")))
    sha = hashlib.sha256(data).hexdigest()
    annex = example_annex("nordic-webshop").to_dict()
    fields = {"kind": "annex", "customer_id": "nordic-webshop", "parent": None, "note": None,
              "document_id": annex["document_id"], "link": "embedded", "registry_version": annex["registry_version"],
              "annex": annex, "accepted_invalid_signature": False, "signed_on": "2025-05-01",
              "signed_on_from": "given",
              "signatures": [{"field": "Signature1", "kind": "signature", "ok": True, "problem": None}]}
    import datetime as dt

    record, text = new_record(fields, seq=4, prev=records[2]["record_hash"], archived_at=dt.datetime.now(dt.UTC),
                              file={"name": "forged.pdf", "sha256": sha, "size": len(data),
                                    "media_type": "application/pdf"})
    if backend_env.name == "sqlite":
        write(tmp_path / "archive" / "objects" / sha[:2] / sha, data)
    else:
        backend_env.sql("INSERT INTO objects (sha256, size, data) VALUES (?, ?, ?)", params=(sha, len(data), data))
    backend_env.sql("INSERT INTO records (seq, body, record_hash) VALUES (?, ?, ?)",
                    params=(4, text, record.record_hash))

    result = run(tmp_path, "verify", "--head", head)
    assert result.returncode == 1
    index = backend_env.index_location if backend_env.name == "postgresql" else "archive/index.sqlite"
    assert (f"{index}: record 4: its signature checks are not the file's (the file's: Signature1 BROKEN); the "
            "record was not made by `archive add` from this file") in result.stderr.splitlines()
    assert "record 4 was added after the head kept outside the archive" in result.stderr


def test_a_committed_add_is_in_the_database_file_not_only_in_the_wal(tmp_path):
    from annex_gen.archive.store import Archive

    with Archive.open(tmp_path / "archive", create=True) as archive:
        for i in range(3):
            archive.append({"kind": "annex", "customer_id": "acme", "parent": None}, f"file {i}".encode(),
                           name="f.pdf", media_type="application/pdf", shown="f.pdf")
        # While the writer is still open, a copy of the database file without its WAL (as a lost,
        # truncated or corrupted WAL leaves it) holds every committed record.
        (tmp_path / "copy").mkdir()
        shutil.copy(tmp_path / "archive" / "index.sqlite", tmp_path / "copy" / "index.sqlite")
        shutil.copytree(tmp_path / "archive" / "objects", tmp_path / "copy" / "objects")
        wal = tmp_path / "archive" / "index.sqlite-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    with Archive.open(tmp_path / "copy") as copy:
        assert [r.seq for r in copy.records()] == [1, 2, 3]
        assert copy.verify().problems == []


def test_two_adds_of_one_document_for_different_customers_cannot_both_win(tmp_path, backend, monkeypatch):
    import datetime as dt

    from annex_gen.archive.index import Index
    from annex_gen.archive.intake import AddRequest, add_file
    from annex_gen.archive.store import Archive

    document = "ANX-1111-2222-3333-4444"
    write(tmp_path / "ours.pdf", scan_pdf(marker="ours"))
    write(tmp_path / "theirs.pdf", scan_pdf(marker="theirs"))
    with Archive.open(backend.location, create=True) as archive:
        staged = type(archive.index).stage

        def other_add_first(self: Index, sha256: str, data: bytes) -> None:
            # Between our checks and our transaction, another process archives the same document ID.
            monkeypatch.setattr(type(archive.index), "stage", staged)
            with Archive.open(backend.location) as other:
                add_file(other, AddRequest(tmp_path / "theirs.pdf", "other-oy", dt.date(2025, 1, 1),
                                           document_id=document))
            staged(self, sha256, data)

        monkeypatch.setattr(type(archive.index), "stage", other_add_first)
        with pytest.raises(InvalidInput) as exc:
            add_file(archive, AddRequest(tmp_path / "ours.pdf", "acme", dt.date(2025, 1, 1), document_id=document))
        assert str(exc.value) == (f"{tmp_path / 'ours.pdf'}: document {document} is archived for customer "
                                  "'other-oy' (record 1), not 'acme'")
        assert [(r.seq, r.customer_id) for r in archive.records()] == [(1, "other-oy")]


def test_copy_moves_a_directory_archive_to_postgresql_record_by_record(tmp_path, postgres_server, monkeypatch):
    monkeypatch.delenv("ANNEX_GEN_ARCHIVE", raising=False)
    write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop")))
    ok(tmp_path, "add", "signed.pdf", "--customer", "nordic-webshop")
    write(tmp_path / "scan.pdf", scan_pdf(marker="copy"))
    ok(tmp_path, "add", "scan.pdf", "--customer", "acme", "--signed-on", "2025-01-01")
    write(tmp_path / "annex.docx", b"PK\x03\x04 a Word copy")
    ok(tmp_path, "add", "annex.docx", "--customer", "nordic-webshop", "--attach-to", "1")
    head = ok(tmp_path, "head").strip()
    record_head, audit_head = (line.split(" ", 1)[1] for line in head.splitlines())
    url = postgres_server.database()

    out = ok(tmp_path, "copy", "--from", "archive", "--to", url)
    assert out.splitlines() == [
        f"copied 3 records from archive to {url}, and 3 audit entries",
        f"{url}: 3 records, 3 files, 3 audit entries checked; no problems; chain head: record {record_head}; "
        f"audit head: entry {audit_head}, as in the source",
    ]
    assert ok(tmp_path, "head", "--archive", url).strip() == head
    for seq in ("1", "2", "3"):
        assert ok(tmp_path, "show", seq, "--json") == ok(tmp_path, "show", seq, "--json", "--archive", url)
    ok(tmp_path, "export", "1", "--out", "back.pdf", "--archive", url)
    assert (tmp_path / "back.pdf").read_bytes() == (tmp_path / "signed.pdf").read_bytes()
    assert run(tmp_path, "verify", "--archive", url, "--head", head).stderr == ""

    # Repeating the copy (e.g. after an interruption) adds only what is missing.
    write(tmp_path / "later.pdf", scan_pdf(marker="later"))
    ok(tmp_path, "add", "later.pdf", "--customer", "acme", "--signed-on", "2025-02-01")
    assert ok(tmp_path, "copy", "--from", "archive", "--to", url).splitlines()[0] == (
        f"copied 1 record from archive to {url} (3 were already there), and 1 audit entry")
    # A different archive is not mixed into it.
    write(tmp_path / "other" / "x.pdf", scan_pdf(marker="other"))
    ok(tmp_path / "other", "add", "x.pdf", "--customer", "acme", "--signed-on", "2025-01-01")
    err = refused(tmp_path, "copy", "--from", "other/archive", "--to", url)
    assert err == f"annex-gen: error: {url}: record 1 differs from other/archive's; copy into an empty archive\n"


def test_copy_refuses_a_source_that_does_not_verify(tmp_path, postgres_server, monkeypatch):
    monkeypatch.delenv("ANNEX_GEN_ARCHIVE", raising=False)
    write(tmp_path / "scan.pdf", scan_pdf(marker="broken source"))
    ok(tmp_path, "add", "scan.pdf", "--customer", "acme", "--signed-on", "2025-01-01")
    for path in stored_files(tmp_path):
        path.unlink()
    url = postgres_server.database()
    err = refused(tmp_path, "copy", "--from", "archive", "--to", url)
    assert err == ("annex-gen: error: archive: the archive to copy does not verify (1 problem; "
                   "`annex-gen archive verify` lists them); nothing was copied\n")


def test_migrate_creates_the_schema_and_then_has_nothing_to_do(tmp_path, backend_env):
    where = "archive" if backend_env.name == "sqlite" else backend_env.location
    version = 1 if backend_env.name == "sqlite" else 2  # PostgreSQL's version 2 adds the audit table
    # a database also holds the team's shared state and job queue (annex_gen.team)
    first = ok(tmp_path, "migrate").splitlines()
    again = ok(tmp_path, "migrate").splitlines()
    assert first[0] == f"{where}: archive created at schema version {version}"
    assert again[0] == f"{where}: archive schema version {version}; nothing to migrate"
    if backend_env.name == "postgresql":
        assert first[1:] == [f"{where}: team schema created at version {TEAM_SCHEMA_VERSION}",
                             f"{where}: job queue schema installed (procrastinate {procrastinate_version()})"]
        queue = f"{where}: job queue schema of procrastinate {procrastinate_version()}; nothing to migrate"
        assert again[1:] == [f"{where}: team schema version {TEAM_SCHEMA_VERSION}; nothing to migrate", queue]
    else:
        assert first[1:] == again[1:] == []
    assert ok(tmp_path, "list") == "no records\n"


def test_the_annex_as_generated_is_not_archived_as_signed_unless_said_so(tmp_path, backend_env):
    write(tmp_path / "unsigned.pdf", annex_pdf("nordic-webshop"))
    err = refused(tmp_path, "add", "unsigned.pdf")
    assert "unsigned.pdf: the annex as generated, without a digital signature, is not a signed copy" in err
    assert "--unsigned-copy" in err and backend_env.stored_objects() == []
    write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop")))  # digitally signed: archived as before
    assert "archived signed.pdf as record 1" in ok(tmp_path, "add", "signed.pdf")
    write(tmp_path / "scan.pdf", scan_pdf(marker="paper"))  # a scan of the signed paper: no annex.json inside
    assert "as record 2" in ok(tmp_path, "add", "scan.pdf", "--customer", "nordic-webshop", "--signed-on", "2026-12-01")
