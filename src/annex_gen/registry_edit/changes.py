"""A change of the registry as plain data (stored as JSON in a proposal), and what it says in words.

One change adds, changes or removes one item:

    {"target": "entity", "action": "add" | "change" | "remove", "id": "newco",
     "name": FACT, "legal_id": {"kind": "vat", **FACT}, "country": FACT, "address": FACT,
     "privacy_contact": FACT}
    {"target": "location", "action": ..., "id": "eu", "name": {"fi": ..., "en": ...}, "eea": true,
     "sources": [SOURCE]}
    {"target": "entry", "action": ..., "section": "eu-mailer", "entity": "newco", "location": "eu",
     "was": {"entity": ..., "location": ...},  # the entry changed or removed
     "purpose": {"fi": ..., "en": ...}, "option": null, "transfer": null, "sources": [SOURCE]}
    {"target": "transfer_basis", "action": ..., "id": "scc-module-2", "kind": "scc", "module": 2,
     "decision": null, "name": {"fi": ..., "en": ...}, "sources": [SOURCE]}

FACT is {"value": TEXT, "sources": [SOURCE]} and SOURCE is {"url": ..., "quote": ..., "note": ...}:
each printed fact carries the sources it was taken from, as the registry records them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TARGETS = ("entity", "location", "entry", "transfer_basis")
ACTIONS = ("add", "change", "remove")
ENTITY_FACTS = ("name", "legal_id", "country", "address", "privacy_contact")
SOURCE_FIELDS = ("url", "quote", "note")

Change = dict[str, Any]


def clean_source(source: Mapping[str, Any]) -> dict[str, str]:
    """A source with its texts trimmed and empty fields left out."""
    return {k: " ".join(str(source.get(k) or "").split()) for k in SOURCE_FIELDS if str(source.get(k) or "").strip()}


def clean_sources(sources: Any) -> list[dict[str, str]]:
    """The sources that name something (a source needs at least its address or description)."""
    out = [clean_source(s) for s in sources or () if isinstance(s, Mapping)]
    return [s for s in out if s]


def fact(value: str, sources: Any = ()) -> dict[str, Any]:
    """A fact: its value and where it comes from."""
    return {"value": " ".join(value.split()), "sources": clean_sources(sources)}


def change_sources(change: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every source the change names, once each, in order."""
    found: list[dict[str, str]] = []
    for part in (change.get(k) for k in ENTITY_FACTS):
        if isinstance(part, Mapping):
            found += clean_sources(part.get("sources"))
    found += clean_sources(change.get("sources"))
    return [s for i, s in enumerate(found) if s not in found[:i]]


def item_key(change: Mapping[str, Any]) -> tuple[str, ...]:
    """What the change is about: two open proposals about the same item conflict."""
    if change["target"] == "entry":
        was = change.get("was") or change
        return ("entry", change["section"], was["entity"], was["location"])
    return (change["target"], change["id"])


def summary(change: Mapping[str, Any]) -> str:
    """The change in one line of English (commit messages, the audit log)."""
    target, action = change["target"], change["action"]
    verb = {"add": "add", "change": "change", "remove": "remove"}[action]
    if target == "entity":
        name = (change.get("name") or {}).get("value") or change["id"]
        return f"{verb} entity {name} ({change['id']})"
    if target == "location":
        return f"{verb} location {change['id']}"
    if target == "transfer_basis":
        return f"{verb} transfer basis {change['id']}"
    was = change.get("was") or {}
    if action == "remove":
        return f"remove {was.get('entity')} in {was.get('location')} from section {change['section']}"
    return f"{verb} {change['entity']} in {change['location']} in section {change['section']}"


def merge_summary(changes: list[Mapping[str, Any]]) -> str:
    """Several changes in one line."""
    return "; ".join(summary(c) for c in changes)
