"""Typed access to a parsed YAML document that records every problem under its key."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from annex_gen.errors import Diagnostic
from annex_gen.inputs.yamlio import Document, Path_, key_path

ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
# Bidirectional embeddings, overrides and isolates: "Evil \u202eoc.lanigiro" displays as something else.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Letters that print as nothing (fillers, blank braille), beside the format and space categories.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", dict: "a mapping", list: "a list"}
_TYPE_KINDS = {str: "string", int: "number", bool: "bool", dict: "mapping", list: "list"}


def suggestion(value: object, choices: Iterable[str]) -> str | None:
    """The choice closest to value (same letters in another case, or a close spelling), or None."""
    if not isinstance(value, str):
        return None
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    if value.casefold() in folded:
        return folded[value.casefold()]
    import difflib  # only when a value is wrong

    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' when a close choice exists, else ''."""
    close = suggestion(value, choices)
    return f"; did you mean {close!r}?" if close else ""


def kind_of(value: object) -> str:
    """The kind of a value as a message parameter: none, bool, date, number, string, mapping, list, other."""
    if value is None:
        return "none"
    for kind, types in (("bool", bool), ("date", dt.date), ("number", (int, float)), ("string", str),
                        ("mapping", dict), ("list", list)):
        if isinstance(value, types):
            return kind
    return "other"


def shown(value: object, limit: int = 80) -> str:
    """A short, printable excerpt of a value for a message: repr-quoted, escapes visible, cut at limit."""
    text = repr(str(value))
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def one_of(choices: Iterable[str]) -> str:
    """'expected one of a, b, c'."""
    return "expected one of " + ", ".join(sorted(choices))


def describe(value: object) -> str:
    """A short description of a value's type for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dt.date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({shown(value)})" if len(value) < 40 else "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _visible(char: str) -> bool:
    """Whether char prints as something a reader can see."""
    return unicodedata.category(char)[0] not in "CZM" and char not in _BLANK_LETTERS


class Checker:
    """Reads values out of a Document, collecting a located diagnostic for every problem."""

    def __init__(self, doc: Document, diagnostics: list[Diagnostic]) -> None:
        self.doc = doc
        self.diagnostics = diagnostics
        # Paths already reported as missing or of the wrong type: reading below them again
        # must not report the same problem a second time.
        self.reported: set[Path_] = set()

    def _wrong(self, path: Path_, message: str, *, code: str, params: dict[str, Any]) -> None:
        """Report a missing or wrongly typed value once, unless a parent was already reported."""
        if not any(path[:i] in self.reported for i in range(len(path) + 1)):
            self.error(path, message, code=code, params=params)
        self.reported.add(path)

    def error(self, path: Path_, message: str, *, key: bool = False, code: str = "",
              params: dict[str, Any] | None = None) -> None:
        """Record an error at the value (or key) at path; code and params name its text for the web."""
        self.diagnostics.append(self.doc.diag(path, message, key=key, code=code, params=params))

    def warn(self, path: Path_, message: str, *, code: str = "", params: dict[str, Any] | None = None) -> None:
        """Record a warning at path."""
        self.diagnostics.append(self.doc.diag(path, message, severity="warning", code=code, params=params))

    def get(self, path: Path_) -> Any:
        """The raw value at path, or None."""
        value: Any = self.doc.data
        for part in path:
            if isinstance(part, int) and isinstance(value, list) and part < len(value):
                value = value[part]
            elif isinstance(part, str) and isinstance(value, dict):
                value = value.get(part)
            else:
                return None
        return value

    def mapping(
        self, path: Path_, required: Iterable[str] = (), optional: Iterable[str] = (), *, free: bool = False
    ) -> dict[str, Any] | None:
        """A mapping with the given keys; unknown keys are errors unless free."""
        value = self.get(path)
        if not isinstance(value, dict):
            self._wrong(path, f"expected a mapping, got {describe(value)}", code="value.type",
                        params={"expected": "mapping", "got": kind_of(value)})
            return None
        required, optional = list(required), list(optional)
        for key in required:
            if key not in value:
                # located at the key's own place where the input has one (an empty CSV cell)
                line, col = self.doc.where((*path, key))
                self.diagnostics.append(Diagnostic(self.doc.path, line, col, key_path(path),
                                                   f"missing required key {key!r}", code="key.missing",
                                                   params={"key": key}))
                self.reported.add((*path, key))
        if not free:
            known = required + optional
            for key in value:
                if key not in known:
                    self.error(
                        (*path, key),
                        f"unknown key {key!r}; {one_of(known)}{did_you_mean(key, known)}",
                        key=True, code="key.unknown",
                        params={"key": key, "known": sorted(known), "suggestion": suggestion(key, known)},
                    )
        return value

    def typed(self, path: Path_, kind: type, *, optional: bool = False) -> Any:
        """The value at path if it has the expected type (bool is not an int)."""
        value = self.get(path)
        if value is None and optional:
            return None
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self._wrong(path, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {describe(value)}",
                        code="value.type", params={"expected": _TYPE_KINDS.get(kind, "other"), "got": kind_of(value)})
            return None
        return value

    def text_line(self, path: Path_, *, optional: bool = False, max_len: int = 500) -> str | None:
        """A non-empty single-line string without control characters."""
        value = self.typed(path, str, optional=optional)
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            self.error(path, "must not be empty", code="value.empty")
            return None
        if _CONTROL.search(value):
            self.error(path, "contains control characters", code="value.control")
            return None
        if bidi := _BIDI.search(value):
            char = bidi.group()
            self.error(path, f"contains the bidirectional control character U+{ord(char):04X} "
                             f"{unicodedata.name(char)}, which can make the text display as something else; "
                             "remove it", code="value.bidi",
                       params={"codepoint": f"U+{ord(char):04X}", "name": unicodedata.name(char)})
            return None
        if not any(_visible(char) for char in value):
            self.error(path, "contains no visible character", code="value.invisible")
            return None
        if len(value) > max_len:
            self.error(path, f"is longer than {max_len} characters", code="value.too_long",
                       params={"max": max_len})
            return None
        return value

    def ident(self, path: Path_, *, optional: bool = False) -> str | None:
        """An id: lowercase letters, digits and inner hyphens."""
        value = self.typed(path, str, optional=optional)
        if value is None:
            return None
        if not value.strip():
            self.error(path, "must not be empty", code="value.empty")
            return None
        if not ID_RE.match(value):
            self.error(
                path,
                f"{shown(value)} is not a valid id; use lowercase letters a-z, digits and hyphens "
                "(at most 64 characters, no leading or trailing hyphen)",
                code="value.bad_id", params={"value": value},
            )
            return None
        return value

    def choice(self, path: Path_, choices: Iterable[str], what: str, *, optional: bool = False,
               aliases: dict[str, str] | None = None, code: str = "value.unknown_choice") -> str | None:
        """A string that must be one of choices; aliases (e.g. display names) only feed suggestions.

        The message's params: value, the choices (as `choices`, their kind as `kind`: region,
        product...) and the suggestion.
        """
        value = self.typed(path, str, optional=optional)
        if value is None:
            return None
        choices = list(choices)
        if value not in choices:
            alias = (aliases or {}).get(" ".join(value.split()).casefold())
            close = alias or suggestion(value, choices)
            hint = f"; did you mean {close!r}?" if close else ""
            self.error(path, f"unknown {what} {shown(value)}; {one_of(choices)}{hint}", code=code,
                       params={"value": value, "choices": sorted(choices), "kind": what, "suggestion": close})
            return None
        return value

    def date(self, path: Path_) -> dt.date | None:
        """A date written as YYYY-MM-DD."""
        value = self.get(path)
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and _DATE_RE.match(value):
            self._wrong(path, f"{value!r} is not a date that exists (YYYY-MM-DD)", code="value.no_such_date",
                        params={"value": value})
            return None
        self._wrong(path, f"expected a date of the form YYYY-MM-DD, got {describe(value)}", code="value.not_date",
                    params={"got": kind_of(value)})
        return None

    def text(self, path: Path_, languages: Iterable[str], extra: Iterable[str] = ()) -> dict[str, str] | None:
        """A translated text: one non-empty string per language (and the extra keys allowed)."""
        languages = list(languages)
        value = self.mapping(path, optional=[*languages, *extra])
        if value is None:
            return None
        out = {}
        for lang in languages:
            if lang not in value:
                self.error(path, f"missing the {lang!r} translation", code="value.missing_translation",
                           params={"language": lang})
                continue
            line = self.text_line((*path, lang), max_len=2000)
            if line is not None:
                out[lang] = line
        return out if len(out) == len(languages) else None
