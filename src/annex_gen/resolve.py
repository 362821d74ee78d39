"""resolve(registry, contract) -> Annex: which sub-processors one customer's annex lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from annex_gen.errors import ResolutionError
from annex_gen.hashing import sha256_json, sha256_text
from annex_gen.model import Annex, AnnexEntry, AnnexParty, AnnexSection, Contract, Registry, Section


def included_sections(registry: Registry, contract: Contract) -> list[Section]:
    """The region's general section, the shared MTA where used, then the products' sections."""
    general = [s for s in registry.sections if s.kind == "general" and s.region == contract.region]
    products = [
        s for s in registry.sections
        if s.kind == "product" and s.region == contract.region and set(s.products) & set(contract.products)
    ]
    mta = [s for s in registry.sections if s.kind == "shared_mta"]
    uses_mta = any(s.uses_shared_mta for s in general + products)
    return general + (mta if uses_mta else []) + products


def option_has_effect(registry: Registry, region: str, products: tuple[str, ...], option: str) -> bool:
    """Whether some entry gated by option applies to this region and these products."""
    for section in registry.sections:
        if section.region not in (None, region):
            continue
        if section.kind == "product" and not set(section.products) & set(products):
            continue
        if any(entry.option == option for entry in section.entries):
            return True
    return False


def _check(registry: Registry, contract: Contract) -> None:
    region = registry.regions.get(contract.region)
    if region is None:
        raise ResolutionError(f"unknown region {contract.region!r}", code="resolve.region",
                              params={"value": contract.region})
    if contract.language not in registry.languages:
        raise ResolutionError(f"unknown language {contract.language!r}", code="resolve.language",
                              params={"value": contract.language})
    if not contract.products:
        raise ResolutionError("the contract lists no products", code="resolve.no_products")
    for pid in contract.products:
        if pid not in region.products:
            raise ResolutionError(f"product {pid!r} is not offered in region {contract.region!r}",
                                  code="resolve.not_offered", params={"product": pid, "region": contract.region})
    for oid in contract.options:
        if oid not in registry.options:
            raise ResolutionError(f"unknown option {oid!r}", code="resolve.option", params={"value": oid})


# Babel locale of each annex language: British English writes "31 December 2026" and "a, b and c".


def section_title(registry: Registry, section: Section, contract: Contract) -> str:
    """A shared product section is headed by the products this customer has, when not all of them."""
    lang = contract.language
    mine = [pid for pid in section.products if pid in contract.products]
    if section.kind != "product" or len(mine) == len(section.products):
        return section.title[lang]
    from annex_gen.cldr import format_list

    return format_list([registry.products[pid] for pid in mine], lang)


def _section(registry: Registry, section: Section, contract: Contract) -> AnnexSection:
    lang = contract.language
    entries: list[AnnexEntry] = []
    seen: set[tuple] = set()
    for entry in section.entries:
        if entry.option and not contract.options.get(entry.option, False):
            continue
        entity = registry.entities[entry.entity]
        location = registry.locations[entry.location]
        basis = registry.transfer_bases.get(entry.transfer) if entry.transfer else None
        row = AnnexEntry(
            subprocessor=entity.id,
            name=entity.name,
            legal_id=registry.format_legal_id(entity.legal_id),
            location=location.name[lang],
            outside_eea=not location.eea,
            registered_outside_eea=registry.outside_eea(entity.id, entry.location) and location.eea,
            purpose=entry.purpose.text[lang],
            purpose_items=tuple(item[lang] for item in entry.purpose.items),
            option=entry.option,
            country=entity.country,
            transfer_basis=basis.id if basis else None,
            transfer=basis.name[lang] if basis else None,
        )
        key = (row.subprocessor, row.location, row.purpose, row.purpose_items)
        if key not in seen:
            seen.add(key)
            entries.append(row)
    return AnnexSection(
        id=section.id,
        kind=section.kind,
        title=section_title(registry, section, contract),
        note=section.note[lang] if section.note else None,
        uses_shared_mta=section.uses_shared_mta,
        entries=tuple(entries),
        products=tuple(pid for pid in section.products if pid in contract.products),
    )


def _parties(registry: Registry, sections: list[AnnexSection]) -> tuple[AnnexParty, ...]:
    parties: dict[str, AnnexParty] = {}
    for section in sections:
        for e in section.entries:
            p = parties.get(e.subprocessor)
            transfer = (e.transfer,) if e.transfer else ()
            if p is None:
                entity = registry.entities[e.subprocessor]
                parties[e.subprocessor] = AnnexParty(
                    e.subprocessor, e.name, e.legal_id, e.country, (e.location,),
                    e.outside_eea or e.registered_outside_eea, (section.id,),
                    transfers=transfer, address=entity.address, privacy_contact=entity.privacy_contact,
                    legal_name=entity.legal_name, brand=entity.brand,
                    registration=entity.registration if entity.legal_id is None else None,
                )
                continue
            parties[e.subprocessor] = replace(
                p,
                locations=p.locations + ((e.location,) if e.location not in p.locations else ()),
                outside_eea=p.outside_eea or e.outside_eea or e.registered_outside_eea,
                sections=p.sections + ((section.id,) if section.id not in p.sections else ()),
                transfers=p.transfers + tuple(t for t in transfer if t not in p.transfers),
            )
    return tuple(parties.values())


def document_id(content: dict) -> str:
    """A short ID of the exact resolved content, e.g. ANX-3F9A-2C1D-77B0-12EF."""
    body = {k: v for k, v in content.items() if k != "document_id"}
    return _short_id(sha256_json(body))


def _short_id(digest: str) -> str:
    digest = digest[:16].upper()
    return "ANX-" + "-".join(digest[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class _Shared:
    """What an annex takes from the registry alone, for one region, language, products and options."""

    sections: tuple[AnnexSection, ...]
    subprocessors: tuple[AnnexParty, ...]
    customer_register: AnnexSection
    products: tuple[tuple[str, str], ...]
    options: Mapping[str, bool]
    option_names: Mapping[str, str]


def _shared(registry: Registry, contract: Contract) -> _Shared:
    """Worked out once per registry and footprint: a batch has thousands of contracts and few footprints."""
    chosen = frozenset(oid for oid, on in contract.options.items() if on)
    key = (contract.region, contract.language, frozenset(contract.products), chosen)
    shared = registry.resolved.get(key)
    if shared is None:
        sections = [_section(registry, s, contract) for s in included_sections(registry, contract)]
        sections = [s for s in sections if s.entries]
        register = next(s for s in registry.sections if s.kind == "customer_register")
        order = registry.regions[contract.region].products
        effective = [oid for oid in registry.options
                     if option_has_effect(registry, contract.region, contract.products, oid)]
        shared = registry.resolved[key] = _Shared(
            sections=tuple(sections),
            subprocessors=_parties(registry, sections),
            customer_register=_section(registry, register, contract),
            products=tuple((pid, registry.products[pid]) for pid in order if pid in contract.products),
            # an option that changes nothing for these products is not part of the annex at all: neither
            # claimed nor named, so renaming or adding one leaves other customers' annexes as they are
            options={oid: oid in chosen for oid in effective},
            option_names={oid: registry.options[oid].name[contract.language] for oid in effective},
        )
    return shared


def resolve(registry: Registry, contract: Contract) -> Annex:
    """The annex for one contract: no I/O, and the same annex for the same inputs (the registry keeps what
    it works out per footprint, see _shared)."""
    _check(registry, contract)
    lang = contract.language
    shared = _shared(registry, contract)
    notice = registry.notice
    clause = registry.regions[contract.region].transfer_clause
    terms = contract.terms
    sections, parties = shared.sections, shared.subprocessors
    excluded = terms.excluded if terms else frozenset()
    if excluded:  # agreed for this customer: the sub-processor is not used for them from a date
        kept = (replace(s, entries=tuple(e for e in s.entries if e.subprocessor not in excluded))
                for s in sections)
        sections = tuple(s for s in kept if s.entries)
        parties = _parties(registry, list(sections))
    annex = Annex(
        document_id="",
        customer_id=contract.customer_id,
        customer_name=contract.customer_name,
        business_id=contract.business_id,
        reference=contract.reference,
        date=contract.date,
        region=contract.region,
        region_name=registry.regions[contract.region].name[lang],
        language=lang,
        products=shared.products,
        options=shared.options,
        registry_version=registry.version,
        list_title=registry.list_title[lang],
        list_retrieved=registry.list_retrieved,
        option_names=shared.option_names,
        company_name=registry.company_name,
        notice_period_days=(terms and terms.notice_period_days) or notice.period_days,
        objection_period_days=(terms and terms.objection_days) or notice.objection_days,
        notice_channels=notice.channels[lang],
        objection_manner=notice.objection[lang],
        sections=sections,
        subprocessors=parties,
        customer_register=shared.customer_register,
        annex_title=registry.annex_title.get(lang, ""),
        replaces=contract.replaces,
        issued_by_notice=contract.by_notice and contract.replaces is not None,
        objection_resolution_days=notice.resolution_days,
        objection_address=notice.address.text[lang] if notice.address else "",
        objection_unresolved=(notice.unresolved.text[lang].format(company=registry.company_name)
                              if notice.unresolved else ""),
        transfer_clause=clause.text[lang].format(company=registry.company_name) if clause else None,
        list_address=registry.list_address,
        list_release=registry.release,
        status=registry.status,
    )
    return annex.with_document_id(_short_id(sha256_text(annex.canonical_json(without=("document_id",)))))


def resolve_replacement(registry: Registry, contract: Contract, replaces: str, effective: dt.date) -> Annex:
    """The annex that replaces `replaces` under the change procedure: dated the day the change takes effect,
    issued with a notice, unsigned. A batch and a notice make it alike, so both give the same document ID."""
    return resolve(registry, replace(contract, date=effective, replaces=replaces, by_notice=True))


# The annex after another: what a batch writes when a customer's annex changes

def replaced_by_next(previous: Any, final: bool) -> str | None:
    """The document ID the next annex names as the one it replaces, after the customer's last generated
    annex `previous` (a record with document_id, and status and in_force where known).

    A final annex replaces the final annex in force; a draft was never in force, so a final annex after
    drafts alone replaces nothing. A draft previews the notice: it names the final annex in force, else
    the draft before it. A record without a status (written before statuses were kept) counts as final."""
    if getattr(previous, "status", None) != "draft":
        return previous.document_id
    in_force = getattr(previous, "in_force", None)
    if in_force:
        return in_force
    return None if final else previous.document_id


def in_force_after(previous: Any, annex: Annex) -> str | None:
    """The final annex still in force once the draft `annex` is written after `previous` (None for a final):
    the one a final annex in its place would replace."""
    if annex.status != "draft" or previous is None:
        return None
    return replaced_by_next(previous, final=True)


def next_annex(registry: Registry, contract: Contract, annex: Annex, previous: Any,
               same_contract: bool = True) -> Annex:
    """The annex a batch writes for the contract (resolved as `annex`) after `previous`, its last (or None).

    When the annex changed, it names the annex it replaces (replaced_by_next). When only the registry
    changed (same_contract) and the change takes effect after the contract's date (the registry's
    `effective`, as legal approved it), it is the annex the change notice issues, dated that day
    (resolve_replacement): a batch and a notice give the same document ID."""
    if previous is None or contract.replaces is not None or previous.content_hash == annex.content_hash():
        return annex
    replaces = replaced_by_next(previous, annex.status == "final")
    if replaces is None:
        return annex
    if same_contract and registry.effective and registry.effective > contract.date:
        return resolve_replacement(registry, contract, replaces, registry.effective)
    return resolve(registry, replace(contract, replaces=replaces))
