"""`check` on a broken registry: each way of breaking it, with the exact located messages.

Each test copies the project's registry into tmp_path, breaks one thing, and expects the
`file:line:col: key.path: message` lines; lines and columns are those of the broken text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annex_gen.errors import InvalidInput
from annex_gen.inputs.check import check
from annex_gen.inputs.registry import check_legal_id, load_registry
from conftest import EXAMPLES_DIR, copy_registry, replace_once

ENTITIES = ("alicloud-global, chargebee, cyclr, dna, gainsight, garba, google-ireland, hetzner, monday, "
            "okta-ireland, peakford, pipedrive, startdeliver, twilio-ireland, upcloud, zendesk")
LOCATIONS = "dubai, eea, eu, eu-usa, finland, finland-eu, frankfurt-eu, germany, helsinki, hong-kong, sweden"


@pytest.fixture
def reg(tmp_path) -> Path:
    return copy_registry(tmp_path / "registry")


def check_lines(reg: Path) -> list[str]:
    """Every diagnostic `check` reports for the registry at reg."""
    report = check(reg, [])
    assert report.registry is None
    return [str(d) for d in report.diagnostics]


def test_the_copied_registry_and_examples_are_clean(reg):
    report = check(reg, sorted(EXAMPLES_DIR.glob("*.yaml")), registry_warnings=True)
    assert report.errors == []
    # what the registry cannot source is a warning, never a guess: each Annex III detail no source gives,
    # a brand's contracting entity, and the published list's address
    registry_warnings = [d for d in report.diagnostics if d.file.startswith(str(reg))]
    assert sorted({d.key for d in registry_warnings}) == sorted(
        {"published_list", "entities.alicloud-global.legal_name",
         "entities.alicloud-global.country", "entities.alicloud-global.address",
         "entities.alicloud-global.privacy_contact", "entities.dna.privacy_contact", "entities.okta-ireland.address",
         "entities.okta-ireland.privacy_contact", "entities.peakford.address"})
    contract_warnings = [d for d in report.diagnostics if d not in registry_warnings]
    assert contract_warnings == []
    assert report.registry is not None
    assert len(report.contracts) == len(list(EXAMPLES_DIR.glob("*.yaml")))


def test_dangling_entity_reference(reg):
    line, col = replace_once(reg / "sections.yaml", "entity: cyclr", "entity: cyclrr")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line}:{col + 8}: sections[1].entries[3].entity: unknown entity 'cyclrr'; "
        f"expected one of {ENTITIES}; did you mean 'cyclr'?"
    ]


def test_dangling_location_reference(reg):
    line, col = replace_once(reg / "sections.yaml", "location: sweden", "location: swedn")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line}:{col + 10}: sections[1].entries[3].location: unknown location 'swedn'; "
        f"expected one of {LOCATIONS}; did you mean 'sweden'?"
    ]


def test_a_renamed_location_reports_every_reference(reg):
    replace_once(reg / "locations.yaml", "  sweden:", "  ruotsi:")
    text = (reg / "sections.yaml").read_text(encoding="utf-8").splitlines()
    refs = [(n, line.index("sweden") + 1) for n, line in enumerate(text, 1)
            if line.strip() == "location: sweden"]
    paths = ["sections[1].entries[3]", "sections[8].entries[3]", "sections[11].entries[1]"]
    known = LOCATIONS.replace(", sweden", "").replace("hong-kong", "hong-kong, ruotsi")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{n}:{c}: {p}.location: unknown location 'sweden'; expected one of {known}"
        for (n, c), p in zip(refs, paths, strict=True)
    ]


def test_dangling_option_reference(reg):
    line, col = replace_once(reg / "sections.yaml", "option: dedicated_mta", "option: dedicated")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line}:{col + 8}: sections[5].entries[1].option: unknown option 'dedicated'; "
        "expected one of dedicated_mta; did you mean 'dedicated_mta'?"
    ]


def test_duplicate_section_id(reg):
    line, col = replace_once(reg / "sections.yaml", "id: eu-automation", "id: eu-press")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line}:{col + 4}: sections[4].id: "
        "duplicate section id 'eu-press' (also sections[3])"
    ]


@pytest.mark.parametrize(("file", "old", "new", "at", "key"), [
    ("locations.yaml", "name: {fi: Ruotsi, en: Sweden}", "name: {fi: Ruotsi}", 6, "locations.sweden.name"),
    ("sections.yaml", "title: {fi: LianaPress, en: LianaPress}", "title: {fi: LianaPress}",
     7, "sections[3].title"),
    ("sections.yaml", "purpose: {fi: Jaetun MTA-infrastruktuurin palvelinten ylläpito, en: Shared MTA hosting}",
     "purpose: {fi: Jaetun MTA-infrastruktuurin palvelinten ylläpito}", 9, "sections[2].entries[0].purpose"),
    ("registry.yaml", "name: {fi: EU, en: EU}\n    heading", "name: {fi: EU}\n    heading",
     6, "regions.eu.name"),
])
def test_missing_english_translation(reg, file, old, new, at, key):
    # One message each: what refers to the location, section, region or text is not also reported.
    line, col = replace_once(reg / file, old, new)
    assert check_lines(reg) == [f"{reg}/{file}:{line}:{col + at}: {key}: missing the 'en' translation"]


def test_missing_english_translation_of_an_option(reg):
    replace_once(reg / "registry.yaml", "      en: Dedicated MTAs (LianaMailer)\n", "")
    lines = (reg / "registry.yaml").read_text(encoding="utf-8").splitlines()
    # The name mapping starts on the 1-based line of its first key.
    line = lines.index("      fi: Dedikoidut MTA:t (LianaMailer)")
    # Only the missing translation: the entry gated by the option does not also become "unknown".
    assert check_lines(reg) == [
        f"{reg}/registry.yaml:{line + 1}:7: options.dedicated_mta.name: missing the 'en' translation"
    ]


def test_vat_number_failing_its_checksum(reg):
    line, col = replace_once(reg / "entities.yaml", "value: DE812871812", "value: DE812871813")
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{line}:{col + 7}: entities.hetzner.legal_id.value: "
        "'DE812871813' is not a valid EU VAT number (format or checksum)"
    ]


def test_twilio_as_published_fails_as_a_vat_number(reg):
    # The published list gives IE557454; as a VAT number it cannot be valid (see entities.yaml).
    line, col = replace_once(reg / "entities.yaml", "{kind: published, value: IE557454}",
                             "{kind: vat, value: IE557454}")
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{line}:{col + 19}: entities.twilio-ireland.legal_id.value: "
        "'IE557454' is not a valid EU VAT number (format or checksum)"
    ]


def test_vat_number_of_another_country(reg):
    replace_once(reg / "entities.yaml", "      value: DE\n", "      value: FI\n")
    text = (reg / "entities.yaml").read_text(encoding="utf-8")
    vat_line = text.count("\n", 0, text.index("value: DE812871812")) + 1
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{vat_line}:34: entities.hetzner.legal_id.value: "
        "VAT number 'DE812871812' belongs to DE, but country is 'FI'"
    ]


@pytest.mark.parametrize(("entity", "old", "new"), [
    ("google-ireland", "value: IE6388047V", "value: IE6388047 V"),
    ("hetzner", "value: DE812871812", "value: DE 812871812"),
])
def test_identifier_with_a_stray_space(reg, entity, old, new):
    line, col = replace_once(reg / "entities.yaml", old, new)
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{line}:{col + 7}: entities.{entity}.legal_id.value: "
        f"identifier {new.removeprefix('value: ')!r} contains spaces"
    ]


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("cro", "CRO 706654", "identifier 'CRO 706654' contains spaces"),
    ("cro", "7066540", "'7066540' is not an Irish CRO number (5 or 6 digits)"),
    ("uk_crn", "8790783", "'8790783' is not a UK company number (8 digits, or 2 letters and 6 digits)"),
    ("vat", "FI24315606", "'FI24315606' is not a valid EU VAT number (format or checksum)"),
])
def test_check_legal_id(kind, value, message):
    assert check_legal_id(kind, value, None) == message


def test_every_published_identifier_passes_its_check(registry):
    for entity in registry.entities.values():
        if entity.legal_id:
            assert check_legal_id(entity.legal_id.kind, entity.legal_id.value, entity.country) is None


def test_product_offered_in_no_region(reg):
    line, col = replace_once(reg / "registry.yaml", "  commerce: {name: LianaCommerce}\n",
                             "  commerce: {name: LianaCommerce}\n  crm: {name: LianaCRM}\n")
    assert check_lines(reg) == [
        f"{reg}/registry.yaml:{line + 1}:8: products.crm: product 'crm' is offered in no region"
    ]


def test_product_section_for_a_product_not_offered_in_its_region(reg):
    line, col = replace_once(reg / "sections.yaml", "products: [mailer, automation, cms]",
                             "products: [mailer, automation, cms, press]")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line}:{col + 36}: sections[9].products[3]: "
        "product 'press' is not offered in region 'uae'"
    ]


def test_a_region_product_without_a_section(reg):
    replace_once(reg / "sections.yaml", "products: [cms, wordpress, commerce]", "products: [cms, wordpress]")
    lines = (reg / "registry.yaml").read_text(encoding="utf-8").splitlines()
    eu_products = next(n for n, text in enumerate(lines, 1) if text.startswith("    products: [press"))
    assert check_lines(reg) == [
        f"{reg}/registry.yaml:{eu_products}:15: regions.eu.products: product 'commerce' in region 'eu' needs "
        "exactly one product section, found 0"
    ]


@pytest.mark.parametrize(("file", "old", "added", "message"), [
    ("entities.yaml", "    name: Hetzner Online GmbH\n", "    website: hetzner.com\n",
     "entities.hetzner.website: unknown key 'website'; expected one of address, brand, country, legal_id, "
     "legal_name, name, privacy_contact, registration"),
    ("sections.yaml", "    uses_shared_mta: true\n    entries:\n      - entity: alicloud-global",
     "    notes: x\n",
     "sections[9].notes: unknown key 'notes'; expected one of entries, id, kind, note, products, region, "
     "title, uses_shared_mta; did you mean 'note'?"),
    ("locations.yaml", "    eea: false\n", "    eaa: true\n",
     "locations.eu-usa.eaa: unknown key 'eaa'; expected one of eea, name; did you mean 'eea'?"),
])
def test_unknown_key(reg, file, old, added, message):
    # The added line goes right after old's first line, and the message points at its key.
    first, rest = old.split("\n", 1)
    line, _ = replace_once(reg / file, old, f"{first}\n{added}{rest}")
    assert check_lines(reg) == [f"{reg}/{file}:{line + 1}:5: {message}"]


def test_a_missing_required_key_is_reported_once(reg):
    line, col = replace_once(reg / "entities.yaml", "    name: Peakford Ltd.\n", "")
    # Reported at the entity, and references to it do not become "unknown entity" errors.
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{line}:5: entities.peakford: missing required key 'name'"
    ]


def test_invalid_yaml_in_two_files_is_reported_for_both(reg):
    line, _ = replace_once(reg / "locations.yaml", "  eu:\n", "  eu:\n  eu:\n")
    (reg / "corrections.yaml").write_bytes(b"corrections: [\xff]\n")
    assert check_lines(reg) == [
        f"{reg}/locations.yaml:{line + 1}:3: locations.eu: duplicate key 'eu' (first defined on line {line}); keep one",
        f"{reg}/corrections.yaml:1:15: not valid UTF-8 (byte 0xff); save the file as UTF-8",
    ]


def test_every_problem_of_every_file_at_once(reg):
    v, vc = replace_once(reg / "entities.yaml", "value: MT27833914", "value: MT 27833914")
    e, ec = replace_once(reg / "sections.yaml", "entity: okta-ireland", "entity: okta-irland")
    d, dc = replace_once(reg / "sections.yaml", "id: hk-products", "id: hk-general")
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{v}:{vc + 7}: entities.peakford.legal_id.value: "
        "identifier 'MT 27833914' contains spaces",
        f"{reg}/sections.yaml:{e}:{ec + 8}: sections[1].entries[2].entity: unknown entity 'okta-irland'; "
        f"expected one of {ENTITIES}; did you mean 'okta-ireland'?",
        f"{reg}/sections.yaml:{d}:{dc + 4}: sections[11].id: "
        "duplicate section id 'hk-general' (also sections[10])",
    ]


def test_load_registry_raises_with_every_diagnostic(reg):
    replace_once(reg / "entities.yaml", "value: DE812871812", "value: DE812871813")
    with pytest.raises(InvalidInput) as exc:
        load_registry(reg)
    assert [d.key for d in exc.value.diagnostics] == ["entities.hetzner.legal_id.value"]


def test_a_missing_registry_directory(tmp_path):
    report = check(tmp_path / "nowhere", [])
    assert [str(d) for d in report.diagnostics] == [f"{tmp_path}/nowhere: " + (
        "registry directory not found; run annex-gen from the project directory or pass --registry DIR")]


def test_a_missing_registry_file(reg):
    (reg / "locations.yaml").unlink()
    assert check_lines(reg) == [f"{reg}/locations.yaml: no such file"]


# Transfers, countries and sourced entity details (issue 15) ---------------------------------------


def test_an_entry_outside_the_eea_without_a_transfer_basis_is_an_error(reg):
    line, col = replace_once(reg / "sections.yaml", "        location: dubai\n        transfer: scc-module-3\n",
                             "        location: dubai\n")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line - 1}:9: sections[9].entries[0]: location 'dubai' is outside the EU/EEA: "
        "name its transfer basis (transfer: one of scc-module-3, uk-adequacy, scc-module-2, israel-adequacy)"
    ]


def test_an_entity_registered_outside_the_eea_needs_a_transfer_basis_inside_it_too(reg):
    line, col = replace_once(reg / "sections.yaml", "        location: sweden\n        transfer: uk-adequacy",
                             "        location: sweden")
    assert check_lines(reg) == [
        f"{reg}/sections.yaml:{line - 1}:9: sections[1].entries[3]: entity 'cyclr' is registered outside the "
        "EU/EEA (GB), although 'sweden' is inside: name its transfer basis (transfer: one of scc-module-3, "
        "uk-adequacy, scc-module-2, israel-adequacy)"
    ]


def test_a_registry_text_beyond_the_published_list_names_its_sources(reg):
    line, col = replace_once(reg / "registry.yaml", "    sources:\n      - url: published-subprocessor-list-fi.txt"
                             " (Päivitykset ja ilmoitukset)\n        quote: voit ilmoittaa",
                             "    other:\n      - url: published-subprocessor-list-fi.txt"
                             " (Päivitykset ja ilmoitukset)\n        quote: voit ilmoittaa")
    lines = check_lines(reg)
    assert lines[0] == f"{reg}/registry.yaml:{line}:5: notice.address.other: unknown key 'other'; expected one of " \
        "confirmed, en, fi, sources"
    assert len(lines) == 2 and "notice.address.sources" in lines[1], lines


def test_the_objection_period_must_end_before_the_change_takes_effect(reg):
    line, col = replace_once(reg / "registry.yaml", "  resolution_days: 15", "  resolution_days: 16")
    assert check_lines(reg) == [
        f"{reg}/registry.yaml:{line}:20: notice.resolution_days: objections within 15 days of a notice given 30 "
        "days ahead cannot end 16 days before the change takes effect; expected objection_days + resolution_days "
        "<= period_days"
    ]


def test_a_transfer_basis_must_exist_and_not_be_given_inside_the_eea(reg):
    line, col = replace_once(reg / "sections.yaml", "transfer: scc-module-3", "transfer: scc-module-4")
    germany, _ = replace_once(reg / "sections.yaml", "        location: germany\n",
                              "        location: germany\n        transfer: scc-module-3\n")
    inside, unknown = check_lines(reg)  # in file order
    assert inside == (f"{reg}/sections.yaml:{germany + 1}:19: sections[1].entries[1].transfer: location 'germany' "
                      "lies in the EU/EEA and the entity is registered there: no transfer basis applies")
    assert unknown == (f"{reg}/sections.yaml:{line + 1}:{col + 10}: sections[9].entries[0].transfer: unknown "
                       "transfer basis 'scc-module-4'; expected one of israel-adequacy, scc-module-2, scc-module-3, "
                       "uk-adequacy; did you mean 'scc-module-3'?")


def test_an_scc_basis_names_its_module(reg):
    line, col = replace_once(reg / "registry.yaml", "    module: 3\n", "    module: 5\n")
    assert check_lines(reg) == [
        f"{reg}/registry.yaml:{line}:13: transfer_bases.scc-module-3.module: the Standard Contractual Clauses "
        "2021/914 need a module from 1 to 4"
    ]


def test_an_unknown_country_code_is_an_error(reg):
    # a registry copy with country: US once printed the raw code; now every code must be one CLDR names
    line, col = replace_once(reg / "entities.yaml", "      value: MT\n", "      value: QQ\n")
    lines = check_lines(reg)
    assert lines[0] == (f"{reg}/entities.yaml:{line}:14: entities.peakford.country.value: unknown country code "
                        "'QQ'; expected an ISO 3166-1 alpha-2 code such as FI")


def test_an_address_without_a_recorded_source_is_an_error(reg):
    line, col = replace_once(reg / "entities.yaml", "    name: Okta Identity Ireland Limited\n",
                             "    name: Okta Identity Ireland Limited\n    address: {value: 1 Example Street}\n")
    assert check_lines(reg) == [
        f"{reg}/entities.yaml:{line + 1}:14: entities.okta-ireland.address.sources: a proposed fact needs "
        "`sources`: [{url: WHERE, quote: THE WORDS, note: ...}]"
    ]


def test_a_plain_value_where_a_fact_belongs_says_how_to_write_it(reg):
    line, col = replace_once(reg / "entities.yaml", "    name: Okta Identity Ireland Limited\n",
                             "    name: Okta Identity Ireland Limited\n    address: 1 Example Street\n")
    [message] = check_lines(reg)
    assert message.startswith(f"{reg}/entities.yaml:{line + 1}:14: entities.okta-ireland.address: Okta Identity "
                              "Ireland Limited: registered address is a fact beyond the published list: write it as "
                              "{value: '1 Example Street', sources: [{url: WHERE, quote: THE WORDS}]}")


@pytest.mark.parametrize(("fact", "message"), [
    ("{value: X, sources: [{quote: words}]}", "address.sources[0]: missing required key 'url'"),
    ("{value: X, sources: [{url: u}], confirmed: {by: Legal}}", "address.confirmed: missing required key 'on'"),
    ("{value: X, sources: [{url: u}], confirmed: {by: Legal, on: 2026-02-30}}",
     "address.confirmed.on: '2026-02-30' is not a date that exists (YYYY-MM-DD)"),
    ("{sources: [{url: u}]}", "address: a fact needs `value` (with `sources`) or, where legal must choose, "
                              "`candidates`"),
    ("{candidates: [{value: A}], confirmed: {by: Legal, on: 2026-12-01}}",
     "address.confirmed: only a fact with a `value` can be confirmed; choose one of the candidates"),
    ("{value: X, sources: [{url: u}], confirmd: {by: L, on: 2026-12-01}}",
     "address.confirmd: unknown key 'confirmd'; expected one of candidates, confirmed, conflicts, sources, value; "
     "did you mean 'confirmed'?"),
])
def test_a_facts_provenance_is_validated_with_file_line_and_key(reg, fact, message):
    line, _ = replace_once(reg / "entities.yaml", "    name: Okta Identity Ireland Limited\n",
                           f"    name: Okta Identity Ireland Limited\n    address: {fact}\n")
    lines = check_lines(reg)
    assert len(lines) == 1 and lines[0].startswith(f"{reg}/entities.yaml:{line + 1}:"), lines
    assert lines[0].endswith(f"entities.okta-ireland.{message}"), lines


def test_a_sourced_address_is_printed_in_the_summary(reg):
    replace_once(reg / "entities.yaml", "    name: Okta Identity Ireland Limited\n",
                 "    name: Okta Identity Ireland Limited\n    address:\n      value: Example Street 1, Example City\n"
                 "      sources: [{url: 'example register extract, retrieved 2026-11-29'}]\n")
    report = check(reg, [], registry_warnings=True)
    assert report.errors == []
    assert "entities.okta-ireland.privacy_contact" in {d.key for d in report.diagnostics}  # still unknown
    assert "entities.okta-ireland.address" not in {d.key for d in report.diagnostics}
    assert report.registry.entities["okta-ireland"].address == "Example Street 1, Example City"
    fact = next(f for f in report.registry.facts if f.key == "entities.okta-ireland.address")
    assert (fact.status, fact.printed, fact.sources[0].url) == (
        "proposed", True, "example register extract, retrieved 2026-11-29")
