"""Copy the web screenshots of tests/integration/test_web_screens.py into the docs' gallery.

Run `make gallery` (it runs that test first): every page, in English and Finnish, at 390 and
1280 px, goes to docs/img/gallery/<page>-<lang>-<width>.png, and docs/web/gallery.md lists them.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREENS = ROOT / "test-results" / "web" / "screens"
GALLERY = ROOT / "docs" / "img" / "gallery"
PAGE = ROOT / "docs" / "web" / "gallery.md"
LANGUAGES = {"en": "English", "fi": "Suomeksi"}
WIDTHS = (390, 1280)
_SHOT = re.compile(r"^(?P<page>[a-z0-9-]+)-(?P<lang>en|fi)-(?P<width>\d+)\.png$")


def _pages() -> list[str]:
    """The pages in the order the screens test visits them."""
    text = (ROOT / "tests" / "integration" / "test_web_screens.py").read_text(encoding="utf-8")
    block = text.split("PAGES = {", 1)[1].split("}", 1)[0]
    return re.findall(r'^\s*"([a-z0-9-]+)":', block, re.M)


def main() -> int:
    shots = {m.group(0) for p in SCREENS.glob("*.png") if (m := _SHOT.match(p.name))}
    pages = _pages()
    missing = [f"{p}-{lang}-{w}.png" for p in pages for lang in LANGUAGES for w in WIDTHS
               if f"{p}-{lang}-{w}.png" not in shots]
    if missing:
        print(f"gallery: {len(missing)} screenshot(s) missing in {SCREENS} (run the screens test first): "
              + ", ".join(missing[:5]), file=sys.stderr)
        return 1
    if GALLERY.exists():
        shutil.rmtree(GALLERY)
    GALLERY.mkdir(parents=True)
    lines = [
        "# Screenshot gallery",
        "",
        "Every page of the web application in English and Finnish, at phone (390 px) and desktop",
        "(1280 px) width, as Chromium shows it over the example contracts. The pictures are the",
        "screenshots of `tests/integration/test_web_screens.py`, which also checks that no page scrolls",
        "sideways; `make gallery` runs that test and copies them here (docs/img/gallery/) with this page.",
        "",
    ]
    for page in pages:
        lines += [f"## {page.replace('-', ' ').capitalize()}", ""]
        for lang, language in LANGUAGES.items():
            cells = []
            for width in WIDTHS:
                name = f"{page}-{lang}-{width}.png"
                shutil.copyfile(SCREENS / name, GALLERY / name)
                cells.append(f"[![{page}, {language}, {width} px](../img/gallery/{name})](../img/gallery/{name})")
            lines += [f"**{language}**", "", *(f"{cell}\n" for cell in cells)]
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text("\n".join(lines), encoding="utf-8")
    print(f"gallery: {len(pages) * len(LANGUAGES) * len(WIDTHS)} screenshots in {GALLERY.relative_to(ROOT)}, "
          f"listed in {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
