"""A customer's contract: who, where, which products and options."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


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
