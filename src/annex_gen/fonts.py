"""The bundled fonts: which characters they cover, and the fallback faces a document needs.

Noto Sans prints the Latin, Greek and Cyrillic text of every document. Fallback faces for
Chinese (Traditional and Simplified), Arabic and Hebrew are declared only in a document whose
text needs them, each limited to the characters Noto Sans lacks (`unicode-range`), so a
Latin-only annex never loads them. Coverage comes from `templates/fonts/coverage.json`,
written by `write_coverage()` from the font files (a test keeps the two in step), so `check`
can warn about a character no bundled font has without reading a font.
"""

from __future__ import annotations

import json
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from annex_gen.resources import TEMPLATES_DIR

FONTS_DIR = TEMPLATES_DIR / "fonts"
COVERAGE_FILE = FONTS_DIR / "coverage.json"
BASE_FAMILY = "Annex Sans"
BASE_FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf")


@dataclass(frozen=True)
class Fallback:
    """A script's fallback face: its CSS family, its name in the DOCX, and its files by CSS font weight."""

    script: str
    family: str
    docx_name: str
    files: tuple[tuple[int, str], ...]


FALLBACKS = (
    Fallback("arabic", "Annex Arabic", "Noto Sans Arabic",
             ((400, "NotoSansArabic-Regular.ttf"), (700, "NotoSansArabic-Bold.ttf"))),
    Fallback("hebrew", "Annex Hebrew", "Noto Sans Hebrew",
             ((400, "NotoSansHebrew-Regular.ttf"), (700, "NotoSansHebrew-Bold.ttf"))),
    Fallback("cjk", "Annex CJK", "Droid Sans Fallback", ((400, "DroidSansFallbackFull.ttf"),)),
)
# Characters that print as nothing and need no glyph (spaces are Noto Sans's anyway).
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


class Ranges:
    """A set of code points stored as sorted, disjoint [start, end] ranges."""

    def __init__(self, ranges: list[list[int]]) -> None:
        self.ranges = ranges
        self.starts = [r[0] for r in ranges]

    def __contains__(self, code: int) -> bool:
        i = bisect_right(self.starts, code) - 1
        return i >= 0 and code <= self.ranges[i][1]


def _to_ranges(codes: set[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for code in sorted(codes):
        if out and code == out[-1][1] + 1:
            out[-1][1] = code
        else:
            out.append([code, code])
    return out


def compute_coverage() -> dict[str, list[list[int]]]:
    """From the font files: the base's code points, and each fallback's beyond the base (needs fontTools)."""
    from fontTools.ttLib import TTFont

    def cmap(name: str) -> set[int]:
        with TTFont(FONTS_DIR / name, lazy=True) as font:  # closed: a lazy font keeps its file open
            return set(font.getBestCmap())

    base = cmap(BASE_FILES[0])
    out = {"base": _to_ranges(base)}
    for fallback in FALLBACKS:
        out[fallback.script] = _to_ranges(cmap(fallback.files[0][1]) - base)
    return out


def write_coverage(path: Path = COVERAGE_FILE) -> None:
    """Regenerate coverage.json after a font file changed."""
    path.write_text(json.dumps(compute_coverage(), separators=(",", ":")) + "\n", encoding="utf-8")


# What the DOCX embeds: Noto Sans cut to the Latin text of our languages and of European names,
# so a DOCX looks the same on a machine without Noto Sans (the whole fonts would add 1.5 MB).
DOCX_SUBSET_DIR = FONTS_DIR / "docx"
DOCX_SUBSET_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x2010, 0x2027), (0x2030, 0x203A), (0x20AC, 0x20AC),
                      (0x2122, 0x2122), (0x2212, 0x2212))


def docx_subset_file(base_file: str) -> Path:
    """The embeddable subset of one base font file."""
    return DOCX_SUBSET_DIR / base_file.replace(".ttf", ".subset.ttf")


def write_docx_subsets() -> None:
    """Regenerate the DOCX subsets of Noto Sans (needs fontTools; slow, so done once, not per document)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    DOCX_SUBSET_DIR.mkdir(exist_ok=True)
    codes = [c for a, b in DOCX_SUBSET_RANGES for c in range(a, b + 1)]
    for name in BASE_FILES:
        font = TTFont(FONTS_DIR / name)
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codes)
        subsetter.subset(font)
        font.save(docx_subset_file(name))


@lru_cache(maxsize=1)
def coverage() -> dict[str, Ranges]:
    """Script ('base', 'arabic', ...) -> the code points its bundled font adds."""
    data = json.loads(COVERAGE_FILE.read_text(encoding="utf-8"))
    return {script: Ranges(ranges) for script, ranges in data.items()}


def _needs_glyph(char: str) -> bool:
    return unicodedata.category(char) not in _INVISIBLE


def fallbacks_for(text: str) -> tuple[Fallback, ...]:
    """The fallback faces text needs beyond Noto Sans, in FALLBACKS order."""
    cov = coverage()
    codes = {ord(c) for c in set(text) if ord(c) > 0x7E and ord(c) not in cov["base"] and _needs_glyph(c)}
    return tuple(f for f in FALLBACKS if any(code in cov[f.script] for code in codes))


def missing_glyphs(text: str) -> list[str]:
    """The characters of text that no bundled font has, in order of first appearance."""
    cov = coverage()
    out: list[str] = []
    for char in dict.fromkeys(text):
        code = ord(char)
        if code <= 0x7E or not _needs_glyph(char) or any(code in r for r in cov.values()):
            continue
        out.append(char)
    return out


def describe_char(char: str) -> str:
    """'😀' (U+1F600 GRINNING FACE)."""
    name = unicodedata.name(char, "")
    return f"{char!r} (U+{ord(char):04X}{' ' + name if name else ''})"


def _unicode_range(ranges: list[list[int]]) -> str:
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in ranges)


def fallback_faces_css(fallbacks: tuple[Fallback, ...] = FALLBACKS) -> str:
    """@font-face rules for the fallbacks, each only for the characters the base lacks.

    A browser downloads a face only for a page with characters in its unicode-range.
    """
    data = json.loads(COVERAGE_FILE.read_text(encoding="utf-8"))
    rules = []
    for fallback in fallbacks:
        ranges = _unicode_range(data[fallback.script])
        for weight, name in fallback.files:
            rules.append(f'@font-face {{ font-family: "{fallback.family}"; src: url("fonts/{name}"); '
                         f"font-weight: {weight}; unicode-range: {ranges}; }}")
    return "\n".join(rules)


def font_face_css(fallbacks: tuple[Fallback, ...]) -> str:
    """@font-face rules for the fallbacks, each only for the characters the base lacks, and the family list."""
    if not fallbacks:
        return ""
    families = ", ".join(f'"{f}"' for f in (BASE_FAMILY, *(f.family for f in fallbacks)))
    return fallback_faces_css(fallbacks) + f"\nhtml {{ font-family: {families}, sans-serif; }}"
