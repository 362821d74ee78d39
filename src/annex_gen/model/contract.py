"""A customer's contract: who, where, which products and options."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Exclusion:
    """A sub-processor not used for this customer, as agreed (e.g. after an objection), and since when."""

    entity: str
    from_date: dt.date
    note: str | None = None


@dataclass(frozen=True)
class ContractTerms:
    """A contract's own change terms, where its DPA departs from the registry's (None: the registry's)."""

    notice_period_days: int | None = None
    objection_days: int | None = None
    exclusions: tuple[Exclusion, ...] = ()

    @property
    def excluded(self) -> frozenset[str]:
        """The entities this customer's annexes leave out (every annex of the contract, once agreed)."""
        return frozenset(e.entity for e in self.exclusions)


@dataclass(frozen=True)
class Contract:
    """A customer's contract metadata: who, where, which products and options."""

    customer_id: str
    customer_name: str
    date: dt.date
    region: str
    language: str
    products: tuple[str, ...]
    options: Mapping[str, bool] = field(default_factory=dict)
    business_id: str | None = None
    contact_email: str | None = None
    reference: str | None = None
    source: str = ""
    replaces: str | None = None  # the document ID of the annex this one replaces
    by_notice: bool = False  # the annex replaces `replaces` under the change procedure (a notice), unsigned
    terms: ContractTerms | None = None  # its own notice terms and exclusions, if any
