"""The customers folder as the web edits it: listing with annex state, form to YAML, round trip, conflicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.errors import EditConflict, InvalidInput, NotFound
from annex_gen.explain import included_sections
from annex_gen.model import Registry
from annex_gen.workspace import ContractForm, check_form, form_yaml, offered_options, offered_products, suggest_id
from conftest import REGISTRY_DIR, build_file_tree

COMMENTED = """
    # Signed at the fair; ask Maija before changing.
    customer:
      name: Kommentti Oy      # the trade name
      id: kommentti-oy
    contract:
      region: eu
      date: 2026-12-01
      language: fi
      products: [mailer]  # more to come
"""


def form(**values: object) -> ContractForm:
    """A valid EU form, with values replaced."""
    base = dict(customer_id="uusi-oy", name="Uusi Oy", date="2026-11-30", region="eu", language="fi",
                products=("mailer",))
    return ContractForm(**{**base, **values})  # type: ignore[arg-type]


def test_a_new_contract_is_written_in_the_documented_order(registry: Registry, tmp_path: Path) -> None:
    saved = app.save_contract(REGISTRY_DIR, tmp_path, form(business_id="FI12345671", contact_email="it@uusi.fi",
                                                          reference="DPA-1", options=("dedicated_mta",)))
    assert saved.created and saved.path == tmp_path / "uusi-oy.yaml"
    assert saved.path.read_text() == (
        "customer:\n  id: uusi-oy\n  name: Uusi Oy\n  business_id: FI12345671\n  contact_email: it@uusi.fi\n"
        "contract:\n  reference: DPA-1\n  date: 2026-11-30\n  region: eu\n  language: fi\n  products: [mailer]\n"
        "  options:\n    dedicated_mta: true\n"
    )
    assert [d for d in app.check(REGISTRY_DIR, [saved.path]).diagnostics if d.file == str(saved.path)] == []


def test_an_edit_keeps_comments_and_key_order(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"k.yaml": COMMENTED})
    _, entry = app.contract_entry(REGISTRY_DIR, tmp_path, tmp_path / "out", "kommentti-oy")
    edited = ContractForm.of(entry.contract)
    edited = ContractForm(**{**edited.__dict__, "products": ("mailer", "cms"), "reference": "DPA-7",
                             "name": "Kommentti Oyj"})
    saved = app.save_contract(REGISTRY_DIR, tmp_path, edited, editing="kommentti-oy", digest=entry.digest)
    assert saved.path == tmp_path / "k.yaml" and not saved.created
    assert saved.path.read_text() == (
        "# Signed at the fair; ask Maija before changing.\n"
        "customer:\n  name: Kommentti Oyj     # the trade name\n  id: kommentti-oy\n"
        "contract:\n  reference: DPA-7\n  region: eu\n  date: 2026-12-01\n  language: fi\n"
        "  products: [mailer, cms] # more to come\n"
    )


def test_a_save_over_a_newer_file_is_refused(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"k.yaml": COMMENTED})
    _, entry = app.contract_entry(REGISTRY_DIR, tmp_path, tmp_path / "out", "kommentti-oy")
    (tmp_path / "k.yaml").write_text((tmp_path / "k.yaml").read_text().replace("[mailer]", "[automation]"))
    before = (tmp_path / "k.yaml").read_text()
    with pytest.raises(EditConflict, match=r"k.yaml was changed by someone else since the form was opened; "
                                           "nothing was saved"):
        app.save_contract(REGISTRY_DIR, tmp_path, ContractForm.of(entry.contract), editing="kommentti-oy",
                          digest=entry.digest)
    assert (tmp_path / "k.yaml").read_text() == before


def test_a_new_contract_may_not_take_an_existing_id(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"k.yaml": COMMENTED})
    with pytest.raises(EditConflict, match="a contract with the customer id 'kommentti-oy' exists already"):
        app.save_contract(REGISTRY_DIR, tmp_path, form(customer_id="kommentti-oy"))
    assert sorted(p.name for p in tmp_path.glob("*.yaml")) == ["k.yaml"]


def test_a_bad_form_gives_the_checks_messages_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        app.save_contract(REGISTRY_DIR, tmp_path, form(name=" ", date="2026-02-30", products=("mailr",),
                                                       business_id="FI12345670"))
    messages = {d.key: d.message for d in caught.value.diagnostics}
    assert messages == {
        "customer.name": "must not be empty",
        "customer.business_id": "'FI12345670' is not a valid EU VAT number (format or check digit)",
        "contract.date": "'2026-02-30' is not a date that exists (YYYY-MM-DD)",
        "contract.products[0]": "unknown product 'mailr'; expected one of automation, cms, commerce, mailer, "
                                "monitor, press, wordpress; did you mean 'mailer'?",
    }
    assert list(tmp_path.glob("*.yaml")) == []


def test_a_product_the_region_does_not_offer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="product 'press' is not offered in region 'uae'"):
        app.save_contract(REGISTRY_DIR, tmp_path, form(region="uae", products=("press",)))


def test_crm_rows_are_listed_read_only(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"crm.csv": """
        customer_id,customer_name,contract_date,region,language,products
        crm-oy,CRM Oy,2026-12-01,eu,fi,mailer
    """})
    _, listing = app.contract_listing(REGISTRY_DIR, tmp_path, tmp_path / "out")
    assert [(e.contract.customer_id, e.editable) for e in listing.entries] == [("crm-oy", False)]
    with pytest.raises(InvalidInput, match="a contract from a CRM export is read-only here"):
        app.save_contract(REGISTRY_DIR, tmp_path, form(customer_id="crm-oy"), editing="crm-oy",
                          digest=listing.entries[0].digest)


def test_listing_states_and_problems(tmp_path: Path) -> None:
    build_file_tree(tmp_path / "customers", {"k.yaml": COMMENTED, "broken.yaml": "customer: [\n"})
    out = tmp_path / "out"
    _, listing = app.contract_listing(REGISTRY_DIR, tmp_path / "customers", out)
    assert [e.state for e in listing.entries] == ["never"]
    assert [d.file for d in listing.problems] == [str(tmp_path / "customers" / "broken.yaml")]
    app.annex_file(REGISTRY_DIR, tmp_path / "customers", out, "kommentti-oy", "docx")
    _, listing = app.contract_listing(REGISTRY_DIR, tmp_path / "customers", out)
    assert [e.state for e in listing.entries] == ["current"]
    edited = COMMENTED.replace("[mailer]", "[mailer, cms]").replace("\n    ", "\n")
    (tmp_path / "customers" / "k.yaml").write_text(edited)
    _, listing = app.contract_listing(REGISTRY_DIR, tmp_path / "customers", out)
    assert [e.state for e in listing.entries] == ["stale"]
    with pytest.raises(NotFound, match="no contract for the customer id 'nobody'"):
        listing.get("nobody")


def test_an_empty_or_missing_folder_has_no_contracts(tmp_path: Path) -> None:
    for folder in (tmp_path / "missing", tmp_path):
        _, listing = app.contract_listing(REGISTRY_DIR, folder, tmp_path / "out")
        assert listing.entries == [] and listing.problems == []


def test_offered_choices(registry: Registry) -> None:
    assert offered_products(registry, "uae") == ("mailer", "automation", "cms")
    assert offered_products(registry, "nowhere") == ()
    assert offered_options(registry, "eu", ["mailer"]) == ("dedicated_mta",)
    assert offered_options(registry, "eu", ["automation"]) == ()
    assert offered_options(registry, "eu", []) == ()


def test_suggest_id() -> None:
    assert suggest_id("Kauppahuone Ääri & Co") == "kauppahuone-aari-co"
    assert suggest_id("  <b>Acme</b> ") == "b-acme-b"
    assert suggest_id("x" * 80) == "x" * 64


def test_untrusted_text_stays_text_in_the_yaml(registry: Registry, tmp_path: Path) -> None:
    name = "Acme: {{ 7*7 }} & 'quotes' # not a comment"
    text = form_yaml(registry, form(name=name, reference="!!python/object:os.system"))
    contract, _ = check_form(registry, text, "x.yaml")
    assert contract.customer_name == name and contract.reference == "!!python/object:os.system"
    assert contract.date == dt.date(2026, 11, 30)


def test_inclusion_reasons(annex_for) -> None:
    annex = annex_for("eu", ["mailer", "cms"], options={"dedicated_mta": True}, language="en")
    sections = included_sections(app.load_registry(REGISTRY_DIR), annex)
    kinds = [(s.kind, s.title) for s in sections]
    assert kinds[0] == ("general", "General background services")
    mta = next(s for s in sections if s.kind == "shared_mta")
    assert "LianaMailer" in mta.used_by
    mailer = next(s for s in sections if s.title == "LianaMailer")
    assert mailer.products == ("LianaMailer",)
    gated = [mailer.option_name(e) for e in mailer.entries if e.option]
    assert gated and set(gated) == {"Dedicated MTAs (LianaMailer)"}


def test_inclusion_reasons_speak_the_interface_s_language_whatever_the_annex_s(annex_for) -> None:
    registry = app.load_registry(REGISTRY_DIR)
    annex = annex_for("uae", ["mailer", "cms"], language="en")
    english = {s.kind: s for s in included_sections(registry, annex)}
    finnish = {s.kind: s for s in included_sections(registry, annex, "fi")}
    assert (english["general"].title, english["general"].region_name) == (
        "General background services", "United Arab Emirates")
    assert (finnish["general"].title, finnish["general"].region_name) == (
        "Yleiset taustapalvelut", "Yhdistyneet arabiemiirikunnat")
    assert english["shared_mta"].used_by == ("LianaMailer and LianaCMS",)
    assert finnish["shared_mta"].used_by == ("LianaMailer ja LianaCMS",)  # the list's own "and" too
    assert english["general"].locations[0] == "Finland / EU" and finnish["general"].locations[0] == "Suomi / EU"
    assert len(finnish["product"].locations) == len(finnish["product"].entries)
    # the rows themselves stay the annex's
    assert finnish["general"].entries == english["general"].entries
