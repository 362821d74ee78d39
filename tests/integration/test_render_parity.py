"""Parity: what the PDF and the DOCX print, and the JSON they carry, equal `annex-gen resolve`.

For every example contract the document read back (PDF with pdfplumber, DOCX with python-docx)
has exactly the resolved sections in order, each with its title and its rows (company, identifier,
location, purpose; identifier '—' where the JSON has none, the outside-EU/EEA mark, the purpose's
bulleted items and the contract-option note included), then the distinct legal entities summary,
the change-notice heading, the signatures heading and the customer-register list. The embedded
annex.json (PDF) and the custom XML part (DOCX) are the resolve output byte for byte.

The PDF is read geometrically (render_support.pdf_document): a table is found by its header row, so
a table continued on a later page is read only if its header row repeats there. A PDF cell may wrap:
each line break must stand for a space or nothing of the expected text, everything else is exact.
"""

from __future__ import annotations

import re

import pikepdf
import pytest
import render_support as rs

NAMES = [p.stem for p in rs.EXAMPLES]


@pytest.fixture(scope="session")
def session(tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory)


@pytest.fixture(scope="session", params=rs.ENGINES)
def pdf_session(request, tmp_path_factory) -> rs.Session:
    """The examples rendered with each PDF engine."""
    return rs.render_examples(tmp_path_factory, request.param)


def test_every_example_is_covered(session):
    assert len(NAMES) >= 9
    assert set(session.examples) == set(NAMES)
    languages = {ex.language for ex in session.examples.values()}
    assert languages == {"en", "fi"}, "the examples should exercise both languages"
    # Some example must exercise each kind of cell content the parity checks compare.
    entries = [e for ex in session.examples.values() for s in ex.annex["sections"] for e in s["entries"]]
    assert any(e["purpose_items"] for e in entries)
    assert any(e["option"] for e in entries)
    assert any(e["outside_eea"] for ex in session.examples.values() for e in ex.annex["customer_register"])


@pytest.mark.parametrize("name", NAMES)
def test_pdf_tables_equal_resolved_json(pdf_session, name):
    ex = pdf_session.examples[name]
    expected = rs.expected_document(ex.annex)
    got = rs.pdf_document(ex.files["pdf"]).blocks()
    # Headings in order: every section title, the summary, the region's transfer clause, the notice, the register,
    # the signatures.
    assert [rs.squash(b.heading) for b in got] == [b.heading for b in expected]
    for g, e in zip(got, expected, strict=True):
        if e.header is None:
            assert g.rows == [], f"unexpected table under {e.heading!r}"
            continue
        assert rs.normalise_header(g.header, e.header) == list(e.header), e.heading
        want = rs.flat(e.rows)
        assert rs.normalise_cells(g.rows, want) == want, f"rows of {e.heading!r}"


@pytest.mark.parametrize("name", NAMES)
def test_pdf_metadata_block_names_the_contract(pdf_session, name):
    ex = pdf_session.examples[name]
    annex = ex.annex
    text = rs.squash(rs.pdf_document(ex.files["pdf"]).pages[0].text)
    for value in (annex["customer"]["name"], annex["document_id"], annex["registry_version"],
                  annex["contract"]["date"], annex["region_name"],
                  ", ".join(p["name"] for p in annex["products"])):
        assert value in text
    for value in (annex["customer"]["business_id"], annex["contract"]["reference"]):
        if value:
            assert value in text


@pytest.mark.parametrize("name", NAMES)
def test_docx_tables_equal_resolved_json(session, name):
    ex = session.examples[name]
    annex = ex.annex
    cat = rs.catalog(ex.language)
    expected = rs.expected_document(annex)
    front, got = rs.docx_blocks(ex.files["docx"])
    assert [b.heading for b in got] == [b.heading for b in expected]
    ctx = {"company": annex["company"], "customer": annex["customer"]["name"]}
    for g, e in zip(got, expected, strict=True):
        if e.kind == "signatures":
            # One table: the parties, then a row per line (signature, name, place/date) under each.
            parties = (cat.format("signatures.customer", **ctx), cat.format("signatures.supplier", **ctx))
            labels = [cat[f"signatures.{k}"] for k in ("signature", "name", "place_date")]
            assert tuple(g.header) == parties
            assert len(g.rows) == len(labels)
            for row, label in zip(g.rows, labels, strict=True):
                assert [cell[-1] for cell in row] == [label, label]
                assert all(cell[0].startswith("___") for cell in row)
        elif e.header is None:
            assert g.header is None and g.rows == [], f"unexpected table under {e.heading!r}"
        else:
            assert g.header == e.header, e.heading
            # DOCX cells do not wrap: every paragraph of every cell is compared exactly.
            assert g.rows == e.rows, f"rows of {e.heading!r}"
    # The metadata table before the first heading.
    assert len(front) == 1
    meta = {row[0][0]: row[1][0] for row in front[0]}
    assert meta[cat["meta.customer"]] == annex["customer"]["name"]
    business_id = annex["customer"]["business_id"]
    if business_id:  # printed with its kind, e.g. "FI12345671 (ALV-tunniste)"
        assert re.fullmatch(re.escape(business_id) + r" \(.+\)", meta[cat["meta.business_id"]])
    else:
        assert meta[cat["meta.business_id"]] == cat["meta.none"]
    assert meta[cat["meta.reference"]] == (annex["contract"]["reference"] or cat["meta.none"])
    assert meta[cat["meta.date"]] == annex["contract"]["date"]
    assert meta[cat["meta.region"]] == annex["region_name"]
    assert meta[cat["meta.products"]] == ", ".join(p["name"] for p in annex["products"])
    assert meta[cat["meta.registry_version"]] == annex["registry_version"]
    assert meta[cat["meta.document_id"]] == annex["document_id"]


@pytest.mark.parametrize("name", NAMES)
def test_pdf_embeds_resolve_output_as_source(pdf_session, name):
    ex = pdf_session.examples[name]
    with pikepdf.open(ex.files["pdf"]) as pdf:
        assert list(pdf.attachments) == ["annex.json"]
        spec = pdf.attachments["annex.json"]
        assert spec.get_file().read_bytes() == ex.json_bytes
        assert spec.get_file().mime_type == "application/json"
        # PDF/A-3: the file specification is an associated file of the document, relationship Source.
        af = [obj for obj in pdf.Root.AF]
        referenced = {obj.objgen for obj in af}
        assert len(referenced) == 1, "the document's /AF should list annex.json (only)"
        for obj in af:
            assert obj.Type == "/Filespec"
            assert str(obj.UF) == "annex.json"
            assert obj.AFRelationship == pikepdf.Name.Source
        assert spec.obj.objgen in referenced


@pytest.mark.parametrize("name", NAMES)
def test_docx_custom_xml_part_is_resolve_output(session, name):
    ex = session.examples[name]
    tag, attrs, text = rs.docx_custom_json(ex.files["docx"])
    assert tag == "{urn:annex-gen:annex:1}annex"
    assert attrs == {"format": "application/json"}
    assert text.encode("utf-8") == ex.json_bytes
