"""Load and validate the registry directory (the transcribed sub-processor list)."""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from babel import Locale
from stdnum.eu import vat as eu_vat

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.hashing import sha256_json
from annex_gen.inputs.provenance import RECORD_KEYS, read_fact, read_record_fact, text_sources
from annex_gen.inputs.schema import ID_RE, Checker, describe, did_you_mean, kind_of, one_of
from annex_gen.inputs.yamlio import Document, load
from annex_gen.model import (
    EEA_COUNTRIES,
    SECTION_KINDS,
    TRANSFER_KINDS,
    Entity,
    Entry,
    IdentifierKind,
    LegalId,
    Location,
    NoticeTerms,
    Option,
    Purpose,
    Region,
    Registry,
    Section,
    SourcedText,
    TransferBasis,
)
from annex_gen.model.provenance import Fact, Source

MISSING_REGISTRY = (
    "registry directory not found; run annex-gen from the project directory or pass --registry DIR"
)
FILES = ("registry.yaml", "locations.yaml", "entities.yaml", "sections.yaml", "corrections.yaml")

_CRO_RE = re.compile(r"^[0-9]{5,6}$")
_UK_CRN_RE = re.compile(r"^(?:[0-9]{8}|[A-Z]{2}[0-9]{6})$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_OPTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_VAT_COUNTRY = {"EL": "GR", "XI": "GB"}
# What the published list's "updates and notices" paragraphs may quote from the notice terms.
_UPDATES_FIELDS = ("period_days", "objection_days")
# An entity's facts beyond the published list (each a fact with sources, see inputs.provenance).
ENTITY_FACTS = {"legal_name": "legal name", "registration": "registration", "country": "country of registration",
                "address": "registered address", "privacy_contact": "data-protection contact"}


def _digest(docs: dict[str, Document]) -> str:
    """SHA-256 over the parsed content (not the bytes), minus the release label."""
    content = {name: doc.data for name, doc in docs.items()}
    meta = dict(content["registry.yaml"] or {})
    meta.pop("release", None)
    content["registry.yaml"] = meta
    return sha256_json(content, compact=False)


def check_legal_id(kind: str, value: str, country: str | None) -> str | None:
    """Why a legal identifier is invalid, or None when it is valid."""
    if value != value.strip() or " " in value:
        return f"identifier {value!r} contains spaces"
    if kind == "vat":
        if not eu_vat.is_valid(value):
            return f"{value!r} is not a valid EU VAT number (format or checksum)"
        prefix = _VAT_COUNTRY.get(value[:2], value[:2])
        if country and prefix != country:
            return f"VAT number {value!r} belongs to {prefix}, but country is {country!r}"
    elif kind == "cro" and not _CRO_RE.match(value):
        return f"{value!r} is not an Irish CRO number (5 or 6 digits)"
    elif kind == "uk_crn" and not _UK_CRN_RE.match(value):
        return f"{value!r} is not a UK company number (8 digits, or 2 letters and 6 digits)"
    return None


def country_problem(code: str) -> str | None:
    """Why code is not an ISO 3166-1 alpha-2 country code that Babel names, or None."""
    if not _COUNTRY_RE.match(code):
        return f"expected an ISO 3166 country code such as FI, got {code!r}"
    if code not in Locale("en").territories:
        return f"unknown country code {code!r}; expected an ISO 3166-1 alpha-2 code such as FI"
    return None


class _RegistryReader:
    # An object whose id is valid is kept even when its content is not (with placeholder
    # values), so references to it are not also reported as unknown. Any error aborts the
    # load before a Registry is built, so no placeholder ever leaves the reader.

    def __init__(self, docs: dict[str, Document]) -> None:
        self.docs = docs
        self.diagnostics: list[Diagnostic] = []
        self.entity_facts: dict[str, dict[str, Fact]] = {}
        self.record_facts: dict[str, Fact] = {}  # transfer bases and corrections, by label

    def checker(self, name: str) -> Checker:
        return Checker(self.docs[name], self.diagnostics)

    def read(self) -> Registry:
        meta = self.checker("registry.yaml")
        top = meta.mapping(
            (),
            required=["release", "published_list", "company", "languages", "regions", "products", "notice"],
            optional=["options", "identifier_kinds", "transfer_bases", "dpa_annex", "effective"],
        ) or {}
        languages = self._languages(meta)
        release = meta.text_line(("release",)) or ""
        listing = meta.mapping(("published_list",), required=["title", "source", "retrieved"],
                               optional=["language", "introduction", "updates", "address"])
        list_title = meta.text(("published_list", "title"), languages) if listing else None
        introduction = self._paragraphs(meta, ("published_list", "introduction"), languages, ())
        updates = self._paragraphs(meta, ("published_list", "updates"), languages, _UPDATES_FIELDS)
        list_source = meta.text_line(("published_list", "source")) if listing else None
        retrieved = meta.date(("published_list", "retrieved")) if listing else None
        list_address = self._address(meta) if listing else None
        effective = meta.date(("effective",)) if top.get("effective") is not None else None
        if effective and retrieved and effective < retrieved:
            meta.error(("effective",), f"the release takes effect on {effective.isoformat()}, before its list was "
                       f"retrieved ({retrieved.isoformat()}); expected {retrieved.isoformat()} or later")
        company = meta.mapping(("company",), required=["name"])
        company_name = meta.text_line(("company", "name")) if company else None

        products = self._products(meta)
        options = self._options(meta, languages) if "options" in top else {}
        kinds = self._identifier_kinds(meta, languages) if "identifier_kinds" in top else {}
        regions = self._regions(meta, languages, products)
        notice = self._notice(meta, languages)
        bases = self._transfer_bases(meta, languages) if "transfer_bases" in top else {}
        annex_title = {}
        if "dpa_annex" in top and meta.mapping(("dpa_annex",), required=["title"]):
            annex_title = meta.text(("dpa_annex", "title"), languages) or {}
        locations = self._locations(languages)
        entities = self._entities(kinds)
        sections = self._sections(languages, regions, products, options, locations, entities, bases)
        corrections = self._corrections(list_source)
        self._cross_checks(meta, regions, products, sections)
        self._unknown_details(entities, sections)
        facts = self._printed_facts(entities, sections)

        if any(d.severity == "error" for d in self.diagnostics):
            raise InvalidInput([d for d in self.diagnostics if d.severity == "error"])
        assert list_title and list_source and retrieved and company_name and notice
        return Registry(
            release=release,
            digest=_digest(self.docs),
            languages=languages,
            company_name=company_name,
            list_title=list_title,
            list_source=list_source,
            list_retrieved=retrieved,
            regions=regions,
            products=products,
            options=options,
            identifier_kinds=kinds,
            locations=locations,
            entities=entities,
            sections=sections,
            notice=notice,
            corrections=corrections,
            transfer_bases=bases,
            annex_title=annex_title,
            list_address=list_address,
            effective=effective,
            warnings=tuple(d for d in self.diagnostics if d.severity != "error"),
            facts=facts,

            list_introduction=introduction,
            list_updates=updates,
        )

    def _languages(self, c: Checker) -> tuple[str, ...]:
        value = c.typed(("languages",), list)
        langs: list[str] = []
        for i, _ in enumerate(value or []):
            lang = c.typed(("languages", i), str)
            if lang is None:
                continue
            if not re.match(r"^[a-z]{2}$", lang):
                c.error(("languages", i), f"{lang!r} is not a two-letter language code", code="registry.language_code",
                        params={"value": lang})
            elif lang in langs:
                c.error(("languages", i), f"language {lang!r} is listed twice", code="registry.twice",
                        params={"value": lang})
            else:
                langs.append(lang)
        if not langs:
            c.error(("languages",), "at least one language is required", code="registry.no_language")
            return ("fi",)
        return tuple(langs)

    def _paragraphs(self, c: Checker, path: tuple, langs: tuple[str, ...],
                    fields: tuple[str, ...]) -> tuple[dict[str, str], ...]:
        """Optional translated paragraphs; {placeholders} only from fields."""
        out = []
        for i, _ in enumerate(c.typed(path, list, optional=True) or []):
            text = c.text((*path, i), langs)
            if not text:
                continue
            for lang, paragraph in text.items():
                try:
                    used = {name for _, name, _, _ in string.Formatter().parse(paragraph) if name is not None}
                except ValueError as exc:
                    c.error((*path, i, lang), f"malformed {{placeholder}}: {exc}; write {{{{ and }}}} for braces",
                            code="registry.placeholder")
                    continue
                unknown = sorted(used - set(fields))
                if unknown:
                    allowed = ", ".join("{" + f + "}" for f in fields) or "none"
                    c.error((*path, i, lang), f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}",
                            code="registry.placeholder")
            out.append(text)
        return tuple(out)

    def _ids(self, c: Checker, path: tuple[str, ...], pattern: re.Pattern = ID_RE) -> dict[str, Any]:
        """A mapping keyed by ids; bad ids are reported and skipped."""
        value = c.mapping(path, free=True) or {}
        out = {}
        for key, item in value.items():
            if pattern.match(key):
                out[key] = item
            else:
                c.error((*path, key), f"{key!r} is not a valid id; expected the form {pattern.pattern}",
                        code="value.bad_id", params={"value": key})
        return out

    def _products(self, c: Checker) -> dict[str, str]:
        out = {}
        for pid in self._ids(c, ("products",)):
            if c.mapping(("products", pid), required=["name"]):
                name = c.text_line(("products", pid, "name"))
                out[pid] = name or ""
        return out

    def _options(self, c: Checker, langs: tuple[str, ...]) -> dict[str, Option]:
        out = {}
        for oid in self._ids(c, ("options",), _OPTION_RE):
            if c.mapping(("options", oid), required=["name", "description"]):
                name = c.text(("options", oid, "name"), langs)
                desc = c.text(("options", oid, "description"), langs)
                out[oid] = Option(oid, name or {}, desc or {})
        return out

    def _identifier_kinds(self, c: Checker, langs: tuple[str, ...]) -> dict[str, IdentifierKind]:
        out = {}
        for kid in c.mapping(("identifier_kinds",), free=True) or {}:
            if c.mapping(("identifier_kinds", kid), required=["name", "prefix"]):
                name = c.text(("identifier_kinds", kid, "name"), langs)
                prefix = c.typed(("identifier_kinds", kid, "prefix"), str)
                out[kid] = IdentifierKind(kid, name or {}, prefix or "")
        return out

    def _regions(self, c: Checker, langs: tuple[str, ...], products: dict[str, str]) -> dict[str, Region]:
        out = {}
        for rid in self._ids(c, ("regions",)):
            path = ("regions", rid)
            if not c.mapping(path, required=["name", "heading", "products"], optional=["transfer_clause"]):
                continue
            name = c.text((*path, "name"), langs)
            heading = c.text((*path, "heading"), langs)
            offered = []
            for i, _ in enumerate(c.typed((*path, "products"), list) or []):
                pid = c.choice((*path, "products", i), products, "product")
                if pid in offered:
                    c.error((*path, "products", i), f"product {pid!r} is listed twice", code="registry.twice",
                            params={"value": pid})
                elif pid:
                    offered.append(pid)
            clause = self._sourced_text(c, (*path, "transfer_clause"), f"transfer clause {rid}", langs,
                                        ("company",), optional=True)
            out[rid] = Region(rid, name or {}, heading or {}, tuple(offered), clause)
        return out

    def _transfer_bases(self, c: Checker, langs: tuple[str, ...]) -> dict[str, TransferBasis]:
        out = {}
        for bid in self._ids(c, ("transfer_bases",)):
            path = ("transfer_bases", bid)
            if not c.mapping(path, required=["kind", "name", "source"], optional=["module", "decision", *RECORD_KEYS]):
                continue
            kind = c.choice((*path, "kind"), TRANSFER_KINDS, "transfer basis kind")
            name = c.text((*path, "name"), langs)
            source = c.text_line((*path, "source"), max_len=2000)
            module = c.typed((*path, "module"), int, optional=True)
            decision = c.text_line((*path, "decision"), optional=True)
            if kind == "scc" and module not in (1, 2, 3, 4):
                c.error((*path, "module"), "the Standard Contractual Clauses 2021/914 need a module from 1 to 4",
                        code="registry.scc_module")
            if kind == "adequacy" and not decision:
                c.error(path, "an adequacy decision needs `decision`, e.g. \"(EU) 2023/1795\"",
                        code="registry.adequacy_decision")
            sources = text_sources(c, (*path, "sources"), optional=True)
            if kind and name and source:
                out[bid] = TransferBasis(bid, kind, name, source, module, decision, sources)
                label = f"transfer basis {bid}"
                self.record_facts[label] = read_record_fact(c, path, label, name.get("en") or next(iter(name.values())),
                                                            (Source("registry.yaml", None, source),), sources)
        return out

    def _notice(self, c: Checker, langs: tuple[str, ...]) -> NoticeTerms | None:
        path = ("notice",)
        if not c.mapping(path, required=["period_days", "objection_days", "channels", "objection"],
                         optional=["resolution_days", "address", "unresolved"]):
            return None
        days = {}
        for key in ("period_days", "objection_days", "resolution_days"):
            value = c.typed((*path, key), int, optional=key == "resolution_days")
            if key == "resolution_days" and value is None:
                value = 0
            elif value is not None and not (0 if key == "resolution_days" else 1) <= value <= 365:
                c.error((*path, key), f"expected a number of days from 1 to 365, got {value}", code="registry.days",
                        params={"value": value})
            days[key] = value
        if None not in days.values() and days["objection_days"] + days["resolution_days"] > days["period_days"]:
            c.error((*path, "resolution_days"),
                    f"objections within {days['objection_days']} days of a notice given {days['period_days']} days "
                    f"ahead cannot end {days['resolution_days']} days before the change takes effect; expected "
                    f"objection_days + resolution_days <= period_days")
        channels = c.text((*path, "channels"), langs)
        objection = c.text((*path, "objection"), langs)
        address = self._sourced_text(c, (*path, "address"), "objection address", langs, (), optional=True)
        unresolved = self._sourced_text(c, (*path, "unresolved"), "unresolved objection", langs, ("company",),
                                        optional=True)
        if None in days.values() or not channels or not objection:
            return None
        return NoticeTerms(days["period_days"], days["objection_days"], channels, objection,
                           days["resolution_days"], address, unresolved)

    def _address(self, c: Checker) -> str | None:
        """published_list.address: where the list is published, an https URL."""
        path = ("published_list", "address")
        address = c.text_line(path, optional=True, max_len=500)
        if address and not re.match(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", address):
            c.error(path, f"expected the https address of the published list, got {address!r}")
            return None
        if address is None:
            c.warn(("published_list",), "no `address`: the annexes' source line cannot say where the list is "
                   "published; add published_list.address (https://...)", code="registry.no_list_address")
        return address

    def _sourced_text(self, c: Checker, path: tuple, label: str, langs: tuple[str, ...], fields: tuple[str, ...],
                      *, optional: bool = False) -> SourcedText | None:
        """A registry text beyond the published list: {fi: ..., en: ..., sources: [...]}; {placeholders} from fields."""
        if optional and c.get(path) is None:
            return None
        text = c.text(path, langs, extra=list(RECORD_KEYS))
        sources = text_sources(c, (*path, "sources"))
        if text:
            self.record_facts[label] = read_record_fact(c, path, label, text.get("en") or next(iter(text.values())),
                                                        sources=sources)
        if not text:
            return None
        for lang, value in text.items():
            try:
                used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
            except ValueError as exc:
                c.error((*path, lang), f"malformed {{placeholder}}: {exc}; write {{{{ and }}}} for braces")
                continue
            if unknown := sorted(used - set(fields)):
                allowed = ", ".join("{" + f + "}" for f in fields) or "none"
                c.error((*path, lang), f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}")
        return SourcedText(text, tuple(sources))

    def _locations(self, langs: tuple[str, ...]) -> dict[str, Location]:
        c = self.checker("locations.yaml")
        c.mapping((), required=["locations"])
        out = {}
        for lid in self._ids(c, ("locations",)):
            path = ("locations", lid)
            if not c.mapping(path, required=["name", "eea"]):
                continue
            name = c.text((*path, "name"), langs)
            eea = c.typed((*path, "eea"), bool)
            out[lid] = Location(lid, name or {}, bool(eea))
        return out

    def _entities(self, kinds: dict[str, IdentifierKind]) -> dict[str, Entity]:
        c = self.checker("entities.yaml")
        c.mapping((), required=["entities"])
        out: dict[str, Entity] = {}
        seen_names: dict[str, str] = {}
        seen_ids: dict[str, str] = {}
        for eid in self._ids(c, ("entities",)):
            path = ("entities", eid)
            if not c.mapping(path, required=["name"], optional=["legal_id", "brand", *ENTITY_FACTS]):
                continue
            name = c.text_line((*path, "name"))
            brand = c.typed((*path, "brand"), bool, optional=True) or False
            facts = {key: read_fact(c, (*path, key), f"{name or eid}: {label}",
                                    check_value=country_problem if key == "country" else None)
                     for key, label in ENTITY_FACTS.items()}
            self.entity_facts[eid] = {k: f for k, f in facts.items() if f is not None}
            value = {k: (f.value if f else None) for k, f in facts.items()}
            country = value["country"]
            if brand and facts["legal_name"] is None:
                c.error((*path, "brand"), "a brand needs `legal_name`: the contracting entity, or its "
                        "`candidates` for legal to choose from", code="registry.brand_legal_name",
                        params={"entity": eid})
            legal_id = None
            if c.get((*path, "legal_id")) is not None and c.mapping((*path, "legal_id"), required=["kind", "value"]):
                kind = c.choice((*path, "legal_id", "kind"), kinds, "identifier kind")
                id_value = c.text_line((*path, "legal_id", "value"))
                if kind and id_value:
                    problem = check_legal_id(kind, id_value, country)
                    if problem:
                        c.error((*path, "legal_id", "value"), problem, code="registry.legal_id",
                                params={"value": id_value})
                    legal_id = LegalId(kind, id_value)
            if name:
                folded = name.casefold()
                if folded in seen_names:
                    c.error((*path, "name"), f"entity {name!r} is already defined as {seen_names[folded]!r}",
                            code="registry.entity_twice", params={"value": name, "other": seen_names[folded]})
                seen_names[folded] = eid
            out[eid] = Entity(eid, name or "", legal_id, country, value["address"], value["privacy_contact"],
                              value["legal_name"], value["registration"], brand)
            if legal_id:
                key = f"{legal_id.kind}:{legal_id.value}"
                if key in seen_ids:
                    c.error((*path, "legal_id"), f"identifier {legal_id.value} is already used by {seen_ids[key]!r}",
                            code="registry.legal_id_twice", params={"value": legal_id.value, "other": seen_ids[key]})
                seen_ids[key] = eid
        return out

    def _sections(self, langs, regions, products, options, locations, entities, bases) -> tuple[Section, ...]:
        c = self.checker("sections.yaml")
        c.mapping((), required=["sections"])
        out: list[Section] = []
        ids: dict[str, int] = {}
        for i, _ in enumerate(c.typed(("sections",), list) or []):
            path: tuple = ("sections", i)
            if not c.mapping(path, required=["id", "kind", "title", "entries"],
                             optional=["region", "products", "note", "uses_shared_mta"]):
                continue
            sid = c.ident((*path, "id"))
            if sid in ids:
                c.error((*path, "id"), f"duplicate section id {sid!r} (also sections[{ids[sid]}])",
                        code="registry.twice",
                        params={"value": sid})
            elif sid:
                ids[sid] = i
            kind = c.choice((*path, "kind"), SECTION_KINDS, "section kind")
            title = c.text((*path, "title"), langs)
            note = c.text((*path, "note"), langs) if c.get((*path, "note")) is not None else None
            region = c.choice((*path, "region"), regions, "region", optional=True)
            if kind in ("general", "product") and c.get((*path, "region")) is None:
                c.error(path, f"a {kind} section needs a region", code="registry.section_region")
            if kind in ("shared_mta", "customer_register") and c.get((*path, "region")) is not None:
                c.error((*path, "region"), f"a {kind} section applies to every region; remove region",
                        code="registry.section_every_region")
            sec_products: list[str] = []
            if kind == "product":
                for j, _ in enumerate(c.typed((*path, "products"), list) or []):
                    pid = c.choice((*path, "products", j), products, "product")
                    if pid and region in regions and pid not in regions[region].products:
                        c.error((*path, "products", j), f"product {pid!r} is not offered in region {region!r}",
                                code="registry.not_offered", params={"product": pid, "region": region})
                    if pid:
                        sec_products.append(pid)
            elif c.get((*path, "products")) is not None:
                c.error((*path, "products"), "only product sections list products", code="registry.section_products")
            uses_mta = c.typed((*path, "uses_shared_mta"), bool, optional=True) or False
            entries = self._entries(c, (*path, "entries"), langs, options, locations, entities, bases,
                                    required_transfer=kind != "customer_register")
            if sid and kind:
                out.append(Section(sid, kind, title or {}, tuple(entries), region, tuple(sec_products), note, uses_mta))
        return tuple(out)

    def _entries(self, c: Checker, path: tuple, langs, options, locations, entities, bases,
                 *, required_transfer: bool) -> list[Entry]:
        out: list[Entry] = []
        seen: dict[tuple, int] = {}
        for i, _ in enumerate(c.typed(path, list) or []):
            epath = (*path, i)
            if not c.mapping(epath, required=["entity", "location", "purpose"], optional=["option", "transfer"]):
                continue
            entity = c.choice((*epath, "entity"), entities, "entity")
            location = c.choice((*epath, "location"), locations, "location")
            transfer = c.choice((*epath, "transfer"), bases, "transfer basis", optional=True)
            # a transfer by location (servers outside the EU/EEA) or by entity (registered outside it)
            country = entities[entity].country if entity in entities else None
            by_entity = country is not None and country not in EEA_COUNTRIES
            by_location = location in locations and not locations[location].eea
            why = (f"location {location!r} is outside the EU/EEA" if by_location else
                   f"entity {entity!r} is registered outside the EU/EEA ({country}), although {location!r} is inside")
            if (by_location or by_entity) and c.get((*epath, "transfer")) is None:
                # the customer register is Liana's own processing, listed for information only
                report = c.error if required_transfer else c.warn
                where = "" if required_transfer else " (customer register, listed for information)"
                report(epath, f"{why}: name its transfer basis{where} "
                       f"(transfer: one of {', '.join(bases) or 'the ids in registry.yaml transfer_bases'})",
                       code="registry.transfer_missing" if by_location else "registry.transfer_missing_entity",
                       params={"location": location, "entity": entity, "country": country})
            elif location in locations and entity in entities and not (by_location or by_entity) and transfer:
                c.error((*epath, "transfer"), f"location {location!r} lies in the EU/EEA and the entity is registered "
                        "there: no transfer basis applies", code="registry.transfer_inside",
                        params={"location": location})
            option = c.choice((*epath, "option"), options, "option", optional=True)
            purpose = self._purpose(c, (*epath, "purpose"), langs)
            key = (entity, location, option)
            if entity and key in seen:
                c.error((*epath, "entity"), f"entity {entity!r} is listed twice in this section "
                        f"(also entries[{seen[key]}])", code="registry.twice", params={"value": entity})
            seen[key] = i
            if entity and location and purpose:
                out.append(Entry(entity, location, purpose, option, transfer))
        return out

    def _purpose(self, c: Checker, path: tuple, langs) -> Purpose | None:
        text = c.text(path, langs, extra=["items"])
        items = []
        for i, _ in enumerate(c.typed((*path, "items"), list, optional=True) or []):
            item = c.text((*path, "items", i), langs)
            if item:
                items.append(item)
        return Purpose(text, tuple(items)) if text else None

    def _corrections(self, list_source: str | None) -> tuple[dict[str, str], ...]:
        c = self.checker("corrections.yaml")
        c.mapping((), required=["corrections"])
        out = []
        for i, _ in enumerate(c.typed(("corrections",), list) or []):
            keys = ("at", "published", "registry", "why")
            if c.mapping(("corrections", i), required=keys, optional=["text", *RECORD_KEYS]):
                fields = {k: c.text_line(("corrections", i, k), max_len=2000) for k in keys}
                out.append({k: v or "" for k, v in fields.items()})
                self._correction_text(c, ("corrections", i, "text"))
                # the published list is every correction's first source: its words are `published`
                listed = Source(list_source or "the published list", fields["published"], fields["why"])
                label = f"correction {i + 1}: {fields['at'] or ''}"
                self.record_facts[label] = read_record_fact(c, ("corrections", i), label, fields["registry"],
                                                            (listed,))
        return tuple(out)

    def _unknown_details(self, entities: dict[str, Entity], sections: tuple[Section, ...]) -> None:
        """Warn about each detail an annex's summary of legal entities (SCC Annex III) lacks, one per field."""
        c = self.checker("entities.yaml")
        used = {e.entity for s in sections if s.kind != "customer_register" for e in s.entries}
        for eid in sorted(used & set(entities)):
            entity = entities[eid]
            if entity.brand and entity.legal_name is None:
                c.warn(("entities", eid, "legal_name"), f"{entity.name!r} is a brand: legal must name the "
                       "contracting entity (choose one of the candidates: annex-gen facts confirm "
                       f"entities.{eid}.legal_name --value NAME)", code="registry.brand_unnamed",
                       params={"entity": entity.name, "id": eid})
            annex3 = ("(SCC 2021/914 Annex III, 2021/915 Annex IV): record it with its source; the annex prints "
                      "nothing for it")
            if entity.country is None:
                c.warn(("entities", eid, "country"), f"country of registration of {entity.name} unknown {annex3}",
                       code="registry.country_unknown", params={"entity": entity.name})
            if entity.address is None:
                c.warn(("entities", eid, "address"), f"registered address of {entity.name} unknown {annex3}",
                       code="registry.address_unknown", params={"entity": entity.name})
            if entity.privacy_contact is None:
                c.warn(("entities", eid, "privacy_contact"),
                       f"data-protection contact of {entity.name} unknown {annex3}",
                       code="registry.contact_unknown", params={"entity": entity.name})

    def _printed_facts(self, entities: dict[str, Entity], sections: tuple[Section, ...]) -> tuple[Fact, ...]:
        """Every fact with whether an annex prints it: an annex's entities' details, the transfer bases
        its entries name, the regional transfer clauses and notice terms beyond the published list, every
        correction."""
        summarised = {e.entity for s in sections if s.kind != "customer_register" for e in s.entries}
        bases = {f"transfer basis {e.transfer}" for s in sections for e in s.entries if e.transfer}
        out = []
        for eid, facts in self.entity_facts.items():
            for key, fact in facts.items():
                printed = eid in summarised and (key != "registration" or entities[eid].legal_id is None)
                out.append(replace(fact, printed=printed))
        for label, fact in self.record_facts.items():
            printed = label in bases or not label.startswith("transfer basis ")
            out.append(replace(fact, printed=printed))
        return tuple(out)

    def _correction_text(self, c: Checker, path: tuple) -> None:
        """`text`: the literal replacements that turn the published text into the page's text."""
        for j, _ in enumerate(c.typed(path, list, optional=True) or []):
            if c.mapping((*path, j), required=["published", "registry"]):
                published = c.typed((*path, j, "published"), str)
                c.typed((*path, j, "registry"), str)
                if published == "":
                    c.error((*path, j, "published"), "must not be empty", code="value.empty")

    def _cross_checks(self, c: Checker, regions, products, sections) -> None:
        offered = {pid for r in regions.values() for pid in r.products}
        for pid in products:
            if pid not in offered:
                c.error(("products", pid), f"product {pid!r} is offered in no region",
                        code="registry.product_unoffered",
                        params={"product": pid})
        covered = Counter()
        for s in sections:
            if s.kind == "general" and s.region:
                covered[(s.region, "*general*")] += 1
            for pid in s.products:
                covered[(s.region, pid)] += 1
        for rid, region in regions.items():
            if covered[(rid, "*general*")] != 1:
                c.error(("regions", rid), f"region {rid!r} needs exactly one general section, "
                        f"found {covered[(rid, '*general*')]}", code="registry.general_sections",
                        params={"region": rid, "found": covered[(rid, "*general*")]})
            for pid in region.products:
                if covered[(rid, pid)] != 1:
                    c.error(("regions", rid, "products"),
                            f"product {pid!r} in region {rid!r} needs exactly one product section, "
                            f"found {covered[(rid, pid)]}", code="registry.product_sections",
                            params={"product": pid, "region": rid, "found": covered[(rid, pid)]})
        kinds = Counter(s.kind for s in sections)
        sc = self.checker("sections.yaml")
        for kind in ("shared_mta", "customer_register"):
            if kinds[kind] != 1:
                sc.error(("sections",), f"expected exactly one {kind} section, found {kinds[kind]}",
                         code="registry.section_count", params={"kind": kind, "found": kinds[kind]})


_TOP_KEYS = {
    "registry.yaml": "release, published_list, company, languages, regions, products, notice, ...",
    "locations.yaml": "locations", "entities.yaml": "entities", "sections.yaml": "sections",
    "corrections.yaml": "corrections",
}


def load_registry(directory: Path) -> Registry:
    """Load the registry directory; raise InvalidInput with every problem of every file."""
    docs: dict[str, Document] = {}
    diagnostics: list[Diagnostic] = []
    if not directory.is_dir():
        raise InvalidInput([Diagnostic(str(directory), None, None, "", MISSING_REGISTRY, code="registry.missing")])
    for name in FILES:
        try:
            docs[name] = load(directory / name)
        except InvalidInput as exc:
            diagnostics.extend(exc.diagnostics)
    # A file that is not a mapping at all is the one root cause: reading on would bury it under
    # every key the other files then fail to find.
    for name, doc in docs.items():
        if not isinstance(doc.data, dict):
            diagnostics.append(doc.diag((), f"the file holds {describe(doc.data)}, expected a mapping of keys "
                                            f"({_TOP_KEYS[name]})", code="value.type",
                                        params={"expected": "mapping", "got": kind_of(doc.data)}))
    if diagnostics:
        raise InvalidInput(diagnostics)
    return _RegistryReader(docs).read()


__all__ = ["FILES", "check_legal_id", "did_you_mean", "load_registry", "one_of"]
