"""The web application end to end: `annex-gen serve` driven in Debian's headless Chromium."""

from __future__ import annotations

from pathlib import Path

from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from conftest import EXAMPLES_DIR, build_file_tree


def test_customer_list_in_chromium(tmp_path: Path, page) -> None:  # noqa: F811
    customers = build_file_tree(tmp_path / "customers", {
        "esimerkki-oy.yaml": (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8"),
    })
    server = Server(customers, tmp_path / "output")
    try:
        page.goto(server.url + "/")
        assert page.title() == "Customers · annex-gen"
        assert page.get_by_role("link", name="Esimerkki Oy").is_visible()
        shot(page, "customers")
    finally:
        server.stop()
    assert '"GET /customers" 200' in server.log.read_text()
