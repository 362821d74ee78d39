"""Apply changes to the registry files' text, round-trip: comments, order and quoting kept.

`apply(texts, changes)` takes {file name: text} and returns the texts the changes leave, as a
hand edit would have written them: an edited item stays where it was, a new one goes last.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.registry_edit.changes import Change

FILE_OF = {"entity": "entities.yaml", "location": "locations.yaml", "entry": "sections.yaml",
           "transfer_basis": "registry.yaml"}
# entities.yaml's sources name one of these facts (the registry's loader accepts no others)
SOURCED_FACTS = ("legal_id", "country", "address", "privacy_contact")


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long text onto a second line
    yaml.preserve_quotes = True
    return yaml


def _flow(pairs: Iterable[tuple[str, Any]]) -> CommentedMap:
    out = CommentedMap(pairs)
    out.fa.set_flow_style()
    return out


LANGUAGE_ORDER = ("fi", "en")  # registry.yaml's languages, in the order the files write them


def _text_map(text: Mapping[str, str], like: Any = None) -> CommentedMap:
    """{fi: ..., en: ...} in the order of the text it replaces (else Finnish first), on one line when short,
    as the registry writes names."""
    order = [k for k in like if k in text] if isinstance(like, Mapping) else []
    order += [k for k in LANGUAGE_ORDER if k in text and k not in order]
    order += [k for k in text if k not in order]
    pairs = [(lang, " ".join(str(text[lang]).split())) for lang in order]
    out = CommentedMap(pairs)
    if sum(len(v) for _, v in pairs) < 80:
        out.fa.set_flow_style()
    return out


def _put_text(mapping: CommentedMap, key: str, text: Mapping[str, str], *, after: str | None = None) -> None:
    """Set a translated text: an existing one is changed in place (its layout, comments and any other keys,
    e.g. a purpose's items, kept), a new one written as _text_map writes it."""
    existing = mapping.get(key)
    if not isinstance(existing, CommentedMap):
        _set(mapping, key, _text_map(text), after=after)
        return
    for lang, value in _text_map(text, existing).items():
        if existing.get(lang) != value:
            existing[lang] = _folded(value) if isinstance(existing.get(lang), FoldedScalarString) else value


def _folded(text: str, width: int = 80) -> FoldedScalarString:
    """A long text written folded (`>-`) over lines of at most width characters, as the registry writes them."""
    out = FoldedScalarString(text)
    positions, line_start = [], 0
    for i, char in enumerate(text):
        if char == " " and i - line_start > width:
            cut = text.rfind(" ", line_start, i)
            cut = cut if cut > line_start else i
            positions.append(cut)
            line_start = cut + 1
    out.fold_pos = positions
    return out


def _set(mapping: CommentedMap, key: str, value: Any, *, after: str | None = None) -> None:
    """Set a key where it stands, insert a new one after a sibling (or last); None removes it."""
    if value is None:
        mapping.pop(key, None)
        return
    if key in mapping:
        if mapping[key] != value:  # an unchanged value keeps its quotes and layout
            mapping[key] = value
        return
    keys = list(mapping)
    mapping.insert(keys.index(after) + 1 if after in keys else len(keys), key, value)


def _deepest(node: Any) -> tuple[Any, Any] | None:
    """The container and key (or index) of the last scalar a block collection ends with."""
    if not isinstance(node, (CommentedMap, CommentedSeq)) or not node or node.fa.flow_style():
        return None
    last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
    return _deepest(node[last]) or (node, last)


def _take_end(collection: Any) -> tuple[Any, bool]:
    """Remove the comment token that closes a collection (blank lines, the next key's comment)."""
    end = _deepest(collection)
    token, block = None, False
    if end is not None:
        parent, last = end
        slot = 2 if isinstance(parent, CommentedMap) else 0
        comments = parent.ca.items.get(last)
        if comments and len(comments) > slot and comments[slot] is not None:
            token, comments[slot] = comments[slot], None
            # after a block scalar the token's first newline is a blank line; after a plain one it ends the line
            block = isinstance(parent[last], (FoldedScalarString, LiteralScalarString))
    return token, block


def _put_end(collection: Any, token: Any, block: bool) -> None:
    """Put a closing comment token back after the collection's (new) last item."""
    target = _deepest(collection)
    if token is not None and target is not None:
        parent, last = target
        slot = 2 if isinstance(parent, CommentedMap) else 0
        now_block = isinstance(parent[last], (FoldedScalarString, LiteralScalarString))
        if block and not now_block:
            token.value = "\n" + token.value
        elif now_block and not block and token.value.startswith("\n"):
            token.value = token.value[1:]
        parent.ca.items.setdefault(last, [None, None, None, None])[slot] = token


def _append(collection: Any, key: Any, value: Any) -> None:
    """Add an item last, keeping the blank lines and comments that close the collection after it."""
    token, block = _take_end(collection)
    if isinstance(collection, CommentedSeq):
        collection.append(value)
    else:
        collection[key] = value
    _put_end(collection, token, block)


def _remove(collection: Any, key: Any, holder: tuple[CommentedMap, str]) -> None:
    """Remove an item, keeping the blank lines and comments that close the collection (after the holder's
    key when the collection is left empty)."""
    last = None
    if collection:
        last = list(collection)[-1] if isinstance(collection, CommentedMap) else len(collection) - 1
    token, block = _take_end(collection) if key == last else (None, False)
    del collection[key]
    if collection or token is None:
        _put_end(collection, token, block)
        return
    parent, name = holder  # the comment goes before the key that follows the emptied one
    keys = list(parent)
    following = keys[keys.index(name) + 1] if keys.index(name) + 1 < len(keys) else None
    if following is not None:
        if not block and token.value.startswith("\n"):
            token.value = token.value[1:]
        parent.ca.items.setdefault(following, [None, None, None, None])[1] = [token]


def _problem(file: str, key: str, message: str, code: str = "", **params: object) -> InvalidInput:
    return InvalidInput([Diagnostic(file, None, None, key, message, code=code, params=params)])


def source_text(source: Mapping[str, str]) -> str:
    """A source as one line: where, then its words in quotes, then the note."""
    parts = [source.get("url", "")]
    if source.get("quote"):
        parts.append(f"“{source['quote']}”")
    if source.get("note"):
        parts.append(f"({source['note']})")
    return " ".join(p for p in parts if p)


def _entity(data: CommentedMap, change: Change) -> None:
    entities = data.get("entities")
    eid = change["id"]
    key = f"entities.{eid}"
    if change["action"] == "add" and eid in entities:
        raise _problem("entities.yaml", f"{key}.id", f"an entity with the id {eid!r} exists already",
                       "editor.exists", id=eid)
    if change["action"] != "add" and eid not in entities:
        raise _problem("entities.yaml", key, f"no entity with the id {eid!r}", "editor.missing", id=eid)
    if change["action"] == "remove":
        _remove(entities, eid, (data, "entities"))
        return
    item = entities.get(eid)
    if not isinstance(item, CommentedMap):
        item = CommentedMap()

    def value(name: str) -> str | None:
        part = change.get(name) or {}
        return part.get("value") or None

    _set(item, "name", value("name") or "")
    legal = change.get("legal_id") or {}
    legal_id = _flow([("kind", legal.get("kind", "")), ("value", legal["value"])]) if legal.get("value") else None
    _set(item, "legal_id", legal_id, after="name")
    if fact_style(data):
        _facts(item, change)
    else:
        _plain_facts(item, change, value)
    if eid not in entities:
        _append(entities, eid, item)


FACT_KEYS = ("legal_name", "registration", "country", "address", "privacy_contact")


def fact_style(data: Any) -> bool:
    """Whether entities.yaml writes each fact as {value, sources, confirmed} (else plain values, with the
    entity's `sources: [{fact, source}]`)."""
    entities = data.get("entities") if isinstance(data, Mapping) else None
    return any(isinstance(e, Mapping) and isinstance(e.get(k), Mapping)
               for e in (entities or {}).values() for k in FACT_KEYS)


def _facts(item: CommentedMap, change: Change) -> None:
    """Each fact a mapping: a changed value is proposed again (its confirmation dropped, its candidates and
    conflicts kept); an unchanged one keeps its confirmation and gains the sources given."""
    previous = "legal_id"
    for name in FACT_KEYS:
        part = change.get(name)
        if part is None:  # the form does not edit it
            previous = name if name in item else previous
            continue
        value, sources = part.get("value") or None, part.get("sources") or []
        if value is None:
            existing = item.get(name)
            if not (isinstance(existing, Mapping) and existing.get("candidates")):  # legal's choice stays open
                item.pop(name, None)
            continue
        fact = item.get(name) if isinstance(item.get(name), CommentedMap) else CommentedMap()
        if fact.get("value") != value:
            fact["value"] = value
            fact.pop("confirmed", None)
            kept: list = []
        else:
            kept = list(fact.get("sources") or [])
        for source in sources:
            if source not in kept:
                kept.append(CommentedMap(source))
        _set(fact, "sources", CommentedSeq(kept) if kept else None, after="value")
        if name not in item:
            _set(item, name, fact, after=previous)
        previous = name


def _plain_facts(item: CommentedMap, change: Change, value: Any) -> None:
    _set(item, "country", value("country"), after="legal_id")
    _set(item, "address", value("address"), after="country")
    _set(item, "privacy_contact", value("privacy_contact"), after="address")
    kept = [s for s in item.get("sources") or [] if isinstance(s, Mapping) and s.get("fact") not in SOURCED_FACTS]
    sources = CommentedSeq(kept)
    for name in SOURCED_FACTS:
        if value(name):
            for source in (change.get(name) or {}).get("sources") or []:
                sources.append(_flow([("fact", name), ("source", source_text(source))]))
    _set(item, "sources", sources if sources else None)


def _location(data: CommentedMap, change: Change) -> None:
    locations = data.get("locations")
    lid = change["id"]
    if change["action"] == "add" and lid in locations:
        raise _problem("locations.yaml", f"locations.{lid}.id", f"a location with the id {lid!r} exists already",
                       "editor.exists", id=lid)
    if change["action"] != "add" and lid not in locations:
        raise _problem("locations.yaml", f"locations.{lid}", f"no location with the id {lid!r}",
                       "editor.missing", id=lid)
    if change["action"] == "remove":
        _remove(locations, lid, (data, "locations"))
        return
    item = locations.get(lid)
    if not isinstance(item, CommentedMap):
        item = CommentedMap()
    _put_text(item, "name", change["name"])
    _set(item, "eea", bool(change.get("eea")), after="name")
    if lid not in locations:
        _append(locations, lid, item)


def _entry_index(entries: CommentedSeq, entity: str, location: str) -> int | None:
    return next((i for i, e in enumerate(entries)
                 if isinstance(e, Mapping) and e.get("entity") == entity and e.get("location") == location), None)


def _entry(data: CommentedMap, change: Change) -> None:
    sections = data.get("sections") or []
    index = next((i for i, s in enumerate(sections) if isinstance(s, Mapping) and s.get("id") == change["section"]),
                 None)
    if index is None:
        raise _problem("sections.yaml", "section", f"no section with the id {change['section']!r}",
                       "editor.missing", id=change["section"])
    section = sections[index]
    if not isinstance(section.get("entries"), CommentedSeq):
        section["entries"] = CommentedSeq()
    entries = section["entries"]
    was = change.get("was") or {}
    at = _entry_index(entries, was.get("entity"), was.get("location")) if change["action"] != "add" else None
    if change["action"] != "add" and at is None:
        raise _problem("sections.yaml", "section", f"section {change['section']!r} has no entry of "
                       f"{was.get('entity')!r} in {was.get('location')!r}", "editor.no_entry",
                       section=change["section"])
    same = _entry_index(entries, change.get("entity"), change.get("location"))
    if change["action"] != "remove" and same is not None and same != at:
        raise _problem("sections.yaml", "entity", f"section {change['section']!r} lists {change['entity']!r} in "
                       f"{change['location']!r} already", "editor.exists", id=change["entity"])
    if change["action"] == "remove":
        _remove(entries, at, (section, "entries"))
        return
    entry = entries[at] if at is not None else CommentedMap()
    _set(entry, "entity", change["entity"])
    _set(entry, "location", change["location"], after="entity")
    _put_text(entry, "purpose", change["purpose"], after="location")  # a purpose's bulleted items stay
    _set(entry, "option", change.get("option") or None, after="purpose")
    _set(entry, "transfer", change.get("transfer") or None, after="option")
    if at is None:
        _append(entries, None, entry)


def _transfer_basis(data: CommentedMap, change: Change) -> None:
    if not isinstance(data.get("transfer_bases"), CommentedMap):
        data["transfer_bases"] = CommentedMap()
    bases = data["transfer_bases"]
    bid = change["id"]
    if change["action"] == "add" and bid in bases:
        raise _problem("registry.yaml", f"transfer_bases.{bid}.id", f"a transfer basis {bid!r} exists already",
                       "editor.exists", id=bid)
    if change["action"] != "add" and bid not in bases:
        raise _problem("registry.yaml", f"transfer_bases.{bid}", f"no transfer basis with the id {bid!r}",
                       "editor.missing", id=bid)
    if change["action"] == "remove":
        _remove(bases, bid, (data, "transfer_bases"))
        return
    item = bases.get(bid)
    if not isinstance(item, CommentedMap):
        item = CommentedMap()
    _set(item, "kind", change.get("kind") or "")
    _set(item, "module", change.get("module") if change.get("kind") == "scc" else None, after="kind")
    _set(item, "decision", change.get("decision") or None if change.get("kind") == "adequacy" else None,
         after="module")
    _put_text(item, "name", change["name"], after="decision")
    sources = change.get("sources") or []
    _set(item, "source", "; ".join(source_text(s) for s in sources) or None, after="name")
    if any(isinstance(b, Mapping) and "sources" in b for b in bases.values()):  # facts with provenance
        _set(item, "sources", CommentedSeq(CommentedMap(s) for s in sources) if sources else None, after="source")
    if bid not in bases:
        _append(bases, bid, item)


APPLY = {"entity": _entity, "location": _location, "entry": _entry, "transfer_basis": _transfer_basis}


def apply(texts: Mapping[str, str], changes: Iterable[Change]) -> dict[str, str]:
    """The files' texts after the changes, in order; raise InvalidInput when an item is missing or taken."""
    yaml = round_trip_yaml()
    loaded: dict[str, Any] = {}
    for change in changes:
        name = FILE_OF[change["target"]]
        if name not in loaded:
            loaded[name] = yaml.load(texts[name].removeprefix("\ufeff"))
        APPLY[change["target"]](loaded[name], change)
    out = dict(texts)
    for name, data in loaded.items():
        buf = io.StringIO()
        yaml.dump(data, buf)
        out[name] = buf.getvalue()
    return out
