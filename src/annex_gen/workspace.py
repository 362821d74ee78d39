"""The customers folder as the web application edits it.

Lists every contract (YAML files, editable; CRM CSV rows, read-only) with the state of its
annex in the output folder; turns a contract form into YAML (a new file, or a round-trip
edit that keeps the file's comments and key order); saves atomically, refusing to overwrite
a file that changed since the form was opened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from annex_gen import loaded
from annex_gen.errors import Diagnostic, EditConflict, InvalidInput, NotFound
from annex_gen.hashing import sha256_text
from annex_gen.inputs.contract import validate_contract
from annex_gen.inputs.sources import Source, gather
from annex_gen.inputs.yamlio import parse_text
from annex_gen.model import Annex, Contract, Registry
from annex_gen.output.write import write_atomic
from annex_gen.resolve import option_has_effect

STATES = ("current", "stale", "never")
LOCK_FILE = ".annex-gen.lock"


@dataclass(frozen=True)
class ContractEntry:
    """A contract of the customers folder, its resolved annex and the state of that annex's files."""

    contract: Contract
    annex: Annex
    state: str  # current: this document ID's files exist; stale: only older annexes'; never: none
    editable: bool  # a YAML file; CRM export rows are read-only
    digest: str  # of the file's text when read: a save checks it is unchanged
    warnings: tuple[Diagnostic, ...] = ()


@dataclass
class Listing:
    """Every contract of the folder that loads, and the problems of those that do not."""

    entries: list[ContractEntry] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)

    def get(self, customer_id: str) -> ContractEntry:
        """The contract of a customer id; raise NotFound."""
        for entry in self.entries:
            if entry.contract.customer_id == customer_id:
                return entry
        raise NotFound(f"no contract for the customer id {customer_id!r} in the customers folder",
                       code="contract.not_found", params={"customer_id": customer_id})


def annex_state(out_dir: Path, annex: Annex) -> str:
    """current, stale or never: which annexes of this customer have been generated into out_dir."""
    folder = out_dir / annex.customer_id
    if any((folder / f"{annex.document_id}.{ext}").is_file() for ext in ("pdf", "docx")):
        return "current"
    if folder.is_dir() and (any(folder.glob("ANX-*.pdf")) or any(folder.glob("ANX-*.docx"))):
        return "stale"
    return "never"


def _sources(paths: Sequence[Path]) -> tuple[list[Source], list]:
    # An empty or new customers folder has no contracts yet: not an error.
    folder = paths[0]
    if not folder.is_dir() or not any(p.suffix in (".yaml", ".yml", ".csv") for p in folder.iterdir()):
        return [], []
    return gather([folder])


def list_contracts(registry: Registry, customers_dir: Path, out_dir: Path) -> Listing:
    """Every contract of the folder with its annex state, sorted by customer name."""
    resolved = loaded.resolved(registry, [customers_dir], _sources)
    listing = Listing(problems=list(resolved.problems))
    for contract, annex, source, warnings in resolved.items:
        listing.entries.append(ContractEntry(
            contract, annex, annex_state(out_dir, annex), editable=source.row is None, digest=source.digest,
            warnings=warnings,
        ))
    listing.entries.sort(key=lambda e: (e.contract.customer_name.casefold(), e.contract.customer_id))
    return listing


# The contract form


@dataclass(frozen=True)
class ContractForm:
    """A contract as the form holds it: text fields as typed, products and options as ticked."""

    customer_id: str = ""
    name: str = ""
    business_id: str = ""
    contact_email: str = ""
    reference: str = ""
    date: str = ""
    region: str = ""
    language: str = ""
    products: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @classmethod
    def of(cls, contract: Contract) -> ContractForm:
        """The form filled from a saved contract."""
        return cls(contract.customer_id, contract.customer_name, contract.business_id or "",
                   contract.contact_email or "", contract.reference or "", contract.date.isoformat(),
                   contract.region, contract.language, tuple(contract.products),
                   tuple(oid for oid, on in contract.options.items() if on))


def suggest_id(name: str) -> str:
    """A customer id from a name: 'Kauppahuone Ääri & Co' -> 'kauppahuone-aari-co'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")


def customer_language(registry: Registry, business_id: str = "") -> str:
    """The annex language a new customer's contract starts with: Finnish for a Finnish business ID
    (Y-tunnus or FI VAT), English for another, else the registry's first language."""
    found = business_id.replace(" ", "").upper()
    lang = ("fi" if re.match(r"^([0-9]{7}-[0-9]|FI[0-9]{8})$", found) else "en") if found else registry.languages[0]
    return lang if lang in registry.languages else registry.languages[0]


def unoffered(registry: Registry, region: str, products: Sequence[str]) -> tuple[str, ...]:
    """The ticked products the region does not offer (unticked when the region changes)."""
    return tuple(p for p in products if region in registry.regions and p not in registry.regions[region].products)


def offered_products(registry: Registry, region: str) -> tuple[str, ...]:
    """The products the region offers (none for an unknown region)."""
    return registry.regions[region].products if region in registry.regions else ()


def offered_options(registry: Registry, region: str, products: Sequence[str]) -> tuple[str, ...]:
    """The options that have an effect for the region and products."""
    if region not in registry.regions:
        return ()
    chosen = tuple(p for p in products if p in registry.regions[region].products)
    return tuple(oid for oid in registry.options if chosen and option_has_effect(registry, region, chosen, oid))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long name onto a second line
    yaml.preserve_quotes = True
    return yaml


def _date_value(text: str) -> dt.date | str:
    # A real date is written as a YAML date; anything else stays text, for the validator to name.
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return text.strip()


def _set(mapping: CommentedMap, key: str, value: object, *, required: bool, after: str | None = None) -> None:
    """Set, insert (first, or after a sibling if present) or, for an empty optional value, remove a key."""
    if value in ("", None) and not required:
        mapping.pop(key, None)
        return
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping)
    position = 0 if after is None else keys.index(after) + 1 if after in keys else len(keys)
    mapping.insert(position, key, value)


def _products_seq(existing: object, products: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(products)
    if isinstance(existing, CommentedSeq) and existing.fa.flow_style() is False:
        seq.fa.set_block_style()
    else:
        seq.fa.set_flow_style()
    return seq


def form_yaml(registry: Registry, form: ContractForm, existing: str | None = None) -> str:
    """The contract YAML of a form: a new file, or existing text edited in place (comments and order kept)."""
    yaml = _yaml()
    data = yaml.load(existing) if existing else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap([("customer", CommentedMap()), ("contract", CommentedMap())])
    for part in ("customer", "contract"):
        if not isinstance(data.get(part), CommentedMap):
            data[part] = CommentedMap()
    customer, contract = data["customer"], data["contract"]
    _set(customer, "id", form.customer_id.strip(), required=True)
    _set(customer, "name", " ".join(form.name.split()), required=True, after="id")
    _set(customer, "business_id", form.business_id.strip(), required=False, after="name")
    _set(customer, "contact_email", form.contact_email.strip(), required=False, after="business_id")
    _set(contract, "reference", " ".join(form.reference.split()), required=False)
    _set(contract, "date", _date_value(form.date), required=True, after="reference")
    _set(contract, "region", form.region, required=True, after="date")
    _set(contract, "language", form.language, required=True, after="region")
    _set(contract, "products", _products_seq(contract.get("products"), form.products), required=True,
         after="language")
    offered = offered_options(registry, form.region, form.products)
    options = contract.get("options") if isinstance(contract.get("options"), CommentedMap) else CommentedMap()
    for oid in list(options):
        if oid not in offered:  # an option without effect is not claimed (the CLI would warn)
            del options[oid]
    for oid in offered:  # an option off is written only where the file already says so
        if oid in form.options or oid in options:
            options[oid] = oid in form.options
    _set(contract, "options", options if options else None, required=False, after="products")
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def check_form(registry: Registry, text: str, label: str) -> tuple[Contract, list[Diagnostic]]:
    """The contract the YAML text holds, validated as `annex-gen check` does; raise InvalidInput."""
    contract, diagnostics = validate_contract(registry, parse_text(text, label, keep_going=True))
    if contract is None:
        raise InvalidInput(diagnostics)
    return contract, diagnostics


@contextlib.contextmanager
def _locked(customers_dir: Path) -> Iterator[None]:
    """Serialise saves into one folder, across processes, so the conflict check and the write are one step."""
    customers_dir.mkdir(parents=True, exist_ok=True)
    with open(customers_dir / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Saved:
    """A contract written to the customers folder."""

    path: Path
    contract: Contract
    created: bool
    warnings: tuple[Diagnostic, ...] = ()


def save_contract(registry: Registry, customers_dir: Path, form: ContractForm, *,
                  editing: str | None = None, digest: str = "",
                  before_write: Callable[[Saved], None] | None = None) -> Saved:
    """Validate and write a contract: a new file (editing None) or the file of customer `editing`.

    Refused with EditConflict when the customer id is taken (new) or the file's text no longer has
    `digest` (someone saved since the form was opened); with InvalidInput listing every problem.
    before_write(saved) runs once everything is checked, just before the file is written; what it
    raises leaves the file as it was (the audit entry is written there).
    """
    before = before_write or (lambda saved: None)
    with _locked(customers_dir):
        sources, _ = _sources([customers_dir])
        if editing is None:
            return _create(registry, customers_dir, form, sources, before)
        source = _source_of(sources, editing)
        if source.row is not None:
            raise InvalidInput([Diagnostic(source.label, None, None, "",
                                           "a contract from a CRM export is read-only here; change it in the CRM",
                                           code="contract.crm_read_only")])
        path = Path(source.label)
        current = path.read_text(encoding="utf-8")
        if sha256_text(current) != digest:
            raise EditConflict(f"{path} was changed by someone else since the form was opened; nothing was saved",
                               code="contract.changed", params={"customer_id": editing})
        form = ContractForm(**{**form.__dict__, "customer_id": editing})  # the id of a saved contract is fixed
        text = form_yaml(registry, form, current.removeprefix("\ufeff"))
        contract, warnings = check_form(registry, text, str(path))
        saved = Saved(path, contract, False, tuple(warnings))
        before(saved)
        write_atomic(path, text.encode("utf-8"))
        return saved


def _create(registry: Registry, customers_dir: Path, form: ContractForm, sources: list[Source],
            before: Callable[[Saved], None]) -> Saved:
    form = ContractForm(**{**form.__dict__, "customer_id": form.customer_id.strip() or suggest_id(form.name)})
    path = customers_dir / f"{form.customer_id}.yaml"
    text = form_yaml(registry, form)
    contract, warnings = check_form(registry, text, str(path))
    taken = [s.label for s in sources if _customer_id(s) == contract.customer_id]
    if path.exists() or taken:
        where = taken[0] if taken else str(path)
        raise EditConflict(f"a contract with the customer id {contract.customer_id!r} exists already ({where}); "
                           "choose another id or edit that contract", code="contract.id_taken",
                           params={"customer_id": contract.customer_id})
    saved = Saved(path, contract, True, tuple(warnings))
    before(saved)
    write_atomic(path, text.encode("utf-8"))
    return saved


def _customer_id(source: Source) -> str | None:
    try:
        data = source.document(keep_going=True).data  # a duplicate key still reserves its file's id
    except InvalidInput:
        return None
    customer = data.get("customer") if isinstance(data, dict) else None
    return customer.get("id") if isinstance(customer, dict) else None


def _source_of(sources: list[Source], customer_id: str) -> Source:
    for source in sources:
        if _customer_id(source) == customer_id:
            return source
    raise NotFound(f"no contract for the customer id {customer_id!r} in the customers folder",
                   code="contract.not_found", params={"customer_id": customer_id})
