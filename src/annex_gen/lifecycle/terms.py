"""The notice terms that set objection deadlines: one place to read them.

Today's default: a change is announced 30 days ahead and objections are made within 15 days
of the notice. Once the registry carries its own terms, `notice_terms` reads them from there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annex_gen.model import Contract

DEFAULT_PERIOD_DAYS = 30
DEFAULT_OBJECTION_DAYS = 15


@dataclass(frozen=True)
class NoticeTerms:
    """How far ahead a change is announced and how long a customer has to object."""

    period_days: int = DEFAULT_PERIOD_DAYS
    objection_days: int = DEFAULT_OBJECTION_DAYS

    def objection_deadline(self, notice_date: dt.date) -> dt.date:
        """The last day an objection to a notice given on notice_date is on time."""
        return notice_date + dt.timedelta(days=self.objection_days)

    def effective_date(self, notice_date: dt.date) -> dt.date:
        """The earliest day a change announced on notice_date takes effect."""
        return notice_date + dt.timedelta(days=self.period_days)


def notice_terms(registry: object | None = None, contract: Contract | None = None) -> NoticeTerms:
    """The notice terms in force for a customer: the contract's own where it has them, else the defaults
    (the registry's own terms once it carries them)."""
    default = NoticeTerms()
    own = contract.terms if contract is not None else None
    if own is None:
        return default
    return NoticeTerms(own.notice_period_days or default.period_days, own.objection_days or default.objection_days)
