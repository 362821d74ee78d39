"""Property: any contract file either resolves consistently or fails with located diagnostics."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, find, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from annex_gen.errors import InvalidInput
from annex_gen.inputs.contract import load_contract
from annex_gen.model import Annex, Contract, Registry
from annex_gen.resolve import resolve

OFFERED = {
    "eu": ["press", "automation", "mailer", "monitor", "cms", "wordpress", "commerce"],
    "uae": ["mailer", "automation", "cms"],
    "hk": ["mailer", "automation", "cms"],
}


def _set(section: str, key: str, value: object):
    def corrupt(data: dict) -> None:
        data[section][key] = value
    return corrupt


def _add_product(pid: str):
    def corrupt(data: dict) -> None:
        if isinstance(data["contract"]["products"], list):
            data["contract"]["products"].append(pid)
    return corrupt


def _duplicate_product(data: dict) -> None:
    products = data["contract"]["products"]
    if isinstance(products, list) and products:
        products.append(products[0])


def _remove(section: str, key: str):
    def corrupt(data: dict) -> None:
        data[section].pop(key, None)
    return corrupt


# Each turns a valid contract into an invalid one (or, for options, one with a warning).
CORRUPTIONS = [
    _set("contract", "region", "EU"), _set("contract", "region", "us"), _set("contract", "region", ""),
    _set("contract", "language", "sv"), _set("contract", "date", "29.11.2026"),
    _set("contract", "products", "mailer"), _set("contract", "products", []),
    _add_product("mailr"), _add_product("crm"), _add_product("press"), _add_product(""), _duplicate_product,
    _set("contract", "options", None), _set("contract", "options", {"dedicated": True}),
    _set("contract", "options", {"dedicated_mta": "yes"}), _set("contract", "prodcts", ["mailer"]),
    _set("customer", "id", "../x"), _set("customer", "id", "Acme"), _set("customer", "name", ""),
    _remove("customer", "name"), _remove("contract", "region"),
]


@st.composite
def contracts(draw) -> dict:
    """A valid contract (random region, products, options, language), then 0-3 random corruptions."""
    region = draw(st.sampled_from(sorted(OFFERED)))
    data = {
        "customer": {
            "id": draw(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)),
            "name": draw(st.sampled_from(["Acme Oy", "Ä & Ö Oy", "Kowloon Ltd"])),
        },
        "contract": {
            "date": "2026-11-29",
            "region": region,
            "language": draw(st.sampled_from(["fi", "en"])),
            "products": draw(st.lists(st.sampled_from(OFFERED[region]), min_size=1, unique=True)),
        },
    }
    option = draw(st.sampled_from([None, True, False]))
    if option is not None:
        data["contract"]["options"] = {"dedicated_mta": option}
    for corrupt in draw(st.lists(st.sampled_from(CORRUPTIONS), max_size=3)):
        corrupt(data)
    return data

# file:line:col: key.path[i]: message, with an optional "warning: " before the message.
DIAGNOSTIC = re.compile(
    r"^contract\.yaml:[0-9]+:[0-9]+: [a-z_]+(?:\.[a-z_]+|\[[0-9]+\])*: (?:warning: )?\S.*$"
)


def dump(data: dict) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("property")


def assert_consistent(registry: Registry, contract: Contract, annex: Annex) -> None:
    """The invariants of a resolved annex."""
    sections = {s.id: s for s in registry.sections}
    included = [sections[s.id] for s in annex.sections]
    # Only the contract's region, its general section, and a product section for every product.
    assert all(s.region in (None, contract.region) for s in included)
    assert [s.kind for s in included].count("general") == 1
    for pid in contract.products:
        assert [s.id for s in included if s.kind == "product" and pid in s.products], pid
    assert all(set(s.products) & set(contract.products) for s in included if s.kind == "product")
    assert ("shared-mta" in sections and any(s.uses_shared_mta for s in included)) == any(
        s.kind == "shared_mta" for s in included
    )
    assert len({s.id for s in annex.sections}) == len(annex.sections)
    for section in annex.sections:
        keys = [(e.subprocessor, e.location, e.purpose, e.purpose_items) for e in section.entries]
        assert len(keys) == len(set(keys)), section.id
        # Option-gated entries appear exactly when their option is on.
        for e in section.entries:
            if e.option:
                assert contract.options.get(e.option) is True
        gated = [e for e in sections[section.id].entries if e.option and contract.options.get(e.option)]
        assert {g.entity for g in gated} <= {e.subprocessor for e in section.entries}
    # subprocessors: the distinct entities of the sections, in order of first appearance.
    order = list(dict.fromkeys(e.subprocessor for s in annex.sections for e in s.entries))
    assert [p.id for p in annex.subprocessors] == order
    for party in annex.subprocessors:
        assert party.sections == tuple(
            s.id for s in annex.sections if party.id in {e.subprocessor for e in s.entries}
        )
        outside = [e.outside_eea or e.registered_outside_eea for s in annex.sections for e in s.entries
                   if e.subprocessor == party.id]
        assert party.outside_eea == any(outside)
    assert annex.customer_register.id == "customer-register"
    assert [pid for pid, _ in annex.products] == sorted(
        contract.products, key=registry.regions[contract.region].products.index
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=contracts())
def test_a_contract_resolves_consistently_or_fails_with_located_diagnostics(registry, workdir, data):
    path = workdir / "contract.yaml"
    path.write_text(dump(data), encoding="utf-8")
    try:
        contract, warnings = load_contract(registry, path)
    except InvalidInput as exc:
        event("invalid")
        assert exc.diagnostics
        assert any(d.severity == "error" for d in exc.diagnostics)
        for d in exc.diagnostics:
            assert d.file == str(path)
            assert DIAGNOSTIC.match(str(d).replace(f"{workdir}/", "")), str(d)
        return
    for w in warnings:
        assert w.severity == "warning"
        assert DIAGNOSTIC.match(str(w).replace(f"{workdir}/", "")), str(w)
    event("valid")
    annex = resolve(registry, contract)
    assert_consistent(registry, contract, annex)
    # Same input, same document: resolving again, or reloading the file, gives the same id.
    assert resolve(registry, contract).document_id == annex.document_id
    assert resolve(registry, load_contract(registry, path)[0]).document_id == annex.document_id
    assert annex.to_dict() == resolve(registry, contract).to_dict()


@pytest.mark.parametrize("wanted", ["valid", "gated entry included"])
def test_the_generator_reaches_valid_contracts(registry, workdir, wanted):
    # Guards the property above against a generator that only ever produces invalid contracts.
    def reaches(data: dict) -> bool:
        path = workdir / "found.yaml"
        path.write_text(dump(data), encoding="utf-8")
        try:
            contract, _ = load_contract(registry, path)
        except InvalidInput:
            return False
        if wanted == "valid":
            return True
        return any(e.option for s in resolve(registry, contract).sections for e in s.entries)

    quick = settings(max_examples=1000, database=None, phases=[Phase.generate])  # no shrinking needed
    found = find(contracts(), reaches, settings=quick)
    assert found["contract"]["region"] in ("eu", "uae", "hk")
