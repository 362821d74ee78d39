"""The web application's frame: sign-in, roles, CSRF, security headers, body limit, error pages, languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.cli import main
from annex_gen.errors import InvalidInput, UsageError
from annex_gen.users import load_users
from annex_gen.web import Settings
from annex_gen.web.i18n import negotiate
from web_support import PASSWORD, csrf, login, web_client


def test_loopback_serves_without_login(tmp_path: Path) -> None:
    client = web_client(tmp_path)
    assert client.get("/").headers["location"] == "/customers"
    assert client.get("/login").headers["location"] == "/"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_any_other_address_needs_a_users_file(tmp_path: Path, host: str) -> None:
    with pytest.raises(UsageError, match=f"serving on {host} needs logins: pass --users FILE"):
        Settings(host=host)


def test_serve_off_loopback_without_users_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "serving on 0.0.0.0 needs logins: pass --users FILE" in capsys.readouterr().err


@pytest.mark.parametrize("header", [("x-forwarded-for", "203.0.113.7"), ("x-real-ip", "203.0.113.7"),
                                    ("x-forwarded-host", "annex.example.com"), ("forwarded", "for=203.0.113.7")])
def test_no_login_is_refused_through_a_reverse_proxy(tmp_path: Path, header: tuple[str, str]) -> None:
    client = web_client(tmp_path)
    response = client.get("/customers", headers=dict([header]))
    assert response.status_code == 403
    assert "This server has no sign-in, so it answers only on the machine it runs on" in response.text
    assert "--users" not in response.text  # the visitor is told whom to ask, not a command line
    assert client.get("/customers").status_code == 200


def test_serve_with_a_broken_registry_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "registry").mkdir()
    assert main(["serve", "--registry", str(tmp_path / "registry")]) == 1
    err = capsys.readouterr().err
    assert "registry.yaml" in err and "nothing was written" in err


def test_unauthenticated_requests_go_to_the_login_page(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"}, host="0.0.0.0")
    response = client.get("/customers?q=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcustomers%3Fq%3Dx"


def test_login_with_a_wrong_password_is_refused(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": "maija", "password": "wrong password", "csrf_token": token})
    assert response.status_code == 401
    assert "The user name or password is not right." in response.text
    assert client.get("/customers").status_code == 303


def test_login_then_logout(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    login(client, "maija")
    page = client.get("/customers")
    assert page.status_code == 200 and "maija (sales)" in page.text
    assert client.post("/logout", data={"csrf_token": csrf(client)}).headers["location"] == "/login"
    assert client.get("/customers").status_code == 303


def test_a_session_ends_a_working_day_after_sign_in_however_active(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import annex_gen.web.http as http

    client = web_client(tmp_path, users={"maija": "sales"})
    login(client, "maija")
    start = time.time()
    for hours in (1, 4, 7.9):  # each page saves the session again, which renews the cookie's own age
        monkeypatch.setattr(http.time, "time", lambda hours=hours: start + hours * 3600)
        assert client.post("/language", data={"csrf_token": csrf(client), "lang": "fi"}).status_code == 303
    monkeypatch.setattr(http.time, "time", lambda: start + http.SESSION_MAX_AGE + 1)
    assert client.get("/customers").headers["location"].startswith("/login")


def test_login_never_redirects_to_another_site(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": "maija", "password": PASSWORD, "csrf_token": token,
                                           "next": "//evil.example/"})
    assert response.headers["location"] == "/"


def test_session_cookie_is_signed_http_only_and_same_site(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"}, secure_cookies=True)
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    client.cookies.set("annex_gen_session", "forged." + "x" * 40)
    assert client.get("/customers").status_code == 303  # a forged session is no session


def test_every_form_needs_the_csrf_token(tmp_path: Path) -> None:
    client = web_client(tmp_path)
    csrf(client)  # a session exists, so only the token is missing
    for path in ("/login", "/logout", "/language"):
        response = client.post(path, data={"lang": "fi"})
        assert response.status_code == 403, path
        assert "The form has expired" in response.text
    assert client.post("/language", data={"lang": "fi", "csrf_token": "wrong"}).status_code == 403


def test_every_page_sends_the_security_headers(tmp_path: Path) -> None:
    client = web_client(tmp_path)
    for path in ("/", "/login", "/nowhere", "/static/web.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["x-content-type-options"] == "nosniff"


def test_an_unknown_page_is_a_page_not_a_traceback(tmp_path: Path) -> None:
    response = web_client(tmp_path).get("/nowhere")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text and "Traceback" not in response.text


def test_a_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    client = web_client(tmp_path, body_limits=(("/", 1000),))
    token = csrf(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "fi", "pad": "x" * 2000})
    assert response.status_code == 413
    assert "The request is too large" in response.text

    def chunks():  # no Content-Length: the limit holds while the body streams in
        yield b"csrf_token=" + token.encode() + b"&lang=fi&pad="
        for _ in range(10):
            yield b"x" * 500

    response = client.post("/language", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_language_from_browser_then_from_the_user(tmp_path: Path) -> None:
    client = web_client(tmp_path)
    assert '<html lang="fi">' in client.get("/nowhere", headers={"accept-language": "fi-FI,fi;q=0.9"}).text
    assert '<html lang="en">' in client.get("/nowhere", headers={"accept-language": "de, en;q=0.5"}).text
    response = client.post("/language", data={"lang": "fi", "csrf_token": csrf(client), "next": "/nowhere"})
    assert response.headers["location"] == "/nowhere"
    page = client.get("/nowhere", headers={"accept-language": "en"})
    assert '<html lang="fi">' in page.text and "Ei löytynyt" in page.text


def test_negotiate() -> None:
    assert negotiate(None) == "en"
    assert negotiate("sv-SE, fi;q=0.8, en;q=0.7") == "fi"
    assert negotiate("fi;q=0.1, en") == "en"
    assert negotiate("fi", chosen="en") == "en"
    assert negotiate("fi;q=bad") == "en"


def test_users_add_writes_argon2_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.yaml"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "maija", "--role", "sales", "--users", str(users), "--password-stdin"]) == 0
    assert f"added user maija (sales) in {users}" in capsys.readouterr().out
    text = users.read_text()
    assert PASSWORD not in text and "$argon2id$" in text
    assert users.stat().st_mode & 0o077 == 0
    assert app.add_user(users, "maija", "legal", "another password") is True
    assert load_users(users)["maija"].role == "legal"


def test_users_add_refuses_bad_values(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    with pytest.raises(UsageError, match="the password is too short: use at least 12 characters"):
        app.add_user(users, "maija", "sales", "short")
    with pytest.raises(UsageError, match="'Maija Meik' is not a user name"):
        app.add_user(users, "Maija Meik", "sales", PASSWORD)
    assert not users.exists()


def test_a_broken_users_file_is_reported_with_its_line(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  maija:\n    role: boss\n    password: '$argon2id$x'\n")
    with pytest.raises(InvalidInput) as caught:
        load_users(users)
    assert str(caught.value) == (f"{users}:3:11: users.maija.role: unknown role 'boss'; "
                                 "expected one of sales, legal, admin")
