"""Sending by e-mail as jobs on a team's queue: planned where started, sent by workers through a real SMTP server,
one worker killed with SIGKILL; the server receives what a local send gives it, each message once."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

from batch_support import cli
from team_support import Worker, migrated, query, wait_for

from annex_gen.lifecycle.events import open_event_log
from smtp_support import Mailbox, Received, SmtpServer, smtp_server  # noqa: F401 - fixture

FROM = {"ANNEX_GEN_MAIL_FROM": "legal@liana.example"}


def contracts(folder: Path, n: int, *, refused: int | None = None) -> Path:
    """n contracts with a contact address each (customer `refused` gets one the server refuses)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        email = "nobody@refused.example" if i == refused else f"dpo@c{i:03d}.example"
        (folder / f"c{i:03d}.yaml").write_text(
            f"customer: {{id: c{i:03d}, name: Customer {i} Oy, contact_email: {email}}}\n"
            f"contract: {{date: 2026-12-01, region: eu, language: {'fi' if i % 2 else 'en'}, products: [mailer]}}\n",
            encoding="utf-8")
    return folder


class SlowMailbox(Mailbox):
    """A mailbox that takes its time over each recipient, so a worker is killed before the message is sent;
    `waiting` holds when each recipient now being taken its time over arrived."""

    delay = 1.5  # most of a message's time: both workers are in it together, each for long enough

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, float] = {}

    def all_waiting_since(self, count: int, seconds: float) -> bool:
        """Whether count recipients are being waited over, each for at most seconds (so for a while yet)."""
        now = time.monotonic()
        return len(self.waiting) == count and all(now - t < seconds for t in list(self.waiting.values()))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        self.waiting[id(session)] = time.monotonic()
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.waiting.pop(id(session), None)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql)


def serve(mailbox: Mailbox | None = None) -> SmtpServer:
    server = SmtpServer()
    if mailbox is not None:
        server.mailbox = server.controller.handler = mailbox
    return server.start()


def shape(received: list[Received]) -> list[tuple]:
    """What a recipient gets, without the Message-ID and Date: sender, recipients, subject, attachments' bytes."""
    out = []
    for r in received:
        m = r.message
        out.append((r.sender, tuple(r.recipients), m["Subject"], m.get_body(("plain",)).get_content(),
                    tuple((a.get_filename(), a.get_content()) for a in m.iter_attachments())))
    return sorted(out)


def test_send_queued_equals_a_local_send_and_survives_a_killed_worker(tmp_path: Path, postgres_server,
                                                                      monkeypatch) -> None:
    url = migrated(postgres_server)
    folder = contracts(tmp_path / "contracts", 8)
    mailbox = SlowMailbox()
    server = serve(mailbox)
    try:
        queued = cli("send", "--archive", url, "--out", tmp_path / "out", "--docx", "--detach", folder, env=FROM)
        assert queued.returncode == 0, queued.stderr
        assert queued.stdout.startswith("run 1: 8 messages to send by the workers")
        assert query(url, "SELECT kind, total, to_render FROM annex_team.runs") == [("send", 8, 8)]
        assert query(url, "SELECT count(*) FROM annex_queue.procrastinate_jobs WHERE status = 'todo'") == [(8,)]
        # Planned here: the annexes generated and recorded; nothing queued in the log, nothing sent yet.
        kinds = [e.kind for e in open_event_log(url).events()]
        assert kinds == ["annex generated"] * 8 and server.received == []

        monkeypatch.setenv("ANNEX_GEN_SMTP", server.url)  # the workers' own SMTP settings
        first = Worker(url, tmp_path / "w1.log", "w1")
        second = Worker(url, tmp_path / "w2.log", "w2")
        try:
            doing = "SELECT count(*) FROM annex_queue.procrastinate_jobs WHERE status = 'doing'"
            # both workers in the slow RCPT of a message, each with at least 0.6 s of it left: the kill lands
            # before its DATA (with RCPT most of a message's time, that moment comes whatever their phase)
            wait_for(lambda: len(server.received) >= 1 and query(url, doing)[0][0] == 2
                     and mailbox.all_waiting_since(2, 0.9), 120, "both workers sending")
            held = query(url, "SELECT (args ->> 'position')::int FROM annex_queue.procrastinate_jobs "
                              "WHERE status = 'doing'")
            first.kill()
            wait_for(lambda: query(url, "SELECT finished_at FROM annex_team.runs WHERE id = 1")[0][0], 120,
                     "the send run to finish with one worker")
        finally:
            first.stop()
            assert second.stop() == 0
        assert "was held by a worker that stopped; queued again" in (tmp_path / "w2.log").read_text()
        assert dict(query(url, "SELECT status, count(*) FROM annex_team.run_items GROUP BY status")) == {
            "generated": 8}
        planned = {r[0] for r in query(url, "SELECT document_id FROM annex_team.run_items")}
        ids = collections.Counter(r.message["Message-ID"] for r in server.received)
        assert set(ids) == planned
        # Each message once; a kill after the server accepted a message and before the worker recorded it would
        # send that one message again (same Message-ID): the slow RCPT puts the kill before DATA instead.
        assert [m for m, n in ids.items() if n > 1] == [], (held, ids)
        events = open_event_log(url).events()
        assert collections.Counter(e.kind for e in events) == {"annex generated": 8, "message queued": 8,
                                                               "message delivered": 8}
        assert open_event_log(url).check().problems == []
        assert {e.data["message_id"] for e in events if e.kind == "message delivered"} == planned
        team = list(server.received)

        # The same messages as a local send gives the server (recipients, subjects, texts, attachments' bytes).
        local_server = serve()
        try:
            local = cli("send", "--archive", tmp_path / "local-archive", "--smtp", local_server.url, "--out",
                        tmp_path / "local-out", "--docx", folder, env=FROM)
            assert local.returncode == 0, local.stderr
            assert shape(local_server.received) == shape(team)
            assert len(local_server.received) == 8
        finally:
            local_server.stop()

    finally:
        server.stop()


def test_send_followed_refused_retried_and_jobs_run_twice(tmp_path: Path, postgres_server, monkeypatch,
                                                         smtp_server) -> None:  # noqa: F811
    url = migrated(postgres_server)
    folder = contracts(tmp_path / "contracts", 3, refused=1)
    smtp_server.mailbox.refuse.add("nobody@refused.example")
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    worker = Worker(url, tmp_path / "w.log", "w")
    try:
        followed = cli("send", "--archive", url, "--out", tmp_path / "out", folder, env=FROM)
    finally:
        assert worker.stop() == 0
    assert followed.returncode == 1, followed.stderr
    lines = followed.stdout.splitlines()
    assert lines[-1] == "2 of 3 messages accepted by the server"
    assert sorted(line.split(":")[0] for line in lines if not line.startswith(" ") and ": " in line
                  and " accepted by the server" not in line) == ["c000", "c001", "c002"]
    assert "c001: NOT SENT to nobody@refused.example" in followed.stdout
    assert "550 5.1.1 mailbox unavailable" in followed.stdout
    assert "annex-gen send --retry" in followed.stderr
    assert len(smtp_server.received) == 2
    runs = cli("runs", "--archive", url)
    assert "run 1 (sending): 3/3 done (2 sent, 1 not delivered, 0 queued)" in runs.stdout, runs.stdout

    # Every job of the run queued again: nothing is sent twice.
    from annex_gen.team.queue import defer_items

    defer_items(url, 1, [0, 1, 2])
    assert cli("worker", "--archive", url, "--once").returncode == 0
    assert len(smtp_server.received) == 2
    # The refused message is kept as not delivered: `send --retry` sends it (same Message-ID) once allowed.
    smtp_server.mailbox.refuse.clear()
    retried = cli("send", "--retry", "--archive", url, "--smtp", smtp_server.url, env=FROM)
    assert retried.returncode == 0, retried.stderr
    assert "c001: sent to nobody@refused.example" in retried.stdout
    assert len(smtp_server.received) == 3
    refused_id = query(url, "SELECT document_id FROM annex_team.run_items WHERE customer_id = 'c001'")[0][0]
    assert smtp_server.received[-1].message["Message-ID"] == refused_id

    # While a send run is unfinished, --retry waits: it could send again a message a worker is sending.
    detached = cli("send", "--archive", url, "--out", tmp_path / "out", folder / "c000.yaml", "--detach", env=FROM)
    assert detached.returncode == 0 and detached.stdout.startswith("run 2: 1 message"), detached.stderr
    early = cli("send", "--retry", "--archive", url, "--smtp", smtp_server.url, env=FROM)
    assert early.returncode == 2 and "the workers are still sending run 2" in early.stderr
    assert cli("worker", "--archive", url, "--once").returncode == 0
    assert len(smtp_server.received) == 4 and smtp_server.received[-1].recipients == ["dpo@c000.example"]

    # --smtp is the workers' business on a team's database; --detach needs one.
    smtp = cli("send", "--archive", url, "--smtp", smtp_server.url, "--out", tmp_path / "out", folder, env=FROM)
    assert smtp.returncode == 2 and "the workers send, each with its own SMTP server" in smtp.stderr
    lone = cli("send", "--archive", tmp_path / "dir-archive", "--detach", "--out", tmp_path / "out", folder,
               env={**FROM, "ANNEX_GEN_SMTP": smtp_server.url})
    assert lone.returncode == 2 and "--detach needs --archive URL" in lone.stderr


def test_the_send_page_of_a_team_instance_queues_the_run_and_follows_it(tmp_path: Path, postgres_server, monkeypatch,
                                                                        smtp_server) -> None:  # noqa: F811
    from starlette.testclient import TestClient

    from annex_gen.web import Settings, create_app
    from web_support import csrf

    url = migrated(postgres_server)
    assert cli("contracts", "import", contracts(tmp_path / "contracts", 2), "--archive", url).returncode == 0
    monkeypatch.setenv("ANNEX_GEN_MAIL_FROM", "legal@liana.example")
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    settings = Settings(registry_dir=Path("registry").resolve(), customers_dir=tmp_path / "web" / "contracts",
                        out_dir=tmp_path / "web" / "output", archive=url, team_url=url)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as web:
        sent = web.post("/customers/c001/send", data={"csrf_token": csrf(web, "/customers/c001/send"),
                                                      "formats": "pdf+docx"})
        assert sent.status_code == 303 and sent.headers["location"] == "/send/runs/1?customer=c001", sent.text
        assert smtp_server.received == []  # queued: the workers send
        waiting = web.get(sent.headers["location"], headers={"Accept-Language": "en"})
        assert waiting.status_code == 200 and "Sending by e-mail" in waiting.text
        assert "Messages done: 0 of 1; 0 sent, 0 not delivered" in waiting.text
        assert 'data-batch-progress="/send/runs/1/progress"' in waiting.text
        assert 'href="/send/runs/1?customer=c001"' in waiting.text
        assert 'href="/customers/c001/timeline"' in waiting.text
        assert 'href="/customers/' not in web.get("/send/runs/1?customer=%3Cb%3E").text
        early = web.post("/customers/c001/retry", data={"csrf_token": csrf(web, "/customers/c001/timeline")},
                         headers={"Accept-Language": "en"})
        assert early.status_code == 400 and "The workers are still sending run 1" in early.text
        assert cli("worker", "--archive", url, "--once").returncode == 0
        assert web.get("/send/runs/1/progress").json()["state"] == "finished"
        done = web.get("/send/runs/1", headers={"Accept-Language": "fi"})
        assert "1/1 viestiä valmiina: 1 lähetetty, 0 ei toimitettu" in done.text
        (received,) = smtp_server.received
        assert received.recipients == ["dpo@c001.example"]
        assert [a.get_filename().rsplit(".", 1)[1] for a in received.message.iter_attachments()] == ["pdf", "docx"]
        timeline = web.get("/customers/c001/timeline", headers={"Accept-Language": "en"})
        assert timeline.status_code == 200 and received.message["Message-ID"].strip("<>") in timeline.text
        assert web.get("/send/runs/7").status_code == 404
        assert web.get("/send/runs/x/progress").status_code == 404


def test_a_worker_killed_mid_send_leaves_what_the_next_job_finishes(tmp_path: Path, postgres_server, monkeypatch,
                                                                    smtp_server) -> None:  # noqa: F811
    import base64
    import json

    url = migrated(postgres_server)
    folder = contracts(tmp_path / "contracts", 3)
    assert cli("send", "--archive", url, "--out", tmp_path / "out", "--detach", folder, env=FROM).returncode == 0
    rows = query(url, "SELECT position, customer_id, annex FROM annex_team.run_items ORDER BY position")
    log = open_event_log(url)
    # Row 0: its worker died after recording "message queued" (the server may or may not have it).
    _, cid, payload = rows[0]
    message = json.loads(payload)
    crashed = log.append("message queued", cid, "maija", message["queued"], blobs=[base64.b64decode(message["eml"])])
    execute(url, "UPDATE annex_team.run_items SET attempts = 1 WHERE position = 0")
    # Row 1: its workers died three times already: not sent by the queue, kept for `send --retry`.
    execute(url, "UPDATE annex_team.run_items SET attempts = 3 WHERE position = 1")
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    assert cli("worker", "--archive", url, "--once").returncode == 0
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["dpo@c000.example", "dpo@c002.example"]
    events = open_event_log(url).events()
    queued = [e for e in events if e.kind == "message queued"]
    assert len(queued) == 3 and queued[0].seq == crashed.seq  # the crashed attempt's record is reused
    delivered = {e.data["queued"] for e in events if e.kind == "message delivered"}
    assert crashed.seq in delivered and len(delivered) == 2
    assert query(url, "SELECT position, status, detail FROM annex_team.run_items WHERE status = 'failed'") == [
        (1, "failed", "its worker stopped 3 times while sending it; `annex-gen send --retry` sends it again")]
    retried = cli("send", "--retry", "--archive", url, "--smtp", smtp_server.url, env=FROM)
    assert retried.returncode == 0 and "c001: sent to dpo@c001.example" in retried.stdout, retried.stdout
    assert len(smtp_server.received) == 3
    assert len({r.message["Message-ID"] for r in smtp_server.received}) == 3


def test_a_notice_is_queued_once_even_before_a_worker_sends_it(tmp_path: Path, postgres_server,
                                                               smtp_server) -> None:  # noqa: F811
    import datetime as dt
    import shutil

    from batch_support import ROOT, add_mailer_entry

    from archive_support import approve_release
    from conftest import EXAMPLES_DIR, REGISTRY_DIR

    url = migrated(postgres_server)
    new = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", new)
    add_mailer_entry(new)
    customers = tmp_path / "customers"
    customers.mkdir()
    shutil.copy(EXAMPLES_DIR / "esimerkki-oy.yaml", customers)
    approve_release(new, tmp_path / "archive")  # the notices are written on one machine from approved content
    notices = tmp_path / "notices"
    written = cli("notices", "--from", REGISTRY_DIR, "--to", new, "--notice-date", dt.date.today().isoformat(),
                  "--out", notices, "--archive", tmp_path / "archive", customers)
    assert written.returncode == 0, written.stderr
    first = cli("send", notices, "--archive", url, "--registry", new, "--detach", env=FROM)
    assert first.returncode == 0 and first.stdout.startswith("run 1: 1 message"), first.stderr
    again = cli("send", notices, "--archive", url, "--registry", new, "--detach", env=FROM)  # no worker yet
    assert again.returncode == 2 and "the notice was sent before (esimerkki-oy)" in again.stderr
    assert cli("worker", "--archive", url, "--once", env={"ANNEX_GEN_SMTP": smtp_server.url}).returncode == 0
    (received,) = smtp_server.received
    assert received.message["Subject"].startswith("Ilmoitus alikäsittelijöiden muutoksista (NTC-")
    after = cli("send", notices, "--archive", url, "--registry", new, "--detach", env=FROM)
    assert after.returncode == 2 and "the notice was sent before (esimerkki-oy)" in after.stderr
