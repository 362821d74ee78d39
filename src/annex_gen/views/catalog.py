"""Message catalogs: every fixed text of a document, one YAML file per language."""

from __future__ import annotations

import marshal
import os
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from annex_gen import cachefiles
from annex_gen.counts import counted
from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.hashing import sha256
from annex_gen.inputs import yamlio
from annex_gen.inputs.files import read_text
from annex_gen.inputs.yamlio import Document
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


def _bad_counts(text: str) -> list[str]:
    """The placeholders whose word forms are not written `{name:one|other}`."""
    return [name for _, name, spec, _ in string.Formatter().parse(text)
            if name and "|" in (spec or "") and not (spec.count("|") == 1 and all(spec.split("|")))]


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
        """The text of key with its {placeholders} filled (`{n:one|other}`: a number with its word, see Counted)."""
        return self[key].format(**counted(values))


@cache
def load_catalogs(directory: Path = TEMPLATES_DIR / "i18n") -> dict[str, Catalog]:
    """Every language's catalog; all must have the same keys and placeholders.

    Catalogs that passed are kept in the user's cache keyed by their files and the code that reads
    them (a command would otherwise parse every language's YAML to print one)."""
    files = [(path.stem, read_text(path)) for path in sorted(directory.glob("*.yaml"))]
    try:
        name = _cache_name(directory, files)
    except OSError:  # annex-gen's own sources unreadable: no key, so no cache
        name = None
    texts = _cached(name) if name else None
    if texts is None:
        texts = _parsed(directory, files)
        if name:
            cachefiles.write(name, marshal.dumps(texts), keep=KEEP)
    return {language: Catalog(language, by_key) for language, by_key in texts.items()}


KEEP = 8  # sets of catalogs kept: documents, web, site, mail, and a few versions


def _cache_name(directory: Path, files: list[tuple[str, str]]) -> str:
    h = sha256(cachefiles.code_digest())
    h.update(b"\0" + os.fsencode(directory))
    for language, text in files:
        h.update(b"\0" + language.encode() + b"\0" + sha256(text.encode()).digest())
    return f"catalogs-{h.hexdigest()[:32]}.marshal"


def _cached(name: str) -> dict[str, dict[str, str]] | None:
    data = cachefiles.read(name)
    try:
        texts = marshal.loads(data) if data is not None else None
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(texts, dict) or not all(isinstance(t, dict) for t in texts.values()):
        return None
    return texts


def _parsed(directory: Path, files: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """The texts of every language, checked against each other."""
    catalogs: dict[str, Catalog] = {}
    for language, text in files:
        doc = yamlio.parse_text(text, str(directory / f"{language}.yaml"))
        texts: dict[str, str] = {}
        _flatten(doc, doc.data, "", texts)
        catalogs[language] = Catalog(language, texts)
    problems: list[Diagnostic] = []
    reference = next(iter(catalogs.values()), None)
    every_key = sorted({key for cat in catalogs.values() for key in cat})
    for cat in catalogs.values():
        for key in every_key:
            if key not in cat:
                problems.append(Diagnostic(str(directory / f"{cat.language}.yaml"), None, None, key,
                                           "missing text (present in another language)"))
            elif key in reference and _fields(cat[key]) != _fields(reference[key]):
                problems.append(Diagnostic(str(directory / f"{cat.language}.yaml"), None, None, key,
                                           f"placeholders differ from {reference.language}.yaml"))
            elif bad := _bad_counts(cat[key]):
                problems.append(Diagnostic(str(directory / f"{cat.language}.yaml"), None, None, key,
                                           f"{{{bad[0]}:...}}: a number's word forms are written "
                                           f"{{{bad[0]}:one|other}}, as {{count:file|files}}"))
    if problems:
        raise InvalidInput(problems)
    return {language: dict(cat.items()) for language, cat in catalogs.items()}
