"""The contract form: a new customer's contract, or an edit of a saved one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import Diagnostic, EditConflict, InvalidInput
from annex_gen.model import Registry
from annex_gen.web.http import language, page, render, see_other
from annex_gen.web.views.audit import record
from annex_gen.workspace import ContractForm, offered_options, offered_products, suggest_id

# Where a problem is shown: the first field whose key prefix matches the diagnostic's key.
FIELD_KEYS = (
    ("customer.id", "customer_id"), ("customer.name", "name"), ("customer.business_id", "business_id"),
    ("customer.contact_email", "contact_email"), ("contract.reference", "reference"), ("contract.date", "date"),
    ("contract.region", "region"), ("contract.language", "language"), ("contract.products", "products"),
    ("contract.options", "options"),
)


def field_of(diagnostic: Diagnostic) -> str:
    """The form field a diagnostic is about ('' for the form as a whole)."""
    return next((name for key, name in FIELD_KEYS if diagnostic.key == key or diagnostic.key.startswith(key)
                 and diagnostic.key[len(key)] in ".["), "")


def _form_of(data: FormData) -> ContractForm:
    def text(name: str) -> str:
        value = data.get(name, "")
        return value if isinstance(value, str) else ""

    return ContractForm(
        customer_id=text("customer_id"), name=text("name"), business_id=text("business_id"),
        contact_email=text("contact_email"), reference=text("reference"), date=text("date"),
        region=text("region"), language=text("language"),
        products=tuple(str(v) for v in data.getlist("products")),
        options=tuple(str(v) for v in data.getlist("options")),
    )


def _show(request: Request, registry: Registry, form: ContractForm, *, editing: str | None, digest: str = "",
          problems: list[Diagnostic] | None = None, conflict: str = "", focus: str = "",
          status_code: int = 200) -> Response:
    errors: dict[str, list[str]] = {}
    for d in problems or []:
        errors.setdefault(field_of(d), []).append(d.message)
    products = offered_products(registry, form.region)
    context: dict[str, Any] = {
        "registry": registry, "form": form, "editing": editing, "digest": digest, "errors": errors,
        "problem_count": len([d for d in problems or [] if d.severity == "error"]), "conflict": conflict,
        "products": products, "options": offered_options(registry, form.region, form.products),
        "action": f"/customers/{editing}/edit" if editing else "/customers/new", "focus": focus,
    }
    return render(request, "contract_form.html.j2", context, status_code=status_code)


def _registry(request: Request) -> Registry:
    return app.load_registry(request.app.state.settings.registry_dir)


async def new_form(request: Request) -> Response:
    """An empty contract form for a new customer (EU, the interface's language, today's date)."""
    registry = _registry(request)
    lang = language(request)
    form = ContractForm(date=dt.date.today().isoformat(), region=next(iter(registry.regions)),
                        language=lang if lang in registry.languages else registry.languages[0])
    return _show(request, registry, form, editing=None)


async def edit_form(request: Request) -> Response:
    """The form of a saved contract, with the digest of the file as it is now."""
    settings = request.app.state.settings
    customer_id = request.path_params["customer_id"]
    registry, entry = app.contract_entry(settings.registry_dir, settings.customers_dir, settings.out_dir, customer_id,
                                         settings.archive)
    if not entry.editable:
        raise InvalidInput([Diagnostic(entry.contract.source, None, None, "",
                                       "a contract from a CRM export is read-only here; change it in the CRM")])
    return _show(request, registry, ContractForm.of(entry.contract), editing=customer_id, digest=entry.digest)


async def submit(request: Request) -> Response:
    """Save the form (action=save), or re-render it with the choices of a new region or products (refresh)."""
    settings = request.app.state.settings
    registry = _registry(request)
    data = await request.form()
    editing = request.path_params.get("customer_id")
    digest = str(data.get("digest", ""))
    form = _form_of(data)
    if data.get("action") != "save":
        if not editing and not form.customer_id.strip() and form.name.strip():
            form = ContractForm(**{**form.__dict__, "customer_id": suggest_id(form.name)})
        return _show(request, registry, form, editing=editing, digest=digest, focus=str(data.get("focus", "")))
    try:
        saved = app.save_contract(settings.registry_dir, settings.customers_dir, form, editing=editing, digest=digest)
    except InvalidInput as exc:
        return _show(request, registry, form, editing=editing, digest=digest, problems=exc.diagnostics,
                     status_code=400)
    except EditConflict as exc:
        return _show(request, registry, form, editing=editing, digest=digest, conflict=str(exc), status_code=409)
    await record(request, "contract saved", f"{saved.path.name} ({'new' if saved.created else 'edited'})",
                 [saved.contract.customer_id])
    return see_other(f"/customers/{saved.contract.customer_id}?saved=1")


def routes() -> list[Route]:
    """New and edit, each a form and its submission."""
    return [
        page("/customers/new", new_form, permission="contracts.edit"),
        page("/customers/new", submit, permission="contracts.edit", methods=("POST",), name="create"),
        page("/customers/{customer_id}/edit", edit_form, permission="contracts.edit"),
        page("/customers/{customer_id}/edit", submit, permission="contracts.edit", methods=("POST",), name="update"),
    ]
