"""Untrusted YAML in, plain Python data out, with the line and column of every value.

Only plain YAML is accepted: mappings, sequences, strings, numbers, booleans, null and
dates. Anchors/aliases (the root of alias bombs), custom tags and duplicate keys are
refused with a located error instead of being interpreted.

Plain files (no anchors, aliases, tags, directives or merge keys) are composed by libyaml's
C parser through PyYAML, with ruamel's YAML 1.2 rules for plain scalars, about ten times
faster; anything else, and any file libyaml refuses, goes to ruamel's pure parser, whose
located messages every error reports. Both yield the same nodes and positions. ruamel is
imported (inputs/yaml_pure.py) only when a file takes the pure parser; the fast path carries
ruamel's YAML 1.2 rules as a table (YAML12_RESOLVERS, compared with ruamel's by the tests).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.imports import with_patterns_on_first_use

# PyYAML's pure reader and its YAML 1.1 resolver compile their patterns at import, half of PyYAML's
# import time; the fast path reads through libyaml and resolves with YAML12_RESOLVERS below.
try:
    pyyaml = with_patterns_on_first_use("yaml")
except ImportError:  # the pure parser alone still reads every file
    pyyaml = None

from annex_gen.inputs.files import read_text

MAX_DEPTH = 64

Path_ = tuple[str | int, ...]

Node = Any
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


def key_path(path: Path_) -> str:
    """Render ('contract', 'products', 1) as contract.products[1]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Document:
    """A parsed YAML file: its data and where each key and value stands."""

    path: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)  # parsed past them (keep_going), for its validator

    def where(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value (or key) at path, or of its nearest parent."""
        while True:
            if key and path in self.key_positions:
                return self.key_positions[path]
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def diag(self, path: Path_, message: str, severity: str = "error", *, key: bool = False, code: str = "",
             params: dict[str, Any] | None = None) -> Diagnostic:
        """A diagnostic located at path in this document."""
        line, col = self.where(path, key=key)
        return Diagnostic(self.path, line, col, key_path(path), message, severity, code, params or {})


# ruamel.yaml.resolver.implicit_resolvers for YAML 1.2: tag, pattern, flags, first characters.
YAML12_RESOLVERS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (f"{_TAG}bool", "^(?:true|True|TRUE|false|False|FALSE)$", re.X, ("t", "T", "f", "F")),
    (f"{_TAG}float", """^(?:
         [-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\\.(?:inf|Inf|INF)
        |\\.(?:nan|NaN|NAN))$""", re.X, tuple("-+0123456789.")),
    (f"{_TAG}int", """^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", re.X, tuple("-+0123456789")),
    (f"{_TAG}merge", "^(?:<<)$", 0, ("<",)),
    (f"{_TAG}null", """^(?: ~
        |null|Null|NULL
        | )$""", re.X, ("~", "n", "N", "")),
    (f"{_TAG}timestamp", """^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \\t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?
        (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X, tuple("0123456789")),
    (f"{_TAG}value", "^(?:=)$", 0, ("=",)),
    (f"{_TAG}yaml", "^(?:!|&|\\*)$", 0, ("!", "&", "*")),
)

# The node classes of both parsers (the same attributes: tag, value, start_mark); ruamel's are
# added when the pure parser is first used.
_MAPPING: tuple[type, ...] = ()
_SEQUENCE: tuple[type, ...] = ()
_SCALAR: tuple[type, ...] = ()
_FAST = pyyaml is not None and getattr(pyyaml, "__with_libyaml__", False)
if _FAST:
    _MAPPING += (pyyaml.MappingNode,)
    _SEQUENCE += (pyyaml.SequenceNode,)
    _SCALAR += (pyyaml.ScalarNode,)

    class _Resolver12(pyyaml.resolver.BaseResolver):
        """ruamel's YAML 1.2 rules for plain scalars (true/false only, 0o17 octal), not PyYAML's 1.1."""

    for _tag, _pattern, _flags, _first in YAML12_RESOLVERS:
        _Resolver12.add_implicit_resolver(_tag, re.compile(_pattern, _flags), list(_first))

    class _FastComposer(pyyaml.cyaml.CParser, _Resolver12):
        """libyaml's parser and composer with the YAML 1.2 resolver; no constructor (nodes only)."""

        def __init__(self, text: str) -> None:
            pyyaml.cyaml.CParser.__init__(self, text)
            _Resolver12.__init__(self)

# Anything beyond plain YAML (anchors, aliases, tags, directives, merge keys) takes the pure parser,
# which refuses it with a located message. A file with one of these characters anywhere, or with many
# brackets, is first scanned by libyaml (its scanner does not recurse) to tell a '&' in a name or a
# '{placeholder}' in a text from the real thing.
_MAYBE_NOT_PLAIN = re.compile(r"[&*!%]")


def _compose_fast(text: str) -> Node | None:
    """The node tree of a plain file from libyaml, or None where the pure parser must read it."""
    if not _FAST or "<<" in text:
        return None
    # libyaml's composer recurses in C without a depth check: deep flow nesting goes to the pure parser.
    if (_MAYBE_NOT_PLAIN.search(text) or text.count("[") + text.count("{") > MAX_DEPTH) and not _plain_tokens(text):
        return None
    composer = _FastComposer(text)
    try:
        node = composer.get_single_node()
    except (pyyaml.YAMLError, RecursionError):  # reported, located, by the pure parser
        return None
    finally:
        composer.dispose()
    return node if node is None or _depth_within(node, MAX_DEPTH) else None


def _plain_tokens(text: str) -> bool:
    """Whether libyaml's scanner finds no anchor, alias, tag or directive, nor flow nesting beyond MAX_DEPTH."""
    scanner = pyyaml.cyaml.CParser(text)
    depth = 0
    try:
        while (token := scanner.get_token()) is not None:
            kind = type(token)
            if kind in _FLOW_START:
                depth += 1
                if depth > MAX_DEPTH:
                    return False
            elif kind in _FLOW_END:
                depth -= 1
            elif kind in _NOT_PLAIN_TOKENS:
                return False
    except pyyaml.YAMLError:  # reported, located, by the pure parser
        return False
    finally:
        scanner.dispose()
    return True


if _FAST:
    _FLOW_START = (pyyaml.FlowSequenceStartToken, pyyaml.FlowMappingStartToken)
    _FLOW_END = (pyyaml.FlowSequenceEndToken, pyyaml.FlowMappingEndToken)
    _NOT_PLAIN_TOKENS = (pyyaml.AnchorToken, pyyaml.AliasToken, pyyaml.TagToken, pyyaml.DirectiveToken)


def _depth_within(node: Node, limit: int) -> bool:
    """Whether no collection lies nested deeper than limit (the pure parser reports it, located)."""
    level, todo = [node], 0
    while level:
        todo += 1
        if todo > limit + 1:
            return False
        level = [child for n in level if isinstance(n, (*_MAPPING, *_SEQUENCE))
                 for child in (n.value if isinstance(n, _SEQUENCE) else (v for _, v in n.value))
                 if not isinstance(child, _SCALAR)]
    return True


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.seen: set[int] = set()
        self.errors: list[Diagnostic] = []

    def error(self, node: Node, path: Path_, message: str) -> None:
        mark = node.start_mark
        self.errors.append(
            Diagnostic(self.doc.path, mark.line + 1, mark.column + 1, key_path(path), message,
                       code="yaml.invalid", params={"line": mark.line + 1})
        )

    def build(self, node: Node, path: Path_) -> Any:
        self.doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, _SCALAR) and node.value == "" and node.tag == f"{_TAG}null":
            # An empty value has no text of its own; the parser marks it where the next token
            # starts (often the next key's line), so point at its key instead.
            self.doc.positions[path] = self.doc.key_positions.get(path, self.doc.positions[path])
        if id(node) in self.seen or getattr(node, "anchor", None):
            line, col = self.doc.where(path, key=True)
            self.errors.append(
                Diagnostic(self.doc.path, line, col, key_path(path),
                           "anchors and aliases (&, *) are not supported; write the value out",
                           code="yaml.alias", params={"line": line})
            )
            return None
        self.seen.add(id(node))
        if isinstance(node, _MAPPING):
            return self._mapping(node, path)
        if isinstance(node, _SEQUENCE):
            if node.tag != f"{_TAG}seq":
                self.error(node, path, f"unsupported tag {node.tag!r}")
                return None
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, _SCALAR):
            return self._scalar(node, path)
        self.error(node, path, "unsupported YAML node")
        return None

    def _mapping(self, node: Node, path: Path_) -> dict[str, Any] | None:
        if node.tag != f"{_TAG}map":
            self.error(node, path, f"unsupported tag {node.tag!r}")
            return None
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            # A merge or tagged key is refused once below, not also as an unsupported scalar.
            plain = isinstance(key_node, _SCALAR) and key_node.tag in _SCALAR_TAGS
            key = self._scalar(key_node, path) if plain else None
            if key_node.tag == f"{_TAG}merge" or key == "<<":
                self.error(key_node, path, "merge keys (<<) are not supported")
                continue
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                self.error(key_node, path, "mapping keys must be plain strings")
                continue
            key = str(key)
            line = key_node.start_mark.line + 1
            if key in out:
                self.errors.append(Diagnostic(
                    self.doc.path, line, key_node.start_mark.column + 1, key_path((*path, key)),
                    f"duplicate key {key!r} (first defined on line {first_line[key]}); keep one",
                    code="yaml.duplicate_key", params={"key": key, "line": line, "first_line": first_line[key]}))
                continue
            first_line[key] = line
            self.doc.key_positions[(*path, key)] = (line, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, (*path, key))
        return out

    def _scalar(self, node: Node, path: Path_) -> Any:
        tag, text = node.tag, node.value
        if tag not in _SCALAR_TAGS:
            self.error(node, path, f"unsupported tag {tag!r}; only plain YAML values are accepted")
            return None
        kind = tag[len(_TAG):]
        if kind == "str":
            return text
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() == "true"
        if kind == "int":
            try:
                return int(text.replace("_", ""), 0) if not text.lstrip("+-").isdigit() else int(text)
            except ValueError:
                return text
        if kind == "float":
            try:
                return float(text.replace("_", ""))
            except ValueError:
                return text
        try:
            return dt.date.fromisoformat(text)
        except ValueError:  # e.g. 2026-02-30: kept as text, so the schema reports it with the rest
            return text


def parse_text(text: str, path: str, *, keep_going: bool = False) -> Document:
    """Parse YAML text; raise InvalidInput listing every problem found.

    keep_going: duplicate keys alone (each key's first value kept) do not stop the parse; they are
    the document's `problems`, for a validator that reports them with its own (validate_contract).
    """
    doc = Document(path=path, data=None)
    node = _compose_fast(text)
    if node is None:
        node = _compose_pure(text, path)
    builder = _Builder(doc)
    doc.data = builder.build(node, ())
    if builder.errors:
        if not keep_going or any(d.code != "yaml.duplicate_key" for d in builder.errors):
            raise InvalidInput(builder.errors)
        doc.problems = builder.errors
    return doc


def _compose_pure(text: str, path: str) -> Node:
    """The node tree from ruamel's pure parser; raise InvalidInput with its located message."""
    global _MAPPING, _SEQUENCE, _SCALAR
    from annex_gen.inputs import yaml_pure

    if yaml_pure.MappingNode not in _MAPPING:
        _MAPPING += (yaml_pure.MappingNode,)
        _SEQUENCE += (yaml_pure.SequenceNode,)
        _SCALAR += (yaml_pure.ScalarNode,)
    return yaml_pure.compose(text, path, MAX_DEPTH)


def load(path: Path) -> Document:
    """Read and parse one YAML file."""
    return parse_text(read_text(path), str(path))
