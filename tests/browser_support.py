"""End-to-end helpers: `annex-gen serve` on a free loopback port, and Debian's Chromium driven by Playwright.

Chromium is /usr/bin/chromium from Debian (scripts/install-system-packages); Playwright cannot
download browsers here. A missing browser or Playwright fails the test with the reason; it is never
skipped. Screenshots (1366x768) go to test-results/web/<test name>/ to be looked at; with
ANNEX_GEN_DOCS_SCREENSHOTS set (`make screenshots`), those the documentation shows are also
written to docs/img/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REGISTRY_DIR, ROOT

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 768}
RESULTS = ROOT / "test-results" / "web"
DOCS_IMG = ROOT / "docs" / "img"

# The screenshots the documentation shows: "<test-results folder>/<shot>" -> docs/img/<name>.png.
# tests/integration/test_docs.py checks that docs/img/ holds exactly these.
DOCS_SCREENSHOTS = {
    "web/test_sales_creates_previews_downloads_and_edits_a_contract/1-customers": "sales-customers",
    "web/test_sales_creates_previews_downloads_and_edits_a_contract/2-new-contract": "sales-new-contract",
    "web/test_sales_creates_previews_downloads_and_edits_a_contract/3-preview": "sales-preview",
    "web/test_sales_creates_previews_downloads_and_edits_a_contract/5-preview-after-edit": "sales-preview-after-edit",
    "web/test_sales_creates_previews_downloads_and_edits_a_contract/6-registry": "sales-registry",
    "web/test_archive_drift_batch_and_notices_in_chromium/02-upload": "legal-upload",
    "web/test_archive_drift_batch_and_notices_in_chromium/03-review": "legal-upload-review",
    "web/test_archive_drift_batch_and_notices_in_chromium/04-history": "legal-customer-history",
    "web/test_archive_drift_batch_and_notices_in_chromium/06-archive-outdated": "legal-archive-outdated",
    "web/test_archive_drift_batch_and_notices_in_chromium/07-verify": "legal-verify",
    "web/test_archive_drift_batch_and_notices_in_chromium/08-changes": "legal-changes",
    "web/test_archive_drift_batch_and_notices_in_chromium/10-batch-finished": "legal-batch",
    "web/test_archive_drift_batch_and_notices_in_chromium/11-notices": "legal-notices",
    "web/test_archive_drift_batch_and_notices_in_chromium/12-audit": "legal-audit",
    "publish/index-1280-top": "public-list",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/01-editor": "editor-list",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/02-new-sub-processor": "editor-new-sub-processor",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/03-proposal": "editor-proposal",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/04-refused": "editor-refused",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/05-approved": "editor-approved",
    "web/test_legal_adds_a_sub_processor_with_four_eyes_in_chromium/06-history": "editor-history",
}


def keep_for_docs(path: Path) -> None:
    """Copy a screenshot the documentation shows to docs/img/, when ANNEX_GEN_DOCS_SCREENSHOTS is set."""
    key = path.relative_to(ROOT / "test-results").with_suffix("").as_posix()
    if key in DOCS_SCREENSHOTS and os.environ.get("ANNEX_GEN_DOCS_SCREENSHOTS"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        trim_bottom(path, DOCS_IMG / f"{DOCS_SCREENSHOTS[key]}.png")


def trim_bottom(source: Path, target: Path, margin: int = 24) -> None:
    """Copy a screenshot without the empty page below its content (a short page in a tall window)."""
    from PIL import Image, ImageChops

    with Image.open(source) as image:
        rgb = image.convert("RGB")
        background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
        box = ImageChops.difference(rgb, background).getbbox()
        if box is None or box[3] + margin >= rgb.height:
            shutil.copyfile(source, target)
            return
        image.crop((0, 0, image.width, box[3] + margin)).save(target, optimize=True)


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`annex-gen serve` in a child process, on 127.0.0.1 and a free port."""

    def __init__(self, customers: Path, out: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = out.parent / "server.log"
        out.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "annex_gen", "serve", "--port", str(self.port), "--customers", str(customers),
             "--out", str(out), "--registry", str(REGISTRY_DIR), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/static/web.css", timeout=2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"annex-gen serve did not start:\n{self.log.read_text()}")
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium under Playwright, for one test module.

    Not for the session: Playwright's sync API holds an event loop while it runs, and later tests
    (pyHanko's signature checks) need asyncio.run() free to start their own.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright for Python is missing ({exc}); run `make setup`", pytrace=False)
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/install-system-packages)",
                    pytrace=False)
    manager = sync_playwright().start()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
    browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
    yield browser
    browser.close()
    manager.stop()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser page at 1366x768 in English, with its screenshot folder as page.shots."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    folder = RESULTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    tab.shots = folder
    yield tab
    context.close()


def shot(tab, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of what the page shows now as <test folder>/<name>.png."""
    path = tab.shots / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    keep_for_docs(path)
    return path
