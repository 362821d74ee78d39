"""The resolved annex: plain strings in the contract's language, the single source every output renders."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

from annex_gen.hashing import canonical_json, sha256_text

SCHEMA = "annex-gen/annex/3"
# Every schema an archived annex.json may carry: signed annexes of schemas 1 and 2 exist.
READABLE_SCHEMAS = ("annex-gen/annex/1", "annex-gen/annex/2", SCHEMA)
DRAFT, FINAL = "draft", "final"

# Provenance is not content: an annex whose content is unchanged stays valid under a newer registry.
PROVENANCE = ("document_id", "registry_version", "published_list")


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
    transfer_basis: str | None = None  # id in the registry's transfer_bases (schema 2)
    transfer: str | None = None  # its wording in the annex language
    registered_outside_eea: bool = False  # the entity is registered outside the EU/EEA: a transfer (schema 3)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "subprocessor": self.subprocessor,
            "name": self.name,
            "legal_id": self.legal_id,
            "country": self.country,
            "location": self.location,
            "outside_eea": self.outside_eea,
            "registered_outside_eea": self.registered_outside_eea,
            "transfer_basis": self.transfer_basis,
            "transfer": self.transfer,
            "purpose": self.purpose,
            "purpose_items": list(self.purpose_items),
            "option": self.option,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnnexEntry:
        """A row read back from its JSON form."""
        return _entry_from_dict(data)


@dataclass(frozen=True)
class AnnexSection:
    """One table of the annex."""

    id: str
    kind: str
    title: str
    note: str | None
    uses_shared_mta: bool
    entries: tuple[AnnexEntry, ...]
    products: tuple[str, ...] = ()  # the customer's products a product section covers (schema 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "products": list(self.products),
            "note": self.note,
            "uses_shared_mta": self.uses_shared_mta,
            "entries": [e.to_dict() for e in self.entries],
        }

    # Kept on the object: the annexes of one region, products and language share their sections.
    @cached_property
    def canonical(self) -> str:
        """canonical_json(self.to_dict())."""
        return canonical_json(self.to_dict())

    @cached_property
    def register_canonical(self) -> str:
        """canonical_json of the annex's customer_register list, when this is that section."""
        return canonical_json(register_rows(self))


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
    transfers: tuple[str, ...] = ()  # the transfer bases' wording, for processing outside the EU/EEA
    address: str | None = None  # registered address, only where a recorded public source confirms it
    privacy_contact: str | None = None  # data-protection contact point, likewise
    # schema 3: the registered name (for a brand: the contracting entity) and a register number the
    # published list lacks; brand marks a published name that is not a legal entity
    legal_name: str | None = None
    registration: str | None = None
    brand: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "name": self.name,
            "legal_name": self.legal_name,
            "brand": self.brand,
            "legal_id": self.legal_id,
            "registration": self.registration,
            "country": self.country,
            "address": self.address,
            "privacy_contact": self.privacy_contact,
            "locations": list(self.locations),
            "outside_eea": self.outside_eea,
            "transfers": list(self.transfers),
            "sections": list(self.sections),
        }

    @cached_property
    def canonical(self) -> str:
        """canonical_json(self.to_dict())."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class Annex:
    """The resolved annex of one contract: the single source every output renders."""

    ATTACHMENT: ClassVar[str] = "annex.json"

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
    # schema 2; defaults keep annexes of schema 1 loadable
    annex_title: str = ""
    replaces: str | None = None
    # schema 3
    issued_by_notice: bool = False  # a replacement issued under the change procedure: no signature
    objection_resolution_days: int = 0
    objection_address: str = ""
    objection_unresolved: str = ""
    transfer_clause: str | None = None  # the region's own law on transfers out of it
    list_address: str | None = None
    list_release: str = ""
    # schema 3: "final" when made from a registry release legal approved, else "draft" (not for signature)
    status: str = DRAFT

    @property
    def issued(self) -> dt.date:
        """The date the annex is dated: the contract's."""
        return self.date

    def content(self) -> dict[str, Any]:
        """The annex's content: its JSON form without provenance."""
        return {k: v for k, v in self.to_dict().items() if k not in PROVENANCE}

    def content_hash(self) -> str:
        """SHA-256 of the content; equal hashes print the same annex apart from provenance."""
        return sha256_text(self.canonical_json(without=PROVENANCE))

    def canonical_json(self, without: Iterable[str] = ()) -> str:
        """canonical_json(self.to_dict()) without the top-level keys named, from kept fragments."""
        skip = set(without)
        return "{" + ",".join(member for key, member in self._canonical_members if key not in skip) + "}"

    def with_document_id(self, document_id: str) -> Annex:
        """This annex with its document ID set, keeping the fragments already serialised."""
        annex = replace(self, document_id=document_id)
        member = f"{canonical_json('document_id')}:{canonical_json(document_id)}"
        annex.__dict__["_canonical_members"] = [
            (key, member if key == "document_id" else m) for key, m in self._canonical_members]
        return annex

    @cached_property
    def _canonical_members(self) -> list[tuple[str, str]]:
        """(key, '"key":value') in key order; the sections', parties' and register's JSON kept on them."""
        empty = AnnexSection(self.customer_register.id, "customer_register", self.customer_register.title,
                             self.customer_register.note, False, ())
        values = {k: canonical_json(v) for k, v in
                  replace(self, sections=(), subprocessors=(), customer_register=empty).to_dict().items()}
        values["sections"] = "[" + ",".join(s.canonical for s in self.sections) + "]"
        values["subprocessors"] = "[" + ",".join(p.canonical for p in self.subprocessors) + "]"
        values["customer_register"] = self.customer_register.register_canonical
        return [(k, f"{canonical_json(k)}:{values[k]}") for k in sorted(values)]

    def to_json_bytes(self) -> bytes:
        """The JSON exactly as `annex-gen resolve` prints it and the documents embed it."""
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON interface (`annex-gen resolve`, the embedded annex.json)."""
        return {
            "schema": SCHEMA,
            "status": self.status,
            "document_id": self.document_id,
            "customer": {
                "id": self.customer_id,
                "name": self.customer_name,
                "business_id": self.business_id,
            },
            "contract": {"reference": self.reference, "date": self.date.isoformat(), "replaces": self.replaces,
                         "issued_by_notice": self.issued_by_notice},
            "annex_title": self.annex_title,
            "region": self.region,
            "region_name": self.region_name,
            "language": self.language,
            "products": [{"id": pid, "name": name} for pid, name in self.products],
            "options": dict(sorted(self.options.items())),
            "option_names": dict(sorted(self.option_names.items())),
            "registry_version": self.registry_version,
            "published_list": {"title": self.list_title, "retrieved": self.list_retrieved.isoformat(),
                               "address": self.list_address, "release": self.list_release},
            "company": self.company_name,
            "notice_period_days": self.notice_period_days,
            "objection_period_days": self.objection_period_days,
            "notice_channels": self.notice_channels,
            "objection_manner": self.objection_manner,
            "objection_resolution_days": self.objection_resolution_days,
            "objection_address": self.objection_address,
            "objection_unresolved": self.objection_unresolved,
            "transfer_clause": self.transfer_clause,
            "sections": [s.to_dict() for s in self.sections],
            "subprocessors": [p.to_dict() for p in self.subprocessors],
            "customer_register": register_rows(self.customer_register),
            "customer_register_title": self.customer_register.title,
            "customer_register_note": self.customer_register.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, customer_register_id: str = "customer-register") -> Annex:
        """An annex read back from its JSON (e.g. archived annex.json), tolerant of missing and extra keys.

        Every schema version `annex-gen/annex/N` is read: keys a later version adds are ignored,
        keys an earlier one lacks take empty values. The customer register's section id is not
        in the JSON; give the one the annex is compared with.
        """
        customer = _mapping(data.get("customer"))
        contract = _mapping(data.get("contract"))
        published = _mapping(data.get("published_list"))
        return cls(
            document_id=str(data.get("document_id") or ""),
            customer_id=str(customer.get("id") or ""),
            customer_name=str(customer.get("name") or ""),
            business_id=customer.get("business_id"),
            reference=contract.get("reference"),
            date=_date(contract.get("date")),
            region=str(data.get("region") or ""),
            region_name=str(data.get("region_name") or ""),
            language=str(data.get("language") or ""),
            products=tuple((str(p.get("id")), str(p.get("name"))) for p in _mappings(data.get("products"))),
            options={str(k): bool(v) for k, v in _mapping(data.get("options")).items()},
            registry_version=str(data.get("registry_version") or ""),
            list_title=str(published.get("title") or ""),
            list_retrieved=_date(published.get("retrieved")),
            option_names={str(k): str(v) for k, v in _mapping(data.get("option_names")).items()},
            company_name=str(data.get("company") or ""),
            notice_period_days=int(data.get("notice_period_days") or 0),
            objection_period_days=int(data.get("objection_period_days") or 0),
            notice_channels=str(data.get("notice_channels") or ""),
            objection_manner=str(data.get("objection_manner") or ""),
            sections=tuple(_section_from_dict(s) for s in _mappings(data.get("sections"))),
            subprocessors=tuple(
                AnnexParty(
                    id=str(p.get("id") or ""),
                    name=str(p.get("name") or ""),
                    legal_id=str(p.get("legal_id") or ""),
                    country=p.get("country"),
                    locations=tuple(str(x) for x in p.get("locations") or ()),
                    outside_eea=bool(p.get("outside_eea")),
                    sections=tuple(str(x) for x in p.get("sections") or ()),
                    transfers=tuple(str(x) for x in p.get("transfers") or ()),
                    address=p.get("address"),
                    privacy_contact=p.get("privacy_contact"),
                    legal_name=p.get("legal_name"),
                    registration=p.get("registration"),
                    brand=bool(p.get("brand")),
                )
                for p in _mappings(data.get("subprocessors"))
            ),
            customer_register=AnnexSection(
                id=customer_register_id,
                kind="customer_register",
                title=str(data.get("customer_register_title") or ""),
                note=data.get("customer_register_note"),
                uses_shared_mta=False,
                entries=tuple(_entry_from_dict({**e, "subprocessor": e.get("id")})
                              for e in _mappings(data.get("customer_register"))),
            ),
            annex_title=str(data.get("annex_title") or ""),
            replaces=contract.get("replaces"),
            issued_by_notice=bool(contract.get("issued_by_notice")),
            objection_resolution_days=int(data.get("objection_resolution_days") or 0),
            objection_address=str(data.get("objection_address") or ""),
            objection_unresolved=str(data.get("objection_unresolved") or ""),
            transfer_clause=data.get("transfer_clause"),
            list_address=published.get("address"),
            list_release=str(published.get("release") or ""),
            # an annex of schema 1 or 2 was made before drafts were marked: it reads as it was signed
            status=DRAFT if data.get("status") == DRAFT else FINAL,
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return dt.date.min  # unknown: compares unequal to any real date


def _entry_from_dict(e: Mapping[str, Any]) -> AnnexEntry:
    return AnnexEntry(
        subprocessor=str(e.get("subprocessor") or ""),
        name=str(e.get("name") or ""),
        legal_id=str(e.get("legal_id") or ""),
        location=str(e.get("location") or ""),
        outside_eea=bool(e.get("outside_eea")),
        purpose=str(e.get("purpose") or ""),
        purpose_items=tuple(str(x) for x in e.get("purpose_items") or ()),
        option=e.get("option"),
        country=e.get("country"),
        transfer_basis=e.get("transfer_basis"),
        transfer=e.get("transfer"),
        registered_outside_eea=bool(e.get("registered_outside_eea")),
    )


def _section_from_dict(s: Mapping[str, Any]) -> AnnexSection:
    return AnnexSection(
        id=str(s.get("id") or ""),
        kind=str(s.get("kind") or ""),
        title=str(s.get("title") or ""),
        note=s.get("note"),
        uses_shared_mta=bool(s.get("uses_shared_mta")),
        entries=tuple(_entry_from_dict(e) for e in _mappings(s.get("entries"))),
        products=tuple(str(x) for x in s.get("products") or ()),
    )


def register_rows(section: AnnexSection) -> list[dict[str, Any]]:
    """The customer register's rows as the annex JSON has them."""
    return [
        {
            "id": e.subprocessor,
            "name": e.name,
            "legal_id": e.legal_id,
            "country": e.country,
            "location": e.location,
            "outside_eea": e.outside_eea,
            "registered_outside_eea": e.registered_outside_eea,
            "transfer_basis": e.transfer_basis,
            "transfer": e.transfer,
            "purpose": e.purpose,
        }
        for e in section.entries
    ]
