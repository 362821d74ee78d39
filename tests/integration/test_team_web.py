"""A team deployment end to end: one PostgreSQL, two `serve` instances on two ports, two workers.

A contract saved through one instance is seen and edited through the other; a change run started
from one instance's Changes page is followed from the other while a worker is killed with
SIGKILL; the documents it stored equal, byte for byte, a local batch of the same contracts.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx2
from batch_support import cli, make_contracts
from team_support import RENDERING, Worker, files_of, migrated, query, wait_for

from browser_support import Server
from web_support import csrf

CONTRACTS = 30
english = {"Accept-Language": "en"}


def _digest(client: httpx2.Client, customer_id: str) -> str:
    page = client.get(f"/customers/{customer_id}/edit")
    assert page.status_code == 200, page.text
    return re.search(r'name="digest" value="([0-9a-f]+)"', page.text).group(1)


def test_two_instances_share_contracts_and_a_run_survives_a_killed_worker(tmp_path: Path, postgres_server) -> None:
    url = migrated(postgres_server)
    make_contracts(tmp_path / "folder", CONTRACTS)
    imported = cli("contracts", "import", tmp_path / "folder", "--archive", url, "--by", "maija")
    assert imported.returncode == 0 and f"{CONTRACTS} contracts saved" in imported.stdout
    empty = tmp_path / "ignored"  # with a team database, --customers is not read
    empty.mkdir()
    a = Server(empty, tmp_path / "a" / "output", "--archive", url)
    b = Server(empty, tmp_path / "b" / "output", "--archive", url, "--state", str(tmp_path / "b" / "state"))
    workers: list[Worker] = []
    try:
        with httpx2.Client(base_url=a.url, timeout=60) as via_a, httpx2.Client(base_url=b.url, timeout=60) as via_b:
            assert "c000" in via_a.get("/customers").text and "c029" in via_b.get("/customers").text
            # Saved through A, seen through B.
            new = {"csrf_token": csrf(via_a), "action": "save", "name": "Uusi Oy", "customer_id": "uusi-oy",
                   "date": "2026-11-30", "region": "eu", "language": "fi", "products": ["mailer"]}
            assert via_a.post("/customers/new", data=new).status_code == 303
            assert "Uusi Oy" in via_b.get("/customers").text
            # Edited through B, seen through A; A's form opened before the edit is refused.
            stale = _digest(via_a, "uusi-oy")
            edit = {**new, "csrf_token": csrf(via_b), "products": ["mailer", "automation"],
                    "digest": _digest(via_b, "uusi-oy")}
            assert via_b.post("/customers/uusi-oy/edit", data=edit).status_code == 303
            assert re.search(r'value="automation"[^>]*checked', via_a.get("/customers/uusi-oy/edit").text)
            refused = via_a.post("/customers/uusi-oy/edit", data={**edit, "csrf_token": csrf(via_a), "digest": stale,
                                                                  "products": ["cms"]})
            assert refused.status_code == 409 and "Nothing was saved" in refused.text
            assert (tmp_path / "b" / "state" / "contracts" / "uusi-oy.yaml").is_file()  # B's working copy

            # A change run started from A, followed from B, one worker killed mid-job.
            workers = [Worker(url, tmp_path / "w1.log", "w1"), Worker(url, tmp_path / "w2.log", "w2")]
            assert via_a.post("/changes/batch", data={"csrf_token": csrf(via_a, "/changes")}).status_code == 303
            wait_for(lambda: via_b.get("/changes/batch/progress").json()["generated"] >= 3
                     and query(url, RENDERING)[0][0] == 2, 240, "both workers rendering")
            workers[0].kill()
            progress = wait_for(lambda: (p := via_b.get("/changes/batch/progress").json())["state"] == "finished" and p,
                                300, "the run to finish")
            assert (progress["total"], progress["generated"], progress["failed"]) == (CONTRACTS + 1, CONTRACTS + 1, 0)
            assert via_a.get("/changes/batch/progress").json() == progress  # the same run, from either instance
            page = via_b.get("/changes/batch")
            assert page.status_code == 200 and "100" in page.text
            audit = via_b.get("/audit").text
            assert "batch run" in audit and "annexes to generate" in audit  # the audit log is the database's too
            # Each instance copies the stored documents into its output folder: every annex is current on
            # both, and a download is the stored document, not a render of its own.
            for client in (via_a, via_b):
                wait_for(lambda c=client: "never generated" not in c.get("/customers", headers=english).text,
                         60, "every annex current")
            pdf = via_b.get("/customers/uusi-oy/download/pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
            (stored,) = [d for d in query(url, "SELECT document_id FROM annex_team.documents WHERE customer_id = "
                                               "'uusi-oy'")]
            assert stored[0] in pdf.headers["content-disposition"]
            again = via_b.post("/changes/batch", data={"csrf_token": csrf(via_b, "/changes")})
            assert again.status_code == 303  # nothing changed since: a run with nothing to render
            assert wait_for(lambda: via_a.get("/changes/batch/progress").json()["unchanged"] == CONTRACTS + 1, 60,
                            "the second run")
    finally:
        for w in workers:
            w.stop()
        a.stop()
        b.stop()
    assert "queued again" in (tmp_path / "w2.log").read_text()
    retried = query(url, "SELECT count(*) FROM annex_team.run_items WHERE run_id = 1 AND attempts > 1")[0][0]
    assert retried >= 1 or "done already" in (tmp_path / "w2.log").read_text()
    history = cli("contracts", "history", "uusi-oy", "--archive", url)
    assert history.returncode == 0 and len(history.stdout.splitlines()) == 2 and "local" in history.stdout
    # The run's documents equal a local batch of the same contracts, byte for byte.
    assert cli("contracts", "export", tmp_path / "exported", "--archive", url).returncode == 0
    assert cli("documents", "export", tmp_path / "team", "--archive", url).returncode == 0
    local = cli("batch", tmp_path / "exported", "--out", tmp_path / "local", "--plain")
    assert local.returncode == 0, local.stderr
    team, single = files_of(tmp_path / "team"), files_of(tmp_path / "local")
    assert len(single) == 2 * (CONTRACTS + 1) and team.keys() == single.keys()
    assert [name for name in team if team[name] != single[name]] == []
    assert (tmp_path / "b" / "output" / "uusi-oy" / f"{stored[0]}.pdf").read_bytes() == pdf.content
    assert pdf.content == team[f"uusi-oy/{stored[0]}.pdf"]
