"""The shipped CLDR table writes dates, lists and country names exactly as Babel does."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list as babel_list

from annex_gen import cldr


def test_the_table_is_what_the_installed_babel_says() -> None:
    # After a Babel upgrade that changes CLDR data: `python -m annex_gen.cldr`, then look at the diff.
    assert json.loads(cldr.TABLE.read_text(encoding="utf-8")) == cldr.from_babel()


@pytest.mark.parametrize("language", sorted(cldr.LOCALES))
def test_every_day_of_two_years_reads_as_babel_writes_it(language: str) -> None:
    locale, pattern = cldr.LOCALES[language]
    day = dt.date(2026, 1, 1)
    while day < dt.date(2028, 1, 1):
        assert cldr.text_date(day, language) == format_date(day, pattern, locale=locale)
        day += dt.timedelta(days=1)
    assert cldr.text_date(dt.date(2026, 12, 31), "fi") == "31.12.2026"
    assert cldr.text_date(dt.date(2026, 12, 31), "en") == "31 December 2026"


@pytest.mark.parametrize("language", sorted(cldr.LOCALES))
def test_lists_and_countries_read_as_babel_writes_them(language: str) -> None:
    locale = cldr.LOCALES[language][0]
    words = ["LianaMailer", "LianaCMS", "Liana WordPress", "LianaCommerce"]
    for n in range(len(words) + 1):
        assert cldr.format_list(words[:n], language) == babel_list(words[:n], locale=locale)
    territories = Locale.parse(locale).territories
    for code in ("FI", "SE", "US", "AE", "HK", "IE", "GB", "IL", "CN"):
        assert cldr.country_name(code, language) == territories[code]
    assert cldr.country_name("ZZ9", language) == "" and cldr.country_name(None, language) == ""
    assert cldr.format_list(["A", "B", "C"], "fi") == "A, B ja C"


def test_a_language_without_a_table_asks_babel() -> None:
    assert cldr.text_date(dt.date(2026, 12, 7), "de") == format_date(dt.date(2026, 12, 7), "long", locale="de")
    assert cldr.country_name("FI", "sv") == "Finland"
    assert cldr.format_list(["a", "b", "c"], "sv") == "a, b och c"
