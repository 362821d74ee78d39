"""The registry editor's library: changes applied round-trip, checked as `check` does, proposals and approval
kept in an append-only chain on both archive backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from annex_gen.errors import EditConflict, InvalidInput
from annex_gen.inputs.registry import FILES
from annex_gen.registry_edit import approve as approving
from annex_gen.registry_edit import proposals
from annex_gen.registry_edit.forms import changes_of, field_of
from annex_gen.registry_edit.log import open_change_log
from annex_gen.registry_edit.staged import read_texts, stage
from annex_gen.registry_edit.yamledit import apply
from conftest import REGISTRY_DIR, copy_registry

ENTRY = {"target": "entry", "action": "add", "section": "eu-mailer", "entity": "hetzner", "location": "germany",
         "purpose": {"fi": "Sähköpostiarkisto", "en": "Email archive"}, "sources": [{"url": "https://example.com/a"}]}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return read_texts(REGISTRY_DIR)


def _changed(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per changed file: the lines removed and the lines added."""
    import difflib

    out = {}
    for name in FILES:
        if before[name] != after[name]:
            diff = list(difflib.unified_diff(before[name].splitlines(), after[name].splitlines(), lineterm="", n=0))
            out[name] = ([d[1:] for d in diff if d.startswith("-") and not d.startswith("---")],
                         [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")])
    return out


def test_an_unchanged_item_rewrites_nothing(texts) -> None:
    same = {"target": "entry", "action": "change", "section": "eu-mailer", "was": {"entity": "upcloud",
            "location": "helsinki"}, "entity": "upcloud", "location": "helsinki", "option": "dedicated_mta",
            "purpose": {"fi": "Dedikoidut MTA:t", "en": "Dedicated MTAs"}}
    cyclr = {"target": "entity", "action": "change", "id": "cyclr", "name": {"value": "Cyclr"},
             "legal_id": {"kind": "uk_crn", "value": "08790783"}, "country": {"value": "GB"}}
    assert apply(texts, [same, cyclr]) == texts


def test_an_added_entry_goes_last_and_keeps_the_blank_line_after_the_section(texts) -> None:
    after = apply(texts, [ENTRY])
    removed, added = _changed(texts, after)["sections.yaml"]
    assert removed == []
    assert added == ["      - entity: hetzner", "        location: germany",
                     "        purpose: {fi: Sähköpostiarkisto, en: Email archive}"]
    assert "Email archive}\n\n  - id: eu-monitor" in after["sections.yaml"]


def test_removing_the_last_item_keeps_what_follows(texts) -> None:
    upcloud = {"target": "entry", "action": "remove", "section": "eu-mailer",
               "was": {"entity": "upcloud", "location": "helsinki"}}
    basis = {"target": "transfer_basis", "action": "remove", "id": "israel-adequacy"}  # the last basis
    after = apply(texts, [upcloud])
    assert "restricted to other regions within the EU.\n\n  - id: eu-monitor" in after["sections.yaml"]
    assert list(_changed(texts, after)) == ["sections.yaml"]
    basis_after = apply(texts, [basis])["registry.yaml"]
    assert ("Module Two (transfer controller to processor)\n\n# How the data processing agreement names this "
            "annex.\ndpa_annex:") in basis_after


def test_a_new_entity_with_sources_in_the_registry_shape(texts) -> None:
    fields = {"id": ["newco"], "name": ["Newco Oy"], "legal_kind": ["vat"], "legal_value": ["FI12345698"],
              "country": ["FI"], "country_src_url": ["https://example.com/newco", ""],
              "country_src_quote": ["Newco Oy, Helsinki, Finland", ""], "address": ["Esimerkkikatu 1, 00100 Helsinki"],
              "address_src_url": ["https://example.com/newco", ""], "address_src_quote": ["Esimerkkikatu 1", ""],
              "entry_section": [""]}
    (change,) = changes_of("entity", "add", fields)
    assert change["address"] == {"value": "Esimerkkikatu 1, 00100 Helsinki",
                                 "sources": [{"url": "https://example.com/newco", "quote": "Esimerkkikatu 1"}]}
    staged = stage(REGISTRY_DIR, [change], texts)
    assert staged.errors == [] and staged.registry is not None
    newco = staged.registry.entities["newco"]
    assert newco.address == "Esimerkkikatu 1, 00100 Helsinki" and newco.legal_id.value == "FI12345698"
    # entities.yaml writes each fact as {value, sources}: proposed until legal confirms it
    written = staged.texts["entities.yaml"]
    assert ("    address:\n      value: Esimerkkikatu 1, 00100 Helsinki\n      sources:\n"
            "        - url: https://example.com/newco\n          quote: Esimerkkikatu 1\n") in written
    assert {f.key for f in staged.registry.facts if f.key.startswith("entities.newco.")} == {
        "entities.newco.country", "entities.newco.address"}


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"legal_id": {"kind": "vat", "value": "FI12345678"}}, "legal_value", "not a valid EU VAT number"),
    ({"country": {"value": "XX"}}, "country", "XX"),
    ({"id": "cyclr"}, "id", "exists already"),
])
def test_problems_name_their_field(texts, change, field, message) -> None:
    base = {"target": "entity", "action": "add", "id": "newco", "name": {"value": "Newco Oy"}}
    staged = stage(REGISTRY_DIR, [{**base, **change}], texts)
    assert staged.errors, staged.diagnostics
    fields = ("id", "name", "legal_kind", "legal_value", "country", "address", "privacy_contact")
    found = {field_of(d, "entity", fields): d.message for d in staged.errors}
    assert field in found and message in found[field]


def test_an_entry_outside_the_eea_needs_a_transfer_basis(texts) -> None:
    outside = {**ENTRY, "location": "eu-usa"}
    staged = stage(REGISTRY_DIR, [outside], texts)
    fields = ("section", "entity", "location", "purpose_fi", "purpose_en", "option", "transfer")
    assert any(field_of(d, "entry", fields) in ("transfer", "location") for d in staged.errors), staged.errors
    assert stage(REGISTRY_DIR, [{**outside, "transfer": "scc-module-3"}], texts).errors == []


def test_change_log_is_append_only_and_chained(backend) -> None:
    log = open_change_log(backend.location)
    assert log.events() == [] and log.check().events == 0
    log.append("proposed", "anna", {"changes": [ENTRY], "reason": "archive"})
    log.append("withdrawn", "anna", {"proposal": 1, "reason": "not now"})
    report = log.check()
    assert report.events == 2 and report.problems == []
    if backend.name == "sqlite":
        con = sqlite3.connect(Path(backend.location) / "registry_changes.sqlite")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM events")
        con.close()
    else:
        import psycopg

        with psycopg.connect(backend.location, autocommit=True) as con, pytest.raises(psycopg.Error,
                                                                                     match="append-only"):
            con.execute("UPDATE annex_registry.events SET body = body")


def test_propose_and_approve_on_both_backends(backend, tmp_path: Path) -> None:
    registry = copy_registry(tmp_path / "registry")  # not in git: the chain keeps the files' texts
    log = open_change_log(backend.location)
    first = proposals.propose(log, registry, "anna", [ENTRY], "Hetzner archives LianaMailer email")
    with pytest.raises(EditConflict, match="proposal #1"):
        proposals.propose(log, registry, "ben", [ENTRY], "the same again")
    with pytest.raises(approving.FourEyesRefused, match="another legal user must approve it"):
        approving.approve(log, registry, "anna", [first.id])
    proposals.edit(log, registry, "ben", first.id, [{**ENTRY, "purpose": {"fi": "Arkisto", "en": "Archive"}}],
                   "shorter")
    with pytest.raises(approving.FourEyesRefused):
        approving.approve(log, registry, "ben", [first.id])
    with pytest.raises(InvalidInput, match="say why"):
        proposals.propose(log, registry, "ben", [{**ENTRY, "location": "finland"}], "")
    done = approving.approve(log, registry, "carl", [first.id], release="2026.12.1")
    assert done.commit is None and done.files == ("registry.yaml", "sections.yaml")
    assert "purpose: {fi: Arkisto, en: Archive}" in (registry / "sections.yaml").read_text()
    event = log.events()[-1]
    assert event.data["texts"]["sections.yaml"] == (registry / "sections.yaml").read_text()
    assert event.data["release"] == "2026.12.1" and log.check().problems == []
    (approved,) = proposals.proposals(log)
    assert approved.status == "approved" and approved.authors == ["anna", "ben"] and approved.closed_by == "carl"
    with pytest.raises(EditConflict, match="approved already"):
        approving.approve(log, registry, "dora", [first.id])


def test_a_changed_folded_text_stays_folded(texts) -> None:
    garba = {"target": "entry", "action": "change", "section": "customer-register",
             "was": {"entity": "garba", "location": "eu"}, "entity": "garba", "location": "eu",
             "purpose": {"fi": "Käytetään asiakastapaamisten transkriptioiden tallentamiseen, tekoälyavusteiseen "
                               "analysointiin ja käsittelyyn sisäisesti asiakkaiden etukäteissuostumuksella.",
                         "en": "Used to store transcripts of customer meetings and to analyse them with AI "
                               "assistance and process them internally, with the customers' prior written consent."}}
    removed, added = _changed(texts, apply(texts, [garba]))["sections.yaml"]
    assert removed == ["            assistance and process them internally, with the customers' prior consent."]
    assert added == ["            assistance and process them internally, with the customers' prior written consent."]


FACT_STYLE = """\
entities:
  acme:
    name: Acme
    # the registered name differs from the published one
    legal_name:
      value: Acme Ltd
      sources:
        - url: https://example.com/acme
      confirmed: {by: lea, on: 2026-12-01}
    country:
      value: IE
      sources:
        - url: https://example.com/acme
      confirmed: {by: lea, on: 2026-12-01}
  brandco:
    name: BrandCo
    brand: true
    legal_name:
      candidates:
        - value: BrandCo Holdings Ltd
"""


def test_facts_with_provenance_keep_confirmation_unless_their_value_changes() -> None:
    texts = {"entities.yaml": FACT_STYLE}
    acme = {"target": "entity", "action": "change", "id": "acme", "name": {"value": "Acme"},
            "legal_name": {"value": "Acme Ltd", "sources": [{"url": "https://example.com/register"}]},
            "country": {"value": "GB", "sources": [{"url": "https://example.com/register", "quote": "GB"}]}}
    brand = {"target": "entity", "action": "change", "id": "brandco", "name": {"value": "BrandCo"},
             "legal_name": {"value": "", "sources": []}}
    after = apply(texts, [acme, brand])["entities.yaml"]
    assert after == FACT_STYLE.replace(
        "        - url: https://example.com/acme\n      confirmed: {by: lea, on: 2026-12-01}\n    country:",
        "        - url: https://example.com/acme\n        - url: https://example.com/register\n"
        "      confirmed: {by: lea, on: 2026-12-01}\n    country:").replace(
        "      value: IE\n      sources:\n        - url: https://example.com/acme\n"
        "      confirmed: {by: lea, on: 2026-12-01}\n",
        "      value: GB\n      sources:\n        - url: https://example.com/register\n          quote: GB\n")
