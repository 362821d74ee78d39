"""Message catalogs: every fixed text of a document, one YAML file per language."""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.inputs.yamlio import Document, load
from annex_gen.resources import TEMPLATES_DIR


def _flatten(doc: Document, data: object, prefix: str, out: dict[str, str]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(doc, value, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(data, str):
        out[prefix] = " ".join(data.split())
    else:
        raise InvalidInput([doc.diag(tuple(prefix.split(".")), "expected a text")])


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalog(Mapping[str, str]):
    """The texts of one language, looked up by dotted key."""

    def __init__(self, language: str, texts: dict[str, str]) -> None:
        self.language = language
        self._texts = texts

    def __getitem__(self, key: str) -> str:
        try:
            return self._texts[key]
        except KeyError:
            raise KeyError(f"no text {key!r} in the {self.language!r} catalog") from None

    def __iter__(self):
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def group(self, prefix: str) -> dict[str, str]:
        """The texts under prefix, by their key within it: group("table")["company"]."""
        start = prefix + "."
        return {key[len(start):]: text for key, text in self._texts.items() if key.startswith(start)}

    def format(self, key: str, /, **values: object) -> str:
        """The text of key with its {placeholders} filled."""
        return self[key].format(**values)


@cache
def load_catalogs(directory: Path = TEMPLATES_DIR / "i18n") -> dict[str, Catalog]:
    """Every language's catalog; all must have the same keys and placeholders."""
    catalogs: dict[str, Catalog] = {}
    for path in sorted(directory.glob("*.yaml")):
        doc = load(path)
        texts: dict[str, str] = {}
        _flatten(doc, doc.data, "", texts)
        catalogs[path.stem] = Catalog(path.stem, texts)
    problems: list[Diagnostic] = []
    reference = next(iter(catalogs.values()), None)
    for cat in catalogs.values():
        for key in sorted(set(reference) | set(cat)) if reference else ():
            if key not in cat:
                problems.append(Diagnostic(str(directory / f"{cat.language}.yaml"), None, None, key,
                                           "missing text (present in another language)"))
            elif key in reference and _fields(cat[key]) != _fields(reference[key]):
                problems.append(Diagnostic(str(directory / f"{cat.language}.yaml"), None, None, key,
                                           f"placeholders differ from {reference.language}.yaml"))
    if problems:
        raise InvalidInput(problems)
    return catalogs


