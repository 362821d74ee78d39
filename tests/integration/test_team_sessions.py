"""Two `serve` instances on two ports, on two copies of the users file (as on two machines), one database:
an upload read back on one is stored from the other, signing out or a new password on either ends the
session on both, and failed sign-ins on one count on the other."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx2
from batch_support import cli, command
from team_support import migrated, query

from annex_gen import app
from archive_support import annex_pdf, example_annex, sign
from browser_support import Server
from legal_web_support import example_contracts
from web_support import PASSWORD, csrf

CUSTOMER = "kauppahuone-aalto"
NEW_PASSWORD = "a brand new password"
ENGLISH = {"Accept-Language": "en"}


def _login(client: httpx2.Client, base: str, name: str, password: str = PASSWORD) -> httpx2.Response:
    return client.post(f"{base}/login", data={"name": name, "password": password, "next": "/",
                                              "csrf_token": csrf(client, f"{base}/login")})


def _copy(client: httpx2.Client) -> httpx2.Client:
    """A second browser holding the same session cookie."""
    other = httpx2.Client(follow_redirects=False, timeout=60, headers=ENGLISH)
    other.cookies.update(client.cookies)
    return other


def test_two_instances_share_uploads_sign_outs_and_the_throttle(tmp_path: Path, postgres_server, monkeypatch) -> None:
    url = migrated(postgres_server)
    customers = example_contracts(tmp_path / "customers", CUSTOMER)
    assert cli("contracts", "import", customers, "--archive", url, "--by", "maija").returncode == 0
    users_a, users_b = tmp_path / "a" / "users.yaml", tmp_path / "b" / "users.yaml"
    app.add_user(users_a, "maija", "admin", PASSWORD)
    app.add_user(users_a, "ville", "legal", PASSWORD)
    users_b.parent.mkdir(parents=True)
    shutil.copy2(users_a, users_b)  # each machine has its own copy of the same file
    monkeypatch.setenv("ANNEX_GEN_SECRET_KEY", "the key every instance shares")
    signed = sign(annex_pdf(CUSTOMER), signer="Aalto Legal")
    annex = example_annex(CUSTOMER)
    empty = tmp_path / "ignored"
    empty.mkdir()
    servers = [Server(empty, tmp_path / side / "output", "--archive", url, "--users", str(users),
                      "--state", str(tmp_path / side / "state")) for side, users in (("a", users_a), ("b", users_b))]
    a, b = (s.url for s in servers)
    try:
        with httpx2.Client(follow_redirects=False, timeout=60, headers=ENGLISH) as browser:
            assert _login(browser, a, "maija").status_code == 303
            # Read back on A, stored from B.
            review = browser.post(f"{a}/archive/upload", data={"csrf_token": csrf(browser, f"{a}/archive"),
                                                               "customer": CUSTOMER},
                                  files={"file": ("signed.pdf", signed, "application/pdf")})
            assert review.status_code == 200 and annex.document_id in review.text
            token = re.search(r'name="token" value="([0-9a-f]{64})"', review.text).group(1)
            assert query(url, "SELECT name, size, staged_by FROM annex_team.uploads") == \
                [("signed.pdf", len(signed), "maija")]
            assert not (tmp_path / "b" / "state" / ".incoming" / token).exists()
            stored = browser.post(f"{b}/archive/store", data={"csrf_token": csrf(browser, f"{b}/archive"),
                                                              "token": token, "customer": CUSTOMER, "action": "store"})
            assert stored.status_code == 303, stored.text
            assert stored.headers["location"].startswith(f"/customers/{CUSTOMER}/timeline")
            (record,) = app.archive_records(url)
            assert (record.customer_id, record.document_id) == (CUSTOMER, annex.document_id)
            assert app.archive_file(url, record.seq)[1] == signed
            assert query(url, "SELECT count(*) FROM annex_team.uploads")[0][0] == 0
            assert not (tmp_path / "b" / "state" / ".incoming" / token).exists()
            again = browser.post(f"{a}/archive/store", data={"csrf_token": csrf(browser, f"{a}/archive"),
                                                             "token": token, "customer": CUSTOMER, "action": "store"})
            assert again.status_code == 400 and "no longer waiting to be archived" in again.text
            assert not (tmp_path / "a" / "state" / ".incoming" / token).exists()  # A's copy went with it

            # Signed in on A, signed out on B: the same cookie opens nothing on A either.
            with _copy(browser) as copy:
                assert copy.get(f"{a}/customers").status_code == 200
                assert browser.post(f"{b}/logout", data={"csrf_token": csrf(browser, f"{b}/customers")}
                                    ).status_code == 303
                for base in (a, b):
                    assert copy.get(f"{base}/customers").status_code == 303
            # Signed in on B, a new password set with `annex-gen users` on machine A's file: ended on B.
            assert _login(browser, b, "maija").status_code == 303
            assert browser.get(f"{a}/customers").status_code == 200
            changed = subprocess.run(command("users", "add", "maija", "--role", "admin", "--users", users_a,
                                             "--archive", url, "--password-stdin"), input=NEW_PASSWORD + "\n",
                                     capture_output=True, text=True, timeout=120, check=False)
            assert changed.returncode == 0, changed.stderr
            assert "ended their sessions on every web instance" in changed.stdout
            for base in (b, a):
                assert browser.get(f"{base}/customers").status_code == 303
            # `annex-gen users sign-out` with the database: B's users file stays as it was.
            before = users_b.read_bytes()
            assert _login(browser, b, "maija").status_code == 303  # B's copy still has the old password
            ended = cli("users", "sign-out", "maija", "--users", users_b, "--archive", url)
            assert ended.returncode == 0, ended.stderr
            assert browser.get(f"{a}/customers").status_code == 303 and users_b.read_bytes() == before
            assert query(url, "SELECT user_name, generation FROM annex_team.session_ends") == [("maija", 3)]

            # Failed sign-ins on A count on B.
            for _ in range(5):
                assert _login(browser, a, "ville", "a wrong guess").status_code == 401
            refused = _login(browser, b, "ville")
            assert refused.status_code == 429
            assert re.search(r"Try again in [12] seconds?", refused.text), refused.text
            assert query(url, "SELECT failures FROM annex_team.signin_failures WHERE key = 'user:ville'") == [(5,)]
    finally:
        for server in servers:
            server.stop()
    assert "Traceback" not in servers[0].log.read_text() + servers[1].log.read_text()
