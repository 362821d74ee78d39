"""The web server's defences: request log, Host and Origin, sign-in throttling and sessions, the users file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from annex_gen import app, users
from annex_gen.cli import main
from annex_gen.errors import UsageError
from annex_gen.throttle import MemoryThrottle
from annex_gen.users import load_users
from conftest import REGISTRY_DIR
from web_support import PASSWORD, csrf, login, web_client


@pytest.fixture(autouse=True)
def _keep_log_handlers() -> object:
    """`serve` adds a handler on the terminal's stderr; a test's captured stderr closes after it."""
    logger = logging.getLogger("annex_gen.web")
    handlers = list(logger.handlers)
    yield
    logger.handlers[:] = handlers


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "annex_gen.web"]


def test_an_encoded_newline_cannot_forge_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path)
    caplog.set_level(logging.INFO, logger="annex_gen.web")
    client.get("/static/x%0AINFO:%20%20%20%20%20127.0.0.1%20admin%20%22GET%20/audit%22%20200%0D%1B[2J")
    lines = _request_lines(caplog)
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0] and "\x1b" not in lines[0]
    assert '/static/x\\nINFO:     127.0.0.1 admin \\"GET /audit\\" 200\\r\\x1b[2J" 404' in lines[0]


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
            "business_id": "", "contact_email": "", "reference": "", "date": "2026-12-01", "region": "eu",
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


def test_the_origin_is_compared_by_scheme_too() -> None:
    from annex_gen.web.hosts import origin_allowed

    assert origin_allowed("http://127.0.0.1:8765", "127.0.0.1:8765", "http", frozenset())
    assert not origin_allowed("https://127.0.0.1:8765", "127.0.0.1:8765", "http", frozenset())
    assert not origin_allowed("http://127.0.0.1:8765", "127.0.0.1:8765", "https", frozenset())
    # an --allowed-host name is its own: behind a TLS proxy that does not pass the scheme on
    assert origin_allowed("https://annex.example.com", "annex.example.com", "http", frozenset({"annex.example.com"}))


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
                 "--allowed-host", "annex.example.com", "--allowed-host", "annex.internal",
                 "--render-workers", "1"]) == 0
    assert served["app"].state.settings.allowed_hosts == ("annex.example.com", "annex.internal")
    assert served["app"].state.renders.workers == 1
    assert "only loopback names" not in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--users", str(users), "--registry", str(REGISTRY_DIR)]) == 0
    assert "give the name your users open with --allowed-host NAME" in capsys.readouterr().err


# Sign-in: timing, throttling, revocable sessions, the audit log


def _post_login(client, name: str, password: str):  # noqa: ANN202
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf(client, "/login"),
                                       "next": "/"})


def test_an_unknown_user_costs_one_check_like_a_known_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher, extract_parameters

    hashed = []
    original = PasswordHasher.hash
    monkeypatch.setattr(PasswordHasher, "hash", lambda self, *a, **kw: hashed.append(1) or original(self, *a, **kw))
    for _ in range(3):
        assert not users.verify_password(None, "a guess at a password")
    assert len(hashed) <= 1  # the dummy hash is computed once per process, not per attempt
    dummy = extract_parameters(users._dummy_hash())
    assert dummy == extract_parameters(users.hash_password("another password"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_wrong_passwords_are_throttled_even_before_the_right_one(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    clock = Clock()
    client.app.state.throttle = MemoryThrottle(clock=clock)
    statuses = [_post_login(client, "maija", f"wrong {i}").status_code for i in range(300)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    refused = _post_login(client, "maija", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins with this name or from this address. Try again in 2 seconds." in refused.text
    clock.now += 2
    assert _post_login(client, "maija", PASSWORD).status_code == 303
    failed = [e for e in app.audit_entries(tmp_path / "archive") if e.action == "sign-in failed"]
    assert len(failed) == 5 and failed[0].what == "user name 'maija' from testclient"


def test_throttle_delays_grow_per_name_and_per_address() -> None:
    clock = Clock()
    throttle = MemoryThrottle(clock=clock)
    alice, mallory = ("user:alice", "address:198.51.100.1"), ("user:bob", "address:203.0.113.9")
    for _ in range(5):
        assert throttle.attempt(alice) == 0
    waits = []
    for _ in range(6):
        waits.append(throttle.attempt(alice))
        clock.now += waits[-1]
        assert throttle.attempt(alice) == 0
    assert waits == [2, 4, 8, 16, 32, 64]
    for _ in range(40):  # never more than 15 minutes
        clock.now += max(throttle.attempt(alice), 0)
        throttle.attempt(alice)
    assert throttle.attempt(alice) == 15 * 60
    clock.now += 24 * 3600  # a quiet day forgets
    assert throttle.attempt(alice) == 0
    # one address trying many names: 20 free, then 1 s, 2 s, ...
    for i in range(20):
        assert throttle.attempt((f"user:n{i}", mallory[1])) == 0
    assert throttle.attempt(("user:someone-else", mallory[1])) == 1
    # a success forgets the name's failures, and does not count against the address
    fresh = MemoryThrottle(clock=clock)
    for _ in range(4):
        fresh.attempt(alice)
    fresh.succeeded(alice)
    for _ in range(5):
        assert fresh.attempt(alice) == 0


def test_sign_in_and_out_are_recorded(tmp_path: Path) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    assert _post_login(client, "nobody", "a guess at a password").status_code == 401
    login(client, "maija")
    client.post("/logout", data={"csrf_token": csrf(client)})
    entries = app.audit_entries(tmp_path / "archive")
    assert [(e.actor, e.action) for e in entries] == [("-", "sign-in failed"), ("maija", "signed in"),
                                                      ("maija", "signed out")]
    assert entries[0].what == "user name 'nobody' from testclient"


def _copied(client, tmp_path: Path):  # noqa: ANN202 - a second browser with the same cookie
    other = web_client(tmp_path / "other", users={"x": "sales"}, users_file=client.app.state.settings.users_file,
                       secret_key="the same key")
    other.cookies.update(client.cookies)
    return other


@pytest.mark.parametrize("how", ["logout", "password", "role", "sign-out", "remove"])
def test_a_copied_session_ends_with_logout_and_user_changes(tmp_path: Path, how: str) -> None:
    client = web_client(tmp_path, users={"maija": "sales"}, secret_key="the same key")
    login(client, "maija")
    copy = _copied(client, tmp_path)  # another server process on the same users file and key
    assert copy.get("/customers").status_code == 200
    users_file = client.app.state.settings.users_file
    if how == "logout":
        assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 303
    elif how == "password":
        app.add_user(users_file, "maija", "sales", "a brand new password")
    elif how == "role":
        app.add_user(users_file, "maija", "admin", PASSWORD)
    elif how == "sign-out":
        assert main(["users", "sign-out", "maija", "--users", str(users_file)]) == 0
    else:
        assert main(["users", "remove", "maija", "--users", str(users_file)]) == 0
    assert copy.get("/customers").status_code == 303
    assert client.get("/customers").status_code == 303
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600


# The users file


def test_new_passwords_are_long_and_hashed_as_owasp_recommends(tmp_path: Path) -> None:
    from argon2 import Type, extract_parameters

    path = tmp_path / "users.yaml"
    with pytest.raises(UsageError, match="too short: use at least 12 characters"):
        app.add_user(path, "maija", "sales", "elevenchars")
    app.add_user(path, "maija", "sales", "twelve chars")
    p = extract_parameters(load_users(path)["maija"].password_hash)
    assert (p.type, p.memory_cost >= 19 * 1024, p.time_cost >= 2, p.parallelism >= 1) == (Type.ID, True, True, True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_weak_or_readable_users_file_is_warned_about_and_weak_hashes_are_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from argon2 import PasswordHasher, extract_parameters

    path = tmp_path / "users.yaml"
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    path.write_text(f"users:\n  maija:\n    role: sales\n    password: '{weak}'\n")
    path.chmod(0o644)
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: None)
    assert main(["serve", "--users", str(path), "--registry", str(REGISTRY_DIR)]) == 0
    err = capsys.readouterr().err
    assert f"other users of this machine may read the password hashes (mode 0644); make it private with: " \
           f"chmod 600 {path}" in err
    assert "the password hashes of maija are weaker than argon2id with 19 MiB and 2 passes" in err
    client = web_client(tmp_path / "site", users_file=path)
    login(client, "maija")
    stored = load_users(path)["maija"]
    assert extract_parameters(stored.password_hash).memory_cost == 19 * 1024 and stored.sessions == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.get("/customers").status_code == 200  # the session goes on
    assert not users.file_warnings(path, load_users(path))


def test_a_broken_users_file_stops_the_server_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  maija:\n    role: boss\n    password: x\n")
    assert main(["serve", "--users", str(path), "--registry", str(REGISTRY_DIR)]) == 1
    assert f"{path}:3:11: users.maija.role: unknown role 'boss'" in capsys.readouterr().err


def test_a_users_file_broken_later_is_never_shown_to_a_visitor(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    client = web_client(tmp_path, users={"maija": "sales"})
    login(client, "maija")
    path = client.app.state.settings.users_file
    path.write_text("users:\n  maija:\n    role: sales\n    password: 's3cr3t-contents'\n")
    for response in (client.get("/customers"), _post_login(client, "maija", PASSWORD), client.get("/login")):
        assert response.status_code == 503
        assert "Sign-in is not available" in response.text
        assert str(path) not in response.text and "s3cr3t" not in response.text and "users.yaml" not in response.text
    assert any("the users file cannot be read" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    app.add_user(tmp_path / "fixed.yaml", "maija", "sales", PASSWORD)
    (tmp_path / "fixed.yaml").replace(path)
    login(client, "maija")


def test_the_interface_files_are_served_under_any_host_so_the_refusal_has_its_style(tmp_path: Path) -> None:
    client = web_client(tmp_path)
    assert client.get("/static/web.css", headers={"host": "rebind.localhost:8000"}).status_code == 200
    assert client.post("/static/web.css", headers={"host": "rebind.localhost:8000"}).status_code == 421
    assert client.get("/static/../customers", headers={"host": "rebind.localhost:8000"}).status_code == 421
