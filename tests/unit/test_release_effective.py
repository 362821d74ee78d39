"""When an approved release may take effect (signoff.releases.effective_refusal)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from annex_gen.signoff.releases import Release, effective_refusal

ON = dt.date(2026, 12, 7)


def _release(effective: dt.date | None, approved_on: dt.date = dt.date(2026, 11, 30)) -> Release:
    return Release(1, "2026.12.1", "d" * 64, "2026.12.1+dddddddd", "Laura Lakimies", approved_on, effective, 70)


def test_the_first_release_may_take_effect_the_day_it_is_approved():
    assert effective_refusal([], Path("registry"), None, ON, 30) is None
    assert effective_refusal([], Path("registry"), ON, ON, 30) is None


def test_a_later_release_needs_a_date_after_the_notice_period():
    needed = effective_refusal([_release(dt.date(2026, 12, 1))], Path("registry"), None, ON, 30)
    assert needed is not None and needed.code == "signoff.effective_needed"
    assert needed.params["earliest"] == "2027-01-06" and needed.file == str(Path("registry") / "registry.yaml")
    early = effective_refusal([_release(dt.date(2026, 12, 1))], Path("registry"), dt.date(2027, 1, 5), ON, 30)
    assert early is not None and early.code == "signoff.effective_early"
    assert "--effective 2027-01-05 is too early" in early.message
    assert "takes effect on 2027-01-06 or later" in early.message
    assert effective_refusal([_release(dt.date(2026, 12, 1))], Path("registry"), dt.date(2027, 1, 6), ON, 30) is None


def test_never_before_the_release_it_follows():
    follows = [_release(dt.date(2026, 11, 30)), _release(dt.date(2027, 3, 1))]
    early = effective_refusal(follows, Path("registry"), dt.date(2027, 2, 1), ON, 30)
    assert early is not None and early.params == {"label": "2026.12.1", "in_effect": "2027-03-01",
                                                  "earliest": "2027-03-01", "days": 30, "given": "2027-02-01"}
    assert effective_refusal(follows, Path("registry"), dt.date(2027, 3, 1), ON, 30) is None
    undated = [_release(None, approved_on=dt.date(2027, 2, 1))]  # no date set: in effect from its approval
    assert effective_refusal(undated, Path("registry"), None, ON, 30).params["in_effect"] == "2027-02-01"
