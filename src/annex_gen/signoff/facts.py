"""The registry's facts as legal sees them: what is unconfirmed, and confirming one in the YAML itself.

A confirmation is written into the registry file that states the fact, round-trip (comments,
order and quoting kept), and the registry is loaded again before the file is replaced, so
a confirmation never leaves an invalid registry behind.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path

from annex_gen.counts import Counted
from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.model import Registry
from annex_gen.model.provenance import OPEN, Fact

# which file states the facts under each top-level key
_FILE_OF = {"entities": "entities.yaml", "transfer_bases": "registry.yaml", "regions": "registry.yaml",
            "notice": "registry.yaml", "corrections": "corrections.yaml"}
_KEY_RE = re.compile(r"^[a-z_]+(?:\.[a-z0-9_-]+|\[[0-9]+\])+$")
ENTITY_FACT_KEYS = ("legal_name", "registration", "country", "address", "privacy_contact")


def unconfirmed(registry: Registry) -> list[Fact]:
    """The printed facts legal has not confirmed (proposed or open), in file order."""
    return [f for f in registry.facts if f.printed and f.confirmed is None]


def fact_diagnostic(fact: Fact) -> Diagnostic:
    """A warning naming the fact's file, line and key, and what legal has to do."""
    if fact.status == OPEN:
        choices = "; ".join(c.value for c in fact.candidates)
        message = f"{fact.label}: open, legal must name it (candidates: {choices})"
        return Diagnostic(fact.file, fact.line, None, fact.key, message, "warning", code="signoff.fact_open",
                          params={"fact": fact.label, "key": fact.key, "candidates": choices})
    message = (f"{fact.label}: proposed, not confirmed by legal ({_short(fact.value)}; "
               f"{Counted(len(fact.sources)):source|sources}"
               f"{'; sources conflict' if fact.conflicts or fact.candidates else ''})")
    return Diagnostic(fact.file, fact.line, None, fact.key, message, "warning", code="signoff.fact_proposed",
                      params={"fact": fact.label, "key": fact.key, "value": fact.value or "",
                              "sources": len(fact.sources)})


def _short(value: str | None, limit: int = 60) -> str:
    text = repr(value or "")
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def fact_warnings(registry: Registry, *, each: bool) -> list[Diagnostic]:
    """Each unconfirmed printed fact (each=True, as `check --strict` lists them), or one line counting them."""
    facts = unconfirmed(registry)
    if each or not facts:
        return [fact_diagnostic(f) for f in facts]
    return [Diagnostic(facts[0].file.rsplit("/", 1)[0], None, None, "",
                       f"{Counted(len(facts)):printed fact is|printed facts are} not confirmed by legal, so every "
                       "annex is a draft; `annex-gen check --strict` or `annex-gen facts list` names each", "warning",
                       code="signoff.facts_unconfirmed", params={"count": len(facts)})]


def parse_key(key: str) -> tuple:
    """'entities.cyclr.address' -> ('entities', 'cyclr', 'address'); 'corrections[3]' -> ('corrections', 3)."""
    if not _KEY_RE.match(key):
        raise UsageError(f"{key!r} is not a fact's key; expected e.g. entities.cyclr.address, "
                         "transfer_bases.scc-module-3 or corrections[3] (`annex-gen facts list` shows them)")
    parts: list = []
    for name, index in re.findall(r"\.?([a-z0-9_-]+)|\[([0-9]+)\]", key):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # as the registry's files are written: one line per value
    yaml.preserve_quotes = True
    return yaml


def confirm(registry_dir: Path, registry: Registry, key: str, *, by: str, on: dt.date, source: str,
            before_write: Callable[[], None] | None = None,
            value: str | None = None) -> Path:
    """Record legal's confirmation of a fact (with what they checked it against) in its registry file.

    value names the fact's value where it has none yet (an open fact, a missing address) or where legal
    chooses another one (a candidate, or a value of their own): the value it replaces is kept as a
    candidate, so the sources of both stay visible. Returns the file written.
    """
    from annex_gen.inputs.registry import load_registry
    from annex_gen.output.write import write_atomic

    path = parse_key(key)
    by, source = " ".join(by.split()), " ".join(source.split())
    if not by or not source:
        raise UsageError("a confirmation names who confirms (--by) and what they checked it against (--source)",
                         code="signoff.confirm_who")
    fact = next((f for f in registry.facts if f.key == key), None)
    is_entity_fact = (len(path) == 3 and path[0] == "entities" and path[1] in registry.entities
                      and path[2] in ENTITY_FACT_KEYS)
    if fact is None and is_entity_fact and not value:  # a detail no source states yet: legal gives it
        raise UsageError(f"{key} has no value yet: give it with --value TEXT, with the source you checked it "
                         "against (--source)", code="signoff.missing_value", params={"key": key})
    if fact is None and not (is_entity_fact and value):
        import difflib

        close = difflib.get_close_matches(key, [f.key for f in registry.facts], n=1)
        hint = f"did you mean {close[0]!r}?" if close else "`annex-gen facts list --all` lists every fact"
        raise UsageError(f"no fact {key!r} in the registry; an entity's missing detail is added with --value; "
                         f"{hint}", code="signoff.no_fact", params={"key": key})
    if value is not None and not is_entity_fact:
        raise UsageError(f"{key}: only an entity's detail takes --value; a record is confirmed as it stands",
                         code="signoff.value_record", params={"key": key})
    if fact is not None and fact.value is None and value is None:
        choices = "; ".join(c.value for c in fact.candidates)
        raise UsageError(f"{key} has no value yet: choose one with --value (candidates: {choices})",
                         code="signoff.choose_value", params={"key": key, "candidates": choices})
    name = _FILE_OF.get(str(path[0]))
    if name is None:
        raise UsageError(f"{key}: not a key of a registry file", code="signoff.bad_key", params={"key": key})
    file = registry_dir / name
    yaml = _yaml()
    data = yaml.load(file.read_text(encoding="utf-8"))
    node = _node(data, path, create=is_entity_fact)
    if value is not None:
        _set_value(node, " ".join(value.split()), source)
    from ruamel.yaml.comments import CommentedMap

    node["confirmed"] = CommentedMap([("by", by), ("on", on), ("source", source)])
    out = io.StringIO()
    yaml.dump(data, out)
    text = out.getvalue().encode("utf-8")
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the whole registry must still load
        copy = Path(tmp) / "registry"
        shutil.copytree(registry_dir, copy)
        (copy / name).write_bytes(text)
        load_registry(copy)
    if before_write is not None:  # the audit entry, written before the file is replaced
        before_write()
    write_atomic(file, text)
    return file


def _node(data, path: tuple, *, create: bool):
    from ruamel.yaml.comments import CommentedMap

    node = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        try:
            child = node[part]
        except (KeyError, IndexError, TypeError):
            child = None
        if child is None and last and create:
            child = node[part] = CommentedMap()
        if not isinstance(child, dict) and (last or not isinstance(child, list)):
            raise InvalidInput([Diagnostic(str(path[0]), None, None, ".".join(map(str, path[: i + 1])),
                                           "expected a mapping here to record the confirmation in",
                                           code="signoff.not_mapping")])
        node = child
    return node


def _set_value(node, value: str, source: str) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    current = node.get("value")
    if current == value:
        return
    candidates = node.get("candidates") or CommentedSeq()
    chosen = next((c for c in candidates if c.get("value") == value), None)
    if chosen is not None:
        candidates.remove(chosen)
    if current is not None:  # the value set aside stays visible with its sources
        kept = CommentedMap([("value", current)])
        if node.get("sources"):
            kept["sources"] = node["sources"]
        candidates.append(kept)
    sources = (chosen or {}).get("sources") or CommentedSeq()
    sources.append(CommentedMap([("url", source), ("note", "the source legal confirmed the value against")]))
    node["value"] = value
    node["sources"] = sources
    if candidates:
        node["candidates"] = candidates
    elif "candidates" in node:
        del node["candidates"]
    # keep the keys in the documented order: value first
    for k in ("candidates", "conflicts", "confirmed"):
        if k in node:
            node.move_to_end(k)
