"""Reading a fact's provenance from the registry: `sources`, `confirmed`, `candidates`, `conflicts`.

A scalar fact is a mapping `{value, sources, confirmed, candidates, conflicts}`; a record fact
(a transfer basis, a regional transfer clause, a correction) carries `sources` and `confirmed`
beside its own keys. Both are read here, so every kind of fact is checked alike.
"""

from __future__ import annotations

from collections.abc import Callable

from annex_gen.inputs.schema import Checker
from annex_gen.inputs.yamlio import key_path
from annex_gen.model.provenance import Candidate, Confirmation, Fact, Source

SCALAR_KEYS = ("value", "sources", "confirmed", "candidates", "conflicts")
RECORD_KEYS = ("sources", "confirmed")
_QUOTE_MAX = 4000


def _sources(c: Checker, path: tuple) -> tuple[Source, ...]:
    out = []
    for i, _ in enumerate(c.typed(path, list, optional=True) or []):
        if not c.mapping((*path, i), required=["url"], optional=["quote", "note"]):
            continue
        url = c.text_line((*path, i, "url"), max_len=2000)
        quote = c.typed((*path, i, "quote"), str, optional=True)
        if quote is not None and (not quote.strip() or len(quote) > _QUOTE_MAX):
            c.error((*path, i, "quote"), f"expected the source's words (1 to {_QUOTE_MAX} characters)",
                    code="registry.fact.quote", params={"max": _QUOTE_MAX})
            quote = None
        note = c.text_line((*path, i, "note"), optional=True, max_len=2000)
        if url:
            out.append(Source(url, quote, note))
    return tuple(out)


def text_sources(c: Checker, path: tuple, *, optional: bool = False) -> tuple[Source, ...]:
    """`sources` of a registry text beyond the published list: at least one [{url, quote, note}]."""
    value = c.typed(path, list, optional=optional)
    if value is None:
        return ()
    if not value:
        c.error(path, "name at least one source: {url: WHERE, quote: THE WORDS, note: ...}",
                code="registry.sources_empty")
    return _sources(c, path)


def _confirmation(c: Checker, path: tuple) -> Confirmation | None:
    if c.get(path) is None:
        return None
    if not c.mapping(path, required=["by", "on"], optional=["source"]):
        return None
    by = c.text_line((*path, "by"), max_len=200)
    on = c.date((*path, "on"))
    source = c.text_line((*path, "source"), optional=True, max_len=2000)
    return Confirmation(by, on, source) if by and on else None


def _conflicts(c: Checker, path: tuple) -> tuple[str, ...]:
    out = []
    for i, _ in enumerate(c.typed(path, list, optional=True) or []):
        line = c.text_line((*path, i), max_len=2000)
        if line:
            out.append(line)
    return tuple(out)


def read_fact(c: Checker, path: tuple, label: str, *,
              check_value: Callable[[str], str | None] | None = None) -> Fact | None:
    """A scalar fact at path (a mapping), or None when absent or invalid; problems go to the checker."""
    raw = c.get(path)
    if raw is None:
        return None
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        c.error(path, f"{label} is a fact beyond the published list: write it as {{value: {raw!r}, sources: "
                "[{url: WHERE, quote: THE WORDS}]}, with `confirmed: {by: NAME, on: DATE}` once legal has checked it",
                code="registry.fact.plain", params={"label": label})
        return None
    if not c.mapping(path, optional=SCALAR_KEYS):
        return None
    value = c.text_line((*path, "value"), optional=True, max_len=2000)
    if value is not None and check_value is not None and (problem := check_value(value)):
        c.error((*path, "value"), problem, code="registry.country", params={"value": value})
        value = None
    sources = _sources(c, (*path, "sources"))
    confirmed = _confirmation(c, (*path, "confirmed"))
    candidates = []
    for i, _ in enumerate(c.typed((*path, "candidates"), list, optional=True) or []):
        cpath = (*path, "candidates", i)
        if c.mapping(cpath, required=["value"], optional=["sources"]):
            cvalue = c.text_line((*cpath, "value"), max_len=2000)
            if cvalue:
                candidates.append(Candidate(cvalue, _sources(c, (*cpath, "sources"))))
    conflicts = _conflicts(c, (*path, "conflicts"))
    if "value" not in raw and not candidates:
        c.error(path, "a fact needs `value` (with `sources`) or, where legal must choose, `candidates`",
                code="registry.fact.no_value")
        return None
    if value is not None and not raw.get("sources") and confirmed is None:
        c.error((*path, "sources"), "a proposed fact needs `sources`: [{url: WHERE, quote: THE WORDS, note: ...}]",
                code="registry.fact.no_sources")
    if confirmed is not None and "value" not in raw:
        c.error((*path, "confirmed"), "only a fact with a `value` can be confirmed; choose one of the candidates",
                code="registry.fact.confirmed_open")
        confirmed = None
    line, _ = c.doc.where(path)
    return Fact(key_path(path), c.doc.path, line, label, value, sources, confirmed, tuple(candidates), conflicts)


def read_record_fact(c: Checker, path: tuple, label: str, value: str | None,
                     extra: tuple[Source, ...] = (), sources: tuple[Source, ...] | None = None) -> Fact:
    """The provenance of a record (its `sources` and `confirmed` keys); extra sources come first.
    sources: the record's `sources` when the caller has read them already."""
    line, _ = c.doc.where(path)
    if sources is None:
        sources = _sources(c, (*path, "sources"))
    return Fact(key_path(path), c.doc.path, line, label, value, (*extra, *sources),
                _confirmation(c, (*path, "confirmed")))
