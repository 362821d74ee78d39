"""A number with its word in the right form: `f"{Counted(n):file|files}"` reads "1 file", "3 files".

The catalogs write the same `{n:one|other}` (Finnish `{n:tiedosto|tiedostoa}`); the command line's
and the logs' English use it directly.
"""

from __future__ import annotations

from collections.abc import Mapping


class Counted:
    """A number in a text: `{n}` shows it, `{n:file|files}` shows it with the word's form for that number
    ("1 file", "3 files"; Finnish "1 tiedosto", "3 tiedostoa"): both languages have a form for one and
    one for any other number."""

    def __init__(self, number: int, shown: str | None = None) -> None:
        self.number = number
        self.shown = str(number) if shown is None else shown

    def __format__(self, spec: str) -> str:
        if "|" not in spec:
            return format(self.number, spec) if spec else self.shown
        one, other = spec.split("|", 1)
        return f"{self.shown} {one if abs(self.number) == 1 else other}"

    def __str__(self) -> str:
        return self.shown


def counted(values: Mapping[str, object]) -> dict[str, object]:
    """The values with each whole number ready for `{n:one|other}`."""
    return {name: Counted(v) if isinstance(v, int) and not isinstance(v, bool) else v for name, v in values.items()}
