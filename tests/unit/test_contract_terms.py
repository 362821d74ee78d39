"""A contract's own terms: its notice period, objection window and exclusions, checked and followed."""

from __future__ import annotations

import datetime as dt

import pytest

from annex_gen.changes.notices import NoticeDates, contract_dates
from annex_gen.errors import InvalidInput
from annex_gen.inputs.contract import load_contract
from annex_gen.lifecycle.terms import notice_terms
from annex_gen.resolve import resolve
from conftest import build_file_tree

CONTRACT = """
customer:
  id: acme
  name: Acme Oy
contract:
  date: 2026-12-01
  region: eu
  language: en
  products: [mailer]
{terms}
"""


def load(tmp_path, registry, terms: str):
    path = build_file_tree(tmp_path, {"acme.yaml": CONTRACT.format(terms=terms)}) / "acme.yaml"
    return load_contract(registry, path)[0]


def test_terms_change_the_annex_the_notice_dates_and_the_deadlines(tmp_path, registry):
    plain = load(tmp_path / "a", registry, "")
    own = load(tmp_path / "b", registry, """  terms:
    notice_period_days: 60
    objection_days: 20
    exclusions:
      - {entity: hetzner, from: 2026-12-15, note: objection OBJ-6 accepted}
""")
    assert own.terms.excluded == {"hetzner"} and own.terms.exclusions[0].note == "objection OBJ-6 accepted"
    before, after = resolve(registry, plain), resolve(registry, own)
    assert "hetzner" in {e.subprocessor for s in before.sections for e in s.entries}
    assert "hetzner" not in {e.subprocessor for s in after.sections for e in s.entries}
    assert "Hetzner Online GmbH" not in {p.name for p in after.subprocessors}
    assert (after.notice_period_days, after.objection_period_days) == (60, 20)
    assert after.document_id != before.document_id
    dates = NoticeDates(dt.date(2026, 12, 1), dt.date(2026, 12, 31), dt.date(2026, 12, 31), 30, 30)
    theirs = contract_dates(own, dates, None)
    assert (theirs.effective_date, theirs.objection_deadline) == (dt.date(2027, 1, 30), dt.date(2026, 12, 21))
    assert contract_dates(plain, dates, None) is dates
    assert notice_terms(None, own).objection_deadline(dt.date(2026, 12, 1)) == dt.date(2026, 12, 21)
    assert notice_terms(None, plain).objection_deadline(dt.date(2026, 12, 1)) == dt.date(2026, 12, 16)


def test_bad_terms_are_all_reported(tmp_path, registry):
    with pytest.raises(InvalidInput) as caught:
        load(tmp_path, registry, """  terms:
    notice_period_days: 10
    objection_days: 10
    exclusions:
      - {entity: hetzer, from: 2026-13-01}
      - {entity: upcloud}
    renewal: yearly
""")
    text = str(caught.value)
    assert "the objection window (10 days) must end before the change takes effect (10 days after the notice)" in text
    assert "unknown sub-processor 'hetzer'" in text
    assert "'2026-13-01' is not a date that exists" in text
    assert "missing required key 'from'" in text
    assert "unknown key 'renewal'" in text


def test_editing_a_contract_in_the_form_keeps_its_terms(tmp_path, registry):
    from annex_gen import app
    from annex_gen.hashing import sha256_text
    from annex_gen.workspace import ContractForm
    from conftest import REGISTRY_DIR

    folder = build_file_tree(tmp_path / "customers", {"acme.yaml": CONTRACT.format(terms="""  terms:
    objection_days: 20
    exclusions:
      - {entity: hetzner, from: 2026-12-15}
""")})
    path = folder / "acme.yaml"
    form = ContractForm.of(load_contract(registry, path)[0])
    edited = ContractForm(**{**form.__dict__, "name": "Acme Group Oy"})
    app.save_contract(REGISTRY_DIR, folder, edited, editing="acme", digest=sha256_text(path.read_text("utf-8")))
    saved = load_contract(registry, path)[0]
    assert saved.customer_name == "Acme Group Oy"
    assert saved.terms.objection_days == 20 and saved.terms.excluded == {"hetzner"}
