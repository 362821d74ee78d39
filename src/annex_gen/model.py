"""The data model: the registry as loaded, a customer's contract, and the resolved annex.

Everything here is immutable. `Text` values hold one string per registry language; the
resolved `Annex` holds plain strings in the contract's language, so every renderer (JSON,
HTML/PDF, DOCX) reads the same words from one place.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Text = Mapping[str, str]

SECTION_KINDS = ("general", "product", "shared_mta", "customer_register")


@dataclass(frozen=True)
class LegalId:
    """A published identifier of a legal entity, e.g. a VAT number or a CRO number."""

    kind: str
    value: str


@dataclass(frozen=True)
class Entity:
    """A legal entity (company) that the published list names."""

    id: str
    name: str
    legal_id: LegalId | None = None
    country: str | None = None


@dataclass(frozen=True)
class Location:
    """A processing location as the list names it; eea says if it lies wholly in the EU/EEA."""

    id: str
    name: Text
    eea: bool


@dataclass(frozen=True)
class Purpose:
    """What the sub-processor does with the data; items are an optional bulleted list."""

    text: Text
    items: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One row of a section: an entity, where it processes and for what."""

    entity: str
    location: str
    purpose: Purpose
    option: str | None = None


@dataclass(frozen=True)
class Section:
    """A table of the published list and the rule for when it applies."""

    id: str
    kind: str
    title: Text
    entries: tuple[Entry, ...]
    region: str | None = None
    products: tuple[str, ...] = ()
    note: Text | None = None
    uses_shared_mta: bool = False


@dataclass(frozen=True)
class Region:
    """A region the products are sold in, and the products offered there."""

    id: str
    name: Text
    heading: Text
    products: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    """A contract option that switches option-gated entries on."""

    id: str
    name: Text
    description: Text


@dataclass(frozen=True)
class IdentifierKind:
    """A kind of legal identifier and how it is printed."""

    id: str
    name: Text
    prefix: str


@dataclass(frozen=True)
class NoticeTerms:
    """The change-notification terms of the published list."""

    period_days: int
    objection_days: int
    channels: Text
    objection: Text


@dataclass(frozen=True)
class Registry:
    """The published sub-processor list, transcribed, corrected and validated."""

    release: str
    digest: str
    languages: tuple[str, ...]
    company_name: str
    list_title: Text
    list_source: str
    list_retrieved: dt.date
    regions: Mapping[str, Region]
    products: Mapping[str, str]
    options: Mapping[str, Option]
    identifier_kinds: Mapping[str, IdentifierKind]
    locations: Mapping[str, Location]
    entities: Mapping[str, Entity]
    sections: tuple[Section, ...]
    notice: NoticeTerms
    corrections: tuple[Mapping[str, str], ...] = ()

    @property
    def version(self) -> str:
        """Release plus content digest: changes whenever any content changes."""
        return f"{self.release}+{self.digest[:8]}"

    def format_legal_id(self, legal_id: LegalId | None) -> str:
        """The identifier as printed, e.g. 'CRO 706654'."""
        if legal_id is None:
            return ""
        return f"{self.identifier_kinds[legal_id.kind].prefix}{legal_id.value}"


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


# The resolved annex: plain strings in the contract's language.


@dataclass(frozen=True)
class AnnexEntry:
    """One row of an annex table."""

    subprocessor: str
    name: str
    legal_id: str
    location: str
    outside_eea: bool
    purpose: str
    purpose_items: tuple[str, ...] = ()
    option: str | None = None
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "subprocessor": self.subprocessor,
            "name": self.name,
            "legal_id": self.legal_id,
            "country": self.country,
            "location": self.location,
            "outside_eea": self.outside_eea,
            "purpose": self.purpose,
            "purpose_items": list(self.purpose_items),
            "option": self.option,
        }


@dataclass(frozen=True)
class AnnexSection:
    """One table of the annex."""

    id: str
    kind: str
    title: str
    note: str | None
    uses_shared_mta: bool
    entries: tuple[AnnexEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "note": self.note,
            "uses_shared_mta": self.uses_shared_mta,
            "entries": [e.to_dict() for e in self.entries],
        }


@dataclass(frozen=True)
class AnnexParty:
    """A distinct legal entity in the annex, with where it processes and in which sections."""

    id: str
    name: str
    legal_id: str
    country: str | None
    locations: tuple[str, ...]
    outside_eea: bool
    sections: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "name": self.name,
            "legal_id": self.legal_id,
            "country": self.country,
            "locations": list(self.locations),
            "outside_eea": self.outside_eea,
            "sections": list(self.sections),
        }


@dataclass(frozen=True)
class Annex:
    """The resolved annex of one contract: the single source every output renders."""

    document_id: str
    customer_id: str
    customer_name: str
    business_id: str | None
    reference: str | None
    date: dt.date
    region: str
    region_name: str
    language: str
    products: tuple[tuple[str, str], ...]
    options: Mapping[str, bool]
    registry_version: str
    list_title: str
    list_retrieved: dt.date
    option_names: Mapping[str, str]
    company_name: str
    notice_period_days: int
    objection_period_days: int
    notice_channels: str
    objection_manner: str
    sections: tuple[AnnexSection, ...]
    subprocessors: tuple[AnnexParty, ...]
    customer_register: AnnexSection

    def to_json_bytes(self) -> bytes:
        """The JSON exactly as `annex-gen resolve` prints it and the documents embed it."""
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON interface (`annex-gen resolve`, the embedded annex.json)."""
        return {
            "schema": "annex-gen/annex/1",
            "document_id": self.document_id,
            "customer": {
                "id": self.customer_id,
                "name": self.customer_name,
                "business_id": self.business_id,
            },
            "contract": {"reference": self.reference, "date": self.date.isoformat()},
            "region": self.region,
            "region_name": self.region_name,
            "language": self.language,
            "products": [{"id": pid, "name": name} for pid, name in self.products],
            "options": dict(sorted(self.options.items())),
            "option_names": dict(sorted(self.option_names.items())),
            "registry_version": self.registry_version,
            "published_list": {"title": self.list_title, "retrieved": self.list_retrieved.isoformat()},
            "company": self.company_name,
            "notice_period_days": self.notice_period_days,
            "objection_period_days": self.objection_period_days,
            "notice_channels": self.notice_channels,
            "objection_manner": self.objection_manner,
            "sections": [s.to_dict() for s in self.sections],
            "subprocessors": [p.to_dict() for p in self.subprocessors],
            "customer_register": [
                {
                    "id": e.subprocessor,
                    "name": e.name,
                    "legal_id": e.legal_id,
                    "country": e.country,
                    "location": e.location,
                    "outside_eea": e.outside_eea,
                    "purpose": e.purpose,
                }
                for e in self.customer_register.entries
            ],
            "customer_register_title": self.customer_register.title,
            "customer_register_note": self.customer_register.note,
        }
