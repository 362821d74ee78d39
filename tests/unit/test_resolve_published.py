"""The resolver against the published sub-processor list, section by section, region by region.

Every expectation here was written by hand from reading
shared/source/published-subprocessor-list-fi.txt, with the corrections recorded in
registry/corrections.yaml applied. None of it is a snapshot of the code's output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from annex_gen.model import Annex
from annex_gen.resolve import ResolutionError, resolve
from conftest import make_contract

# The GCP text shared by the EU product sections (LianaPress, -Automation, -Mailer, -Monitor).
GCP_HAMINA = (
    "Ensisijaisena alueena (region) käytetään GCP:n Haminan aluetta. Palvelut, joita ei ole sidottu "
    "tiettyyn alueeseen, on kaikki rajattu muille EU:n alueille."
)
GCP_ITEMS = ("LianaAccount", "Lianan lokitus- ja valvonta-alusta", "Oheispalveluita Lianan tuotteille")
GCP_ITEMS_EN = (
    "LianaAccount", "Liana's logging and monitoring platform", "Auxiliary services for Liana's products",
)
GOOGLE_GENERAL = (
    "Google Ireland Ltd.", "IE6388047V", "Suomi / EU", "GCP:n kautta tarjotaan muun muassa:", GCP_ITEMS,
)
GOOGLE_PRODUCT = ("Google Ireland Ltd.", "IE6388047V", "Suomi / EU", GCP_HAMINA, ())
MTA_HOSTING = "Jaetun MTA-infrastruktuurin palvelinten ylläpito"
INTEGRATION = "Lianan integraatioalusta osalle toimituksista"
ALICLOUD_PURPOSE = "Sovellusten ylläpitoon tarkoitetut infrastruktuuripalvelut"
UPCLOUD_DEDICATED = ("Upcloud Oy", "FI24315605", "Helsinki, Suomi",
                     "Dedikoidut MTA:t", ())

# Section id -> (Finnish title, rows); a row is (company, identifier as printed, location,
# purpose, purpose items), in the published order.
PUBLISHED: dict[str, tuple[str, list[tuple]]] = {
    "customer-register": ("Asiakastietorekisterin alikäsittelijät", [
        ("Garba", "", "EU",
         "Käytetään asiakastapaamisten transkriptioiden tallentamiseen, tekoälyavusteiseen analysointiin "
         "ja käsittelyyn sisäisesti asiakkaiden etukäteissuostumuksella.", ()),
        ("Chargebee", "", "EU/USA", "Käytetään asiakastilausten hallintaan", ()),
        ("Gainsight", "", "EU/USA", "Käytetään tuoteanalytiikkaan", ()),
        ("Monday.com", "", "Frankfurt, EU",
         "Käytetään työnhallinta-alustana projektien, tehtävien ja tiimityön järjestämiseen.", ()),
        ("Pipedrive", "", "ETA",
         "Käytetään asiakkuudenhallintatyökaluna (CRM) myyntitoimien ja asiakasvuorovaikutuksen "
         "hallintaan.", ()),
        ("Startdeliver", "", "EU",
         "Käytetään CSM-alustana asiakasvuorovaikutusten hallintaan ja asiakastiedon analysointiin.", ()),
        ("Zendesk", "", "ETA",
         "Liana käyttää Zendeskia asiakastukialustanaan palvelupyyntöjen hallintaan ja asiakkaiden "
         "kanssa viestimiseen.", ()),
    ]),
    "eu-general": ("Yleiset taustapalvelut", [
        GOOGLE_GENERAL,
        ("Peakford Ltd.", "MT27833914", "Saksa",
         "Joidenkin palveluiden varmuuskopioiden hallinta Hetznerin datakeskuksissa.", ()),
        ("Okta Identity Ireland Limited", "CRO 706654", "EU",
         "Lianan palveluiden käyttäjähallinta ja -autentikointi", ()),
        ("Cyclr", "UK CRN 08790783", "Ruotsi", INTEGRATION, ()),
        ("Twilio Ireland Ltd.", "IE557454", "EU", "Lianan tekstiviestien lähetys (MFA)", ()),
    ]),
    "shared-mta": ("Jaettu MTA-infrastruktuuri", [
        ("Google Ireland Ltd.", "IE6388047V", "Suomi", MTA_HOSTING, ()),
        ("DNA Oyj", "FI05925096", "Suomi", MTA_HOSTING, ()),
        ("Hetzner Online GmbH", "DE812871812", "Saksa", MTA_HOSTING, ()),
    ]),
    "eu-press": ("LianaPress", [GOOGLE_PRODUCT]),
    "eu-automation": ("LianaAutomation", [GOOGLE_PRODUCT]),
    "eu-mailer": ("LianaMailer", [GOOGLE_PRODUCT, UPCLOUD_DEDICATED]),
    "eu-monitor": ("LianaMonitor", [GOOGLE_PRODUCT]),
    "eu-cms": ("LianaCMS, Liana WordPress ja LianaCommerce", [
        ("Upcloud Oy", "FI24315605", "Helsinki, Suomi", "Konesalipalveluntarjoaja", ()),
        ("Hetzner Online GmbH", "DE812871812", "Saksa", "Matomo-palvelun konesaliratkaisu", ()),
        ("Twilio Ireland Ltd.", "IE557454", "EU", "SendGrid-palvelu sähköpostin lähetykseen", ()),
    ]),
    "uae-general": ("Yleiset taustapalvelut", [
        GOOGLE_GENERAL,
        ("Okta Identity Ireland Limited", "CRO 706654", "EU", "Käyttäjän todennus ja valtuutus", ()),
        ("Peakford Ltd.", "MT27833914", "Saksa", "Varmuuskopioiden hallinta Hetznerin datakeskuksissa", ()),
        ("Cyclr", "UK CRN 08790783", "Ruotsi", INTEGRATION, ()),
    ]),
    "uae-products": ("LianaMailer, LianaAutomation ja LianaCMS", [
        ("Alicloud Global", "", "Dubai, Yhdistyneet arabiemiirikunnat", ALICLOUD_PURPOSE, ()),
    ]),
    "hk-general": ("Yleiset taustapalvelut", [
        GOOGLE_GENERAL,
        ("Okta Identity Ireland Limited", "CRO 706654", "EU", "Käyttäjän todennus ja valtuutus", ()),
        ("Peakford Ltd.", "MT27833914", "Saksa", "Varmuuskopioiden hallinta Hetznerin datakeskuksissa", ()),
    ]),
    "hk-products": ("LianaMailer, LianaAutomation ja LianaCMS", [
        # Corrected: the published row says "Hongkong, Yhdistyneet arabiemiirikunnat".
        ("Alicloud Global", "", "Hongkong", ALICLOUD_PURPOSE, ()),
        ("Cyclr", "UK CRN 08790783", "Ruotsi", INTEGRATION, ()),
    ]),
}

# The products each region offers, as the published headings name them.
OFFERED = {
    "eu": {"press", "automation", "mailer", "monitor", "cms", "wordpress", "commerce"},
    "uae": {"mailer", "automation", "cms"},
    "hk": {"mailer", "automation", "cms"},
}

# The locations of the list that are not wholly inside the EU/EEA.
NON_EEA_LOCATIONS = {"EU/USA", "Dubai, Yhdistyneet arabiemiirikunnat", "Hongkong"}

# Identifier as published -> identifier as the registry prints it (see corrections.yaml).
PUBLISHED_IDENTIFIERS = {
    "IE6388047V": "IE6388047V",
    "IE6388047 V": "IE6388047V",
    "MT27833914": "MT27833914",
    "CRO 706654": "CRO 706654",
    "08790783": "UK CRN 08790783",
    "IE557454": "IE557454",
    "FI05925096": "FI05925096",
    "DE 812871812": "DE812871812",
    "FI24315605": "FI24315605",
}

# The published list lives in shared/ beside the repository.
_BESIDE_REPO = Path(__file__).resolve().parents[3] / "shared" / "source" / "published-subprocessor-list-fi.txt"
PUBLISHED_LIST = Path(os.environ.get("ANNEX_GEN_PUBLISHED_LIST", str(_BESIDE_REPO)))


def rows(section) -> list[tuple]:
    """An annex section's entries as (company, identifier, location, purpose, items)."""
    return [(e.name, e.legal_id, e.location, e.purpose, e.purpose_items) for e in section.entries]


def section_ids(annex: Annex) -> list[str]:
    return [s.id for s in annex.sections]


def by_id(annex: Annex, section_id: str):
    (section,) = [s for s in annex.sections if s.id == section_id]
    return section


def all_annexes(annex_for, language: str = "fi") -> list[Annex]:
    """One annex per region with every product it offers and every option on."""
    return [
        annex_for(region, sorted(products), language=language, options={"dedicated_mta": True})
        for region, products in OFFERED.items()
    ]


# The registry is a faithful transcription.


@pytest.mark.parametrize("section_id", sorted(PUBLISHED))
def test_registry_section_holds_the_published_rows_in_finnish(registry, section_id):
    title, expected = PUBLISHED[section_id]
    (section,) = [s for s in registry.sections if s.id == section_id]
    assert section.title["fi"] == title
    got = []
    for entry in section.entries:
        entity = registry.entities[entry.entity]
        got.append((
            entity.name,
            registry.format_legal_id(entity.legal_id),
            registry.locations[entry.location].name["fi"],
            entry.purpose.text["fi"],
            tuple(item["fi"] for item in entry.purpose.items),
        ))
    assert got == expected


def test_registry_has_exactly_the_published_sections_in_order(registry):
    assert [s.id for s in registry.sections] == [
        "customer-register", "eu-general", "shared-mta", "eu-press", "eu-automation", "eu-mailer",
        "eu-monitor", "eu-cms", "uae-general", "uae-products", "hk-general", "hk-products",
    ]


def test_regions_offer_the_published_products(registry):
    assert {rid: set(r.products) for rid, r in registry.regions.items()} == OFFERED
    assert registry.regions["hk"].heading["fi"] == "Tuotekohtaiset alikäsittelijät Hongkongissa"
    assert registry.regions["uae"].heading["fi"] == (
        "Tuotekohtaiset alikäsittelijät Yhdistyneissä arabiemiirikunnissa"
    )
    assert registry.regions["eu"].heading["fi"] == "EU:n tuotekohtaiset alikäsittelijät"


def test_sections_state_the_shared_mta_rule_where_the_list_does(registry):
    # "Lianan jaettu MTA-infrastruktuuri käytössä" follows these tables, and only these.
    assert {s.id for s in registry.sections if s.uses_shared_mta} == {
        "eu-general", "eu-press", "eu-automation", "eu-mailer", "eu-monitor", "uae-products", "hk-products",
    }


def test_only_the_upcloud_dedicated_mta_row_is_option_gated(registry):
    gated = [(s.id, e.entity, e.option) for s in registry.sections for e in s.entries if e.option]
    assert gated == [("eu-mailer", "upcloud", "dedicated_mta")]


def test_published_identifiers_are_printed_as_corrected(registry):
    printed = {registry.format_legal_id(e.legal_id) for e in registry.entities.values() if e.legal_id}
    assert printed == set(PUBLISHED_IDENTIFIERS.values())


def test_the_notice_terms_leave_time_to_resolve_an_objection(registry):
    # "vähintään 30 päivää ennen" as published; objections within 15 days, ending 15 days before the change
    # (corrections.yaml records the departure from "30 päivän kuluessa ilmoituksestamme").
    assert registry.notice.period_days == 30
    assert (registry.notice.objection_days, registry.notice.resolution_days) == (15, 15)
    assert registry.notice.address and registry.notice.address.sources
    assert registry.notice.unresolved and registry.notice.unresolved.sources
    assert registry.list_title["fi"] == "Lianan alikäsittelijät"


@pytest.mark.skipif(not PUBLISHED_LIST.is_file(), reason="the published list is not available here")
def test_the_hand_written_expectations_quote_the_published_list():
    text = PUBLISHED_LIST.read_text(encoding="utf-8")
    companies = set()
    for line in text.splitlines():
        cells = line.split("\t")
        heading_or_rule = cells[0] == "Yrityksen nimi" or cells[0].startswith(("Lianan", "---"))
        if len(cells) > 1 and cells[0] and not heading_or_rule:
            companies.add(cells[0])
    assert companies == {name for _, rows_ in PUBLISHED.values() for name, *_ in rows_}
    for published in PUBLISHED_IDENTIFIERS:
        assert f"\t{published}\t" in text
    for location in ("Suomi / EU", "Finland, EU", "Helsinki, Suomi", "Frankfurt, EU", "EU/USA", "Ruotsi",
                     "Dubai, Yhdistyneet arabiemiirikunnat", "Hongkong, Yhdistyneet arabiemiirikunnat"):
        assert f"\t{location}\t" in text


# Resolution, region by region.


def test_eu_mailer_lists_general_shared_mta_and_mailer(annex_for):
    annex = annex_for("eu", ["mailer"])
    assert section_ids(annex) == ["eu-general", "shared-mta", "eu-mailer"]
    assert rows(by_id(annex, "eu-general")) == PUBLISHED["eu-general"][1]
    assert rows(by_id(annex, "shared-mta")) == PUBLISHED["shared-mta"][1]
    assert rows(by_id(annex, "eu-mailer")) == [GOOGLE_PRODUCT]
    assert "upcloud" not in [p.id for p in annex.subprocessors]


def test_eu_mailer_with_dedicated_mta_adds_upcloud_in_helsinki(annex_for):
    annex = annex_for("eu", ["mailer"], options={"dedicated_mta": True})
    assert section_ids(annex) == ["eu-general", "shared-mta", "eu-mailer"]
    mailer = by_id(annex, "eu-mailer")
    assert rows(mailer) == [GOOGLE_PRODUCT, UPCLOUD_DEDICATED]
    assert mailer.entries[1].option == "dedicated_mta"
    (upcloud,) = [p for p in annex.subprocessors if p.id == "upcloud"]
    assert (upcloud.legal_id, upcloud.locations, upcloud.sections) == (
        "FI24315605", ("Helsinki, Suomi",), ("eu-mailer",),
    )


def test_dedicated_mta_off_is_the_same_as_absent(annex_for):
    off = annex_for("eu", ["mailer"], options={"dedicated_mta": False})
    assert off.sections == annex_for("eu", ["mailer"]).sections


@pytest.mark.parametrize(("product", "section_id"), [
    ("press", "eu-press"), ("automation", "eu-automation"), ("mailer", "eu-mailer"),
    ("monitor", "eu-monitor"), ("cms", "eu-cms"), ("wordpress", "eu-cms"), ("commerce", "eu-cms"),
])
def test_each_eu_product_gets_general_shared_mta_and_its_section(annex_for, product, section_id):
    annex = annex_for("eu", [product])
    assert section_ids(annex) == ["eu-general", "shared-mta", section_id]
    expected = [r for r in PUBLISHED[section_id][1] if r != UPCLOUD_DEDICATED]
    assert rows(by_id(annex, section_id)) == expected
    # a section shared by several products is headed by the one this customer has
    shared = section_id == "eu-cms"
    assert by_id(annex, section_id).title == (annex.products[0][1] if shared else PUBLISHED[section_id][0])


def test_eu_cms_wordpress_and_commerce_share_one_section(annex_for):
    annex = annex_for("eu", ["cms", "wordpress", "commerce"])
    assert section_ids(annex) == ["eu-general", "shared-mta", "eu-cms"]
    assert rows(by_id(annex, "eu-cms")) == PUBLISHED["eu-cms"][1]
    assert [name for _, name in annex.products] == ["LianaCMS", "Liana WordPress", "LianaCommerce"]
    assert by_id(annex, "eu-cms").title == PUBLISHED["eu-cms"][0]


@pytest.mark.parametrize(("language", "products", "title"), [
    ("fi", ["automation"], "LianaAutomation"),
    ("fi", ["mailer", "cms"], "LianaMailer ja LianaCMS"),
    ("en", ["mailer", "automation"], "LianaMailer and LianaAutomation"),
    ("en", ["mailer", "automation", "cms"], "LianaMailer, LianaAutomation and LianaCMS"),
])
def test_a_shared_section_is_headed_by_the_customers_products(annex_for, language, products, title):
    annex = annex_for("uae", products, language=language)
    assert by_id(annex, "uae-products").title == title
    assert by_id(annex, "uae-products").products == tuple(p for p in ("mailer", "automation", "cms") if p in products)


def test_all_eu_products_follow_the_published_order(annex_for):
    annex = annex_for("eu", ["commerce", "mailer", "press", "cms", "monitor", "wordpress", "automation"])
    assert section_ids(annex) == [
        "eu-general", "shared-mta", "eu-press", "eu-automation", "eu-mailer", "eu-monitor", "eu-cms",
    ]
    assert [pid for pid, _ in annex.products] == [
        "press", "automation", "mailer", "monitor", "cms", "wordpress", "commerce",
    ]


@pytest.mark.parametrize("products", [["mailer"], ["automation"], ["cms"], ["mailer", "automation", "cms"]])
def test_uae_gets_alicloud_in_dubai_and_the_shared_mta(annex_for, products):
    annex = annex_for("uae", products)
    assert section_ids(annex) == ["uae-general", "shared-mta", "uae-products"]
    assert rows(by_id(annex, "uae-general")) == PUBLISHED["uae-general"][1]
    assert rows(by_id(annex, "shared-mta")) == PUBLISHED["shared-mta"][1]
    assert rows(by_id(annex, "uae-products")) == PUBLISHED["uae-products"][1]
    (alicloud,) = by_id(annex, "uae-products").entries
    assert alicloud.outside_eea is True
    assert annex.region_name == "Yhdistyneet arabiemiirikunnat"


@pytest.mark.parametrize("products", [["mailer"], ["automation"], ["cms"], ["mailer", "automation", "cms"]])
def test_hk_gets_alicloud_in_hong_kong_and_cyclr_in_its_product_section(annex_for, products):
    annex = annex_for("hk", products)
    assert section_ids(annex) == ["hk-general", "shared-mta", "hk-products"]
    assert rows(by_id(annex, "hk-general")) == PUBLISHED["hk-general"][1]
    assert rows(by_id(annex, "hk-products")) == PUBLISHED["hk-products"][1]
    assert "Cyclr" not in [e.name for e in by_id(annex, "hk-general").entries]
    (alicloud,) = [p for p in annex.subprocessors if p.id == "alicloud-global"]
    assert alicloud.locations == ("Hongkong",)
    assert "arabiemiirikunnat" not in json.dumps(by_id(annex, "hk-products").to_dict(), ensure_ascii=False)


def test_hong_kong_in_english(annex_for):
    annex = annex_for("hk", ["mailer"], language="en")
    assert [e.location for e in by_id(annex, "hk-products").entries] == ["Hong Kong", "Sweden"]
    assert annex.region_name == "Hong Kong"


def test_english_annex_uses_the_english_texts(annex_for):
    annex = annex_for("eu", ["mailer"], language="en", options={"dedicated_mta": True})
    google = by_id(annex, "eu-general").entries[0]
    assert (google.location, google.purpose, google.purpose_items) == (
        "Finland / EU", "Services provided through GCP include:", GCP_ITEMS_EN,
    )
    assert by_id(annex, "eu-mailer").entries[1].location == "Helsinki, Finland"
    assert [e.location for e in by_id(annex, "shared-mta").entries] == ["Finland", "Finland", "Germany"]
    assert annex.customer_register.title == "Sub-processors of Liana's customer register"


def test_subprocessors_list_each_entity_once_with_its_sections(annex_for):
    annex = annex_for("eu", ["mailer", "cms"], options={"dedicated_mta": True})
    assert [(p.id, p.name, p.legal_id, p.country, p.sections) for p in annex.subprocessors] == [
        ("google-ireland", "Google Ireland Ltd.", "IE6388047V", "IE",
         ("eu-general", "shared-mta", "eu-mailer")),
        ("peakford", "Peakford Ltd.", "MT27833914", "MT", ("eu-general",)),
        ("okta-ireland", "Okta Identity Ireland Limited", "CRO 706654", "IE", ("eu-general",)),
        ("cyclr", "Cyclr", "UK CRN 08790783", "GB", ("eu-general",)),
        ("twilio-ireland", "Twilio Ireland Ltd.", "IE557454", "IE", ("eu-general", "eu-cms")),
        ("dna", "DNA Oyj", "FI05925096", "FI", ("shared-mta",)),
        ("hetzner", "Hetzner Online GmbH", "DE812871812", "DE", ("shared-mta", "eu-cms")),
        ("upcloud", "Upcloud Oy", "FI24315605", "FI", ("eu-mailer", "eu-cms")),
    ]
    (google,) = [p for p in annex.subprocessors if p.id == "google-ireland"]
    assert google.locations == ("Suomi / EU", "Suomi")


def test_uae_subprocessors(annex_for):
    annex = annex_for("uae", ["mailer"])
    assert [(p.id, p.sections, p.outside_eea) for p in annex.subprocessors] == [
        ("google-ireland", ("uae-general", "shared-mta"), False),
        ("okta-ireland", ("uae-general",), False),
        ("peakford", ("uae-general",), False),
        ("cyclr", ("uae-general",), True),  # registered in the United Kingdom
        ("dna", ("shared-mta",), False),
        ("hetzner", ("shared-mta",), False),
        ("alicloud-global", ("uae-products",), True),
    ]
    (alicloud,) = [p for p in annex.subprocessors if p.id == "alicloud-global"]
    assert (alicloud.legal_id, alicloud.country) == ("", None)


@pytest.mark.parametrize("region", sorted(OFFERED))
def test_customer_register_is_separate_and_the_same_in_every_region(annex_for, region):
    annex = annex_for(region, ["mailer"])
    assert annex.customer_register.id == "customer-register"
    assert annex.customer_register.title == "Asiakastietorekisterin alikäsittelijät"
    assert rows(annex.customer_register) == PUBLISHED["customer-register"][1]
    register = {"garba", "chargebee", "gainsight", "monday", "pipedrive", "startdeliver", "zendesk"}
    assert not register & {p.id for p in annex.subprocessors}
    assert "customer-register" not in section_ids(annex)
    assert [r["name"] for r in annex.to_dict()["customer_register"]] == [
        "Garba", "Chargebee", "Gainsight", "Monday.com", "Pipedrive", "Startdeliver", "Zendesk",
    ]


def test_outside_eea_exactly_for_non_eea_locations(annex_for):
    seen = set()
    for annex in all_annexes(annex_for):
        for section in (*annex.sections, annex.customer_register):
            for e in section.entries:
                assert e.outside_eea is (e.location in NON_EEA_LOCATIONS), (section.id, e.name, e.location)
                # a transfer by registration: Cyclr (GB), whose servers are in Sweden, and in the customer
                # register monday.com (IL), whose servers are in Frankfurt
                assert e.registered_outside_eea is (e.subprocessor in ("cyclr", "monday")), (section.id, e.name)
                assert (e.transfer_basis is not None) is (e.outside_eea or e.registered_outside_eea)
                seen.add(e.location)
    assert NON_EEA_LOCATIONS <= seen


@pytest.mark.parametrize("language", ["fi", "en"])
def test_the_same_entries_are_outside_eea_in_every_language(annex_for, language):
    flagged = {(s.id, e.subprocessor) for a in all_annexes(annex_for, language)
               for s in (*a.sections, a.customer_register) for e in s.entries if e.outside_eea}
    assert flagged == {
        ("customer-register", "chargebee"), ("customer-register", "gainsight"),
        ("uae-products", "alicloud-global"), ("hk-products", "alicloud-global"),
    }
    parties = {p.id for a in all_annexes(annex_for, language) for p in a.subprocessors if p.outside_eea}
    assert parties == {"alicloud-global", "cyclr"}
    cyclr = {p.transfers for a in all_annexes(annex_for, language) for p in a.subprocessors if p.id == "cyclr"}
    (transfers,) = cyclr
    assert len(transfers) == 1 and "(EU) 2021/1772" in transfers[0]


def test_registry_corrections_are_in_effect(annex_for):
    text = json.dumps([a.to_dict() for a in all_annexes(annex_for)], ensure_ascii=False)
    for typo in ("IE6388047 V", "DE 812871812", "CRO 557454", "loktus", "regionana", "regioniin", "Sendgrid",
                 "tarjoillaan", "mm.", "primäärisenä", "Regionaan", "hostaus",
                 "lähetyks ", "konsesali", "(käytössä vain sopimuksen mukaisesti)",
                 "alikäsitteij", "MTAt", "<ul", "GCPn", "infrastrukturi", "Liana Wordpress", " and "):
        assert typo not in text, typo
    for corrected in ("IE6388047V", "DE812871812", "IE557454", "CRO 706654", "UK CRN 08790783",
                      "Lianan lokitus- ja valvonta-alusta", "Lianan tekstiviestien lähetys (MFA)",
                      "Matomo-palvelun konesaliratkaisu", "Dedikoidut MTA:t", "GCP:n kautta tarjotaan muun muassa:",
                      "LianaCMS, Liana WordPress ja LianaCommerce"):
        assert corrected in text, corrected
    uae_general = all_annexes(annex_for)[1].sections[0]
    assert uae_general.entries[0].purpose_items == GCP_ITEMS


def test_every_registry_entity_appears_in_some_annex(registry, annex_for):
    listed = {p.id for a in all_annexes(annex_for) for p in a.subprocessors}
    listed |= {e.subprocessor for e in all_annexes(annex_for)[0].customer_register.entries}
    assert listed == set(registry.entities)


def test_annex_carries_the_notice_terms_and_registry_version(registry, annex_for):
    annex = annex_for("eu", ["press"])
    assert (annex.notice_period_days, annex.objection_period_days, annex.objection_resolution_days) == (30, 15, 15)
    assert annex.objection_address.startswith("vastaamalla ilmoitukseen")
    assert annex.objection_unresolved.startswith("Jos vastustusta ei saada ratkaistua")
    assert annex.transfer_clause is None  # the EU has no regional clause
    assert annex_for("uae", ["mailer"]).transfer_clause.startswith("Henkilötietojen siirtoon Yhdistyneistä")
    assert "Cap. 486" in annex_for("hk", ["mailer"]).transfer_clause
    assert annex.registry_version == registry.version
    assert annex.registry_version.startswith(registry.release + "+")
    assert annex.company_name == "Liana Technologies Oy"


def test_document_id_is_stable_and_tracks_content(annex_for):
    first = annex_for("eu", ["mailer"])
    assert first.document_id == annex_for("eu", ["mailer"]).document_id
    assert first.document_id.startswith("ANX-")
    assert first.document_id != annex_for("eu", ["mailer"], options={"dedicated_mta": True}).document_id
    assert first.document_id != annex_for("eu", ["mailer"], language="en").document_id


@pytest.mark.parametrize(("region", "products", "message"), [
    ("uae", ["press"], "product 'press' is not offered in region 'uae'"),
    ("hk", ["monitor"], "product 'monitor' is not offered in region 'hk'"),
    ("eu", [], "the contract lists no products"),
    ("apac", ["mailer"], "unknown region 'apac'"),
])
def test_resolve_refuses_an_unvalidated_contract_that_does_not_fit(registry, region, products, message):
    with pytest.raises(ResolutionError) as exc:
        resolve(registry, make_contract(region, products))
    assert str(exc.value) == message
