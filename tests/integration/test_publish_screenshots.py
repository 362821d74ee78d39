"""Both list pages and a changes page in Debian's headless Chromium: screenshots, and what a reader's browser loads.

Screenshots (1280 wide, and the Finnish list 400 wide; the whole page) and the printed list
(PDF) go to test-results/publish/ to be looked at. A missing Playwright or Chromium fails the
test with the reason; it is never skipped.
"""

from __future__ import annotations

from pathlib import Path

import publish_support as ps
import pytest

from browser_support import browser, keep_for_docs  # noqa: F401 - the fixture

RESULTS = ps.ROOT / "test-results" / "publish"
PAGES = ("index.html", "en.html", "changes.html")


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    ps.publish_site(out)
    return out / "site"


@pytest.mark.parametrize(("name", "width"), [(name, 1280) for name in PAGES] + [("index.html", 400)])
def test_page_in_chromium(browser, site_dir, name, width):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto((site_dir / name).as_uri())
    page.wait_for_load_state("load")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shot = RESULTS / f"{Path(name).stem}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    top = RESULTS / f"{Path(name).stem}-{width}-top.png"  # the first screen, as a reader opens it
    page.screenshot(path=str(top))
    keep_for_docs(top)
    # Everything comes from beside the page: the stylesheet and the bundled fonts, nothing else.
    assert requested and all(url.startswith(site_dir.as_uri()) for url in requested), requested
    assert not failed, failed
    assert page.evaluate("document.fonts.check('16px \"List Sans\"')")
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"List Sans"')
    # Nothing wider than the window: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.documentElement.lang") == ("en" if name == "en.html" else "fi")
    page.close()


def test_the_list_prints_without_navigation(browser, site_dir):  # noqa: F811
    page = browser.new_page()
    page.goto((site_dir / "index.html").as_uri())
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('header.site nav')).display") == "none"
    pdf = RESULTS / "index-print.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")
    page.close()
