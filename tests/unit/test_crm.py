"""CRM CSV exports as contract inputs: columns, delimiters, located errors."""

from __future__ import annotations

import pytest
from tests.conftest import build_file_tree

from annex_gen.errors import InvalidInput
from annex_gen.inputs.crm import parse_crm
from annex_gen.inputs.sources import gather, load_all

HEADER = ("customer_id,customer_name,business_id,contact_email,contract_reference,contract_date,"
          "region,language,products,options")


def test_rows_become_contracts(tmp_path, registry):
    build_file_tree(tmp_path, {"crm.csv": f"""
        {HEADER}
        acme,Acme Oy,FI12345671,dpo@acme.example,DPA-1,2026-12-01,eu,fi,mailer;automation,dedicated_mta

        beta,"Beta, Ltd",,,,2026-12-02,hk,en,mailer cms,
        """})
    sources, failures = gather([tmp_path / "crm.csv"])
    loaded = load_all(registry, sources, failures)
    contracts, failures = loaded.contracts, loaded.failures
    assert failures == []
    assert [s.label for s in sources] == [f"{tmp_path / 'crm.csv'}:2", f"{tmp_path / 'crm.csv'}:4"]
    acme, beta = contracts
    assert (acme.customer_id, acme.region, acme.language) == ("acme", "eu", "fi")
    assert acme.products == ("mailer", "automation")
    assert acme.options == {"dedicated_mta": True}
    assert (acme.business_id, acme.contact_email, acme.reference) == (
        "FI12345671", "dpo@acme.example", "DPA-1")
    assert acme.source == f"{tmp_path / 'crm.csv'}:2"
    assert beta.customer_name == "Beta, Ltd"
    assert beta.products == ("mailer", "cms")
    assert beta.options == {"dedicated_mta": False}
    assert beta.business_id is None and beta.contact_email is None


def test_semicolon_delimiter_headers_in_any_case_and_a_byte_order_mark(registry):
    text = ("\ufeffCustomer ID;Customer Name;Contract-Date;Region;Language;Products\n"
            "acme;Acme Oy;2026-12-01;uae;en;mailer,cms\n")
    (row,) = parse_crm(text, "crm.csv")
    assert row.document.data == {
        "customer": {"id": "acme", "name": "Acme Oy"},
        "contract": {"date": "2026-12-01", "region": "uae", "language": "en", "products": ["mailer", "cms"]},
    }


def test_unknown_and_missing_columns_are_errors():
    with pytest.raises(InvalidInput) as exc:
        parse_crm("customer_id,customer_name,contract_date,region,language,prodcts,optons\n", "crm.csv")
    messages = [str(d) for d in exc.value.diagnostics]
    assert messages[0].startswith("crm.csv:1:6: unknown column 'prodcts'; expected one of ")
    assert messages[0].endswith("did you mean 'products'?")
    assert messages[1].endswith("did you mean 'options'?")
    assert messages[2] == "crm.csv:1: missing required column 'products'"


def test_an_empty_file_is_an_error():
    with pytest.raises(InvalidInput) as exc:
        parse_crm("", "crm.csv")
    assert str(exc.value) == "crm.csv:1: the CSV file is empty; expected a header row"


def test_bad_cells_are_located_at_row_and_column(tmp_path, registry):
    build_file_tree(tmp_path, {"crm.csv": f"""
        {HEADER}
        good,Good Oy,,,,2026-12-01,eu,fi,mailer,
        bad,Bad Oy,,not-an-email,,2026-13-01,eux,fi,mailr,dedicated_mt
        long,Long Oy,,,,2026-12-01,eu,fi,mailer,,extra
        """})
    path = tmp_path / "crm.csv"
    sources, failures = gather([path])
    loaded = load_all(registry, sources, failures)
    contracts, failures = loaded.contracts, loaded.failures
    assert [c.customer_id for c in contracts] == ["good"]
    by_label = {f.label: f.message for f in failures}
    bad = by_label[f"{path}:3"].splitlines()  # named by CSV column, not contract key
    assert f"{path}:3:4: contact_email: 'not-an-email' is not an email address" in bad
    assert any(m.startswith(f"{path}:3:6: contract_date: ") for m in bad)
    assert any(m.startswith(f"{path}:3:7: region: unknown region 'eux'") for m in bad)
    assert any(m.startswith(f"{path}:3:9: products[0]: unknown product 'mailr'") for m in bad)
    assert any(m.startswith(f"{path}:3:10: options.dedicated_mt: unknown key 'dedicated_mt'")
               for m in bad)
    assert by_label[f"{path}:4"] == f"{path}:4:11: the row has 11 cells but the header has 10"


def test_duplicate_customer_ids_across_inputs_name_both(tmp_path, registry):
    build_file_tree(tmp_path, {
        "crm.csv": f"""
            {HEADER}
            acme,Acme Oy,,,,2026-12-01,eu,fi,mailer,
            """,
        "acme.yaml": """
            customer: {id: acme, name: Acme Oy}
            contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}
            """,
    })
    sources, failures = gather([tmp_path / "crm.csv", tmp_path / "acme.yaml"])
    loaded = load_all(registry, sources, failures)
    contracts, failures = loaded.contracts, loaded.failures
    assert contracts == []
    csv_label, yaml_label = f"{tmp_path / 'crm.csv'}:2", str(tmp_path / "acme.yaml")
    assert {f.label: f.message for f in failures} == {
        csv_label: f"customer id 'acme' is used by both {csv_label} and {yaml_label}",
        yaml_label: f"customer id 'acme' is used by both {yaml_label} and {csv_label}",
    }


def test_tab_separated_rows_may_leave_trailing_cells_out_and_empty_cells_are_located(tmp_path, registry):
    (tmp_path / "crm.csv").write_text(
        "customer_id\tcustomer_name\tcontract_date\tregion\tlanguage\tproducts\toptions\n"
        "acme\tAcme Oy\t\teu\tfi\tmailer\n"
        "beta\tBeta Oy\t2026-12-01\teu\tfi\t\n"
        "gamma\tGamma Oy\t2026-12-01\teu\tfi\tpress\n", encoding="utf-8")
    path = tmp_path / "crm.csv"
    loaded = load_all(registry, *gather([path]))
    contracts, failures = loaded.contracts, loaded.failures
    assert [c.customer_id for c in contracts] == ["gamma"]
    assert {f.label: f.message for f in failures} == {
        f"{path}:2": f"{path}:2:3: contract_date: missing value in required column 'contract_date'",
        f"{path}:3": f"{path}:3:6: products: missing value in required column 'products'",
    }
