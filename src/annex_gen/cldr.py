"""The little of CLDR an annex or notice writes, without loading Babel: dates, lists, country names.

Babel and its locale data cost a command more than a Typst render does. The table
(templates/cldr.json: each language's date pattern and month names, list patterns and
country names) is written from Babel by `python -m annex_gen.cldr`, and
tests/unit/test_cldr.py checks that it is exactly what the installed Babel says; a language
the table lacks goes to Babel.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from annex_gen.resources import TEMPLATES_DIR

TABLE = TEMPLATES_DIR / "cldr.json"
# CLDR locale and date pattern of running text per language: 31.12.2026 and 31 December 2026.
LOCALES = {"fi": ("fi_FI", "d.M.yyyy"), "en": ("en_GB", "d MMMM y")}
_FIELD = re.compile(r"d+|M+|y+|'[^']*'|[^dMy']+")


@cache
def _table() -> dict[str, Any]:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def _data(language: str) -> dict[str, Any] | None:
    return _table().get(language)


def text_date(date: dt.date, language: str) -> str:
    """A date as running text writes it in language (tables, JSON and file names keep ISO dates)."""
    data = _data(language)
    if data is None:
        from babel.dates import format_date

        locale, pattern = LOCALES.get(language, (language, "long"))
        return format_date(date, pattern, locale=locale)
    return "".join(_date_field(token, date, data["months"]) for token in _FIELD.findall(data["date_pattern"]))


def _date_field(token: str, date: dt.date, months: Sequence[str]) -> str:
    if token == "d":
        return str(date.day)
    if token == "dd":
        return f"{date.day:02d}"
    if token == "M":
        return str(date.month)
    if token == "MM":
        return f"{date.month:02d}"
    if token == "MMMM":
        return months[date.month - 1]
    if token in ("y", "yyyy"):
        return str(date.year)
    if token.startswith("'"):
        return token[1:-1] or "'"
    if token[0] in "dMy":
        raise ValueError(f"the CLDR table's date pattern has a field this module does not write: {token}")
    return token


def country_name(code: str | None, language: str) -> str:
    """The country's name in language from CLDR; empty when unknown."""
    if not code:
        return ""
    data = _data(language)
    if data is None:
        from babel import Locale

        return Locale.parse(LOCALES.get(language, (language,))[0]).territories.get(code, "")
    return data["territories"].get(code, "")


def format_list(items: Sequence[str], language: str) -> str:
    """A, B and C in language's list form (CLDR's standard list pattern)."""
    data = _data(language)
    if data is None:
        from babel.lists import format_list as babel_list

        return babel_list(list(items), locale=LOCALES.get(language, (language,))[0])
    patterns = data["list"]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return patterns["2"].format(*items)
    result = patterns["start"].format(items[0], items[1])
    for item in items[2:-1]:
        result = patterns["middle"].format(result, item)
    return patterns["end"].format(result, items[-1])


def from_babel(languages: Sequence[str] = tuple(LOCALES)) -> dict[str, Any]:
    """The table as the installed Babel gives it."""
    from babel import Locale

    table: dict[str, Any] = {}
    for language in languages:
        locale_name, pattern = LOCALES[language]
        locale = Locale.parse(locale_name)
        table[language] = {
            "locale": locale_name,
            "date_pattern": pattern,
            "months": [locale.months["format"]["wide"][m] for m in range(1, 13)],
            "list": {k: locale.list_patterns["standard"][k] for k in ("start", "middle", "end", "2")},
            "territories": dict(sorted(locale.territories.items())),
        }
    return table


if __name__ == "__main__":  # write the table from the installed Babel
    TABLE.write_text(json.dumps(from_babel(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TABLE}")
