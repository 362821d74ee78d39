"""Contract validation: every error path with its exact user-facing message."""

from __future__ import annotations

import datetime as dt

import pytest

from annex_gen.errors import InvalidInput
from annex_gen.inputs.check import check
from annex_gen.inputs.contract import MAX_CONTRACT_BYTES, business_id_problem, load_contract
from conftest import REGISTRY_DIR, build_file_tree

PRODUCTS = "automation, cms, commerce, mailer, monitor, press, wordpress"
CONTRACT_KEYS = "date, language, options, products, reference, region, replaces, terms"


def contract_problems(registry, tmp_path, text: str | bytes) -> list[str]:
    """The rendered diagnostics of loading a contract file, which must fail."""
    build_file_tree(tmp_path, {"c.yaml": text})
    with pytest.raises(InvalidInput) as exc:
        load_contract(registry, tmp_path / "c.yaml")
    return [str(d).replace(f"{tmp_path}/", "") for d in exc.value.diagnostics]


def test_a_valid_contract(registry, tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer:
          id: acme
          name: "  Acme   Oy "
          business_id: fi 1234567 1
          contact_email: dpo@acme.example
        contract:
          reference: DPA-1
          date: 2026-11-29
          region: eu
          language: en
          products: [mailer, cms]
          options:
            dedicated_mta: true
    """})
    contract, warnings = load_contract(registry, tmp_path / "c.yaml")
    assert warnings == []
    assert (contract.customer_id, contract.customer_name) == ("acme", "Acme Oy")
    assert contract.business_id == "FI12345671"
    assert (contract.date, contract.region, contract.language) == (dt.date(2026, 11, 29), "eu", "en")
    assert contract.products == ("mailer", "cms")
    assert contract.options == {"dedicated_mta": True}
    assert contract.source == str(tmp_path / "c.yaml")


def test_options_default_to_off(registry, tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """})
    contract, _ = load_contract(registry, tmp_path / "c.yaml")
    assert contract.options == {"dedicated_mta": False}


def test_malformed_yaml(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer:
          id: acme
         name: Acme
    """) == ["c.yaml:3:2: invalid YAML: expected <block end>, but found '<block mapping start>'"]


def test_not_utf8(registry, tmp_path):
    assert contract_problems(registry, tmp_path, b"customer:\n  name: M\xfcller GmbH\n") == [
        "c.yaml:2:10: not valid UTF-8 (byte 0xfc); save the file as UTF-8"
    ]


def test_a_contract_larger_than_the_limit(registry, tmp_path):
    text = "# " + "x" * MAX_CONTRACT_BYTES + "\n"
    assert contract_problems(registry, tmp_path, text) == [
        f"c.yaml: file is larger than {MAX_CONTRACT_BYTES} bytes"
    ]


def test_object_constructing_tag(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: !!python/object/apply:os.system ["touch pwned"]
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """) == ["c.yaml:1:11: customer: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'"]
    assert not (tmp_path / "pwned").exists()


def test_duplicate_key(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: [mailer]
          region: uae
    """) == ["c.yaml:7:3: contract.region: duplicate key 'region' (first defined on line 4); keep one"]


def test_a_duplicate_key_is_reported_with_the_file_s_other_problems(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy, nmae: x}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer], region: hk, foo: 1}
    """) == [
        "c.yaml:2:76: contract.region: duplicate key 'region' (first defined on line 2); keep one",
        "c.yaml:1:37: customer.nmae: unknown key 'nmae'; expected one of business_id, contact_email, id, name; "
        "did you mean 'name'?",
        "c.yaml:2:88: contract.foo: unknown key 'foo'; expected one of date, language, options, products, reference, "
        "region, replaces, terms",
    ]


def test_products_must_be_a_list(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: "mailer"
    """) == ["c.yaml:6:13: contract.products: expected a list, got a string ('mailer'); write it as [mailer]"]


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "Acme", "acme-", "-acme", "acme oy", "a" * 65, "acmeä"])
def test_a_customer_id_that_is_not_a_safe_file_name(registry, tmp_path, bad_id):
    assert contract_problems(registry, tmp_path, f"""
        customer: {{id: "{bad_id}", name: Acme Oy}}
        contract: {{date: 2026-11-29, region: eu, language: fi, products: [mailer]}}
    """) == [
        f"c.yaml:1:16: customer.id: {bad_id!r} is not a valid id; use lowercase letters a-z, digits and "
        "hyphens (at most 64 characters, no leading or trailing hyphen)"
    ]


def test_a_customer_id_that_is_a_number(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: 42, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """) == ["c.yaml:1:16: customer.id: expected a string, got a number (42)"]


def test_unknown_keys_with_did_you_mean(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer:
          id: acme
          name: Acme Oy
          emial: dpo@acme.example
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          prodcts: [mailer]
          colour: blue
    """) == [
        "c.yaml:4:3: customer.emial: unknown key 'emial'; "
        "expected one of business_id, contact_email, id, name",
        "c.yaml:6:3: contract: missing required key 'products'",
        "c.yaml:9:3: contract.prodcts: unknown key 'prodcts'; "
        f"expected one of {CONTRACT_KEYS}; did you mean 'products'?",
        f"c.yaml:10:3: contract.colour: unknown key 'colour'; expected one of {CONTRACT_KEYS}",
    ]


def test_unknown_top_level_key(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contracts: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """) == [
        "c.yaml:1:1: missing required key 'contract'",
        "c.yaml:2:1: contracts: unknown key 'contracts'; expected one of contract, customer; "
        "did you mean 'contract'?",
    ]


def test_a_missing_key_is_reported_once(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer:
          id: acme
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """) == ["c.yaml:2:3: customer: missing required key 'name'"]


def test_an_empty_value_is_located_at_its_key(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer:
          id:
          name: Acme Oy
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: [mailer]
          options:
    """) == [
        "c.yaml:2:3: customer.id: expected a string, got nothing (null)",
        "c.yaml:9:3: contract.options: expected a mapping of options, got nothing; "
        "expected one of dedicated_mta",
    ]


def test_a_file_that_is_not_a_mapping(registry, tmp_path):
    assert contract_problems(registry, tmp_path, "- customer\n- contract\n") == [
        "c.yaml:1:1: expected a mapping, got a list"
    ]


def test_unknown_region_and_language(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: europe, language: sv, products: [mailer]}
    """) == [
        "c.yaml:2:38: contract.region: unknown region 'europe'; expected one of eu, hk, uae",
        "c.yaml:2:56: contract.language: unknown language 'sv'; expected one of en, fi",
    ]


@pytest.mark.parametrize("date", ["29.11.2026", "'20261129'", "'2026-W48-7'", "2026-11-31", "2026"])
def test_a_date_not_of_the_form_yyyy_mm_dd(registry, tmp_path, date):
    got = contract_problems(registry, tmp_path, f"""
        customer: {{id: acme, name: Acme Oy}}
        contract:
          date: {date}
          region: eu
          language: fi
          products: [mailer]
    """)
    assert len(got) == 1
    assert got[0].startswith("c.yaml:3:9: contract.date: ")
    assert "YYYY-MM-DD" in got[0]


def test_product_not_offered_in_the_region(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: uae, language: en, products: [mailer, press, monitor]}
    """) == [
        "c.yaml:2:76: contract.products[1]: product 'press' is not offered in region 'uae'; "
        "expected one of automation, cms, mailer",
        "c.yaml:2:83: contract.products[2]: product 'monitor' is not offered in region 'uae'; "
        "expected one of automation, cms, mailer",
    ]


def test_unknown_and_duplicated_products(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: [mailr, mailer, mailer, 7]
    """) == [
        f"c.yaml:6:14: contract.products[0]: unknown product 'mailr'; expected one of {PRODUCTS}; "
        "did you mean 'mailer'?",
        "c.yaml:6:29: contract.products[2]: product 'mailer' is listed twice",
        "c.yaml:6:37: contract.products[3]: expected a string, got a number (7)",
    ]


def test_an_empty_product_list(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: []}
    """) == [f"c.yaml:2:66: contract.products: the contract lists no products; expected one of {PRODUCTS}"]


def test_unknown_option_and_non_boolean_option(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: [mailer]
          options:
            dedicated_mta: yes
            dedicated: true
    """) == [
        "c.yaml:9:5: contract.options.dedicated: unknown key 'dedicated'; expected one of dedicated_mta; "
        "did you mean 'dedicated_mta'?",
        "c.yaml:8:20: contract.options.dedicated_mta: expected true or false, got a string ('yes')",
    ]


@pytest.mark.parametrize(("region", "products"), [
    ("eu", "[cms, press]"), ("uae", "[mailer]"), ("hk", "[mailer]"),
])
def test_an_option_with_no_effect_is_a_warning(registry, tmp_path, region, products):
    build_file_tree(tmp_path, {"c.yaml": f"""
        customer: {{id: acme, name: Acme Oy}}
        contract:
          date: 2026-11-29
          region: {region}
          language: fi
          products: {products}
          options: {{dedicated_mta: true}}
    """})
    contract, warnings = load_contract(registry, tmp_path / "c.yaml")
    assert contract.options == {"dedicated_mta": True}
    listed = products.strip("[]")
    assert [str(w) for w in warnings] == [
        f"{tmp_path}/c.yaml:7:28: contract.options.dedicated_mta: warning: option 'dedicated_mta' has no "
        f"effect for region '{region}' and products {listed}; no entry it enables applies"
    ]
    assert [w.severity for w in warnings] == ["warning"]


def test_an_option_that_is_off_needs_no_effect(registry, tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: uae
          language: fi
          products: [cms]
          options: {dedicated_mta: false}
    """})
    assert load_contract(registry, tmp_path / "c.yaml")[1] == []


@pytest.mark.parametrize(("business_id", "message"), [
    ("FI12345670", "'FI12345670' is not a valid EU VAT number (format or check digit)"),
    ("1234567-0", "'1234567-0' is not a valid Finnish business ID (check digit)"),
    ("DE812871813", "'DE812871813' is not a valid EU VAT number (format or check digit)"),
    ("ACME-1", "'ACME-1' is not a recognised business ID; expected an EU VAT number (FI12345671), a Finnish "
               "business ID (1234567-1), a UAE TRN (15 digits) or a Hong Kong BR number (8 digits)"),
])
def test_an_invalid_business_id(registry, tmp_path, business_id, message):
    assert contract_problems(registry, tmp_path, f"""
        customer:
          id: acme
          name: Acme Oy
          business_id: "{business_id}"
        contract: {{date: 2026-11-29, region: eu, language: fi, products: [mailer]}}
    """) == [f"c.yaml:4:16: customer.business_id: {message}"]


@pytest.mark.parametrize("business_id", [
    "FI12345671", "1234567-1", "0112038-9", "SE556703748501", "DE812871812", "100123456700003", "12345678",
    "fi 1234 5671",
])
def test_valid_business_ids(business_id):
    assert business_id_problem(business_id.replace(" ", "").upper()) is None


def test_an_invalid_email(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy, contact_email: "dpo at acme"}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """) == ["c.yaml:1:52: customer.contact_email: 'dpo at acme' is not an email address"]


def test_every_problem_of_a_file_is_reported_at_once(registry, tmp_path):
    # Schema problems, in reading order; YAML-level problems (tags, aliases, impossible dates) are
    # reported together before the schema is checked (see test_yamlio); duplicate keys with it.
    assert contract_problems(registry, tmp_path, """
        customer:
          id: ../acme
          name: ""
          business_id: FI12345670
        contract:
          date: 29.11.2026
          region: uae
          language: se
          products: [press, mailr]
          options: {dedicated_mta: 1}
          extra: 1
    """) == [
        f"c.yaml:11:3: contract.extra: unknown key 'extra'; expected one of {CONTRACT_KEYS}",
        "c.yaml:2:7: customer.id: '../acme' is not a valid id; use lowercase letters a-z, digits and hyphens "
        "(at most 64 characters, no leading or trailing hyphen)",
        "c.yaml:3:9: customer.name: must not be empty",
        "c.yaml:4:16: customer.business_id: 'FI12345670' is not a valid EU VAT number "
        "(format or check digit)",
        "c.yaml:6:9: contract.date: expected a date of the form YYYY-MM-DD, got a string ('29.11.2026')",
        "c.yaml:8:13: contract.language: unknown language 'se'; expected one of en, fi",
        "c.yaml:9:14: contract.products[0]: product 'press' is not offered in region 'uae'; "
        "expected one of automation, cms, mailer",
        f"c.yaml:9:21: contract.products[1]: unknown product 'mailr'; expected one of {PRODUCTS}; "
        "did you mean 'mailer'?",
        "c.yaml:10:28: contract.options.dedicated_mta: expected true or false, got a number (1)",
    ]


def test_check_reports_every_file_and_a_customer_id_used_twice(tmp_path):
    build_file_tree(tmp_path, {
        "a.yaml": """
            customer: {id: acme, name: Acme Oy}
            contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
        """,
        "b.yaml": """
            customer: {id: acme, name: Acme Sverige AB}
            contract: {date: 2026-11-29, region: eu, language: en, products: [press]}
        """,
        "c.yaml": """
            customer: {id: other, name: Other Oy}
            contract: {date: 2026-11-29, region: hk, language: fi, products: [press]}
        """,
        "d.yaml": """
            customer: {id: fine, name: Fine Oy}
            contract:
              date: 2026-11-29
              region: eu
              language: fi
              products: [cms]
              options: {dedicated_mta: true}
        """,
    })
    report = check(REGISTRY_DIR, sorted(tmp_path.glob("*.yaml")))
    # a customer id used twice is an error of both files, each naming the other
    assert [str(d).replace(f"{tmp_path}/", "") for d in report.diagnostics
            if d.file.startswith(str(tmp_path))] == [
        "c.yaml:2:67: contract.products[0]: product 'press' is not offered in region 'hk'; "
        "expected one of automation, cms, mailer",
        "d.yaml:7:28: contract.options.dedicated_mta: warning: option 'dedicated_mta' has no effect for "
        "region 'eu' and products cms; no entry it enables applies",
        "a.yaml: customer.id: customer id 'acme' is used by both a.yaml and b.yaml",
        "b.yaml: customer.id: customer id 'acme' is used by both b.yaml and a.yaml",
    ]
    assert [c.customer_id for c in report.contracts] == ["fine"]
    assert len(report.errors) == 3


def test_an_impossible_date_is_reported_with_every_other_problem(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy, contact_emial: x@acme.example}
        contract:
          date: 2026-02-30
          region: eu
          language: sv
          products: [mailer]
    """) == [
        "c.yaml:1:37: customer.contact_emial: unknown key 'contact_emial'; expected one of business_id, "
        "contact_email, id, name; did you mean 'contact_email'?",
        "c.yaml:3:9: contract.date: '2026-02-30' is not a date that exists (YYYY-MM-DD)",
        "c.yaml:5:13: contract.language: unknown language 'sv'; expected one of en, fi",
    ]


def test_replaces_names_the_document_id_of_the_previous_annex(registry, tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer], replaces: ANX-1A2B-3C4D-5E6F-7A8B}
    """})
    contract, _ = load_contract(registry, tmp_path / "c.yaml")
    assert contract.replaces == "ANX-1A2B-3C4D-5E6F-7A8B"
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer], replaces: DPA-2025-1}
    """) == ["c.yaml:2:86: contract.replaces: 'DPA-2025-1' is not an annex document ID; expected the form "
             "ANX-XXXX-XXXX-XXXX-XXXX (hexadecimal), as printed in the footer of the annex it replaces"]


def test_an_annex_dated_before_the_published_list_is_an_error(registry, tmp_path):
    assert contract_problems(registry, tmp_path, """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-28, region: eu, language: fi, products: [mailer]}
    """) == ["c.yaml:2:18: contract.date: the annex is dated 2026-11-28, before the published list it reflects "
             "was retrieved (2026-11-29); date it 2026-11-29 or later"]
    build_file_tree(tmp_path, {"d.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract: {date: 2026-11-29, region: eu, language: fi, products: [mailer]}
    """})
    contract, warnings = load_contract(registry, tmp_path / "d.yaml")
    assert contract.date == dt.date(2026, 11, 29) and warnings == []


@pytest.mark.parametrize("business_id, owner", [
    ("FI24315605", "Upcloud Oy"), ("2431560-5", "Upcloud Oy"), ("fi 05925096", "DNA Oyj"),
    ("DE812871812", "Hetzner Online GmbH"),
])
def test_a_business_id_of_a_registry_entity_is_an_error(registry, tmp_path, business_id, owner):
    normalised = business_id.replace(" ", "").upper()
    assert contract_problems(registry, tmp_path, f"""
        customer: {{id: acme, name: Acme Oy, business_id: "{business_id}"}}
        contract: {{date: 2026-11-29, region: eu, language: fi, products: [mailer]}}
    """) == [f"c.yaml:1:50: customer.business_id: {normalised} is the identifier of {owner}, a sub-processor "
             "in the registry, not of the customer; check the customer's business ID"]
