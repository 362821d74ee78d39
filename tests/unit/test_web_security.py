"""The web server's defences: request log, Host and Origin, sign-in throttling and sessions, the users file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.cli import main
from conftest import REGISTRY_DIR
from web_support import PASSWORD, csrf, login, web_client


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "annex_gen.web"]


def test_an_encoded_newline_cannot_forge_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path)
    caplog.set_level(logging.INFO, logger="annex_gen.web")
    client.get("/static/x%0AINFO:%20%20%20%20%20127.0.0.1%20admin%20%22GET%20/audit%22%20200%0D%1B[2J")
    lines = _request_lines(caplog)
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0] and "\x1b" not in lines[0]
    assert '/static/x\\x0aINFO:     127.0.0.1 admin \\x22GET /audit\\x22 200\\x0d\\x1b[2J" 404' in lines[0]


def test_log_lines_name_the_signed_in_user(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    login(client, "maija")
    caplog.set_level(logging.INFO, logger="annex_gen.web")
    client.get("/customers")
    assert _request_lines(caplog)[-1].startswith('testclient maija "GET /customers" 200')
    local = web_client(tmp_path / "local")
    local.get("/customers")
    assert _request_lines(caplog)[-1].startswith('testclient local "GET /customers" 200')


# Host and Origin (DNS rebinding, forms from other sites)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "a@127.0.0.1"])
def test_a_foreign_host_is_refused(tmp_path: Path, host: str) -> None:
    client = web_client(tmp_path, {"acme.yaml": "x"})
    response = client.get("/customers", headers={"host": host})
    assert response.status_code == 421
    assert "This server does not answer to that address" in response.text
    assert "acme" not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000",
                                  "127.0.0.2"])
def test_loopback_names_are_served(tmp_path: Path, host: str) -> None:
    assert web_client(tmp_path).get("/customers", headers={"host": host}).status_code == 200


def test_allowed_hosts_behind_a_proxy(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"}, host="10.0.0.5", allowed_hosts=("annex.example.com",))
    for host in ("annex.example.com", "annex.example.com:443", "10.0.0.5:8000", "127.0.0.1"):
        assert client.get("/login", headers={"host": host}).status_code == 200, host
    assert client.get("/login", headers={"host": "other.example.com"}).status_code == 421


def _contract_form(token: str) -> dict[str, str]:
    return {"csrf_token": token, "action": "save", "customer_id": "acme", "name": "Acme Oy",
            "business_id": "", "contact_email": "", "reference": "", "date": "2026-01-01", "region": "eu",
            "language": "en", "products": "mailer"}


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999", "null", "https://127.0.0.1",
                                    "http://127.0.0.1.evil.example"])
def test_a_form_from_another_origin_is_refused(tmp_path: Path, origin: str) -> None:
    client = web_client(tmp_path)
    token = csrf(client, "/customers/new")
    response = client.post("/customers/new", data=_contract_form(token), headers={"origin": origin})
    assert response.status_code == 403
    assert "The form came from another site" in response.text
    assert not list((tmp_path / "customers").iterdir())


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1"])
def test_a_form_from_this_server_is_accepted(tmp_path: Path, origin: str | None) -> None:
    client = web_client(tmp_path)
    token = csrf(client, "/customers/new")
    response = client.post("/customers/new", data=_contract_form(token),
                           headers={"origin": origin} if origin else {})
    assert response.status_code == 303, response.text
    assert (tmp_path / "customers" / "acme.yaml").is_file()


def test_serve_takes_allowed_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: served.update(app=application, **kw))
    users = tmp_path / "users.yaml"
    app.add_user(users, "maija", "sales", PASSWORD)
    assert main(["serve", "--host", "0.0.0.0", "--users", str(users), "--registry", str(REGISTRY_DIR),
                 "--allowed-host", "annex.example.com", "--allowed-host", "annex.internal"]) == 0
    assert served["app"].state.settings.allowed_hosts == ("annex.example.com", "annex.internal")
    assert "only loopback names" not in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--users", str(users), "--registry", str(REGISTRY_DIR)]) == 0
    assert "give the name your users open with --allowed-host NAME" in capsys.readouterr().err
