"""Which annex a batch writes after the customer's last one: what it replaces, and from when."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple

import pytest

from annex_gen.resolve import in_force_after, next_annex, replaced_by_next, resolve
from conftest import make_contract


class Previous(NamedTuple):
    document_id: str
    content_hash: str = "old content"
    status: str | None = None
    in_force: str | None = None


@pytest.mark.parametrize("previous, final, replaced", [
    (Previous("ANX-A", status="final"), True, "ANX-A"),  # final after final
    (Previous("ANX-A", status="final"), False, "ANX-A"),  # a draft previews the notice replacing the final
    (Previous("ANX-B", status="draft", in_force="ANX-A"), True, "ANX-A"),  # approved: the final in force
    (Previous("ANX-B", status="draft", in_force="ANX-A"), False, "ANX-A"),
    (Previous("ANX-B", status="draft"), True, None),  # drafts alone: the first final replaces nothing
    (Previous("ANX-B", status="draft"), False, "ANX-B"),  # a draft after drafts names the one before
    (Previous("ANX-A"), True, "ANX-A"),  # a manifest written before statuses: final, as it was read then
])
def test_the_annex_replaced_is_the_final_annex_in_force(previous, final, replaced):
    assert replaced_by_next(previous, final) == replaced


def test_a_draft_keeps_the_final_annex_in_force(registry):
    draft = resolve(dataclasses.replace(registry, status="draft"), make_contract("eu", ["mailer"]))
    final = resolve(dataclasses.replace(registry, status="final"), make_contract("eu", ["mailer"]))
    assert in_force_after(Previous("ANX-A", status="final"), draft) == "ANX-A"
    assert in_force_after(Previous("ANX-B", status="draft", in_force="ANX-A"), draft) == "ANX-A"
    assert in_force_after(Previous("ANX-B", status="draft"), draft) is None
    assert in_force_after(None, draft) is None
    assert in_force_after(Previous("ANX-A", status="final"), final) is None


def test_a_registry_change_taking_effect_later_is_the_notices_annex(registry):
    contract = make_contract("eu", ["mailer"])  # dated before the change takes effect
    changed = dataclasses.replace(registry, status="final", effective=contract.date + dt.timedelta(days=40))
    annex = resolve(changed, contract)
    previous = Previous("ANX-A", status="final")
    replacement = next_annex(changed, contract, annex, previous)
    assert (replacement.date, replacement.replaces, replacement.issued_by_notice) == (
        changed.effective, "ANX-A", True)
    # an edited contract is a new annex to sign, naming the one it replaces
    edited = next_annex(changed, contract, annex, previous, same_contract=False)
    assert (edited.date, edited.replaces, edited.issued_by_notice) == (contract.date, "ANX-A", False)
    # nothing changed, or nothing to replace: the annex as resolved
    assert next_annex(changed, contract, annex, previous._replace(content_hash=annex.content_hash())) is annex
    assert next_annex(changed, contract, annex, Previous("ANX-B", status="draft")) is annex
    assert next_annex(changed, contract, annex, None) is annex
