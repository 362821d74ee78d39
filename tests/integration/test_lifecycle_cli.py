"""A customer's life on the command line: send, sign, notice, object, resolve; the timeline at each step."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.integration.batch_support import add_mailer_entry

from archive_support import approve_release, sign
from conftest import EXAMPLES_DIR, REGISTRY_DIR, ROOT, build_file_tree
from smtp_support import smtp_server  # noqa: F401 - fixture

TODAY = dt.date.today()


@pytest.fixture(autouse=True)
def _today() -> None:
    """TODAY as each test starts: a run may pass midnight, and the tool dates by the day it runs."""
    global TODAY
    TODAY = dt.date.today()


def cli(cwd: Path, *args: str | Path, registry: Path = REGISTRY_DIR) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_GEN_")}
    env["ANNEX_GEN_MAIL_FROM"] = "legal@liana.example"
    return subprocess.run([sys.executable, "-m", "annex_gen", "--registry", str(registry), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def ok(cwd: Path, *args: str | Path, registry: Path = REGISTRY_DIR) -> str:
    proc = cli(cwd, *args, registry=registry)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def customer_folder(tmp_path: Path) -> Path:
    text = (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8")
    if "contact_email" not in text:
        text = text.replace("  name:", "  contact_email: tietosuoja@esimerkki.example\n  name:", 1)
    return build_file_tree(tmp_path / "customers", {"esimerkki-oy.yaml": text})


def state(cwd: Path, registry: Path = REGISTRY_DIR) -> dict:
    return json.loads(ok(cwd, "timeline", "esimerkki-oy", "--json", registry=registry))


def test_send_sign_notice_object_resolve(tmp_path, smtp_server):  # noqa: F811
    customer_folder(tmp_path)
    assert state(tmp_path)["state"]["text"] == "no annex sent"
    ok(tmp_path, "send", "customers", "--smtp", smtp_server.url)
    (pdf,) = (tmp_path / "output" / "esimerkki-oy").glob("ANX-*.pdf")
    assert state(tmp_path)["state"]["text"] == "sent, awaiting signature"

    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign(pdf.read_bytes(), signer="Eija Esimerkki"))
    # no approved release here: the customer signed the draft they were sent, and the record says so
    ok(tmp_path, "archive", "add", signed, "--customer", "esimerkki-oy", "--signed-draft")
    assert state(tmp_path)["state"]["text"] == "signed, current"

    new = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", new)
    add_mailer_entry(new)
    assert state(tmp_path, new)["state"]["text"] == "outdated: no notice sent"
    approve_release(new, tmp_path / "archive")  # legal approves the change before its notices are written
    ok(tmp_path, "notices", "--from", REGISTRY_DIR, "--to", new, "--notice-date", TODAY.isoformat(),
       "--out", "notices", "customers")
    ok(tmp_path, "send", "notices", "--smtp", smtp_server.url, registry=new)
    deadline = TODAY + dt.timedelta(days=15)
    effective = TODAY + dt.timedelta(days=30)
    assert state(tmp_path, new)["state"]["text"] == f"outdated: notice sent, objection period ends {deadline}"
    notice_id = next((tmp_path / "notices" / "esimerkki-oy").glob("NTC-*.pdf")).stem

    listed = ok(tmp_path, "objection", "list")
    assert f"  {deadline}  esimerkki-oy  notice {notice_id} (given {TODAY}, takes effect {effective})" in listed
    letter = tmp_path / "kirje.pdf"
    letter.write_bytes(b"%PDF-1.4 objection letter")
    added = ok(tmp_path, "objection", "add", "esimerkki-oy", "--notice", notice_id, "--received-on", TODAY,
               "--from", "Eija Esimerkki <eija@esimerkki.example>", "--text", "Emme hyväksy Hetzneriä.",
               "--letter", letter)
    objection_id = added.split()[1].rstrip(":")
    assert objection_id.startswith("OBJ-")
    assert state(tmp_path, new)["state"]["text"] == (f"objection {objection_id} open (notice {notice_id}, "
                                                     f"takes effect {effective})")
    resolved = ok(tmp_path, "objection", "resolve", objection_id, "--outcome", "accepted",
                  "--note", "Hetzner not used for this customer")
    assert "resolved" in resolved and "accepted: the change is not applied to this customer" in resolved
    again = cli(tmp_path, "objection", "resolve", objection_id, "--outcome", "withdrawn")
    assert again.returncode == 2 and f"{objection_id} was already resolved on {TODAY} (accepted)" in again.stderr

    line = state(tmp_path, new)
    kinds = [e["kind"] for e in line["events"]]
    for kind in ("generated", "sent", "signed", "notice_sent", "objection_received", "objection_resolved",
                 "outdated"):
        assert kind in kinds, kinds
    sent = next(e for e in line["events"] if e["kind"] == "sent")
    first, second = smtp_server.received
    assert sent["message_id"] == first.message["Message-ID"]
    notice = next(e for e in line["events"] if e["kind"] == "notice_sent")
    assert notice["message_id"] == second.message["Message-ID"] and notice["notice_id"] == notice_id
    text = ok(tmp_path, "timeline", "esimerkki-oy", registry=new)
    assert f"signed copy of {pdf.stem} archived as record 1" in text
    assert f"objection {objection_id} resolved {TODAY}: accepted" in text

    audit = [json.loads(b) for b in _audit_bodies(tmp_path / "archive")]
    assert [a["action"] for a in audit] == ["message sent", "file archived", "message sent", "objection recorded",
                                            "objection resolved"]

    written = ok(tmp_path, "evidence", "esimerkki-oy", "--out", "evidence.zip", "--customers", "customers",
                 registry=new)
    assert written.startswith("evidence.zip: evidence of esimerkki-oy (")
    check_evidence(tmp_path / "evidence.zip", tmp_path / "unzipped", signed=signed.read_bytes(),
                   messages=[r.data for r in smtp_server.received], letter=letter.read_bytes())
    refused = cli(tmp_path, "evidence", "esimerkki-oy", "--out", "evidence.zip")
    assert refused.returncode == 2 and "evidence.zip already exists" in refused.stderr


def check_evidence(path: Path, into: Path, *, signed: bytes, messages: list[bytes], letter: bytes) -> None:
    """Unzip, check with sha256sum alone, and find each document in it."""
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    (root,) = into.iterdir()
    checked = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=root, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines and all(line.endswith(": OK") for line in lines)
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert set(files) - {"README.txt", "MANIFEST.sha256"} == {line.rsplit(": ", 1)[0] for line in lines}
    assert signed in [d for p, d in files.items() if p.startswith("signed/")]
    emls = [d for p, d in files.items() if p.endswith(".eml")]
    assert sorted(emls) == sorted(messages)
    assert letter in [d for p, d in files.items() if p.startswith("objections/") and not p.endswith(".json")]
    readme = files["README.txt"].decode()
    assert "sha256sum -c MANIFEST.sha256" in readme
    assert hashlib.sha256(files["MANIFEST.sha256"]).hexdigest() in readme
    heads = files["HEADS.txt"].decode()
    assert "archive chain head (record, hash): 2 " in heads  # the signed annex, then the release approval


def test_objection_errors_are_listed_together(tmp_path):
    customer_folder(tmp_path)
    proc = cli(tmp_path, "objection", "add", "esimerkki-oy", "--notice", "NTC-0000", "--received-on",
               (TODAY + dt.timedelta(days=3)).isoformat(), "--from", "x")
    assert proc.returncode == 1
    assert "no notice NTC-0000 was sent to customer esimerkki-oy; none was sent to them" in proc.stderr
    assert "is in the future" in proc.stderr and "give the objection's text or attach the letter" in proc.stderr
    missing = cli(tmp_path, "objection", "resolve", "OBJ-9", "--outcome", "withdrawn")
    assert missing.returncode == 1 and "no objection OBJ-9" in missing.stderr


def _audit_bodies(archive: Path) -> list[str]:
    import sqlite3

    con = sqlite3.connect(archive / "audit.sqlite")
    try:
        return [body for (body,) in con.execute("SELECT body FROM entries ORDER BY seq")]
    finally:
        con.close()


def test_a_contract_with_its_own_terms_and_an_exclusion(tmp_path, smtp_server):  # noqa: F811
    aalto = (EXAMPLES_DIR / "kauppahuone-aalto.yaml").read_text(encoding="utf-8")
    aalto = aalto.replace("  options:", "  terms:\n    notice_period_days: 45\n    objection_days: 20\n  options:", 1)
    esimerkki = customer_folder(tmp_path / "x").joinpath("esimerkki-oy.yaml").read_text(encoding="utf-8")
    esimerkki += "  terms:\n    exclusions:\n      - {entity: hetzner, from: 2026-12-20, note: OBJ-6 accepted}\n"
    build_file_tree(tmp_path / "customers", {"kauppahuone-aalto.yaml": aalto, "esimerkki-oy.yaml": esimerkki})
    new = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", new)
    add_mailer_entry(new)
    diff = ok(tmp_path, "diff", "--from", REGISTRY_DIR, "--to", new, "customers", "--json")
    status = {c["customer_id"]: c["status"] for c in json.loads(diff)["customers"]}
    assert status == {"kauppahuone-aalto": "affected", "esimerkki-oy": "unaffected"}  # hetzner excluded for it
    approve_release(new, tmp_path / "archive")
    ok(tmp_path, "notices", "--from", REGISTRY_DIR, "--to", new, "--notice-date", TODAY.isoformat(),
       "--out", "notices", "customers")
    (row,) = list(csv.DictReader(io.StringIO((tmp_path / "notices" / "notices.csv").read_text("utf-8-sig"))))
    assert row["customer_id"] == "kauppahuone-aalto"
    assert row["effective_date"] == (TODAY + dt.timedelta(days=45)).isoformat()
    assert row["objection_deadline"] == (TODAY + dt.timedelta(days=20)).isoformat()
    ok(tmp_path, "send", "notices", "--smtp", smtp_server.url, registry=new)
    (message,) = smtp_server.received
    text = message.message.get_body(("plain",)).get_content()
    effective = TODAY + dt.timedelta(days=45)
    assert f"The changes take effect on {effective.day} {effective.strftime('%B')} {effective.year}" in text
    line = json.loads(ok(tmp_path, "timeline", "kauppahuone-aalto", "--json", registry=new))
    assert line["terms"] == {"notice_period_days": 45, "objection_days": 20, "exclusions": []}
    deadline = TODAY + dt.timedelta(days=20)
    assert line["state"]["text"] == f"outdated: notice sent, objection period ends {deadline}"
    printed = ok(tmp_path, "timeline", "esimerkki-oy", registry=new)
    assert "  excluded: hetzner from 2026-12-20 (OBJ-6 accepted)" in printed


def test_archive_add_takes_the_customer_from_the_file(tmp_path):
    from archive_support import annex_pdf, scan_pdf

    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign(annex_pdf("kauppahuone-aalto"), signer="Aino Aalto"))
    added = ok(tmp_path, "archive", "add", signed)
    assert added.startswith("archived ") and "(customer kauppahuone-aalto)" in added
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scan_pdf(marker="no customer"))
    refused = cli(tmp_path, "archive", "add", scan)
    assert refused.returncode == 2
    assert "names no customer (no embedded annex.json); say whose it is with --customer ID" in refused.stderr
