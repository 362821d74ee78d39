"""Why each sub-processor is in an annex: the rule that brought in its section, and any option."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from annex_gen.model import Annex, AnnexEntry, AnnexSection, Registry


@dataclass(frozen=True)
class IncludedSection:
    """A section of the annex and the rule that includes it.

    kind is general (every customer in the region), shared_mta (used by the sections in
    `used_by`) or product (the contract's products in `products`). `locations` names each entry's
    location in the explanation's language.
    """

    id: str
    kind: str
    title: str
    region_name: str
    products: tuple[str, ...]
    used_by: tuple[str, ...]
    entries: tuple[AnnexEntry, ...]
    option_names: dict[str, str]
    locations: tuple[str, ...] = ()

    def option_name(self, entry: AnnexEntry) -> str | None:
        """The name of the contract option that brought the entry in, if any."""
        return self.option_names.get(entry.option) if entry.option else None


def included_sections(registry: Registry, annex: Annex, language: str | None = None) -> list[IncludedSection]:
    """Every section of the annex, in print order, with why it is included; its texts in language (the
    web interface's), by default the annex's."""
    lang = language or annex.language

    def local(text: Mapping[str, str]) -> str:
        return text.get(lang) or text.get(annex.language) or next(iter(text.values()))

    by_id = {s.id: s for s in registry.sections}
    product_names = dict(annex.products)

    def title(section: AnnexSection) -> str:  # as resolve.section_title heads it, in lang
        source = by_id.get(section.id)
        if source is None:  # an annex made from a registry that had it
            return section.title
        if section.kind != "product" or len(section.products) == len(source.products):
            return local(source.title)
        if not section.products:  # an annex that did not record its section's products: its own title
            return section.title
        from annex_gen.cldr import format_list

        return format_list([registry.products.get(pid, pid) for pid in section.products], lang)

    def location(section: AnnexSection, entry: AnnexEntry) -> str:
        for row in by_id[section.id].entries if section.id in by_id else ():
            place = registry.locations[row.location]
            if row.entity == entry.subprocessor and place.name.get(annex.language) == entry.location:
                return local(place.name)
        return entry.location

    region = registry.regions.get(annex.region)
    options = {oid: local(registry.options[oid].name) if oid in registry.options else name
               for oid, name in annex.option_names.items()}
    users = tuple(title(s) for s in annex.sections if s.uses_shared_mta)
    return [IncludedSection(
        id=section.id, kind=section.kind, title=title(section),
        region_name=local(region.name) if region else annex.region_name,
        products=tuple(product_names[p] for p in by_id[section.id].products if p in product_names)
        if section.kind == "product" and section.id in by_id else (),
        used_by=users if section.kind == "shared_mta" else (),
        entries=section.entries, option_names=options,
        locations=tuple(location(section, e) for e in section.entries),
    ) for section in annex.sections]
