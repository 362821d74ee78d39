"""What the annex authorises, the change procedure and transfers (issue 23), read back from real files.

Annexes of each region (EU, UAE, Hong Kong) in Finnish and English, and the change notices and
replacement annexes of a registry change, are written through the CLI; the tests read the PDF of
each engine (pdfplumber), the DOCX (python-docx) and the JSON the PDF embeds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pikepdf
import pytest
from render_support import ENGINES, run_cli
from test_render_legal import Rendered, flat
from tests.integration.batch_support import EXAMPLES_DIR, add_mailer_entry

from conftest import REGISTRY_DIR, build_file_tree

CONTRACTS = {
    "eu-fi": "customer: {id: eu-fi, name: Esimerkki Oy}\n"
             "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer, automation]}\n",
    "eu-en": "customer: {id: eu-en, name: Example Ltd}\n"
             "contract: {date: 2026-12-01, region: eu, language: en, products: [mailer, automation]}\n",
    "uae-fi": "customer: {id: uae-fi, name: Aavikko FZ-LLC}\n"
              "contract: {date: 2026-12-01, region: uae, language: fi, products: [mailer]}\n",
    "uae-en": "customer: {id: uae-en, name: Desert FZ-LLC}\n"
              "contract: {date: 2026-12-01, region: uae, language: en, products: [mailer]}\n",
    "hk-fi": "customer: {id: hk-fi, name: Satama Ltd}\n"
             "contract: {date: 2026-12-01, region: hk, language: fi, products: [mailer, cms]}\n",
    "hk-en": "customer: {id: hk-en, name: Harbour Ltd}\n"
             "contract: {date: 2026-12-01, region: hk, language: en, products: [mailer, cms]}\n",
}


@pytest.fixture(scope="module", params=ENGINES)
def annexes(request, tmp_path_factory) -> dict[str, Rendered]:
    """Every contract as PDF by each engine, with its DOCX."""
    base = tmp_path_factory.mktemp(f"procedure-{request.param}")
    build_file_tree(base / "contracts", {f"{name}.yaml": text for name, text in CONTRACTS.items()})
    result = run_cli("generate", base / "contracts", "--format", "pdf,docx", "--engine", request.param,
                     "--out", base / "out")
    assert result.returncode == 0, result.stderr.decode()
    return {name: Rendered(base / "out" / name) for name in CONTRACTS}


def both(doc: Rendered) -> tuple[str, str]:
    return doc.pdf, doc.word


@pytest.mark.parametrize(("name", "authorisation"), [
    ("eu-fi", "antaa käsittelijälle (Liana Technologies Oy) yleisen kirjallisen ennakkoluvan (EU:n yleisen "
              "tietosuoja-asetuksen 28 artiklan 2 kohta; komission täytäntöönpanopäätöksen (EU) 2021/915 "
              "vakiosopimuslausekkeiden 7.7 kohdan a alakohdan vaihtoehto 2) käyttää tämän liitteen osioissa "
              "”Yleiset taustapalvelut”, ”Jaettu MTA-infrastruktuuri”, ”LianaAutomation” ja ”LianaMailer” "
              "lueteltuja alikäsittelijöitä"),
    ("eu-en", "gives Liana Technologies Oy general written authorisation (Article 28(2) of the General Data "
              "Protection Regulation; Clause 7.7(a), Option 2, of the standard contractual clauses of Commission "
              "Implementing Decision (EU) 2021/915) to engage the sub-processors listed in the sections “General "
              "background services”, “Shared MTA infrastructure”, “LianaAutomation” and “LianaMailer” of this "
              "annex"),
    ("hk-en", "listed in the sections “General background services”, “Shared MTA infrastructure” and "
              "“LianaMailer and LianaCMS” of this annex"),
])
def test_the_general_written_authorisation_names_the_sections_it_covers(annexes, name, authorisation):
    for text in both(annexes[name]):
        assert flat(authorisation) in text


@pytest.mark.parametrize(("name", "heading", "outside", "basis"), [
    ("eu-fi", "Palveluntarjoajan omat käsittelijät (Liana Technologies Oy rekisterinpitäjänä), tiedoksi",
     "Lupa ei koske tämän liitteen lopussa olevaa osiota",
     "Siirtoperuste: EU:n vakiosopimuslausekkeet (2021/914), moduuli 2 (rekisterinpitäjältä käsittelijälle)"),
    ("uae-en", "Liana Technologies Oy's own processors (Liana Technologies Oy as controller), for information",
     "The authorisation does not cover the section",
     "Transfer basis: EU Standard Contractual Clauses (2021/914), Module 2 (controller to processor)"),
])
def test_the_customer_register_is_outside_the_authorisation_with_transfer_bases(annexes, name, heading, outside,
                                                                                  basis):
    doc = annexes[name]
    for text in both(doc):
        assert flat(heading) in text and flat(outside) in text
    for text in (doc.cells, doc.word):
        assert text.count(flat(basis)) == 2  # Chargebee and Gainsight (United States)
    register = doc.json["customer_register"]
    assert {r["id"]: r["transfer_basis"] for r in register if r["outside_eea"]} == {
        "chargebee": "scc-module-2", "gainsight": "scc-module-2"}
    # nothing the published list does not say about Liana's liability
    assert "remains liable" not in doc.text and "vastaa Asiakkaalle" not in doc.text


@pytest.mark.parametrize(("name", "mark", "basis"), [
    ("eu-fi", "yhtiö rekisteröity EU/ETA-alueen ulkopuolelle",
     "Komission päätös Yhdistyneen kuningaskunnan tietosuojan riittävyydestä ((EU) 2021/1772)"),
    ("hk-en", "company registered outside the EU/EEA",
     "Commission adequacy decision for the United Kingdom ((EU) 2021/1772)"),
])
def test_an_entity_registered_outside_the_eea_is_a_transfer_though_its_servers_are_inside(annexes, name, mark,
                                                                                          basis):
    doc = annexes[name]
    for text in (doc.cells, doc.word):
        assert flat(mark) in text
        assert text.count(flat(basis)) == 2  # beside Cyclr's row and in the summary of legal entities
    (cyclr,) = [e for s in doc.json["sections"] for e in s["entries"] if e["subprocessor"] == "cyclr"]
    assert (cyclr["outside_eea"], cyclr["registered_outside_eea"], cyclr["transfer_basis"]) == \
           (False, True, "uk-adequacy")
    (party,) = [p for p in doc.json["subprocessors"] if p["id"] == "cyclr"]
    assert party["outside_eea"] and party["country"] == "GB"


@pytest.mark.parametrize(("name", "title", "law"), [
    ("uae-fi", "Siirrot alueelta: Yhdistyneet arabiemiirikunnat",
     "henkilötietojen suojasta annetun liittovaltion asetuslain nro 45/2021 (Federal Decree-Law No. 45 of 2021) "
     "22 ja 23 artiklaa"),
    ("uae-en", "Transfers out of the region: United Arab Emirates",
     "Articles 22 and 23 of Federal Decree-Law No. 45 of 2021 on the Protection of Personal Data"),
    ("hk-fi", "Siirrot alueelta: Hongkong", "Personal Data (Privacy) Ordinance -säädöstä (Cap. 486)"),
    ("hk-en", "Transfers out of the region: Hong Kong", "the Personal Data (Privacy) Ordinance (Cap. 486)"),
])
def test_a_regional_transfer_clause_prints_in_its_regions_annexes(annexes, name, title, law):
    doc = annexes[name]
    for text in both(doc):
        assert flat(title) in text and flat(law) in text
    assert law in doc.json["transfer_clause"]
    headings = [p.text for p in doc.docx.paragraphs if p.style.name == "Heading 1"]
    assert title in headings


def test_an_eu_annex_has_no_regional_transfer_clause(annexes):
    for name in ("eu-fi", "eu-en"):
        doc = annexes[name]
        assert doc.json["transfer_clause"] is None
        for text in both(doc):
            assert flat("Siirrot alueelta") not in text and flat("Transfers out of the region") not in text


@pytest.mark.parametrize(("name", "paragraphs"), [
    ("eu-fi", ("jokaisesta tämän liitteen alikäsittelijöitä koskevasta suunnitellusta muutoksesta (alikäsittelijän "
               "lisääminen tai vaihtaminen taikka sen käsittelypaikan tai EU/ETA-alueen ulkopuolelle tapahtuvan "
               "siirron perusteen muuttuminen) vähintään 30 päivää ennen muutoksen voimaantuloa",
               "Asiakas voi vastustaa muutosta kirjallisesti ja perustellen vastaamalla ilmoitukseen tai "
               "tietojenkäsittelysopimuksessa nimetylle Lianan yhteyshenkilölle 15 päivän kuluessa ilmoituksesta "
               "ja viimeistään 15 päivää ennen muutoksen voimaantuloa",
               "Jos vastustusta ei saada ratkaistua ennen muutoksen voimaantuloa, Asiakas voi irtisanoa muutoksen "
               "koskeman palvelun päättymään ennen muutoksen voimaantulopäivää.")),
    ("uae-en", ("of every intended change to the sub-processors of this annex (the addition or replacement of a "
                "sub-processor, or a change of its processing location or of the basis of a transfer outside the "
                "EU/EEA) at least 30 days before the change takes effect",
                "The Customer may object to a change in writing, stating its grounds, by replying to the notice or "
                "to Liana's contact person named in the data processing agreement, within 15 days of the notice "
                "and no later than 15 days before the change takes effect",
                "If an objection is not resolved before the change takes effect, the Customer may terminate the "
                "service the change concerns with effect before the effective date.")),
])
def test_the_change_clause_covers_location_and_transfer_basis_and_the_objection_procedure(annexes, name,
                                                                                         paragraphs):
    doc = annexes[name]
    for text in both(doc):
        for paragraph in paragraphs:
            assert flat(paragraph) in text, paragraph
        assert flat("tietoturva") not in text and flat("data security") not in text
    data = doc.json
    assert (data["notice_period_days"], data["objection_period_days"], data["objection_resolution_days"]) == \
           (30, 15, 15)


@pytest.mark.parametrize(("name", "source"), [
    ("eu-fi", "Lianan alikäsittelijät, julkaisu 2026.11.1, haettu 2026-11-29"),
    ("hk-en", "Liana's sub-processors, release 2026.11.1, retrieved 2026-11-29"),
])
def test_the_source_line_names_the_release(annexes, name, source):
    for text in both(annexes[name]):
        assert flat(source) in text
    assert annexes[name].json["published_list"]["release"] == "2026.11.1"


def test_options_without_effect_are_not_in_the_annex_json(annexes):
    assert annexes["hk-en"].json["options"] == {} and annexes["hk-en"].json["option_names"] == {}
    assert annexes["eu-en"].json["option_names"] == {"dedicated_mta": "Dedicated MTAs (LianaMailer)"}


def test_an_annex_dated_before_the_list_or_for_a_subprocessors_business_id_is_refused(tmp_path):
    build_file_tree(tmp_path / "c", {
        "early.yaml": "customer: {id: early, name: Early Oy}\n"
                      "contract: {date: 2026-11-28, region: eu, language: fi, products: [mailer]}\n",
        "upcloud.yaml": "customer: {id: upcloud-like, name: Pilvi Oy, business_id: FI24315605}\n"
                        "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}\n",
    })
    result = run_cli("generate", tmp_path / "c", "--out", tmp_path / "out")
    err = result.stderr.decode()
    assert result.returncode != 0 and "Traceback" not in err
    assert "early.yaml:2:18: contract.date: the annex is dated 2026-11-28, before the published list it " \
           "reflects was retrieved (2026-11-29); date it 2026-11-29 or later" in err
    assert "upcloud.yaml:1:59: customer.business_id: FI24315605 is the identifier of Upcloud Oy, a sub-processor " \
           "in the registry, not of the customer" in err
    assert not (tmp_path / "out").exists()


# Change notices and the annexes they issue


@pytest.fixture(scope="module")
def changed_registry(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("registry") / "registry"
    shutil.copytree(REGISTRY_DIR, directory)
    add_mailer_entry(directory)
    return directory


@pytest.fixture(scope="module", params=ENGINES)
def notices(request, changed_registry, tmp_path_factory) -> dict[str, tuple[Rendered, Rendered, dict]]:
    """customer id -> (notice, replacement annex, notice.json) by each engine, sent on 2026-12-07."""
    out = tmp_path_factory.mktemp(f"notices-{request.param}")
    contracts = [EXAMPLES_DIR / "esimerkki-oy.yaml", EXAMPLES_DIR / "kauppahuone-aalto.yaml"]
    result = run_cli("notices", "--from", REGISTRY_DIR, "--to", changed_registry, *contracts,
                     "--notice-date", "2026-12-07", "--engine", request.param, "--out", out)
    assert result.returncode == 0, result.stderr.decode()
    found = {}
    for customer in ("esimerkki-oy", "kauppahuone-aalto"):
        folder = out / customer
        notice_dir, annex_dir = folder / "notice", folder / "annex"
        for kind, target in (("NTC-", notice_dir), ("ANX-", annex_dir)):
            target.mkdir()
            for path in folder.glob(f"{kind}*"):
                path.rename(target / path.name)
        (pdf,) = notice_dir.glob("*.pdf")
        with pikepdf.open(pdf) as doc:
            data = json.loads(doc.attachments["notice.json"].get_file().read_bytes())
        found[customer] = (_notice(notice_dir), Rendered(annex_dir), data)
    return found


def _notice(folder: Path) -> Rendered:
    """A notice read like an annex (it embeds notice.json, not annex.json)."""
    import docx
    import pdfplumber

    doc = Rendered.__new__(Rendered)
    (doc.pdf_path,) = folder.glob("*.pdf")
    (doc.docx_path,) = folder.glob("*.docx")
    with pdfplumber.open(doc.pdf_path) as pdf:
        doc.pages = [page.extract_text() or "" for page in pdf.pages]
    doc.cells = ""
    doc.docx = docx.Document(str(doc.docx_path))
    return doc


@pytest.mark.parametrize(("customer", "deadline", "address", "unresolved"), [
    ("esimerkki-oy",
     "Asiakas voi vastustaa näitä muutoksia kirjallisesti ja perustellen vastaamalla ilmoitukseen tai "
     "tietojenkäsittelysopimuksessa nimetylle Lianan yhteyshenkilölle viimeistään 22.12.2026. Vastustusaika "
     "päättyy 15 päivää ennen muutosten voimaantuloa 6.1.2027",
     "Lianan yhteyshenkilölle",
     "Jos vastustusta ei saada ratkaistua ennen muutoksen voimaantuloa, Asiakas voi irtisanoa"),
    ("kauppahuone-aalto",
     "The Customer may object to these changes in writing, stating its grounds, by replying to the notice or to "
     "Liana's contact person named in the data processing agreement, no later than 22 December 2026: the "
     "objection period ends 15 days before the changes take effect on 6 January 2027",
     "Liana's contact person",
     "If an objection is not resolved before the change takes effect, the Customer may terminate"),
])
def test_a_notice_sets_the_objection_deadline_before_the_effective_date(notices, customer, deadline, address,
                                                                        unresolved):
    notice, _, data = notices[customer]
    for text in both(notice):
        assert flat(deadline) in text
        assert flat(unresolved) in text
        assert flat("tietoturva") not in text and flat("data security") not in text
        assert flat("2026-12-22") in text and flat("2027-01-06") in text  # the meta table, ISO
    assert (data["notice_date"], data["objection_deadline"], data["effective_date"]) == \
           ("2026-12-07", "2026-12-22", "2027-01-06")
    assert data["objection_resolution_days"] == 15 and address in data["objection_address"]
    assert data["objection_unresolved"].startswith(unresolved)


@pytest.mark.parametrize(("customer", "issued", "signatures"), [
    ("esimerkki-oy", "Se annetaan muutosilmoituksen mukana osion ”Alikäsittelijöiden muutokset” menettelyssä ja "
                     "tulee voimaan ilman allekirjoitusta.", "Allekirjoitukset"),
    ("kauppahuone-aalto", "It is issued with a notice of changes under the procedure in the section “Changes to "
                          "sub-processors” and takes effect without signature.", "Signatures"),
])
def test_a_replacement_annex_issued_by_a_notice_says_so_and_has_no_signature_block(notices, customer, issued,
                                                                                   signatures):
    notice, annex, data = notices[customer]
    for text in both(annex):
        assert flat(issued) in text
    assert signatures not in annex.text and signatures not in annex.docx_text
    assert annex.json["contract"]["issued_by_notice"] is True
    assert annex.json["contract"]["date"] == "2027-01-06"
    assert annex.json["document_id"] == data["annex_document_id"]
    # the notice says the same of the annex it carries
    for text in both(notice):
        assert flat("ilman allekirjoitusta" if customer == "esimerkki-oy" else "without signature") in text
