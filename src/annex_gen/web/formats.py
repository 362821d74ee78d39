"""Numbers, dates, times and byte sizes as the page's language writes them; times in the user's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from babel.numbers import format_decimal

from annex_gen.errors import UsageError

DEFAULT_TIME_ZONE = "Europe/Helsinki"
# Unambiguous patterns (Babel's short English date, 12/7/26, reads differently in Europe and America).
_DATE = {"fi": "d.M.yyyy", "en": "d MMM yyyy"}
_MOMENT = {"fi": "d.M.yyyy 'klo' H.mm", "en": "d MMM yyyy, HH:mm"}
_SIZE_UNITS = {"fi": ("tavua", "kt", "Mt", "Gt"), "en": ("B", "KB", "MB", "GB")}


@lru_cache(maxsize=4096)  # a list shows the same few hundred dates on every page
def _date(value: dt.date, lang: str) -> str:
    return format_date(value, format=_DATE.get(lang, "medium"), locale=lang)


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called name; refuse an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}; give an IANA name such as Europe/Helsinki") from None


class Formats:
    """How one page writes values: its language (a Babel locale) and the user's time zone."""

    def __init__(self, lang: str, zone: str = DEFAULT_TIME_ZONE) -> None:
        self.lang = lang
        self.zone_name = zone
        self.zone = time_zone(zone)

    def number(self, value: float) -> str:
        """1 234 in Finnish, 1,234 in English."""
        return format_decimal(value, locale=self.lang)

    def date(self, value: dt.date | str | None) -> str:
        """7.12.2026 in Finnish, 7 Dec 2026 in English; '' for None; text that is not a date as is."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value[:10]) if len(value) == 10 else dt.date.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, dt.datetime):
            value = value.date()
        return _date(value, self.lang)

    def when(self, value: dt.datetime | str | None) -> str:
        """A moment in the user's time zone, to the minute: 7.12.2026 klo 2.53 / 7 Dec 2026, 02:53."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return format_datetime(value, _MOMENT.get(self.lang, "short"), tzinfo=self.zone, locale=self.lang)

    def size(self, n: int) -> str:
        """A byte count as people read it (steps of 1024): 512 tavua / 512 B, 1,2 kt / 1.2 KB, 100 Mt / 100 MB."""
        units = _SIZE_UNITS.get(self.lang, _SIZE_UNITS["en"])
        value, unit = float(n), 0
        while value >= 1024 and unit < len(units) - 1:
            value, unit = value / 1024, unit + 1
        shown = format_decimal(round(value, 1) if unit else int(value), format="#,##0.#", locale=self.lang)
        return f"{shown}\u00a0{units[unit]}"

    def items(self, values: Iterable[str]) -> str:
        """a, b and c / a, b ja c."""
        values = list(values)
        return format_list(values, locale=self.lang) if values else ""
