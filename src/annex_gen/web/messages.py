"""The library's messages in the page's language and the user's words.

A Diagnostic or an error carries a code and params (see annex_gen.errors); its text is the
catalog's `msg.<code>`, its params shown as a person reads them: product, region, option and
section names instead of ids, the field's label instead of a key path, dates, numbers and
byte sizes written the language's way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from annex_gen.counts import Counted
from annex_gen.errors import AnnexGenError, Diagnostic, InvalidInput
from annex_gen.model import Registry
from annex_gen.views.catalog import Catalog
from annex_gen.web.formats import Formats

# A diagnostic's key path and the form field (and catalog label, field.<name>) it is about.
FIELD_KEYS = (
    ("customer.id", "customer_id"), ("customer.name", "name"), ("customer.business_id", "business_id"),
    ("customer.contact_email", "contact_email"), ("contract.reference", "reference"), ("contract.date", "date"),
    ("contract.region", "region"), ("contract.language", "language"), ("contract.products", "products"),
    ("contract.options", "options"),
)


def field_of(diagnostic: Diagnostic) -> str:
    """The form field a diagnostic is about ('' for the file as a whole or a key no field shows)."""
    key = diagnostic.key
    if diagnostic.code == "key.missing":  # located at the mapping; it is about the key it misses
        key = f"{key}.{diagnostic.params.get('key')}" if key else str(diagnostic.params.get("key"))
    return next((name for path, name in FIELD_KEYS if key == path or key.startswith(path) and key[len(path)] in ".["),
                "")


class Messages:
    """Writes the library's messages for one page: its catalog, formats and the registry's names."""

    def __init__(self, catalog: Catalog, formats: Formats, registry: Registry | None) -> None:
        self.catalog, self.formats, self.registry = catalog, formats, registry

    # Names of the registry's things

    def _local(self, text: Mapping[str, str]) -> str:
        return text.get(self.formats.lang) or next(iter(text.values()))

    def name(self, kind: str, ident: str) -> str:
        """A product, region, option, section, entity, location, transfer basis or language by its name in this
        language; else the id."""
        reg = self.registry
        if kind == "language" and f"language.{ident}" in self.catalog:
            return self.catalog[f"language.{ident}"]
        if reg is None:
            return ident
        if kind == "product" and ident in reg.products:
            return reg.products[ident]
        if kind == "region" and ident in reg.regions:
            return self._local(reg.regions[ident].name)
        if kind == "option" and ident in reg.options:
            return self._local(reg.options[ident].name)
        if kind == "section":
            return next((self._local(s.title) for s in reg.sections if s.id == ident), ident)
        if kind == "entity" and ident in reg.entities:
            return reg.entities[ident].name
        if kind == "location" and ident in reg.locations:
            return self._local(reg.locations[ident].name)
        if kind == "transfer_basis" and ident in reg.transfer_bases:
            return self._local(reg.transfer_bases[ident].name)
        return ident

    def fact(self, key: str, label: str = "") -> str:
        """What a fact of the registry is (its key, as Fact.key), in this language: 'Cyclr: rekisteröity
        osoite', 'Siirtoperuste: …', 'Korjaus 3: …'; else its label (as the library writes it)."""
        cat, reg = self.catalog, self.registry
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "entities" and f"signoff.fact_kind.{parts[2]}" in cat:
            entity = reg.entities.get(parts[1]) if reg else None
            name = entity.name if entity else label.rsplit(": ", 1)[0] if ": " in label else parts[1]
            return f"{name}: {cat['signoff.fact_kind.' + parts[2]]}"
        if len(parts) == 2 and parts[0] == "transfer_bases":
            basis = reg.transfer_bases.get(parts[1]) if reg else None
            return cat.format("signoff.fact_record.transfer_basis",
                              name=self._local(basis.name) if basis else parts[1])
        if len(parts) == 3 and parts[0] == "regions" and parts[2] == "transfer_clause":
            return cat.format("signoff.fact_record.transfer_clause", region=self.name("region", parts[1]))
        if key == "notice.address":
            return cat["signoff.fact_record.objection_address"]
        if match := re.fullmatch(r"corrections\[(\d+)\]", key):  # where in the published list: the file's words
            return cat.format("signoff.fact_record.correction", number=int(match[1]) + 1,
                              at=label.split(": ", 1)[1] if ": " in label else "")
        return label or key

    def fact_value(self, key: str, value: str | None) -> str | None:
        """A fact's value in this language where the registry holds it in several (a transfer basis's name, a
        region's transfer clause); else as the fact states it."""
        parts, reg = key.split("."), self.registry
        if reg is not None and len(parts) == 2 and parts[0] == "transfer_bases" and parts[1] in reg.transfer_bases:
            return self._local(reg.transfer_bases[parts[1]].name)
        if reg is not None and len(parts) == 3 and parts[0] == "regions" and parts[2] == "transfer_clause":
            clause = reg.regions[parts[1]].transfer_clause if parts[1] in reg.regions else None
            return self._local(clause.text) if clause is not None else value
        return value

    # Params

    def _param(self, name: str, value: Any, params: Mapping[str, Any]) -> str:
        kind = {"product": "product", "products": "product", "region": "region", "option": "option",
                "options": "option", "section": "section", "sections": "section", "language": "language",
                "choices": params.get("kind", ""), "suggestion": params.get("kind", "")}.get(name, "")
        if name == "fact" and params.get("key"):
            return self.fact(str(params["key"]), str(value))
        if name == "value" and params.get("fact") and params.get("key"):
            return self.fact_value(str(params["key"]), str(value)) or ""
        if name in ("expected", "got"):
            return self.catalog.get(f"msg_part.kind.{value}", str(value))
        if isinstance(value, (list, tuple)):
            return self.formats.items([self._param(name, v, params) for v in value])
        if kind and isinstance(value, str):
            return self.name(kind, value)
        if name.endswith("bytes") and isinstance(value, int):
            return self.formats.size(value)
        if name == "at":
            return self.formats.when(value)
        if isinstance(value, dt.date):
            return self.formats.date(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.formats.number(value)
        return "" if value is None else str(value)

    def text(self, code: str, params: Mapping[str, Any], fallback: str, *, group: str = "msg") -> str:
        """The catalog's text of code with params filled; fallback (the English message) if it has none."""
        key = f"{group}.{code}"
        if not code or key not in self.catalog:
            return fallback
        shown: dict[str, Any] = {name: self._param(name, value, params) for name, value in params.items()}
        for name, value in params.items():
            if isinstance(value, int) and not isinstance(value, bool):
                shown[name] = Counted(value, shown[name])
        text = self.catalog[key].format_map(_Blank(shown))
        if params.get("suggestion"):
            text += self.catalog["msg_part.suggestion"].format(suggestion=shown["suggestion"])
        return text

    def party_detail(self, fact: Mapping[str, Any]) -> str:
        """One change of a sub-processor (PartyChange.facts) in the page's words: sections by name."""
        name = fact["field"]
        label = self.catalog.get(f"drift.field.{name}", name)
        kind = "section" if name == "sections" else ""

        def shown(value: Any) -> str:
            if isinstance(value, bool):
                return self.catalog[f"drift.{'yes' if value else 'no'}"]
            if isinstance(value, (list, tuple)):
                return self.formats.items([shown(v) for v in value])
            return self.name(kind, value) if kind else "—" if value is None else str(value)

        if "added" in fact:
            parts = [self.catalog.format(f"drift.{what}_items", items=shown(fact[what]))
                     for what in ("added", "removed") if fact[what]]
            return f"{label}: " + "; ".join(parts)
        return f"{label}: {shown(fact['old'])} → {shown(fact['new'])}"

    def annex_field(self, key: str) -> str:
        """A top-level field of an annex (status.other_changes) by its label, else its key."""
        return self.catalog.get(f"drift.annex_field.{key}", key)

    def signature_problem(self, problem: str | None) -> str:
        """Why a signature is broken (as pdfinfo writes it, stored in records) in the page's language."""
        from annex_gen.archive.pdfinfo import signature_problem_code  # pikepdf: only for pages with signatures

        code = signature_problem_code(problem or "")
        return self.text(code, {}, problem or "") if code else problem or ""

    # Whole messages

    def diagnostic(self, d: Diagnostic, *, located: bool = True, marked: bool = True) -> str:
        """One diagnostic: [file, field label: ]message, a warning marked as such (unless the page's heading
        says so, marked False)."""
        text = self.text(d.code, d.params, d.message)
        if d.severity == "warning" and marked:
            text = self.catalog.format("msg_part.warning", message=text)
        if not located:
            return text
        field = field_of(d)
        where = [d.file.rsplit("/", 1)[-1]] if d.file else []
        if field:
            where.append(self.catalog[f"field.{field}"])
        return self.catalog.format("msg_part.located", where=", ".join(where), message=text) if where else text

    def error(self, exc: BaseException) -> list[str]:
        """What an error says: each of its diagnostics, or its one message."""
        if isinstance(exc, InvalidInput):
            return [self.diagnostic(d) for d in exc.diagnostics]
        if isinstance(exc, AnnexGenError):
            return [self.text(exc.code, exc.params, str(exc))]
        return []


class _Blank(dict):
    """Format values where a missing placeholder is left empty rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return ""
