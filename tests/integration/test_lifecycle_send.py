"""`annex-gen send` end to end: a real SMTP server receives the annex; every message is recorded."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pytest
from tests.integration.batch_support import add_mailer_entry

from annex_gen.lifecycle.events import open_event_log
from annex_gen.lifecycle.messages import body_of
from archive_support import approve_release
from conftest import EXAMPLES_DIR, REGISTRY_DIR, ROOT, build_file_tree
from smtp_support import smtp_server  # noqa: F401 - fixture

TODAY = dt.date.today()


@pytest.fixture(autouse=True)
def _today() -> None:
    """TODAY as each test starts: a run may pass midnight, and the tool dates by the day it runs."""
    global TODAY
    TODAY = dt.date.today()

CONTRACT = """
customer:
  id: oljy-sahko
  name: Öljy ja Sähkö Oy
  contact_email: {email}
contract:
  date: 2026-12-01
  region: eu
  language: {language}
  products: [mailer]
"""


def send(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_GEN_SMTP")}
    environment.update({"ANNEX_GEN_MAIL_FROM": "legal@liana.example", **(env or {})})
    return subprocess.run([sys.executable, "-m", "annex_gen", "--registry", str(REGISTRY_DIR), "send", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=environment)


def customers(tmp_path: Path, *, language: str = "fi", email: str = "dpo@oljy-sahko.example") -> Path:
    return build_file_tree(tmp_path / "customers", {"oljy-sahko.yaml": CONTRACT.format(email=email,
                                                                                       language=language)})


@pytest.fixture
def archive_of(backend, monkeypatch):
    """The archive location the commands use (directory or database), through $ANNEX_GEN_ARCHIVE."""
    monkeypatch.setenv("ANNEX_GEN_ARCHIVE", backend.location)
    return backend.location


def test_send_delivers_the_pdf_and_records_the_message(tmp_path, smtp_server, archive_of):  # noqa: F811
    folder = customers(tmp_path, language="en")
    proc = send(tmp_path, str(folder), "--smtp", smtp_server.url, "--docx", env={"ANNEX_GEN_ARCHIVE": archive_of})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    (received,) = smtp_server.received
    message = received.message
    assert received.recipients == ["dpo@oljy-sahko.example"] and received.sender == "legal@liana.example"
    # the registry is no approved release here: a draft, sent for review, says so
    subject = "DRAFT for review – annex to the data processing agreement: sub-processors (ANX-"
    assert message["Subject"].startswith(subject)
    names = [part.get_filename() for part in message.iter_attachments()]
    document_id = names[0].removesuffix(".pdf")
    assert names == [f"{document_id}.pdf", f"{document_id}.docx"]
    pdf = next(message.iter_attachments()).get_content()
    assert pdf == (tmp_path / "output" / "oljy-sahko" / f"{document_id}.pdf").read_bytes()
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert "Öljy ja Sähkö Oy" in doc.pages[0].extract_text()
    text = message.get_body(("plain",)).get_content()
    assert f"document ID {document_id}" in text and "is not for signature" in text and "Please sign" not in text
    assert proc.stdout.splitlines() == [
        f"oljy-sahko: sent to dpo@oljy-sahko.example: {message['Subject']}",
        f"  Message-ID {message['Message-ID']}; server: 250 2.0.0 Ok: queued as TEST1",
        "1 of 1 message accepted by the server",
    ]
    events = open_event_log(archive_of).events("oljy-sahko")
    assert [e.kind for e in events] == ["annex generated", "message queued", "message delivered"]
    queued, delivered = events[1], events[2]
    assert queued.data["message_id"] == message["Message-ID"] and queued.data["document_id"] == document_id
    assert queued.data["recipient"] == "dpo@oljy-sahko.example" and queued.data["status"] == "draft"
    assert delivered.data["reply"] == "250 2.0.0 Ok: queued as TEST1" and delivered.data["queued"] == queued.seq
    stored = open_event_log(archive_of).blob(queued.data["eml_sha256"])
    assert body_of(stored) == body_of(received.data)
    assert open_event_log(archive_of).check().problems == []

    again = send(tmp_path, str(folder), "--smtp", smtp_server.url, "--docx")
    assert again.returncode == 0, again.stderr
    first, second = smtp_server.received
    assert first.message["Message-ID"] != second.message["Message-ID"]
    assert body_of(first.data) == body_of(second.data)  # deterministic body, new Message-ID


def test_a_refused_message_is_kept_and_retried(tmp_path, smtp_server):  # noqa: F811
    folder = customers(tmp_path)
    smtp_server.mailbox.refuse.add("dpo@oljy-sahko.example")
    proc = send(tmp_path, str(folder), "--smtp", smtp_server.url)
    assert proc.returncode == 1
    refused = "oljy-sahko: NOT SENT to dpo@oljy-sahko.example: LUONNOS tarkastettavaksi – tietojenkäsittelysopimuksen"
    assert refused in proc.stdout
    assert "server: 550 5.1.1 mailbox unavailable" in proc.stdout
    assert proc.stderr == ("annex-gen: 1 message not delivered and kept: `annex-gen send --retry` "
                           "tries again\n")
    assert smtp_server.received == []
    smtp_server.mailbox.refuse.clear()
    retried = send(tmp_path, "--retry", "--smtp", smtp_server.url)
    assert retried.returncode == 0, retried.stderr
    (received,) = smtp_server.received
    events = open_event_log(tmp_path / "archive").events()
    assert [e.kind for e in events] == ["annex generated", "message queued", "message failed", "message delivered"]
    assert received.message["Message-ID"] == events[1].data["message_id"]
    assert events[2].data["reply"] == "550 5.1.1 mailbox unavailable"
    nothing = send(tmp_path, "--retry", "--smtp", smtp_server.url)
    assert nothing.returncode == 0 and nothing.stdout == "nothing to retry: every message was delivered\n"


def test_a_server_that_cannot_be_reached_is_a_failed_delivery_not_a_loss(tmp_path):
    from browser_support import free_port

    folder = customers(tmp_path)
    proc = send(tmp_path, str(folder), "--smtp", f"smtp://127.0.0.1:{free_port()}")
    assert proc.returncode == 1 and "NOT SENT" in proc.stdout and "cannot connect" in proc.stdout
    (pending,) = [e for e in open_event_log(tmp_path / "archive").events() if e.kind == "message queued"]
    assert pending.data["recipient"] == "dpo@oljy-sahko.example"


def test_starttls_required_refuses_a_server_without_it(tmp_path, smtp_server):  # noqa: F811
    folder = customers(tmp_path)
    proc = send(tmp_path, str(folder), "--smtp", smtp_server.url + "?starttls=required")
    assert proc.returncode == 1
    assert "does not offer STARTTLS, which ?starttls=required asks for; nothing was sent" in proc.stdout
    assert smtp_server.received == []


def test_bad_input_sends_nothing(tmp_path, smtp_server):  # noqa: F811
    no_email = build_file_tree(tmp_path / "c", {"a.yaml": CONTRACT.replace("  contact_email: {email}\n", "")
                                                .format(language="fi")})
    proc = send(tmp_path, str(no_email), "--smtp", smtp_server.url)
    assert proc.returncode == 1
    assert "customer oljy-sahko has no contact_email to send the annex to" in proc.stderr
    assert proc.stderr.endswith("annex-gen: 1 error; nothing was sent\n") and "Traceback" not in proc.stderr
    secret = send(tmp_path, str(no_email), "--smtp", "smtp://me:hunter2@127.0.0.1:25")
    assert secret.returncode == 2 and "must not carry a user or password" in secret.stderr
    assert "hunter2" not in secret.stderr
    none = send(tmp_path, str(no_email))
    assert none.returncode == 2 and "no SMTP server: pass --smtp" in none.stderr
    chosen = send(tmp_path, str(no_email), "--customer", "oljy-sahko", "--smtp", smtp_server.url)  # not a filter here
    assert chosen.returncode == 2 and "--customer chooses one customer's notice from a notices folder" in chosen.stderr
    assert smtp_server.received == [] and not (tmp_path / "archive").exists()


def test_a_notices_folder_sends_each_notice_with_its_annex(tmp_path, smtp_server):  # noqa: F811
    new = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", new)
    add_mailer_entry(new)
    contract = (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8")
    build_file_tree(tmp_path / "customers", {"esimerkki-oy.yaml": contract})
    if "contact_email" not in contract:
        path = tmp_path / "customers" / "esimerkki-oy.yaml"
        path.write_text(contract.replace("  name:", "  contact_email: tietosuoja@esimerkki.example\n  name:", 1),
                        encoding="utf-8")
    notices = tmp_path / "notices"

    def write_notices(dated: dt.date = TODAY) -> None:
        shutil.rmtree(notices, ignore_errors=True)
        made = subprocess.run([sys.executable, "-m", "annex_gen", "notices", "--from", str(REGISTRY_DIR), "--to",
                               str(new), "--notice-date", dated.isoformat(), "--out", str(notices),
                               str(tmp_path / "customers")], capture_output=True, text=True, cwd=tmp_path,
                              timeout=300)
        assert made.returncode == 0, made.stderr

    write_notices()  # from content legal has not approved: its annexes are drafts, and nothing is sent
    draft = send(tmp_path, str(notices), "--smtp", smtp_server.url)
    assert draft.returncode == 1 and smtp_server.received == []
    assert "is a DRAFT: these notices were written from registry content legal had not approved" in draft.stderr
    approve_release(new, tmp_path / "archive")
    yesterday = TODAY - dt.timedelta(days=1)
    write_notices(yesterday)  # sent a day late, it would give a day less than it states: not sent
    late = send(tmp_path, str(notices), "--smtp", smtp_server.url)
    assert late.returncode == 1 and smtp_server.received == []
    assert f"is dated {yesterday}; sent today ({TODAY}) it would give less notice" in late.stderr
    write_notices()
    proc = send(tmp_path, str(notices), "--smtp", smtp_server.url)
    assert proc.returncode == 0, proc.stderr
    (received,) = smtp_server.received
    message = received.message
    assert message["Subject"].startswith("Ilmoitus alikäsittelijöiden muutoksista (NTC-")
    names = [p.get_filename() for p in message.iter_attachments()]
    assert names[0].startswith("NTC-") and names[1].startswith("ANX-") and len(names) == 2
    text = message.get_body(("plain",)).get_content()
    effective = TODAY + dt.timedelta(days=30)
    assert f"Muutokset tulevat voimaan {effective.day}.{effective.month}.{effective.year}" in text
    (queued,) = [e for e in open_event_log(tmp_path / "archive").events() if e.kind == "message queued"]
    assert queued.data["purpose"] == "notice" and queued.data["notice_date"] == TODAY.isoformat()
    assert queued.data["objection_deadline"] == (TODAY + dt.timedelta(days=15)).isoformat()  # the notice terms


def test_starttls_and_a_login_from_a_password_file(tmp_path):
    from smtp_support import SmtpServer

    server = SmtpServer(tls_folder=tmp_path, users={"annex-gen": "s3cret pass"}).start()
    try:
        folder = customers(tmp_path)
        secret = tmp_path / "smtp-password"
        secret.write_text("s3cret pass\n", encoding="utf-8")
        env = {"ANNEX_GEN_SMTP_USER": "annex-gen", "ANNEX_GEN_SMTP_PASSWORD_FILE": str(secret),
               "ANNEX_GEN_SMTP_CA_FILE": str(server.ca_file)}
        proc = send(tmp_path, str(folder), "--smtp", server.url + "?starttls=required", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (received,) = server.received
        assert received.recipients == ["dpo@oljy-sahko.example"]
        untrusted = send(tmp_path, str(folder), "--smtp", server.url, env={**env, "ANNEX_GEN_SMTP_CA_FILE": ""})
        assert untrusted.returncode == 1 and "TLS failed" in untrusted.stdout
        assert len(server.received) == 1
    finally:
        server.stop()


def test_one_customers_notice_is_sent_alone_from_a_notices_folder(tmp_path, smtp_server):  # noqa: F811
    new = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", new)
    add_mailer_entry(new)
    other = (EXAMPLES_DIR / "kauppahuone-aalto.yaml").read_text(encoding="utf-8")
    build_file_tree(tmp_path / "customers", {
        "esimerkki-oy.yaml": (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8"),
        "kauppahuone-aalto.yaml": "\n".join(line for line in other.splitlines() if "contact_email" not in line),
    })
    notices = tmp_path / "notices"
    approve_release(new, tmp_path / "archive")
    made = subprocess.run([sys.executable, "-m", "annex_gen", "notices", "--from", str(REGISTRY_DIR), "--to",
                           str(new), "--notice-date", TODAY.isoformat(), "--out", str(notices),
                           str(tmp_path / "customers")], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert made.returncode == 0, made.stderr
    every = send(tmp_path, str(notices), "--smtp", smtp_server.url)  # one of the two has no address: nothing sent
    assert every.returncode == 1 and "kauppahuone-aalto" in every.stderr and smtp_server.received == []
    typo = send(tmp_path, str(notices), "--customer", "esimerki-oy", "--smtp", smtp_server.url)
    assert typo.returncode == 2 and "no notice for customer 'esimerki-oy'; did you mean 'esimerkki-oy'?" in typo.stderr
    contract = send(tmp_path, str(EXAMPLES_DIR / "esimerkki-oy.yaml"), "--customer", "esimerkki-oy",
                    "--smtp", smtp_server.url)  # a contract is named, not chosen
    assert contract.returncode == 2 and "name only that customer's contract file" in contract.stderr
    one = send(tmp_path, str(notices), "--customer", "esimerkki-oy", "--smtp", smtp_server.url)
    assert one.returncode == 0, one.stderr
    (received,) = smtp_server.received
    assert received.message["To"] == "it@esimerkki.fi"
    assert received.message["Subject"].startswith("Ilmoitus alikäsittelijöiden muutoksista (NTC-")
    queued = [e for e in open_event_log(tmp_path / "archive").events() if e.kind == "message queued"]
    assert [e.customer_id for e in queued] == ["esimerkki-oy"]
    again = send(tmp_path, str(notices), "--customer", "esimerkki-oy", "--smtp", smtp_server.url)  # a notice goes once
    assert again.returncode == 2 and "the notice was sent before (esimerkki-oy)" in again.stderr
    assert len(smtp_server.received) == 1
