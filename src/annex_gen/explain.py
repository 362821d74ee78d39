"""Why each sub-processor is in an annex: the rule that brought in its section, and any option."""

from __future__ import annotations

from dataclasses import dataclass

from annex_gen.model import Annex, AnnexEntry, Registry


@dataclass(frozen=True)
class IncludedSection:
    """A section of the annex and the rule that includes it.

    kind is general (every customer in the region), shared_mta (used by the sections in
    `used_by`) or product (the contract's products in `products`).
    """

    id: str
    kind: str
    title: str
    region_name: str
    products: tuple[str, ...]
    used_by: tuple[str, ...]
    entries: tuple[AnnexEntry, ...]
    option_names: dict[str, str]

    def option_name(self, entry: AnnexEntry) -> str | None:
        """The name of the contract option that brought the entry in, if any."""
        return self.option_names.get(entry.option) if entry.option else None


def included_sections(registry: Registry, annex: Annex) -> list[IncludedSection]:
    """Every section of the annex, in print order, with why it is included (texts in the annex's language)."""
    by_id = {s.id: s for s in registry.sections}
    product_names = dict(annex.products)
    users = tuple(s.title for s in annex.sections if s.uses_shared_mta)
    out = []
    for section in annex.sections:
        source = by_id[section.id]
        out.append(IncludedSection(
            id=section.id, kind=section.kind, title=section.title, region_name=annex.region_name,
            products=tuple(product_names[p] for p in source.products if p in product_names)
            if section.kind == "product" else (),
            used_by=users if section.kind == "shared_mta" else (),
            entries=section.entries, option_names=dict(annex.option_names),
        ))
    return out
