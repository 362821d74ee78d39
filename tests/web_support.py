"""Helpers for the web tests: an application over a throwaway customers folder, signing in, forms.

`web_client(tmp_path, ...)` serves copies of nothing but what the test builds: its own customers
and output folders, the project's registry, and (if given) a users file made with `app.add_user`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.web import Settings, create_app
from conftest import REGISTRY_DIR, build_file_tree

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_client(tmp_path: Path, customers: Mapping | None = None, *, users: Mapping[str, str] | None = None,
               host: str = "127.0.0.1", **settings: object) -> TestClient:
    """A test client of an application serving tmp_path/customers; users maps name -> role."""
    customers_dir = build_file_tree(tmp_path / "customers", customers or {})
    users_file = settings.pop("users_file", None)
    if users and users_file is None:
        users_file = tmp_path / "users.yaml"
        for name, role in users.items():
            app.add_user(users_file, name, role, PASSWORD)
    settings.setdefault("archive", tmp_path / "archive")  # sign-ins are recorded in its audit log
    application = create_app(Settings(registry_dir=REGISTRY_DIR, customers_dir=customers_dir,
                                      out_dir=tmp_path / "output", users_file=users_file, host=host,
                                      **settings))  # type: ignore[arg-type]
    return TestClient(application, base_url="http://127.0.0.1", follow_redirects=False)


def csrf(client: TestClient, path: str = "/customers") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no CSRF token in the page {path} ({response.status_code})"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> None:
    """Sign the client in; fail the test if that does not work."""
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
