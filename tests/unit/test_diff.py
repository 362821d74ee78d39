"""Registry change impact: the registry's changes and which customers' annexes they reach."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.conftest import copy_registry, make_contract, replace_once

from annex_gen.changes.annex_diff import diff_annexes
from annex_gen.changes.impact import impact
from annex_gen.changes.registry_diff import diff_registries, footprint
from annex_gen.inputs.registry import load_registry
from annex_gen.model import Registry
from annex_gen.resolve import resolve

UPCLOUD_MTA = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"
NEW_MAILER_ENTRY = """      - entity: hetzner
        location: germany
        purpose: {fi: Sähköpostiarkisto, en: Email archive}
"""
TWILIO_CMS = """      - entity: twilio-ireland
        location: eu
        purpose: {fi: SendGrid-palvelu sähköpostin lähetykseen, en: SendGrid service for sending email}
"""


def edited(tmp_path: Path, *edits: tuple[str, str, str]) -> Registry:
    """A copy of the project's registry with (file, old, new) replacements applied."""
    directory = copy_registry(tmp_path / "registry-new")
    for name, old, new in edits:
        replace_once(directory / name, old, new)
    return load_registry(directory)


def contracts():
    """One contract per interesting combination of region, products, language and option."""
    return [
        make_contract("eu", ["mailer"], customer_id="eu-mailer-fi"),
        make_contract("eu", ["mailer", "cms"], language="en", customer_id="eu-mailer-cms-en",
                      options={"dedicated_mta": True}),
        make_contract("eu", ["cms"], language="en", customer_id="eu-cms-en"),
        make_contract("eu", ["automation"], customer_id="eu-automation-fi"),
        make_contract("uae", ["mailer"], language="en", customer_id="uae-mailer-en"),
        make_contract("hk", ["mailer"], customer_id="hk-mailer-fi"),
    ]


def statuses(report) -> dict[str, str]:
    return {c.customer_id: c.status for c in report.customers}


def test_a_new_lianamailer_sub_processor_in_the_eu_reaches_exactly_the_eu_mailer_customers(
        tmp_path, registry):
    new = edited(tmp_path, ("sections.yaml", UPCLOUD_MTA, NEW_MAILER_ENTRY + UPCLOUD_MTA))
    report = impact(registry, new, contracts())
    (change,) = report.changes
    assert change.kind == "entry-added"
    assert change.summary == ("added: Hetzner Online GmbH (hetzner) to LianaMailer [eu-mailer]: "
                              "Germany: Email archive")
    assert change.new_keys == {("entry", "eu-mailer", "hetzner", "germany", None)}
    assert statuses(report) == {
        "eu-mailer-fi": "affected", "eu-mailer-cms-en": "affected", "eu-cms-en": "unaffected",
        "eu-automation-fi": "unaffected", "uae-mailer-en": "unaffected", "hk-mailer-fi": "unaffected",
    }
    fi = next(c for c in report.customers if c.customer_id == "eu-mailer-fi")
    assert fi.changes == (1,)
    (row,) = fi.annex.rows
    assert (row.kind, row.section, row.section_title, row.name) == ("added", "eu-mailer", "LianaMailer",
                                                                    "Hetzner Online GmbH")
    assert (row.new.location, row.new.purpose, row.new.legal_id) == (
        "Saksa", "Sähköpostiarkisto", "DE812871812")
    assert fi.annex.other == ()
    assert report.to_dict()["summary"] == {"affected": 2, "unaffected": 4, "error": 0}


def test_a_finnish_only_wording_fix_reaches_only_finnish_annexes(tmp_path, registry):
    new = edited(tmp_path, ("sections.yaml", "fi: Dedikoidut MTA:t\n",
                            "fi: Dedikoidut MTA:t (vain sopimuksen mukaisesti)\n"))
    (change,) = diff_registries(registry, new)
    assert change.kind == "purpose-changed"
    assert change.languages == {"fi"}
    fi = make_contract("eu", ["mailer"], options={"dedicated_mta": True}, customer_id="fi")
    en = make_contract("eu", ["mailer"], language="en", options={"dedicated_mta": True}, customer_id="en")
    off = make_contract("eu", ["mailer"], customer_id="off")
    report = impact(registry, new, [fi, en, off])
    assert statuses(report) == {"fi": "affected", "en": "unaffected", "off": "unaffected"}
    assert change.summary == ("purpose changed: Upcloud Oy (upcloud) in LianaMailer [eu-mailer]: purpose "
                              "'Dedikoidut MTA:t' -> "
                              "'Dedikoidut MTA:t (vain sopimuksen mukaisesti)'")
    (row,) = next(c for c in report.customers if c.customer_id == "fi").annex.rows
    assert (row.kind, row.fields) == ("changed", ("purpose",))
    assert row.new.purpose == "Dedikoidut MTA:t (vain sopimuksen mukaisesti)"


def test_an_entry_moved_between_sections(tmp_path, registry):
    new = edited(tmp_path, ("sections.yaml", TWILIO_CMS, ""),
                 ("sections.yaml", UPCLOUD_MTA, TWILIO_CMS + UPCLOUD_MTA))
    (change,) = diff_registries(registry, new)
    assert change.kind == "entry-moved"
    assert change.detail["fields"] == ["section"]
    report = impact(registry, new, [
        make_contract("eu", ["cms"], language="en", customer_id="cms"),
        make_contract("eu", ["mailer"], language="en", customer_id="mailer"),
        make_contract("eu", ["mailer", "cms"], language="en", customer_id="both"),
    ])
    rows = {c.customer_id: [(r.kind, r.fields, r.section) for r in c.annex.rows] for c in report.customers}
    assert rows == {
        "cms": [("removed", (), "eu-cms")],
        "mailer": [("added", (), "eu-mailer")],
        "both": [("changed", ("section",), "eu-mailer")],
    }
    both = next(c for c in report.customers if c.customer_id == "both")
    # a shared section is headed by the products this customer has
    assert both.annex.rows[0].old_section_title == "LianaCMS"
    assert all(c.changes == (1,) for c in report.customers)


def test_entity_renamed_location_changed_and_option_changed(tmp_path, registry):
    new = edited(
        tmp_path,
        ("entities.yaml", "name: Cyclr\n", "name: Cyclr Systems Ltd\n"),
        ("sections.yaml", "location: helsinki\n        purpose: {fi: Konesali",
         "location: finland\n        purpose: {fi: Konesali"),
        ("sections.yaml", UPCLOUD_MTA, "      - entity: upcloud\n        location: helsinki\n"),
    )
    kinds = {c.kind: c for c in diff_registries(registry, new)}
    assert set(kinds) == {"entity-renamed", "location-changed", "option-changed"}
    assert kinds["entity-renamed"].summary == "entity renamed: Cyclr -> Cyclr Systems Ltd (cyclr)"
    assert kinds["location-changed"].old_keys == {("entry", "eu-cms", "upcloud", "helsinki", None)}
    assert kinds["location-changed"].new_keys == {("entry", "eu-cms", "upcloud", "finland", None)}
    off = make_contract("eu", ["mailer"], customer_id="off")
    report = impact(registry, new, [off])
    (customer,) = report.customers
    assert [(r.kind, r.name) for r in customer.annex.rows] == [
        ("added", "Upcloud Oy"), ("changed", "Cyclr Systems Ltd")]
    assert customer.annex.rows[1].fields == ("name",)
    ids = {report.changes[i - 1].kind for i in customer.changes}
    assert ids == {"entity-renamed", "option-changed"}


def test_an_entity_id_renamed_with_the_same_identifier_is_one_rename(tmp_path, registry):
    directory = copy_registry(tmp_path / "registry-new")
    replace_once(directory / "entities.yaml", "  dna:\n", "  dna-oyj:\n")
    text = (directory / "sections.yaml").read_text(encoding="utf-8")
    text = text.replace("entity: dna\n", "entity: dna-oyj\n")
    (directory / "sections.yaml").write_text(text, encoding="utf-8")
    new = load_registry(directory)
    (change,) = diff_registries(registry, new)
    assert (change.kind, change.detail["old_entity"], change.detail["entity"]) == (
        "entity-renamed", "dna", "dna-oyj")
    report = impact(registry, new, [make_contract("eu", ["mailer"])])
    (customer,) = report.customers
    assert customer.status == "affected"  # the annex's JSON names sub-processors by id
    assert not customer.annex  # but nothing printed changes: nothing to notify


def test_provenance_alone_affects_nobody(tmp_path, registry):
    new = edited(tmp_path, ("registry.yaml", 'release: "2026.11.1"', 'release: "2026.12.1"'),
                 ("registry.yaml", "retrieved: 2026-11-29", "retrieved: 2026-12-15"))
    assert [c.kind for c in diff_registries(registry, new)] == ["published-list-changed"]
    contract = make_contract("eu", ["mailer"])
    old_annex, new_annex = resolve(registry, contract), resolve(new, contract)
    assert old_annex.document_id != new_annex.document_id
    assert old_annex.content_hash() == new_annex.content_hash()
    assert statuses(impact(registry, new, contracts())) == {c.customer_id: "unaffected" for c in contracts()}


def test_notice_terms_reach_every_customer(tmp_path, registry):
    new = edited(tmp_path, ("registry.yaml", "period_days: 30", "period_days: 45"))
    (change,) = diff_registries(registry, new)
    assert (change.kind, change.detail["fields"]) == ("notice-changed", ["period_days"])
    report = impact(registry, new, contracts())
    assert set(statuses(report).values()) == {"affected"}
    assert report.customers[0].annex.other[0].key == "notice_period_days"


def test_a_contract_the_old_registry_cannot_resolve_is_an_error(tmp_path, registry):
    new = edited(tmp_path, ("registry.yaml", "options:\n", """options:
  archive:
    name: {fi: Arkisto, en: Archive}
    description: {fi: Arkisto, en: Archive}
"""))
    contract = make_contract("eu", ["mailer"], options={"archive": True}, customer_id="acme")
    report = impact(registry, new, [contract], [("bad.yaml", "bad.yaml:1: invalid YAML")])
    assert [(c.customer_id, c.status, c.error) for c in report.customers] == [
        ("acme", "error", "does not resolve against the old registry: unknown option 'archive'"),
        ("", "error", "bad.yaml:1: invalid YAML"),
    ]


def test_footprint_follows_sections_and_options(registry):
    plain = footprint(registry, make_contract("eu", ["mailer"]))
    with_mta = footprint(registry, make_contract("eu", ["mailer"], options={"dedicated_mta": True}))
    entry = ("entry", "eu-mailer", "upcloud", "helsinki", "dedicated_mta")
    assert entry not in plain and entry in with_mta
    assert {("section", "shared-mta"), ("section", "customer-register"), ("entity", "dna")} <= plain
    assert ("section", "eu-cms") not in plain
    hk = footprint(registry, make_contract("hk", ["mailer"]))
    assert ("section", "shared-mta") in hk and ("region", "hk") in hk


@pytest.mark.parametrize("language", ["fi", "en"])
def test_an_annex_compared_with_itself_has_no_changes(registry, language):
    annex = resolve(registry, make_contract("eu", ["mailer", "cms"], language=language))
    assert not diff_annexes(annex, annex)


# Notice dates


def test_notice_dates_follow_the_registry_periods(tmp_path, registry):
    import datetime as dt

    from annex_gen.changes.notices import NoticeDateError, notice_dates

    day = dt.date(2026, 12, 1)
    dates = notice_dates(registry, registry, day)
    # objections within 15 days of the notice, ending 15 days before the change takes effect
    assert (dates.effective_date, dates.objection_deadline) == (dt.date(2026, 12, 31), dt.date(2026, 12, 16))
    assert (dates.objection_days, dates.resolution_days) == (15, 15)
    later = notice_dates(registry, registry, day, dt.date(2027, 2, 1))
    assert (later.effective_date, later.objection_deadline) == (dt.date(2027, 2, 1), dt.date(2027, 1, 17))
    longer = edited(tmp_path, ("registry.yaml", "period_days: 30", "period_days: 45"),
                    ("registry.yaml", "objection_days: 15", "objection_days: 14"))
    # The longer period of the two registries; the objection period likewise.
    both = notice_dates(registry, longer, day)
    assert (both.effective_date, both.objection_deadline, both.period_days) == (
        dt.date(2027, 1, 15), dt.date(2026, 12, 31), 45)
    assert notice_dates(longer, longer, day).objection_deadline == dt.date(2026, 12, 31)
    assert notice_dates(registry, longer, day, dt.date(2027, 1, 15)).effective_date == dt.date(2027, 1, 15)
    with pytest.raises(NoticeDateError) as exc:
        notice_dates(registry, longer, day, dt.date(2027, 1, 14))
    assert str(exc.value) == (
        "a notice sent on 2026-12-01 leaves 44 days before the effective date 2027-01-14, but the "
        "registry's notice period is 45 days: send the notice by 2026-11-30 or let the change take effect "
        "on 2027-01-15 or later")


def test_notice_dates_take_the_registrys_effective_date(tmp_path, registry):
    import datetime as dt

    from annex_gen.changes.notices import NoticeDateError, notice_dates

    dated = edited(tmp_path, ("registry.yaml", 'release: "2026.11.1"\n',
                              'release: "2026.11.1"\neffective: 2027-01-20\n'))
    assert dated.effective == dt.date(2027, 1, 20)
    dates = notice_dates(registry, dated, dt.date(2026, 12, 1))
    assert (dates.effective_date, dates.objection_deadline) == (dt.date(2027, 1, 20), dt.date(2027, 1, 5))
    # a date asked for wins; a notice too late for the registry's date is refused, not moved
    assert notice_dates(registry, dated, dt.date(2026, 12, 1), dt.date(2027, 2, 1)).effective_date == \
        dt.date(2027, 2, 1)
    with pytest.raises(NoticeDateError) as exc:
        notice_dates(registry, dated, dt.date(2026, 12, 22))
    assert (exc.value.code, str(exc.value)) == ("notices.date_too_late_registry", (
        "a notice sent on 2026-12-22 leaves 29 days before the effective date 2027-01-20 in registry.yaml, but the "
        "registry's notice period is 30 days: send the notice by 2026-12-21 or set it to 2027-01-21 or later"))
    # the same date given back (the web's form offers it) is still registry.yaml's; another is the one asked for
    with pytest.raises(NoticeDateError) as exc:
        notice_dates(registry, dated, dt.date(2026, 12, 22), dt.date(2027, 1, 20))
    assert exc.value.code == "notices.date_too_late_registry"
    with pytest.raises(NoticeDateError) as exc:
        notice_dates(registry, dated, dt.date(2026, 12, 22), dt.date(2027, 1, 19))
    assert exc.value.code == "notices.date_too_late"
    approved = dataclasses.replace(dated, status="final", effective_approved=True)
    with pytest.raises(NoticeDateError) as exc:
        notice_dates(registry, approved, dt.date(2026, 12, 22), dt.date(2027, 1, 20))
    assert exc.value.code == "notices.date_too_late_approved"


def test_an_objection_period_longer_than_the_new_terms_moves_the_effective_date(tmp_path, registry):
    import datetime as dt

    from annex_gen.changes.notices import notice_dates

    # the old terms gave 30 days to object; the new ones end objections 15 days before the change
    old = edited(tmp_path, ("registry.yaml", "objection_days: 15", "objection_days: 30"),
                 ("registry.yaml", "resolution_days: 15", "resolution_days: 0"))
    dates = notice_dates(old, registry, dt.date(2026, 12, 1))
    assert (dates.objection_deadline, dates.effective_date) == (dt.date(2026, 12, 31), dt.date(2027, 1, 15))


def test_renaming_an_option_leaves_the_annexes_it_has_no_effect_for_unchanged(tmp_path, registry):
    from annex_gen.changes.impact import customer_impact
    from annex_gen.changes.registry_diff import diff_registries

    renamed = edited(tmp_path, ("registry.yaml", "en: Dedicated MTAs (LianaMailer)", "en: Dedicated mail servers"))
    changes = diff_registries(registry, renamed)
    cms = make_contract("eu", ["cms"], language="en")  # no LianaMailer: the option changes nothing
    hk = make_contract("hk", ["mailer"], language="en")  # no dedicated MTAs in Hong Kong
    for contract in (cms, hk):
        before, after = resolve(registry, contract), resolve(renamed, contract)
        assert "dedicated_mta" not in before.to_dict()["option_names"]
        # the same content: a batch keeps the annex and its document ID, and no notice is due
        assert before.content_hash() == after.content_hash()
        assert customer_impact(registry, renamed, changes, contract).status == "unaffected"
    mailer = make_contract("eu", ["mailer"], language="en")
    assert resolve(registry, mailer).content_hash() != resolve(renamed, mailer).content_hash()
