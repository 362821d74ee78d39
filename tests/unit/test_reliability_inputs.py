"""Hardening of the inputs: names that display as something else, non-regular files, symlinks, CSV and registry."""

from __future__ import annotations

import os

import pytest

from annex_gen.errors import InvalidInput
from annex_gen.fonts import compute_coverage, coverage, fallbacks_for, font_face_css, missing_glyphs
from annex_gen.inputs.contract import MAX_NAME_CHARS, load_contract
from annex_gen.inputs.crm import parse_crm
from annex_gen.inputs.registry import load_registry
from annex_gen.inputs.sources import gather
from annex_gen.inputs.yamlio import read_text
from conftest import build_file_tree, copy_registry

HEADER = "customer_id,customer_name,contract_date,region,language,products\n"


def contract_text(name: str, email: str | None = None) -> str:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    extra = f"\n  contact_email: \"{email}\"" if email else ""
    return (f'customer:\n  id: acme\n  name: "{quoted}"{extra}\n'
            "contract:\n  date: 2026-11-29\n  region: hk\n  language: en\n  products: [mailer]\n")


def diagnostics(registry, tmp_path, name: str, email: str | None = None) -> list[str]:
    (tmp_path / "c.yaml").write_text(contract_text(name, email), encoding="utf-8")
    try:
        _, warnings = load_contract(registry, tmp_path / "c.yaml")
    except InvalidInput as exc:
        warnings = exc.diagnostics
    return [str(d).replace(f"{tmp_path}/", "") for d in warnings]


def test_a_bidirectional_override_in_a_name_is_refused(registry, tmp_path):
    assert diagnostics(registry, tmp_path, "Evil \u202eoc.lanigiro") == [
        "c.yaml:3:9: customer.name: contains the bidirectional control character U+202E RIGHT-TO-LEFT OVERRIDE, "
        "which can make the text display as something else; remove it"]


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069"])
def test_every_bidirectional_control_is_refused(registry, tmp_path, char):
    (problem,) = diagnostics(registry, tmp_path, f"Acme {char}Oy")
    assert f"bidirectional control character U+{ord(char):04X}" in problem


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u2800", "\u3164", "\u200d \u2060"])
def test_a_name_of_invisible_characters_only_is_refused(registry, tmp_path, name):
    assert diagnostics(registry, tmp_path, name) == ["c.yaml:3:9: customer.name: contains no visible character"]


@pytest.mark.parametrize("name", ["九龍設計工作室有限公司", "简体中文测试有限公司", "شركة دبي للفعاليات",
                                  "חברת שלום בע\"מ", "Pohjolan Media ja Viestintä Oy"])
def test_names_in_the_scripts_of_our_regions_are_valid_without_warnings(registry, tmp_path, name):
    assert diagnostics(registry, tmp_path, name) == []


def test_a_character_no_bundled_font_has_is_a_warning_naming_it(registry, tmp_path):
    assert diagnostics(registry, tmp_path, "Smile 😀 Ltd") == [
        "c.yaml:3:9: customer.name: warning: no bundled font has '😀' (U+1F600 GRINNING FACE); "
        "the PDF would show an empty box or a machine-dependent glyph"]


def test_the_name_limit_is_one_number(registry, tmp_path):
    assert diagnostics(registry, tmp_path, "A" * MAX_NAME_CHARS) == []
    assert diagnostics(registry, tmp_path, "A" * (MAX_NAME_CHARS + 1)) == [
        f"c.yaml:3:9: customer.name: is longer than {MAX_NAME_CHARS} characters"]


@pytest.mark.parametrize(("email", "problem"), [
    ("=HYPERLINK(1)@x.fi", "'=HYPERLINK(1)@x.fi' is not an email address"),
    ("=1+2@x.fi", "'=1+2@x.fi' begins with '=', which a spreadsheet reads as a formula; check the address"),
    ("-x@x.fi", "'-x@x.fi' begins with '-', which a spreadsheet reads as a formula; check the address"),
    ("dpo@localhost", "'dpo@localhost' is not an email address"),
])
def test_contact_email_is_validated_at_check(registry, tmp_path, email, problem):
    assert diagnostics(registry, tmp_path, "Acme Oy", email) == [f"c.yaml:4:18: customer.contact_email: {problem}"]


def test_a_device_is_refused_without_reading_it():
    with pytest.raises(InvalidInput) as exc:  # reading /dev/zero would never end: refused before any read
        read_text(__import__("pathlib").Path("/dev/zero"))
    assert str(exc.value) == "/dev/zero: is not a regular file (a device, FIFO or socket); expected a file"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput) as exc:
        read_text(fifo)
    assert str(exc.value) == f"{fifo}: is not a regular file (a device, FIFO or socket); expected a file"


def test_at_most_the_size_limit_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a" * 101)
    with pytest.raises(InvalidInput) as exc:
        read_text(path, max_bytes=100)
    assert str(exc.value) == f"{path}: file is larger than 100 bytes"
    assert read_text(path, max_bytes=101) == "a" * 101


def test_symlinks_leaving_the_directory_are_not_followed_nor_echoed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret-value\n")
    contracts = build_file_tree(tmp_path / "contracts", {"inside.txt": contract_text("Acme Oy")})
    (contracts / "evil.yaml").symlink_to(secret)
    (contracts / "gone.yaml").symlink_to(tmp_path / "nothing-here")
    (contracts / "ok.yaml").symlink_to(contracts / "inside.txt")
    sources, failures = gather([contracts])
    assert [s.label for s in sources] == [str(contracts / "ok.yaml")]
    messages = [f.message for f in failures]
    assert messages == [
        f"{contracts}/evil.yaml: symbolic link leads outside {contracts}; not followed "
        "(copy the file into the directory instead)",
        f"{contracts}/gone.yaml: dangling symbolic link: its target does not exist",
    ]
    assert not any("top-secret" in m for m in messages)


def test_a_device_in_a_contracts_directory_is_reported_not_skipped(tmp_path):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    os.mkfifo(contracts / "pipe.yaml")
    sources, failures = gather([contracts])
    assert sources == []
    assert [f.message for f in failures] == [
        f"{contracts}/pipe.yaml: is not a regular file (a device, FIFO or socket); expected a file"]


def test_an_unterminated_csv_quote_is_one_message_at_its_row():
    text = HEADER + "acme,\"Acme Oy,2026-12-01,eu,fi,mailer\nbeta,Beta Oy,2026-12-01,eu,fi,mailer\n"
    with pytest.raises(InvalidInput) as exc:
        parse_crm(text, "crm.csv")
    assert str(exc.value) == ('crm.csv:2:6: a quoted cell opened here is never closed; '
                              'add the closing double quote (") or remove the opening one')


def test_a_registry_yaml_that_is_not_a_mapping_is_one_root_cause(tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    (registry_dir / "registry.yaml").write_text("- a list\n- not a mapping\n")
    with pytest.raises(InvalidInput) as exc:
        load_registry(registry_dir)
    assert [str(d) for d in exc.value.diagnostics] == [
        f"{registry_dir}/registry.yaml:1:1: the file holds a list, expected a mapping of keys "
        "(release, published_list, company, languages, regions, products, notice, ...)"]


def test_the_coverage_file_matches_the_bundled_fonts():
    assert {k: r.ranges for k, r in coverage().items()} == compute_coverage()


def test_fallback_fonts_only_for_text_that_needs_them():
    assert fallbacks_for("Pohjolan Media ja Viestintä Oy – “Ääkköset” ÅÖ €") == ()
    assert font_face_css(()) == ""
    assert [f.script for f in fallbacks_for("九龍 שלום شركة")] == ["arabic", "hebrew", "cjk"]
    css = font_face_css(fallbacks_for("九龍"))
    assert 'font-family: "Annex CJK"; src: url("fonts/DroidSansFallbackFull.ttf")' in css
    ranges = css.split("unicode-range: ", 1)[1].split(";", 1)[0].split(", ")
    spans = [tuple(int(x, 16) for x in r.removeprefix("U+").split("-")) for r in ranges]
    covered = lambda code: any(s[0] <= code <= s[-1] for s in spans)  # noqa: E731
    assert covered(ord("九")) and not covered(ord("A")) and not covered(ord("ä"))
    assert 'html { font-family: "Annex Sans", "Annex CJK", sans-serif; }' in css
    assert missing_glyphs("九龍 Oy 😀 क") == ["😀", "क"]
