"""The web server's refusals as a visitor sees them in Chromium: another name (DNS rebinding), a form
from another site, too many failed sign-ins. Screenshots go to test-results/web/<test>/.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from annex_gen import app
from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from conftest import build_file_tree
from web_support import PASSWORD


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`annex-gen serve` with sign-in, one user."""
    users = tmp_path / "users.yaml"
    app.add_user(users, "maija", "sales", PASSWORD)
    running = Server(build_file_tree(tmp_path / "customers", {}), tmp_path / "output", "--users", str(users),
                     "--archive", str(tmp_path / "archive"))
    yield running
    running.stop()


def test_refusals_are_pages_that_say_why(server: Server, page) -> None:  # noqa: F811
    # Chromium sends *.localhost to this machine, as a rebinding name would; the Host is that name.
    rebound = f"http://rebind.localhost:{server.port}/customers"
    assert page.goto(rebound).status == 421
    assert page.get_by_role("heading", level=1).inner_text() == "This server does not answer to that address"
    assert page.evaluate("getComputedStyle(document.querySelector('header')).display") != "inline"  # styled
    shot(page, "421-another-name")

    form = (f'<form method="post" action="{server.url}/language"><input name="lang" value="fi">'
            '<button>Send</button></form>')
    page.goto("data:text/html," + urllib.parse.quote(form))
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The form came from another site"
    shot(page, "403-form-from-another-site")

    page.goto(server.url + "/login")
    for attempt in range(6):
        page.get_by_label("User name").fill("maija")
        page.get_by_label("Password").fill(f"wrong guess {attempt}")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
    assert "Too many failed sign-ins with this name or from this address" in page.get_by_role("alert").inner_text()
    shot(page, "429-throttled")
    log = server.log.read_text()
    assert '"POST /login" 429' in log and '"GET /customers" 421' in log and '"POST /language" 403' in log
