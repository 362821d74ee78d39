"""A change notice as a job's JSON payload: read back, it renders the same bytes as the notice it came from."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.conftest import make_contract
from tests.unit.test_diff import NEW_MAILER_ENTRY, TWILIO_CMS, UPCLOUD_MTA, edited

from annex_gen.changes.impact import impact
from annex_gen.changes.notices import notice_of, notice_payload, plan_notices, render_notice


@pytest.mark.parametrize("engine", ["weasyprint", "typst"])
def test_a_notice_read_back_from_its_payload_renders_the_same_files(tmp_path, registry, engine):
    new = edited(
        tmp_path,
        ("sections.yaml", UPCLOUD_MTA, NEW_MAILER_ENTRY + UPCLOUD_MTA),  # a row added
        ("sections.yaml", TWILIO_CMS, ""),  # one removed
        ("entities.yaml", "name: Cyclr\n", "name: Cyclr Systems Ltd\n"),  # one changed
    )
    contracts = [make_contract("eu", ["mailer", "cms", "automation"], customer_id="fi-mailer"),
                 make_contract("eu", ["mailer", "cms", "automation"], language="en", customer_id="en-mailer",
                               options={"dedicated_mta": True})]
    report = impact(registry, new, contracts)
    notices, nothing = plan_notices(report, notice_date=dt.date(2026, 12, 1))
    assert len(notices) == 2 and nothing == []
    for notice in notices:
        payload = notice_payload(notice)
        json.loads(payload)  # plain JSON
        back = notice_of(payload)
        assert notice_payload(back) == payload
        assert back.to_json_bytes() == notice.to_json_bytes()
        assert {k for k in ("added", "removed", "changed") if back.impact.annex.of_kind(k)} == {
            "added", "removed", "changed"}
        assert render_notice(back, engine) == render_notice(notice, engine)


def test_a_customer_with_its_own_terms_gets_the_day_the_release_takes_effect(tmp_path, registry):
    import dataclasses

    from annex_gen.model.contract import ContractTerms

    new = edited(tmp_path, ("sections.yaml", UPCLOUD_MTA, NEW_MAILER_ENTRY + UPCLOUD_MTA))
    new = dataclasses.replace(new, effective=dt.date(2027, 3, 1))  # as legal approved it: later than any period
    own = dataclasses.replace(make_contract("eu", ["mailer"], customer_id="own"),
                              terms=ContractTerms(notice_period_days=45))
    report = impact(registry, new, [make_contract("eu", ["mailer"], customer_id="plain"), own])
    notices, _ = plan_notices(report, notice_date=dt.date(2026, 12, 1))
    assert {n.impact.customer_id: n.dates.effective_date for n in notices} == {
        "plain": dt.date(2027, 3, 1), "own": dt.date(2027, 3, 1)}
