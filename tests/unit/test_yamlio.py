"""The untrusted-YAML reader: every refusal with its exact message, and value positions."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from annex_gen.errors import InvalidInput
from annex_gen.inputs import yamlio
from annex_gen.inputs.yamlio import MAX_DEPTH, Document, key_path, load, parse_text, read_text
from conftest import build_file_tree


def problems(text: str, path: str = "c.yaml") -> list[str]:
    """The rendered diagnostics of parsing text, which must fail."""
    with pytest.raises(InvalidInput) as exc:
        parse_text(text, path)
    return [str(d) for d in exc.value.diagnostics]


def test_plain_values_and_their_types():
    doc = parse_text(
        "a: text\nb: 12\nc: 0x1F\nd: 1.5\ne: true\nf: null\ng: 2026-11-29\nh: yes\ni: '12'\nj: [x, 2]\n",
        "c.yaml",
    )
    assert doc.data == {
        "a": "text", "b": 12, "c": 31, "d": 1.5, "e": True, "f": None,
        "g": dt.date(2026, 11, 29), "h": "yes", "i": "12", "j": ["x", 2],
    }


def test_positions_of_values_and_keys():
    doc = parse_text("customer:\n  id: acme\ncontract:\n  products: [mailer, press]\n", "c.yaml")
    assert doc.where(("customer", "id")) == (2, 7)
    assert doc.where(("customer", "id"), key=True) == (2, 3)
    assert doc.where(("contract", "products", 1)) == (4, 22)
    # A path that does not exist is located at its nearest existing parent.
    assert doc.where(("contract", "products", 7)) == (4, 13)
    assert doc.where(("contract", "region")) == (4, 3)


def test_an_empty_value_is_located_at_its_key_not_at_the_next_line():
    doc = parse_text("customer:\n  id:\n  name: X\ncontract:\n  options:\n\n\n", "c.yaml")
    assert doc.data == {"customer": {"id": None, "name": "X"}, "contract": {"options": None}}
    assert doc.where(("customer", "id")) == (2, 3)
    assert doc.where(("contract", "options")) == (5, 3)


def test_key_path_rendering():
    assert key_path(("contract", "products", 1)) == "contract.products[1]"
    assert key_path(("sections", 3, "entries", 0, "entity")) == "sections[3].entries[0].entity"
    assert key_path(()) == ""


def test_a_byte_order_mark_is_accepted(tmp_path):
    build_file_tree(tmp_path, {"c.yaml": b"\xef\xbb\xbfa: 1\n"})
    assert load(tmp_path / "c.yaml").data == {"a": 1}


def test_malformed_yaml():
    assert problems("customer:\n  id: [acme\n") == [
        "c.yaml:2:7: invalid YAML: a list starts here and is never closed; add the closing ']'"
    ]
    # the file ends inside it: located where it starts, not past the last line
    assert problems('customer:\n  id: acme\n  name: "Acme Oy\ncontract:\n  date: 2026-11-29\n') == [
        "c.yaml:3:9: invalid YAML: a quoted value starts here and is never closed; add the closing quote"
    ]
    assert problems("a: {b: 1\n") == ["c.yaml:1:4: invalid YAML: a mapping starts here and is never closed; "
                                       "add the closing '}'"]
    # left open with more of the file after it: located at the opening, naming the line where reading stopped
    assert problems("a: [1, 2\nb: 3\n") == ["c.yaml:1:4: invalid YAML: a list starts here and is not closed before "
                                              "line 2; add the closing ']'"]
    assert problems("a: b: c\n") == [
        "c.yaml:1:5: invalid YAML: mapping values are not allowed here; put quotes around a value that contains ': '"
    ]


def test_more_than_one_document():
    assert problems("a: 1\n---\nb: 2\n") == [
        "c.yaml:2:1: invalid YAML: expected a single document in the stream, but found another document"
    ]


def test_an_empty_file():
    assert problems("") == ["c.yaml:1:1: the file is empty; expected a mapping"]
    assert problems("# only a comment\n") == ["c.yaml:1:1: the file is empty; expected a mapping"]


def test_not_utf8(tmp_path):
    build_file_tree(tmp_path, {"c.yaml": "customer:\n  name: Kärkkäinen Oy\n".encode("latin-1")})
    with pytest.raises(InvalidInput) as exc:
        load(tmp_path / "c.yaml")
    assert [str(d) for d in exc.value.diagnostics] == [
        f"{tmp_path}/c.yaml:2:10: not valid UTF-8 (byte 0xe4); save the file as UTF-8"
    ]


def test_missing_file_directory_and_size_limit(tmp_path):
    build_file_tree(tmp_path, {"big.yaml": "a: " + "x" * 100 + "\n", "dir": {"x.yaml": "a: 1\n"}})
    cases = [
        (tmp_path / "nope.yaml", {}, f"{tmp_path}/nope.yaml: no such file"),
        (tmp_path / "dir", {}, f"{tmp_path}/dir: is a directory, expected a file"),
        (tmp_path / "big.yaml", {"max_bytes": 50}, f"{tmp_path}/big.yaml: file is larger than 50 bytes"),
    ]
    for path, kwargs, message in cases:
        with pytest.raises(InvalidInput) as exc:
            read_text(path, **kwargs)
        assert [str(d) for d in exc.value.diagnostics] == [message]


def test_billion_laughs_fails_fast_with_a_clear_error():
    levels = "abcdefghij"
    lines = [f'a: &a ["{"lol"}", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip(levels, levels[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "\n".join(lines) + "\n"  # expanded, this would be 10**10 strings
    got = problems(text)  # refused from the anchors, never expanded (the time is bench work, not a test's)
    assert got == [
        f"c.yaml:{i}:1: {name}: anchors and aliases (&, *) are not supported; write the value out"
        for i, name in enumerate(levels, start=1)
    ]


def test_a_single_anchor_and_alias_are_refused():
    assert problems("customer:\n  id: &id acme\ncontract:\n  reference: *id\n") == [
        "c.yaml:2:3: customer.id: anchors and aliases (&, *) are not supported; write the value out",
        "c.yaml:4:3: contract.reference: anchors and aliases (&, *) are not supported; write the value out",
    ]


def test_merge_keys_are_refused_once():
    assert problems("a:\n  <<: {b: 1}\n") == ["c.yaml:2:3: a: merge keys (<<) are not supported"]


def test_duplicate_key():
    assert problems("customer:\n  id: acme\n  name: A\n  id: other\n") == [
        "c.yaml:4:3: customer.id: duplicate key 'id' (first defined on line 2); keep one"
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("a: !!python/object/apply:os.system ['echo pwned']\n",
     "c.yaml:1:4: a: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("a: !!python/object/apply:os.system\n  args: ['echo pwned']\n",
     "c.yaml:1:4: a: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("a: !!python/name:os.system\n",
     "c.yaml:1:4: a: unsupported tag 'tag:yaml.org,2002:python/name:os.system'; "
     "only plain YAML values are accepted"),
    ("!!python/object:os.system {}\n",
     "c.yaml:1:1: unsupported tag 'tag:yaml.org,2002:python/object:os.system'"),
    ("a: !include /etc/passwd\n",
     "c.yaml:1:4: a: unsupported tag '!include'; only plain YAML values are accepted"),
    ("a: !!binary aGVsbG8=\n",
     "c.yaml:1:4: a: unsupported tag 'tag:yaml.org,2002:binary'; only plain YAML values are accepted"),
    ("a: !!set {x}\n", "c.yaml:1:4: a: unsupported tag 'tag:yaml.org,2002:set'"),
    ("? !!python/name:os.system\n: 1\n", "c.yaml:1:3: mapping keys must be plain strings"),
])
def test_object_constructing_and_custom_tags_are_refused(monkeypatch, text, message):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    assert problems(text) == [message]
    assert calls == []


def test_non_string_keys_are_refused():
    assert problems("[a]: 1\ntrue: 2\n") == [
        "c.yaml:1:1: mapping keys must be plain strings",
        "c.yaml:2:1: mapping keys must be plain strings",
    ]


def test_a_date_that_does_not_exist_stays_text_for_the_schema_to_report():
    assert parse_text("date: 2026-02-30\n", "c.yaml").data == {"date": "2026-02-30"}
    assert parse_text("date: 2026-11-29T10:00:00\n", "c.yaml").data == {"date": "2026-11-29T10:00:00"}
    assert parse_text("date: 2026-11-29\n", "c.yaml").data == {"date": dt.date(2026, 11, 29)}


def test_nesting_limit():
    at_limit = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert parse_text(at_limit, "c.yaml").data is not None
    too_deep = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    assert problems(too_deep) == [f"c.yaml:1:{3 + MAX_DEPTH + 1}: nested deeper than {MAX_DEPTH} levels"]
    block = "".join("  " * i + f"k{i}:\n" for i in range(200))
    line, col = MAX_DEPTH + 1, 2 * MAX_DEPTH + 1
    assert problems(block) == [f"c.yaml:{line}:{col}: nested deeper than {MAX_DEPTH} levels"]


@pytest.mark.parametrize("text", ["[" * 20000, "? " + "[" * 20000, "{a: " * 5000, "- " * 20000])
def test_a_nesting_bomb_is_stopped_at_the_depth_limit(text):
    (message,) = problems(text)
    # Located: stopped at the depth limit, not by the interpreter's recursion limit.
    assert message.startswith("c.yaml:1:") and message.endswith(f": nested deeper than {MAX_DEPTH} levels")


def test_every_problem_of_a_file_is_reported_at_once():
    text = "a: &x 1\nb: !!python/name:os.system\nc: 1\nc: 2\n"
    assert problems(text) == [
        "c.yaml:1:1: a: anchors and aliases (&, *) are not supported; write the value out",
        "c.yaml:2:4: b: unsupported tag 'tag:yaml.org,2002:python/name:os.system'; "
        "only plain YAML values are accepted",
        "c.yaml:4:1: c: duplicate key 'c' (first defined on line 3); keep one",
    ]


# The libyaml fast path --------------------------------------------------------------------------------

AGREEMENT_TEXTS = [
    "a: yes\nb: no\nc: on\nd: True\ne: 0o17\nf: 017\ng: 1_000\nh: 1.5e3\ni: .inf\nj: ~\nk:\nl: 2026-02-30\n",
    "customer:\n  id: x\n  name: 'Quoted: Oy'\n  note: \"tab\\there\"\ncontract:\n  date: 2026-11-29\n"
    "  products: [mailer, cms]\n  options:\n    dedicated_mta:\n  list:\n    - a\n    -\n    - {b: 1}\n",
    "k: |\n  literal\n  block\nm: >-\n  folded\n  text\nn: 'äö å'\n",
    # Characters that only might start an anchor, alias, tag or directive; many placeholders' braces.
    "name: Q & A Oy\nnote: \"*starred* & 5 % off!\"\nplain: x*y!z\nlist: [a&b, '%c']\n",
    "texts:\n" + "".join(f"  k{i}: \"{{customer}} and {{date}} {i}\"\n" for i in range(40)),
]


def test_libyaml_is_available_for_the_fast_path():
    assert yamlio._FAST, "PyYAML with libyaml is missing: pip install -e . (plain files then parse ~10x slower)"


@pytest.mark.parametrize("text", AGREEMENT_TEXTS)
def test_fast_and_pure_parsers_give_the_same_data_and_positions(text):
    fast = yamlio._compose_fast(text)
    assert fast is not None, "a plain file should take the fast path"
    a, b = Document("c.yaml", None), Document("c.yaml", None)
    a.data = yamlio._Builder(a).build(fast, ())
    b.data = yamlio._Builder(b).build(yamlio._compose_pure(text, "c.yaml"), ())
    assert (a.data, a.positions, a.key_positions) == (b.data, b.positions, b.key_positions)


def test_fast_and_pure_parsers_agree_on_every_registry_and_example_file():
    root = Path(__file__).resolve().parents[2]
    paths = sorted([*(root / "registry").glob("*.yaml"), *(root / "examples").glob("*.yaml"),
                    *(root / "src" / "annex_gen" / "templates").rglob("*.yaml")])
    assert len(paths) > 10
    for path in paths:
        text = yamlio.read_text(path)
        fast = yamlio._compose_fast(text)
        if fast is None:  # e.g. an '&' in a name: read by the pure parser alone
            continue
        a, b = Document(str(path), None), Document(str(path), None)
        a.data = yamlio._Builder(a).build(fast, ())
        b.data = yamlio._Builder(b).build(yamlio._compose_pure(text, str(path)), ())
        assert (a.data, a.positions, a.key_positions) == (b.data, b.positions, b.key_positions), path


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: !!python/name:os.system x\n", "%YAML 1.1\n---\na: yes\n",
                                  "a: 1\n<<: {b: 2}\n", "a: [1\n", "a: 1\n---\nb: 2\n"])
def test_what_is_not_plain_or_invalid_goes_to_the_pure_parser(text):
    """The pure parser refuses these with the located messages tested above (or reads the directive)."""
    assert yamlio._compose_fast(text) is None


def test_the_fast_paths_rules_are_ruamels_yaml_1_2_rules():
    """yamlio carries ruamel's YAML 1.2 resolvers as a table, so a plain file never imports ruamel."""
    from ruamel.yaml.resolver import implicit_resolvers

    ruamel = [(tag, regexp.pattern, regexp.flags, tuple(first))
              for versions, tag, regexp, first in implicit_resolvers if (1, 2) in versions]
    ours = [(tag, pattern, re.compile(pattern, flags).flags, first)
            for tag, pattern, flags, first in yamlio.YAML12_RESOLVERS]
    assert ours == ruamel


def test_a_plain_file_does_not_import_ruamel(tmp_path):
    probe = ("import sys; from annex_gen.inputs.yamlio import parse_text; "
             "parse_text('a: 1\\nb: [yes, 0o17]\\n', 'x.yaml'); print('ruamel' in sys.modules, end='')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out == "False"


def test_the_shipped_catalogs_take_the_fast_path():
    """Their '{placeholders}' are not flow collections: every render reads them, so the pure parser would be felt."""
    root = Path(__file__).resolve().parents[2] / "src" / "annex_gen" / "templates"
    paths = sorted(root.rglob("*.yaml"))
    assert len(paths) >= 8
    for path in paths:
        assert yamlio._compose_fast(yamlio.read_text(path)) is not None, path
