"""The registry as loaded: the published sub-processor list, transcribed, corrected and validated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from annex_gen.model.provenance import Fact, Source

Text = Mapping[str, str]

SECTION_KINDS = ("general", "product", "shared_mta", "customer_register")

# ISO 3166-1 alpha-2 codes of the EU member states and the other EEA states (Iceland, Liechtenstein, Norway).
EEA_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split())


@dataclass(frozen=True)
class SourcedText:
    """A text the registry holds beyond the published list, with where it comes from (`sources`)."""

    text: Mapping[str, str]
    sources: tuple[Source, ...] = ()


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
    address: str | None = None
    privacy_contact: str | None = None
    legal_name: str | None = None  # the registered name, where it differs from or adds to the published one
    registration: str | None = None  # a company-register number, where the published list gives none
    brand: bool = False  # the published name is a brand: legal must name the contracting entity (legal_name)


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
    transfer: str | None = None


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
    # what the law of the region says of transfers out of it (e.g. UAE, Hong Kong), printed in its annexes
    transfer_clause: SourcedText | None = None


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


TRANSFER_KINDS = ("adequacy", "dpf", "scc", "bcr")


@dataclass(frozen=True)
class TransferBasis:
    """The legal basis of a transfer outside the EU/EEA: adequacy, EU-US DPF, SCC module or BCR."""

    id: str
    kind: str
    name: Text
    source: str
    module: int | None = None
    decision: str | None = None
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class NoticeTerms:
    """The change procedure: notice period, objection period, where to object and what an open objection leads to.

    A notice is given period_days before the change takes effect; the customer may object within
    objection_days of it, and the objection period ends resolution_days before the effective
    date, so that an objection can be resolved before the change.
    """

    period_days: int
    objection_days: int
    channels: Text
    objection: Text
    resolution_days: int = 0
    address: SourcedText | None = None  # where an objection is sent
    unresolved: SourcedText | None = None  # what happens to an objection not resolved by the effective date


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
    transfer_bases: Mapping[str, TransferBasis] = field(default_factory=dict)
    annex_title: Text = field(default_factory=dict)
    list_address: str | None = None  # where the published list is published (https URL)
    effective: dt.date | None = None  # the date this release takes effect, set by legal
    # what the registry lacks but may still print without (e.g. unknown addresses); check reports them
    warnings: tuple = ()
    # every fact printed beyond the published list, with its sources and confirmation (model.provenance)
    facts: tuple[Fact, ...] = ()
    # "final" when this content is a release legal approved (set by the caller from the archive), else "draft"
    status: str = "draft"
    effective_approved: bool = False  # `effective` is the day legal set in the approval (app.with_status)

    # The published list's own words around the tables: paragraphs, in order. The updates
    # paragraphs may quote the notice terms as {period_days} and {objection_days}.
    list_introduction: tuple[Text, ...] = ()
    list_updates: tuple[Text, ...] = ()
    # what resolve works out once per region, language, products and options (never copied by replace())
    resolved: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def version(self) -> str:
        """Release plus content digest: changes whenever any content changes."""
        return f"{self.release}+{self.digest[:8]}"

    def outside_eea(self, entity_id: str, location_id: str) -> bool:
        """A transfer: the location lies outside the EU/EEA, or the entity is registered outside it."""
        country = self.entities[entity_id].country
        return not self.locations[location_id].eea or (country is not None and country not in EEA_COUNTRIES)

    def format_legal_id(self, legal_id: LegalId | None) -> str:
        """The identifier as printed, e.g. 'CRO 706654'."""
        if legal_id is None:
            return ""
        return f"{self.identifier_kinds[legal_id.kind].prefix}{legal_id.value}"
