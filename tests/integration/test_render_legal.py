"""What a customer's lawyer asked for before signing (issue 15), read back from real files.

Each contract is generated once through the CLI, in Finnish and in English; the tests read the
PDF with pdfplumber and pikepdf, the DOCX with python-docx and the JSON the PDF embeds. A test whose
subject is the PDF runs over both PDF engines (`engine_rendered`), reading the same DOCX beside each.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import docx
import pdfplumber
import pikepdf
import pytest
from render_support import ENGINES, approved_archive, pdf_document, run_cli

from conftest import REGISTRY_DIR, build_file_tree


def flat(text: str) -> str:
    """Text without any whitespace: a cell may wrap between or inside words."""
    return re.sub(r"\s+", "", text.replace("\u00a0", " "))


FIXTURE_SCHEMA_1 = Path(__file__).resolve().parents[1] / "fixtures" / "annex-schema1-esimerkki-oy.pdf"

CONTRACTS = {
    "uae-fi": """
        customer: {id: uae-fi, name: Aavikko Events FZ-LLC, business_id: "100123456789012"}
        contract: {date: 2026-12-31, region: uae, language: fi, products: [automation]}
    """,
    "uae-en": """
        customer: {id: uae-en, name: Desert Events FZ-LLC, business_id: "100123456789012"}
        contract: {date: 2026-12-31, region: uae, language: en, products: [mailer, automation, cms]}
    """,
    "eu-fi": """
        customer: {id: eu-fi, name: Esimerkki Oy, business_id: FI12345671}
        contract:
          date: 2026-12-31
          region: eu
          language: fi
          products: [mailer, cms, wordpress]
          options: {dedicated_mta: true}
          replaces: ANX-1A2B-3C4D-5E6F-7A8B
    """,
    "eu-en": """
        customer: {id: eu-en, name: Example Ltd, business_id: FI12345671}
        contract:
          date: 2026-12-31
          region: eu
          language: en
          products: [mailer, cms, wordpress]
          options: {dedicated_mta: true}
          replaces: ANX-1A2B-3C4D-5E6F-7A8B
    """,
}


class Rendered:
    """One generated annex: its PDF text per page, its DOCX, its JSON."""

    def __init__(self, folder: Path, docx_folder: Path | None = None) -> None:
        (self.pdf_path,) = folder.glob("*.pdf")
        (self.docx_path,) = (docx_folder or folder).glob("*.docx")
        with pdfplumber.open(self.pdf_path) as pdf:
            self.pages = [page.extract_text() or "" for page in pdf.pages]
        blocks = pdf_document(self.pdf_path).blocks()
        self.header_rows = [[" ".join(lines) for lines in b.header] for b in blocks if b.header]
        # table cells one by one, since a page's text interleaves the lines of neighbouring cells
        self.cells = "\x00".join(flat(" ".join(cell)) for b in blocks for row in b.rows for cell in row)
        with pikepdf.open(self.pdf_path) as pdf:
            self.json = json.loads(pdf.attachments["annex.json"].get_file().read_bytes())
        self.docx = docx.Document(str(self.docx_path))

    @property
    def text(self) -> str:
        """The PDF's text with line breaks as spaces."""
        return " ".join(" ".join(self.pages).split())

    @property
    def pdf(self) -> str:
        """Where a phrase is looked for in the PDF: the running text and every table cell, without whitespace."""
        return flat(self.text) + "\x00" + self.cells

    @property
    def word(self) -> str:
        """The DOCX's text, without whitespace."""
        return flat(self.docx_text)

    @property
    def docx_text(self) -> str:
        """Every paragraph and table cell of the DOCX, in body order, as one line."""
        parts = []
        body = self.docx.element.body
        for child in body.iterchildren():
            if child.tag.endswith("}p"):
                parts.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
            elif child.tag.endswith("}tbl"):
                table = docx.table.Table(child, self.docx)
                for row in table.rows:
                    parts.extend(cell.text for cell in row.cells)
        return " ".join(" ".join(parts).replace("\u00a0", " ").replace("\u2011", "-").split())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Rendered]:
    """Every contract as PDF (the default engine) and DOCX."""
    base = tmp_path_factory.mktemp("legal")
    build_file_tree(base / "contracts", {f"{name}.yaml": text for name, text in CONTRACTS.items()})
    result = run_cli("generate", base / "contracts", "--format", "pdf,docx", "--out", base / "out",
                     "--archive", approved_archive())
    assert result.returncode == 0, result.stderr.decode()
    return {name: Rendered(base / "out" / name) for name in CONTRACTS}


@pytest.fixture(scope="module", params=ENGINES)
def engine_rendered(request, rendered) -> dict[str, Rendered]:
    """Every contract as PDF by each engine, with the same DOCX."""
    if request.param == "weasyprint":
        return rendered
    base = rendered["eu-fi"].pdf_path.parents[2]
    out = base / f"out-{request.param}"
    result = run_cli("generate", base / "contracts", "--format", "pdf", "--engine", request.param, "--out", out,
                     "--archive", approved_archive())
    assert result.returncode == 0, result.stderr.decode()
    return {name: Rendered(out / name, base / "out" / name) for name in CONTRACTS}


def test_the_json_is_schema_3_with_transfer_bases_and_the_replaced_annex(rendered):
    uae = rendered["uae-en"].json
    assert uae["schema"] == "annex-gen/annex/3"
    assert uae["status"] == "final"  # made from an approved release
    (entry,) = [e for s in uae["sections"] for e in s["entries"] if e["outside_eea"]]
    assert entry["transfer_basis"] == "scc-module-3"
    assert entry["transfer"] == "EU Standard Contractual Clauses (2021/914), Module 3 (processor to processor)"
    alicloud = next(p for p in uae["subprocessors"] if p["id"] == "alicloud-global")
    assert alicloud["transfers"] == [entry["transfer"]]
    # a brand: its contracting entity not yet named by legal, no address or contact recorded
    assert (alicloud["brand"], alicloud["legal_name"], alicloud["country"], alicloud["address"],
            alicloud["privacy_contact"]) == (True, None, None, None, None)
    assert rendered["eu-fi"].json["contract"]["replaces"] == "ANX-1A2B-3C4D-5E6F-7A8B"
    assert rendered["uae-fi"].json["contract"]["replaces"] is None


@pytest.mark.parametrize(("name", "basis"), [
    ("uae-fi", "EU:n vakiosopimuslausekkeet (2021/914), moduuli 3 (käsittelijältä käsittelijälle)"),
    ("uae-en", "EU Standard Contractual Clauses (2021/914), Module 3 (processor to processor)"),
])
def test_processing_outside_the_eea_names_its_safeguard(engine_rendered, name, basis):
    doc = engine_rendered[name]
    label = {"uae-fi": "Siirtoperuste", "uae-en": "Transfer basis"}[name]
    # beside the entry and in the summary of legal entities, in both formats
    for text in (doc.cells, doc.word):
        assert flat(f"{label}: {basis}") in text
        assert text.count(flat(basis)) == 2
    assert "safeguards agreed" not in doc.text and "sovittuja suojatoimia" not in doc.text


@pytest.mark.parametrize(("name", "header", "absent"), [
    ("eu-fi", "Käsittelyn kuvaus", "Käsittelyn tarkoitus"),
    ("eu-en", "Description of processing", "Purpose of processing"),
])
def test_the_column_describes_the_processing(engine_rendered, name, header, absent):
    doc = engine_rendered[name]
    assert any(row[-1] == header for row in doc.header_rows)
    docx_headers = [t.rows[0].cells[-1].text for t in doc.docx.tables if len(t.columns) == 4]
    assert docx_headers and set(docx_headers) == {header}
    assert absent not in doc.text and absent not in doc.docx_text


@pytest.mark.parametrize(("name", "authorises", "replaced"), [
    ("eu-fi", "antaa käsittelijälle (Liana Technologies Oy) yleisen kirjallisen ennakkoluvan (EU:n yleisen "
              "tietosuoja-asetuksen 28 artiklan 2 kohta",
     "Tämä liite korvaa 31.12.2026 alkaen aiemman liitteen, jonka asiakirjatunnus on ANX-1A2B-3C4D-5E6F-7A8B."),
    ("eu-en", "gives Liana Technologies Oy general written authorisation (Article 28(2)",
     "From 31 December 2026, this annex replaces the previous annex, document ID ANX-1A2B-3C4D-5E6F-7A8B."),
])
def test_authorisation_roles_and_the_replaced_annex(engine_rendered, name, authorises, replaced):
    doc = engine_rendered[name]
    for text in (doc.pdf, doc.word):
        assert flat(authorises) in text
        assert flat(replaced) in text  # a date in running text in the reader's form
        assert "2026-12-31" in text  # and ISO in the table
    title = {"eu-fi": "Tietojenkäsittelysopimuksen liite: Alikäsittelijät",
             "eu-en": "Annex to the Data Processing Agreement: Sub-processors"}[name]
    assert doc.pages[0].splitlines()[1] == title
    assert doc.docx.paragraphs[0].text == title


@pytest.mark.parametrize(("name", "register", "signatures", "labels"), [
    ("eu-fi", "Palveluntarjoajan omat käsittelijät (Liana Technologies Oy rekisterinpitäjänä), tiedoksi",
     "Allekirjoitukset",
     ("Asiakas: Esimerkki Oy", "Palveluntarjoaja: Liana Technologies Oy", "Nimenselvennys ja asema",
      "Paikka ja aika")),
    ("eu-en", "Liana Technologies Oy's own processors (Liana Technologies Oy as controller), for information",
     "Signatures",
     ("Customer: Example Ltd", "Supplier: Liana Technologies Oy", "Name in block letters and title",
      "Place and date")),
])
def test_nothing_follows_the_signatures(engine_rendered, name, register, signatures, labels):
    doc = engine_rendered[name]
    for text in (doc.text, doc.docx_text):
        assert text.index(register) < text.rindex(signatures)
    for text in (doc.pdf, doc.word):
        for label in labels:
            assert flat(label) in text
    # the last page ends with the signature block's last label, then only the footer
    last = [line for line in doc.pages[-1].splitlines() if line.strip()]
    assert last[-2].endswith(labels[-1])
    assert last[-1].startswith(("Asiakirjatunnus", "Document ID"))
    # the DOCX body ends with the signature table (and the section properties)
    body = [child.tag.rsplit("}", 1)[1] for child in doc.docx.element.body.iterchildren()]
    assert body[-2:] == ["tbl", "sectPr"]
    assert doc.docx.tables[-1].rows[-1].cells[0].text.endswith(labels[-1])


@pytest.mark.parametrize(("name", "countries", "identifier"), [
    ("uae-fi", ("Irlanti", "Iso-Britannia", "Malta"), "100123456789012 (Yhdistyneiden arabiemiirikuntien TRN)"),
    ("uae-en", ("Ireland", "United Kingdom", "Malta"), "100123456789012 (UAE TRN)"),
])
def test_countries_from_cldr_and_the_company_identifier_kind(engine_rendered, name, countries, identifier):
    doc = engine_rendered[name]
    for text in (doc.pdf, doc.word):
        for country in countries:
            assert flat(country) in text
        assert flat(identifier) in text
        for phrase in ("not stated in the published list", "ei mainittu julkaistussa luettelossa",
                       "Y-tunnus tai ALV-numero"):
            assert flat(phrase) not in text


def test_a_place_name_is_never_broken_inside_a_word(engine_rendered):
    words = [line for page in engine_rendered["uae-fi"].pages for line in page.split()]
    assert "arabiemiirikunnat" in words  # Dubai, Yhdistyneet arabiemiirikunnat: in the summary's narrow column
    assert "arabiemiirikunna" not in words and "arabiemiirikunnat" in engine_rendered["uae-fi"].cells


def test_a_shared_section_is_headed_by_the_customers_products(engine_rendered):
    fi, en = engine_rendered["uae-fi"], engine_rendered["uae-en"]
    for text in (fi.pdf, fi.word):
        assert flat("LianaMailer, LianaAutomation ja LianaCMS") not in text
        assert flat("Palvelu käyttää Lianan jaettua MTA-infrastruktuuria") in text  # one service
    assert any(p.text == "LianaAutomation" and p.style.name == "Heading 1" for p in fi.docx.paragraphs)
    assert flat("LianaMailer, LianaAutomation and LianaCMS") in en.pdf
    assert flat("These services use Liana's shared MTA infrastructure") in en.pdf  # the section of several


@pytest.mark.parametrize(("name", "phrases", "absent"), [
    ("eu-fi", ("rajattu muille EU:n alueille", "Ensisijaisena alueena (region)", "SendGrid-palvelu", "Lisäpalvelut",
               "Lisäpalvelu: Dedikoidut MTA:t (LianaMailer)", "Nämä palvelut käyttävät", "IE557454",
               "ilmoittaa Asiakkaan pääkäyttäjille sähköpostitse tai sovelluksen sisäisellä ilmoituksella "
               "jokaisesta tämän liitteen alikäsittelijöitä koskevasta suunnitellusta muutoksesta",
               "FI12345671 (ALV-tunniste)", "Jaetun MTA-infrastruktuurin palvelinten ylläpito",
               "GCP:n kautta tarjotaan muun muassa:"),
     ("regioniin", "regionana", "regionina", "Regionaan", "primäärisenä", "tarjoillaan", "mm.", "hostaus",
      "Sendgrid", "Sopimuksen lisäehd", "käytössä vain sopimuksen mukaisesti", "CRO 557454", "Suomi / EU, Suomi",
      "tietoturvaan")),
    ("eu-en", ("Services provided through GCP include:", "customer implementations",
               "Sending text messages for multi-factor authentication (MFA)",
               "in writing, stating its grounds, by replying to the notice", "within 15 days of the notice",
               "Additional services", "SendGrid"),
     ("among others", "deliveries", "Contract options", "Finland / EU, Finland", "data security")),
])
def test_the_texts_a_finnish_lawyer_would_write(engine_rendered, name, phrases, absent):
    doc = engine_rendered[name]
    for text in (doc.pdf, doc.word):
        for phrase in phrases:
            assert flat(phrase) in text, phrase
        for phrase in absent:
            assert flat(phrase) not in text, phrase


def test_pdf_title_names_the_customer_and_keywords_carry_the_document_id(engine_rendered):
    doc = engine_rendered["eu-en"]
    with pikepdf.open(doc.pdf_path) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Annex to the Data Processing Agreement: Sub-processors – Example Ltd"
        assert str(pdf.docinfo["/Keywords"]) == doc.json["document_id"]
        with pdf.open_metadata() as xmp:
            assert xmp["dc:title"] == "Annex to the Data Processing Agreement: Sub-processors – Example Ltd"
            assert xmp["pdf:Keywords"] == doc.json["document_id"]


# WeasyPrint only: Typst marks row header cells (the metadata block's labels) only behind a feature flag
# the typst wheel does not enable, so its metadata rows are data cells.
def test_pdf_title_keywords_and_header_cell_scopes(rendered):
    doc = rendered["eu-en"]
    with pikepdf.open(doc.pdf_path) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Annex to the Data Processing Agreement: Sub-processors – Example Ltd"
        assert str(pdf.docinfo["/Keywords"]) == doc.json["document_id"]
        scopes, rows = [], []
        stack = [pdf.Root.StructTreeRoot.K]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Array):
                stack.extend(node)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                scopes += [str(node.A.get("/Scope"))] if node.S == "/TH" else []
                if node.S == "/TR":
                    kids = node.K if isinstance(node.K, pikepdf.Array) else [node.K]
                    rows.append(tuple(str(k.S) for k in kids if isinstance(k, pikepdf.Dictionary) and "/S" in k))
                stack.append(node.get("/K"))
    assert scopes and set(scopes) == {"/Column", "/Row"}
    assert scopes.count("/Row") == 11  # the metadata block's labels, Replaces annex included
    # the signature block's two columns are a layout, not a table: no row of two data cells alone
    assert rows and ("/TD", "/TD") not in rows
    assert {len(r) for r in rows} <= {2, 4, 5}
    assert doc.docx.core_properties.title == "Annex to the Data Processing Agreement: Sub-processors – Example Ltd"
    assert doc.docx.core_properties.keywords == doc.json["document_id"]


def test_docx_identifiers_and_suspended_hyphens_do_not_wrap_inside(rendered):
    xml = rendered["eu-fi"].docx.element.xml
    assert "UK\u00a0CRN\u00a008790783" in xml
    assert re.search(r"ja\u00a0</w:t>.*?<w:noBreakHyphen/>", xml, re.S)
    # the outside-EEA mark is boxed and tinted as in the PDF
    uae = rendered["uae-fi"].docx.element.xml
    assert '<w:bdr w:val="single"' in uae and 'w:fill="FBEFE6"' in uae


def test_column_widths_are_the_same_in_every_document(rendered):
    def widths(doc: Rendered) -> set[tuple[int, ...]]:
        return {tuple(col.width for col in t.columns) for t in doc.docx.tables if len(t.columns) == 5}

    summaries = [widths(doc) for doc in rendered.values()]
    assert all(len(s) == 1 for s in summaries) and len(set().union(*summaries)) == 1


def test_an_annex_pdf_of_schema_1_is_still_archived_and_compared(tmp_path):
    # a signed copy made before schema 2: `archive add` and `archive status` still read it
    (tmp_path / "customers").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "examples" / "esimerkki-oy.yaml", tmp_path / "customers")
    shutil.copytree(REGISTRY_DIR, tmp_path / "registry")
    with pikepdf.open(FIXTURE_SCHEMA_1) as pdf:
        old = json.loads(pdf.attachments["annex.json"].get_file().read_bytes())
    assert old["schema"] == "annex-gen/annex/1"
    added = run_cli("archive", "add", FIXTURE_SCHEMA_1, "--customer", "esimerkki-oy", "--signed-on", "2026-11-30",
                    "--unsigned-copy", cwd=tmp_path)  # the fixture carries no signature
    assert added.returncode == 0, added.stderr.decode()
    assert old["document_id"] in added.stdout.decode()
    status = run_cli("archive", "status", "--on", "2026-12-01", cwd=tmp_path)
    out = status.stdout.decode()
    assert status.returncode == 1, out + status.stderr.decode()  # the registry has moved on since
    assert f"esimerkki-oy: OUTDATED: record 1, {old['document_id']}, signed 2026-11-30" in out
    assert "Traceback" not in status.stderr.decode()
