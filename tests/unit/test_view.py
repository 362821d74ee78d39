"""The document view (annex_gen.views.annex): the words both renderers print, in print order.

Annexes are resolved in-process from the project's registry (the `registry` fixture of
tests/conftest.py) for contracts built inline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from annex_gen.model import Contract
from annex_gen.resolve import resolve
from annex_gen.views.annex import AnnexView, build_view
from annex_gen.views.catalog import load_catalogs


def _contract(region="eu", products=("mailer", "automation"), *, language="en", options=None, name="Acme Oy",
              business_id="FI12345671", reference="DPA-1", replaces=None, by_notice=False) -> Contract:
    return Contract(customer_id="acme", customer_name=name, date=dt.date(2026, 11, 29), region=region,
                    language=language, products=tuple(products), options=dict(options or {}),
                    business_id=business_id, reference=reference, replaces=replaces, by_notice=by_notice)


@pytest.fixture
def annex_of(registry):
    def _annex(*args, **kwargs):
        return resolve(registry, _contract(*args, **kwargs))

    return _annex


def _strings(value):
    """Every string inside a view (dataclasses, dicts, tuples)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("language", ["en", "fi"])
def test_meta_rows_in_print_order(annex_of, language):
    annex = annex_of(language=language, options={"dedicated_mta": True})
    cat = load_catalogs()[language]
    view = build_view(annex)
    keys = ["customer", "business_id", "reference", "date", "region", "products", "options",
            "registry_version", "source", "document_id"]
    assert [row.label for row in view.meta] == [cat[f"meta.{k}"] for k in keys]
    values = [row.value for row in view.meta]
    kind = {"en": "VAT number", "fi": "ALV-tunniste"}[language]
    assert values == [
        "Acme Oy", f"FI12345671 ({kind})", "DPA-1", "2026-11-29", annex.region_name,
        ", ".join(name for _, name in annex.products),
        annex.option_names["dedicated_mta"],
        annex.registry_version,
        cat.format("meta.source_value", list_title=annex.list_title, release="2026.11.1",
                   retrieved=annex.list_retrieved.isoformat()),
        annex.document_id,
    ]
    # Products print in the region's order, not the contract's.
    assert values[5] == "LianaAutomation, LianaMailer"


def test_absent_values_print_the_none_mark(annex_of):
    view = build_view(annex_of(business_id=None, reference=None))
    meta = {row.label: row.value for row in view.meta}
    assert meta["Company identifier"] == meta["Contract reference"] == meta["Additional services"] == "—"


@pytest.mark.parametrize(("business_id", "language", "shown"), [
    ("1234567-1", "fi", "1234567-1 (Y-tunnus)"),
    ("100123456789012", "fi", "100123456789012 (Yhdistyneiden arabiemiirikuntien TRN)"),
    ("100123456789012", "en", "100123456789012 (UAE TRN)"),
    ("12345678", "en", "12345678 (Hong Kong BR number)"),
])
def test_the_company_identifier_shows_its_kind(annex_of, business_id, language, shown):
    view = build_view(annex_of(business_id=business_id, language=language))
    assert view.meta[1].value == shown
    assert view.meta[1].label == {"fi": "Yritystunniste", "en": "Company identifier"}[language]


@pytest.mark.parametrize(("language", "label", "between", "footer"), [
    ("en", "Page", "of", "Document ID {}"),
    ("fi", "Sivu", "/", "Asiakirjatunnus {}"),
])
def test_page_label_and_footer(annex_of, language, label, between, footer):
    annex = annex_of(language=language)
    view = build_view(annex)
    assert (view.page_label, view.page_of) == (label, between)
    assert view.footer_id == footer.format(annex.document_id)
    assert view.document_id == annex.document_id
    assert view.language == language


def test_title_subject_and_company(annex_of):
    annex = annex_of(language="fi")
    view = build_view(annex)
    assert view.title == "Tietojenkäsittelysopimuksen liite: Alikäsittelijät"  # as the DPA names it
    assert view.pdf_title == "Tietojenkäsittelysopimuksen liite: Alikäsittelijät – Acme Oy"
    assert view.subject == f"{annex.company_name}: alikäsittelijät, Acme Oy"
    assert view.company == annex.company_name
    assert view.date == "2026-11-29"


def test_sections_follow_the_annex(annex_of):
    annex = annex_of(options={"dedicated_mta": True})
    view = build_view(annex)
    assert [s.id for s in view.sections] == [s.id for s in annex.sections]
    assert [s.title for s in view.sections] == [s.title for s in annex.sections]
    assert [s.note for s in view.sections] == [s.note for s in annex.sections]
    for sv, s in zip(view.sections, annex.sections, strict=True):
        assert [(e.name, e.location, e.purpose, e.purpose_items, e.outside_eea) for e in sv.entries] == \
               [(e.name, e.location, e.purpose, e.purpose_items, e.outside_eea) for e in s.entries]


def test_shared_mta_rule_names_the_mta_section(annex_of):
    annex = annex_of()
    view = build_view(annex)
    mta = next(s for s in annex.sections if s.kind == "shared_mta")
    for sv, s in zip(view.sections, annex.sections, strict=True):
        if s.uses_shared_mta:
            # one product's section speaks of one service; the general section of several
            subject = "This service uses" if s.kind == "product" else "These services use"
            assert sv.rule == (f"{subject} Liana's shared MTA infrastructure "
                               f"(see the section “{mta.title}”).")
        else:
            assert sv.rule is None


def test_option_gated_entry_and_missing_identifier(annex_of):
    view = build_view(annex_of(options={"dedicated_mta": True}))
    gated = [e for s in view.sections for e in s.entries if e.gated]
    assert [e.name for e in gated] == ["Upcloud Oy"]
    assert gated[0].gated == "Additional service: Dedicated MTAs (LianaMailer)"
    assert all(e.gated is None for s in view.sections for e in s.entries if e.name != "Upcloud Oy")
    # The register's entities have no published identifier: the none mark, not an empty cell.
    assert {e.legal_id for e in view.register["entries"]} == {"—"}


def test_summary_lists_each_legal_entity_once(annex_of):
    annex = annex_of(region="uae", products=("mailer",), business_id=None)
    view = build_view(annex)
    parties = view.summary["parties"]
    assert [p.name for p in parties] == [p.name for p in annex.subprocessors]
    assert len({p.name for p in parties}) == len(parties)
    assert view.summary["intro"] == (f"The following {len(parties)} legal entities process personal data "
                                     "on the Customer's behalf under this annex.")
    by_name = {p.name: p for p in parties}
    assert by_name["Google Ireland Ltd."].country == "Ireland"
    google = next(p for p in annex.subprocessors if p.name == "Google Ireland Ltd.")
    assert len(google.locations) >= 2  # the general section and the shared MTA
    # "Finland" is part of "Finland / EU": a location that repeats is printed once
    assert google.locations == ("Finland / EU", "Finland")
    assert by_name["Google Ireland Ltd."].locations == "Finland / EU"
    alicloud = by_name["Alicloud Global"]
    assert alicloud.outside_eea
    assert alicloud.country == ""  # unknown: an empty cell in a document meant to be signed
    assert alicloud.legal_id == "—"
    assert alicloud.transfers == ("EU Standard Contractual Clauses (2021/914), Module 3 (processor to processor)")
    # a brand whose contracting entity legal has not named: said so; no address or contact, not a placeholder
    assert alicloud.details == ("A brand name: the contracting legal entity is not yet confirmed.",)
    # Cyclr's servers are in Sweden, but it is registered in the United Kingdom: a transfer
    cyclr = by_name["Cyclr"]
    assert cyclr.outside_eea and cyclr.country == "United Kingdom" and "(EU) 2021/1772" in cyclr.transfers
    (row,) = [e for s in view.sections for e in s.entries if e.name == "Cyclr"]
    assert (row.location, row.outside_eea, row.registered_outside_eea) == ("Sweden", False, True)
    assert view.summary["footnote"].startswith("A transfer outside the EU/EEA is processing in a location outside "
                                               "the EU/EEA, or by a company registered outside it")


def test_summary_footnote_when_everything_is_in_the_eea(annex_of):
    annex = annex_of()
    inside = tuple(p for p in annex.subprocessors if not p.outside_eea)
    assert len(inside) == len(annex.subprocessors) - 1  # Cyclr
    footnote = build_view(dataclasses.replace(annex, subprocessors=inside)).summary["footnote"]
    assert footnote == ("All processing locations listed in this annex are within the EU/EEA, and every company "
                        "listed is registered there.")


@pytest.mark.parametrize(("language", "names"), [
    ("fi", ["Irlanti", "Malta", "Iso-Britannia", "Saksa", "Suomi"]),
    ("en", ["Ireland", "Malta", "United Kingdom", "Germany", "Finland"]),
])
def test_country_names_come_from_cldr(annex_of, language, names):
    view = build_view(annex_of(language=language, products=("mailer", "cms")))
    countries = {p.name: p.country for p in view.summary["parties"]}
    assert [countries[n] for n in ("Google Ireland Ltd.", "Peakford Ltd.", "Cyclr", "Hetzner Online GmbH",
                                   "DNA Oyj")] == names


def test_an_address_and_contact_print_only_when_recorded(annex_of):
    annex = annex_of(language="en")
    bare = {"address": None, "privacy_contact": None, "legal_name": None, "registration": None}
    first = dataclasses.replace(annex.subprocessors[0], **{**bare, "address": "1 Example Street, Dublin"})
    rest = [dataclasses.replace(p, **bare) for p in annex.subprocessors[1:]]
    view = build_view(dataclasses.replace(annex, subprocessors=(first, *rest)))
    assert view.summary["parties"][0].details == ("Registered address: 1 Example Street, Dublin",)
    assert all(p.details == () for p in view.summary["parties"][1:])


def test_legal_name_registration_and_a_brands_contracting_entity(annex_of):
    annex = annex_of(language="en")
    first = dataclasses.replace(annex.subprocessors[0], name="Acme", legal_name="Acme Holdings Limited",
                                registration="HRB 1", address=None, privacy_contact="dpo@acme.example")
    same = dataclasses.replace(first, name="Acme Holdings Limited", registration=None, privacy_contact=None)
    brand = dataclasses.replace(first, brand=True, registration=None, privacy_contact=None)
    open_brand = dataclasses.replace(brand, legal_name=None)
    view = build_view(dataclasses.replace(annex, subprocessors=(first, same, brand, open_brand)))
    assert [p.details for p in view.summary["parties"]] == [
        ("Registered name: Acme Holdings Limited", "Registration: HRB 1", "Data protection contact: dpo@acme.example"),
        (),  # the registered name is the name printed: not repeated
        ("Contracting entity: Acme Holdings Limited",),
        ("A brand name: the contracting legal entity is not yet confirmed.",),
    ]


def test_an_unknown_country_code_prints_nothing(annex_of):
    annex = annex_of()
    first = dataclasses.replace(annex.subprocessors[0], country="XX")
    view = build_view(dataclasses.replace(annex, subprocessors=(first, *annex.subprocessors[1:])))
    assert view.summary["parties"][0].country == ""


def test_general_written_authorisation_names_the_sections_it_covers(annex_of):
    annex = annex_of(language="fi")
    view = build_view(annex)
    general, obligations, register = view.authorisation
    assert "yleisen kirjallisen ennakkoluvan" in general and "28 artiklan 2 kohta" in general
    assert "(EU) 2021/915" in general and "7.7 kohdan a alakohdan vaihtoehto 2" in general
    titles = [s.title for s in annex.sections]
    assert titles == ["Yleiset taustapalvelut", "Jaettu MTA-infrastruktuuri", "LianaAutomation", "LianaMailer"]
    assert ("osioissa ”Yleiset taustapalvelut”, ”Jaettu MTA-infrastruktuuri”, ”LianaAutomation” ja "
            "”LianaMailer” lueteltuja alikäsittelijöitä") in general
    assert "”Alikäsittelijöiden muutokset” menettelyssä" in general
    # what the published list says of its agreements, and nothing more (no liability statement)
    assert "vähintään yhtä suojaavat tietosuojavelvoitteet" in obligations and "28 artiklan 4 kohta" in obligations
    assert "vastaa" not in " ".join(view.authorisation)
    assert view.register["title"] in register and "rekisterinpitäjänä" in register
    en = build_view(annex_of(language="en"))
    assert "general written authorisation (Article 28(2)" in en.authorisation[0]
    assert "Clause 7.7(a), Option 2" in en.authorisation[0]
    assert "“General background services”, “Shared MTA infrastructure”, “LianaAutomation” and “LianaMailer”" \
        in en.authorisation[0]
    assert "does not cover the section “Liana Technologies Oy's own processors" in en.authorisation[2]


def test_the_replaced_annex(annex_of):
    view = build_view(annex_of(language="en", replaces="ANX-0000-1111-2222-3333"))
    assert view.authorisation[3] == ("From 29 November 2026, this annex replaces the previous annex, "
                                     "document ID ANX-0000-1111-2222-3333.")
    assert (view.meta[-1].label, view.meta[-1].value) == ("Replaces annex", "ANX-0000-1111-2222-3333")
    assert view.signatures is not None  # a new annex agreed with the customer is signed
    fi = build_view(annex_of(language="fi", replaces="ANX-0000-1111-2222-3333"))
    assert "29.11.2026" in fi.authorisation[3]


@pytest.mark.parametrize("language", ["fi", "en"])
def test_a_replacement_issued_by_a_notice_says_so_and_has_no_signature_block(annex_of, language):
    view = build_view(annex_of(language=language, replaces="ANX-0000-1111-2222-3333", by_notice=True))
    assert view.signatures is None
    said = {"fi": "Se annetaan muutosilmoituksen mukana osion ”Alikäsittelijöiden muutokset” menettelyssä ja "
                  "tulee voimaan ilman allekirjoitusta.",
            "en": "It is issued with a notice of changes under the procedure in the section “Changes to "
                  "sub-processors” and takes effect without signature."}[language]
    assert view.authorisation[3].endswith(said)
    # by_notice without a replaced annex is an ordinary annex
    assert build_view(annex_of(language=language, by_notice=True)).signatures is not None


def test_register_and_notice(annex_of):
    annex = annex_of(language="fi")
    view = build_view(annex)
    assert view.register["title"] == ("Palveluntarjoajan omat käsittelijät (Liana Technologies Oy "
                                      "rekisterinpitäjänä), tiedoksi")
    assert "”Asiakastietorekisterin alikäsittelijät”" in view.register["intro"]  # the published list's heading
    assert "eivät kuulu tämän liitteen lupaan" in view.register["intro"]
    assert view.register["note"] == annex.customer_register.note
    assert [(e.name, e.location, e.outside_eea) for e in view.register["entries"]] == \
           [(e.name, e.location, e.outside_eea) for e in annex.customer_register.entries]
    transfers = {e.name: e.transfer for e in view.register["entries"] if e.transfer}
    assert set(transfers) == {"Chargebee", "Gainsight", "Monday.com"}  # Monday.com: registered in Israel
    assert all("moduuli 2 (rekisterinpitäjältä käsittelijälle)" in transfers[n] for n in ("Chargebee", "Gainsight"))
    assert "Israelin" in transfers["Monday.com"]
    changes, objection, unresolved = view.notice["paragraphs"]
    assert annex.notice_channels in changes and f"{annex.notice_period_days} päivää" in changes
    assert "käsittelypaikan tai EU/ETA-alueen ulkopuolelle tapahtuvan siirron perusteen muuttuminen" in changes
    assert "lisääminen tai vaihtaminen" in changes
    assert annex.objection_manner in objection and annex.objection_address in objection
    assert "15 päivän kuluessa ilmoituksesta ja viimeistään 15 päivää ennen muutoksen voimaantuloa" in objection
    assert "tietoturva" not in objection
    assert unresolved == annex.objection_unresolved and "irtisanoa" in unresolved


def test_a_regional_transfer_clause_prints_in_its_region_only(annex_of):
    assert build_view(annex_of()).transfer_clause is None
    uae = build_view(annex_of(region="uae", products=("mailer",), business_id=None))
    assert uae.transfer_clause["title"] == "Transfers out of the region: United Arab Emirates"
    assert "Federal Decree-Law No. 45 of 2021" in uae.transfer_clause["text"]
    hk = build_view(annex_of(region="hk", products=("mailer",), business_id=None, language="fi"))
    assert hk.transfer_clause["title"] == "Siirrot alueelta: Hongkong"
    assert "Personal Data (Privacy) Ordinance" in hk.transfer_clause["text"]


def test_signatures_name_both_parties(annex_of):
    view = build_view(annex_of())
    # both languages name the parties the same way: role, then name
    assert view.signatures["parties"] == ("Customer: Acme Oy", "Supplier: Liana Technologies Oy")
    assert (view.signatures["signature"], view.signatures["name"], view.signatures["place_date"]) == \
           ("Signature", "Name in block letters and title", "Place and date")
    fi = build_view(annex_of(language="fi"))
    assert fi.signatures["parties"] == ("Asiakas: Acme Oy", "Palveluntarjoaja: Liana Technologies Oy")
    assert (fi.signatures["name"], fi.signatures["place_date"]) == ("Nimenselvennys ja asema", "Paikka ja aika")


@pytest.mark.parametrize("language", ["en", "fi"])
@pytest.mark.parametrize(("region", "products"), [("eu", ("press", "automation", "mailer", "monitor", "cms")),
                                                  ("uae", ("mailer", "cms")), ("hk", ("automation",))])
def test_no_placeholder_is_left_unfilled(annex_of, language, region, products):
    view = build_view(annex_of(region=region, products=products, language=language, business_id=None,
                               options={"dedicated_mta": True}))
    # labels carries every table.* text, including the option_gated template the view fills per entry.
    labels = {k: v for k, v in view.labels.items() if k != "option_gated"}
    strings = _strings(dataclasses.replace(view, labels=labels))
    leftovers = [s for s in strings if re.search(r"\{[a-z_]+\}", s)]
    assert leftovers == []
    assert any(e.gated for s in view.sections for e in s.entries) == (region == "eu")


def test_languages_have_the_same_shape(annex_of):
    en, fi = build_view(annex_of(language="en")), build_view(annex_of(language="fi"))
    assert len(en.meta) == len(fi.meta)
    assert set(en.labels) == set(fi.labels)
    assert [s.id for s in en.sections] == [s.id for s in fi.sections]
    assert [len(s.entries) for s in en.sections] == [len(s.entries) for s in fi.sections]
    assert en.title != fi.title and en.intro != fi.intro


def test_view_holds_plain_unescaped_text(annex_of):
    name = '<b>Acme</b> & {{ 7*7 }} "Oy"'
    view = build_view(annex_of(name=name))
    assert view.meta[0].value == name
    assert name in view.intro and name in view.subject
    assert view.signatures["parties"][0] == f"Customer: {name}"
    assert not any("&lt;" in s or "&amp;" in s for s in _strings(view))


def test_view_type():
    assert {f.name for f in dataclasses.fields(AnnexView)} >= {
        "language", "title", "subject", "company", "document_id", "footer_id", "page_label", "page_of",
        "meta", "intro", "labels", "sections", "summary", "notice", "register", "signatures"}
