"""The documentation site: the generated command-line reference is current, `mkdocs build --strict`
succeeds, the built site loads nothing from the network, and the screenshots are the browser tests' own.

A missing MkDocs, Material or Chromium fails the test with the reason; it is never skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser_support import DOCS_IMG, DOCS_SCREENSHOTS, browser  # noqa: F401 - the fixture
from conftest import ROOT

DOCS = ROOT / "docs"
CLI_PAGE = DOCS / "reference" / "cli.md"


def cli_reference() -> str:
    """What scripts/cli-reference.py writes from the argument parser now."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli-reference.py"), "-"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_cli_reference_is_what_the_parser_says() -> None:
    text = cli_reference()
    for command in ("check", "resolve", "generate", "batch", "diff", "notices", "publish", "serve",
                    "archive add", "archive verify", "archive copy", "users add"):
        assert f"`annex-gen {command}`" in text  # every command and subcommand has its section
    assert "| `--accept-invalid-signature` |" in text and "| `--strict` | treat warnings as errors |" in text
    committed = CLI_PAGE.read_text(encoding="utf-8") if CLI_PAGE.is_file() else ""
    assert committed == text, (
        "docs/reference/cli.md differs from what the argument parser says now: run `make docs` "
        "and commit docs/reference/cli.md")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built by `mkdocs build --strict` into a temporary directory."""
    for module, package in (("mkdocs", "mkdocs"), ("material", "mkdocs-material")):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{package} is missing: run `make setup` (it is in the test extra and uv.lock)", pytrace=False)
    out = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    pages = sorted(p.relative_to(DOCS).with_suffix(".html").as_posix() for p in DOCS.rglob("*.md"))
    assert len(pages) >= 25
    for page in pages:
        assert (site / page).is_file(), page
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    assert 'id="annex-gen-archive-verify"' in cli and "--head-file" in cli


def test_the_site_fetches_nothing_from_elsewhere(site: Path, browser) -> None:  # noqa: F811
    # In the markup: no stylesheet, script, font or image from another host (links to read are fine).
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        fetched = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not fetched, (html, fetched)
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, html
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css.read_text(encoding="utf-8")), css
    # In Chromium: every request of the home page and a page with screenshots stays in the site folder.
    for name in ("index.html", "legal/archive.html"):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requested: list[str] = []
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        page.goto((site / name).as_uri())
        page.wait_for_load_state("networkidle")
        assert requested and all(url.startswith(site.as_uri()) for url in requested), requested
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.close()


def test_the_screenshots_are_the_browser_tests_own() -> None:
    # Every image of docs/img/ is written by a browser test (make screenshots), none by hand,
    # and every one of them is shown on a page.
    images = {p.stem for p in DOCS_IMG.glob("*.png")}  # img/gallery/: every page, from test_web_screens (make gallery)
    assert images == set(DOCS_SCREENSHOTS.values()), (
        "docs/img/ must hold exactly the screenshots DOCS_SCREENSHOTS (tests/browser_support.py) names: "
        "run `make screenshots`")
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    unused = sorted(name for name in images if f"img/{name}.png" not in pages)
    assert not unused, f"screenshots no page shows: {unused}"


def test_the_output_the_readme_and_the_guide_quote_is_what_the_commands_print(tmp_path: Path) -> None:
    example = ROOT / "examples" / "esimerkki-oy.yaml"
    checked = subprocess.run([sys.executable, "-m", "annex_gen", "check", str(example)],
                             capture_output=True, text=True, cwd=ROOT)
    generated = subprocess.run([sys.executable, "-m", "annex_gen", "generate", str(example), "--out", str(tmp_path)],
                               capture_output=True, text=True, cwd=ROOT)
    assert checked.returncode == 0 and generated.returncode == 0, checked.stderr + generated.stderr
    files = [line.replace(str(tmp_path), "output") for line in generated.stdout.splitlines()]
    assert len(checked.stdout.splitlines()) == 2 and [Path(f).suffix for f in files] == [".pdf", ".docx"]
    for page in (ROOT / "README.md", DOCS / "sales" / "cli.md"):
        text = page.read_text(encoding="utf-8")
        quoted = "\n".join([*checked.stdout.splitlines(), ""])
        assert quoted in text, f"{page.name} quotes another `check` output; now it prints:\n{checked.stdout}"
        assert "\n".join(files) in text, f"{page.name} quotes other file names; now `generate` writes {files}"
