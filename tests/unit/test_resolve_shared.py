"""resolve works out each region, language, products and options once per registry, and the annex's
canonical JSON comes from fragments kept on the shared sections: neither changes a document ID or a
content hash, nor lets one customer's annex take another's sections."""

from __future__ import annotations

import itertools

from tests.conftest import REGISTRY_DIR, make_contract

from annex_gen.hashing import sha256_json
from annex_gen.inputs.registry import load_registry
from annex_gen.resolve import document_id, resolve


def contracts(registry):
    """Every region with one and two of its products, both languages, options on and off."""
    for region_id, region in registry.regions.items():
        for count, language, on in itertools.product((1, 2), ("fi", "en"), (False, True)):
            products = region.products[:count]
            yield make_contract(region_id, products, language=language,
                                options={oid: on for oid in registry.options},
                                customer_id=f"{region_id}-{count}-{language}-{on}")


def test_ids_and_hashes_are_those_of_the_whole_json(registry):
    for contract in contracts(registry):
        annex = resolve(registry, contract)
        assert annex.document_id == document_id(annex.to_dict()), contract.customer_id
        assert annex.content_hash() == sha256_json(annex.content()), contract.customer_id


def test_shared_resolution_equals_a_fresh_one(registry):
    fresh = load_registry(REGISTRY_DIR)
    kept = {c.customer_id: resolve(registry, c) for c in contracts(registry)}
    for contract in contracts(fresh):  # a new registry object starts with nothing kept
        again = resolve(fresh, contract)
        assert again == kept[contract.customer_id]
        assert again.to_json_bytes() == kept[contract.customer_id].to_json_bytes()
    footprints = {(c.region, c.language, frozenset(c.products), frozenset(o for o, on in c.options.items() if on))
                  for c in contracts(fresh)}
    assert len(fresh.resolved) == len(footprints)  # one entry a footprint
    for contract in contracts(fresh):
        resolve(fresh, contract)
    assert len(fresh.resolved) == len(footprints)


def test_customers_with_one_footprint_share_sections_but_not_their_own_fields(registry):
    a = resolve(registry, make_contract("eu", ["mailer"], customer_id="a", customer_name="A Oy"))
    b = resolve(registry, make_contract("eu", ["mailer"], customer_id="b", customer_name="B Oy"))
    assert a.sections is b.sections and a.customer_name == "A Oy" and b.customer_name == "B Oy"
    assert a.document_id != b.document_id and a.content_hash() != b.content_hash()
    on = resolve(registry, make_contract("eu", ["mailer"], options={"dedicated_mta": True}))
    assert on.sections != a.sections
