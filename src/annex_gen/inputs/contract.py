"""Load and validate a customer's contract metadata against the registry."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.fonts import describe_char, missing_glyphs
from annex_gen.imports import with_modules_on_first_use
from annex_gen.inputs.files import MAX_CONTRACT_BYTES, read_text
from annex_gen.inputs.schema import Checker, one_of, shown
from annex_gen.inputs.yamlio import Document, parse_text
from annex_gen.model import Contract, ContractTerms, Exclusion, Registry
from annex_gen.resolve import option_has_effect

# The one limit on a customer's name: every renderer prints a name this long (DOCX properties are shortened).
MAX_NAME_CHARS = 300
_EMAIL_RE = re.compile(r"^[^\s@<>\"(),;:\[\]\\]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+$")
_UAE_TRN_RE = re.compile(r"^100[0-9]{12}$")
_HK_BR_RE = re.compile(r"^[0-9]{8}$")


_DOCUMENT_ID_RE = re.compile(r"^ANX-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$")


def business_id_kind(value: str) -> str:
    """Which kind of identifier a valid business ID is: ytunnus, vat, uae_trn or hk_br."""
    if re.match(r"^[0-9]{7}-[0-9]$", value):
        return "ytunnus"
    if _UAE_TRN_RE.match(value):
        return "uae_trn"
    if _HK_BR_RE.match(value):
        return "hk_br"
    return "vat"


def business_id_problem(value: str) -> str | None:
    """Why a business ID is not valid, or None: EU VAT, Finnish Y-tunnus, UAE TRN or HK BR."""
    found = _business_id_problem(value)
    return found[1] if found else None


def finnish_check_digit_ok(digits: str) -> bool:
    """The Y-tunnus check (also the Finnish VAT number's): 8 digits, weighted sum divisible by 11.

    What stdnum.fi.ytunnus checks, here so that the common Finnish contract does not import
    stdnum (and, through it, ssl and pydoc) at every start; tests/unit/test_business_id.py
    compares the two.
    """
    return sum(w * int(d) for w, d in zip((7, 9, 10, 5, 8, 4, 2, 1), digits, strict=True)) % 11 == 0


def _eu_vat() -> Any:
    """stdnum's EU VAT module. stdnum imports ssl and pydoc for its online checks and its
    documentation, most of its import time: they are imported on first use instead."""
    return with_modules_on_first_use("stdnum.eu.vat", ("ssl", "pydoc"))


def _business_id_problem(value: str) -> tuple[str, str] | None:
    """The code and message of what is wrong with a business ID, or None."""
    if re.match(r"^[0-9]{7}-[0-9]$", value):
        return None if finnish_check_digit_ok(value.replace("-", "")) else (
            "customer.business_id.check_digit", f"{value!r} is not a valid Finnish business ID (check digit)")
    if re.match(r"^FI[0-9]{8}$", value):
        return None if finnish_check_digit_ok(value[2:]) else (
            "customer.business_id.vat", f"{value!r} is not a valid EU VAT number (format or check digit)")
    if re.match(r"^[A-Z]{2}", value):
        eu_vat = _eu_vat()

        if value[:2].lower() in eu_vat.MEMBER_STATES or value[:2] in ("EL", "XI"):
            return None if eu_vat.is_valid(value) else (
                "customer.business_id.vat", f"{value!r} is not a valid EU VAT number (format or check digit)")
    if _UAE_TRN_RE.match(value) or _HK_BR_RE.match(value):
        return None
    return ("customer.business_id.unknown",
            f"{value!r} is not a recognised business ID; expected an EU VAT number (FI12345671), "
            "a Finnish business ID (1234567-1), a UAE TRN (15 digits) or a Hong Kong BR number (8 digits)")


def _warn_missing_glyphs(c: Checker, path: tuple[str, ...], text: str) -> None:
    """A warning naming every character no bundled font has (it would print as an empty box)."""
    missing = missing_glyphs(text)
    if missing:
        names = ", ".join(describe_char(ch) for ch in missing[:5]) + (" ..." if len(missing) > 5 else "")
        c.warn(path, f"no bundled font has {names}; the PDF would show an empty box or a machine-dependent glyph",
               code="value.missing_glyphs", params={"chars": [describe_char(ch) for ch in missing[:5]]})


def date_problem(registry: Registry, date: dt.date) -> str | None:
    """Why an annex may not carry this date (before the list it reflects was retrieved), or None."""
    if date >= registry.list_retrieved:
        return None
    return (f"the annex is dated {date.isoformat()}, before the published list it reflects was retrieved "
            f"({registry.list_retrieved.isoformat()}); date it {registry.list_retrieved.isoformat()} or later")


def registry_identifiers(registry: Registry) -> dict[str, str]:
    """Every registry entity's identifier, in the forms a business ID may take, to the entity's name."""
    out = {}
    for entity in registry.entities.values():
        if entity.legal_id is None:
            continue
        value = entity.legal_id.value.replace(" ", "").upper()
        out[value] = entity.name
        if re.match(r"^FI[0-9]{8}$", value):  # a Finnish VAT number is the business ID without its hyphen
            out[f"{value[2:9]}-{value[9]}"] = entity.name
    return out


def validate_contract(registry: Registry, doc: Document, *,
                      check_date: bool = True) -> tuple[Contract | None, list[Diagnostic]]:
    """A Contract and the warnings, or None and every problem found.

    check_date: an annex dated before the registry's list was retrieved is an error; off where the
    contract's annex is not made as dated (a change notice dates the new annex itself).
    """
    diagnostics: list[Diagnostic] = list(doc.problems)
    c = Checker(doc, diagnostics)
    c.mapping((), required=["customer", "contract"])
    cust = c.mapping(("customer",), required=["id", "name"], optional=["business_id", "contact_email"])
    con = c.mapping(
        ("contract",),
        required=["date", "region", "language", "products"],
        optional=["reference", "options", "replaces", "terms"],
    )
    cid = name = business_id = email = None
    if cust is not None:
        cid = c.ident(("customer", "id"))
        name = c.text_line(("customer", "name"), max_len=MAX_NAME_CHARS)
        if name:
            _warn_missing_glyphs(c, ("customer", "name"), name)
        business_id = c.text_line(("customer", "business_id"), optional=True, max_len=40)
        if business_id:
            business_id = business_id.replace(" ", "").upper()
            problem = _business_id_problem(business_id)
            if problem:
                c.error(("customer", "business_id"), problem[1], code=problem[0], params={"value": business_id})
            elif owner := registry_identifiers(registry).get(business_id):
                c.error(("customer", "business_id"), f"{business_id} is the identifier of {owner}, a "
                        "sub-processor in the registry, not of the customer; check the customer's business ID",
                        code="customer.business_id.subprocessor", params={"value": business_id, "owner": owner})
        email = c.text_line(("customer", "contact_email"), optional=True, max_len=254)
        if email and not _EMAIL_RE.match(email):
            c.error(("customer", "contact_email"), f"{shown(email)} is not an email address",
                    code="customer.email.invalid", params={"value": email})
        elif email and email[0] in "=+-":
            c.error(("customer", "contact_email"), f"{shown(email)} begins with {email[0]!r}, which a spreadsheet "
                    "reads as a formula; check the address", code="customer.email.formula",
                    params={"value": email, "char": email[0]})
    date = region = language = reference = replaces = None
    products: list[str] = []
    options: dict[str, bool] = {}
    if con is not None:
        reference = c.text_line(("contract", "reference"), optional=True, max_len=100)
        if reference:
            _warn_missing_glyphs(c, ("contract", "reference"), reference)
        replaces = c.text_line(("contract", "replaces"), optional=True, max_len=40)
        if replaces and not _DOCUMENT_ID_RE.match(replaces):
            c.error(("contract", "replaces"), f"{shown(replaces)} is not an annex document ID; expected the form "
                    "ANX-XXXX-XXXX-XXXX-XXXX (hexadecimal), as printed in the footer of the annex it replaces",
                    code="contract.replaces.invalid", params={"value": replaces})
            replaces = None
        if "date" in con:
            date = c.date(("contract", "date"))
            if check_date and date and (problem := date_problem(registry, date)):
                c.error(("contract", "date"), problem, code="contract.date.before_list",
                        params={"date": date, "retrieved": registry.list_retrieved})
        region = (c.choice(("contract", "region"), registry.regions, "region", code="contract.region.unknown")
                  if "region" in con else None)
        language = (c.choice(("contract", "language"), registry.languages, "language",
                             code="contract.language.unknown") if "language" in con else None)
        if "products" in con:
            products = _products(c, registry, region)
        if con.get("options") is not None:
            options = _options(c, registry)
        elif "options" in con:
            c.error(("contract", "options"), f"expected a mapping of options, got nothing; {one_of(registry.options)}",
                    code="contract.options.empty", params={"options": sorted(registry.options)})
    terms = _terms(c, registry) if con is not None and con.get("terms") is not None else None
    if con is not None and "terms" in con and con.get("terms") is None:
        c.error(("contract", "terms"), "expected a mapping of terms (notice_period_days, objection_days, "
                "exclusions), got nothing; remove the key to use the registry's terms", code="contract.terms.empty")
    if region and products:
        for oid, on in options.items():
            if on and not option_has_effect(registry, region, tuple(products), oid):
                c.warn(
                    ("contract", "options", oid),
                    f"option {oid!r} has no effect for region {region!r} and products "
                    f"{', '.join(products)}; no entry it enables applies",
                    code="contract.options.no_effect", params={"option": oid, "region": region, "products": products},
                )
    if any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    assert cid and name and date and region and language
    contract = Contract(
        customer_id=cid,
        customer_name=name,
        date=date,
        region=region,
        language=language,
        products=tuple(products),
        options={oid: options.get(oid, False) for oid in registry.options},
        business_id=business_id,
        contact_email=email,
        reference=reference,
        source=doc.path,
        replaces=replaces,
        terms=terms,
    )
    return contract, diagnostics


MAX_TERM_DAYS = 365


def _days(c: Checker, path: tuple, what: str) -> int | None:
    if c.get(path) is None:
        return None
    value = c.typed(path, int)
    if value is not None and not 1 <= value <= MAX_TERM_DAYS:
        c.error(path, f"{what} of {value} days; expected 1 to {MAX_TERM_DAYS}")
        return None
    return value


def _terms(c: Checker, registry: Registry) -> ContractTerms | None:
    """contract.terms: the contract's own notice period, objection window and exclusions."""
    path = ("contract", "terms")
    if c.mapping(path, optional=["notice_period_days", "objection_days", "exclusions"]) is None:
        return None
    period = _days(c, (*path, "notice_period_days"), "a notice period")
    objection = _days(c, (*path, "objection_days"), "an objection window")
    in_force = period or registry.notice.period_days
    if objection and objection >= in_force:
        c.error((*path, "objection_days"), f"the objection window ({objection} days) must end before the change "
                f"takes effect ({in_force} days after the notice); make it shorter than the notice period")
    exclusions: list[Exclusion] = []
    raw = c.get((*path, "exclusions"))
    if raw is not None and c.typed((*path, "exclusions"), list) is not None:
        for i, _ in enumerate(raw):
            at = (*path, "exclusions", i)
            if c.mapping(at, required=["entity", "from"], optional=["note"]) is None:
                continue
            entity = c.choice((*at, "entity"), registry.entities, "sub-processor")
            day = c.date((*at, "from"))
            note = c.text_line((*at, "note"), optional=True, max_len=500)
            if entity and day:
                exclusions.append(Exclusion(entity, day, note))
    return ContractTerms(period, objection, tuple(exclusions))


def _products(c: Checker, registry: Registry, region: str | None) -> list[str]:
    path = ("contract", "products")
    raw = c.get(path)
    if isinstance(raw, str):
        c.error(path, f"expected a list, got a string ({raw!r}); write it as [{raw}]",
                code="contract.products.not_list", params={"value": raw})
        return []
    value = c.typed(path, list)
    if value is None:
        return []
    if not value:
        c.error(path, f"the contract lists no products; {one_of(registry.products)}", code="contract.products.none",
                params={"products": list(registry.regions[region].products if region else registry.products)})
        return []
    out: list[str] = []
    for i, _ in enumerate(value):
        names = {name.casefold(): pid for pid, name in registry.products.items()}
        pid = c.choice((*path, i), registry.products, "product", aliases=names, code="contract.products.unknown")
        if pid is None:
            continue
        if pid in out:
            c.error((*path, i), f"product {pid!r} is listed twice", code="contract.products.twice",
                    params={"product": pid})
            continue
        if region and pid not in registry.regions[region].products:
            offered = registry.regions[region].products
            c.error(
                (*path, i),
                f"product {pid!r} is not offered in region {region!r}; {one_of(offered)}",
                code="contract.products.not_offered",
                params={"product": pid, "region": region, "products": list(offered)},
            )
            continue
        out.append(pid)
    return out


def _options(c: Checker, registry: Registry) -> dict[str, bool]:
    path = ("contract", "options")
    value = c.mapping(path, optional=list(registry.options))
    out: dict[str, bool] = {}
    for oid in value or {}:
        if oid in registry.options:
            flag = c.typed((*path, oid), bool)
            if flag is not None:
                out[oid] = flag
    return out


def load_contract(registry: Registry, path: Path) -> tuple[Contract, list[Diagnostic]]:
    """Load one contract file; raise InvalidInput with every problem, return warnings."""
    doc = parse_text(read_text(path, MAX_CONTRACT_BYTES), str(path), keep_going=True)
    contract, diagnostics = validate_contract(registry, doc)
    if contract is None:
        raise InvalidInput(diagnostics)
    return contract, diagnostics
