"""The contract form: a new customer's contract, or an edit of a saved one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.errors import Diagnostic, EditConflict, InvalidInput, NotRecorded
from annex_gen.model import Registry
from annex_gen.web.http import messages, page, render, see_other
from annex_gen.web.i18n import languages
from annex_gen.web.messages import field_of
from annex_gen.web.team import save_contract
from annex_gen.web.views.audit import actor
from annex_gen.workspace import (
    ContractForm,
    customer_language,
    offered_options,
    offered_products,
    suggest_id,
    unoffered,
)

FORM_ID = "contract-form"


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
          problems: list[Diagnostic] | None = None, conflict: EditConflict | None = None, focus: str = "",
          unticked: tuple[str, ...] = (), kept: bool = False, unrecorded: NotRecorded | None = None,
          status_code: int = 200) -> Response:
    say = messages(request)
    errors: dict[str, list[str]] = {}
    for d in problems or []:
        errors.setdefault(field_of(d), []).append(say.diagnostic(d, located=False))
    products = offered_products(registry, form.region)
    action = f"/customers/{editing}/edit" if editing else "/customers/new"
    context: dict[str, Any] = {
        "registry": registry, "form": form, "editing": editing, "digest": digest, "errors": errors,
        "problem_count": len([d for d in problems or [] if d.severity == "error"]), "conflict": conflict,
        "conflict_text": say.text(conflict.code, conflict.params, str(conflict)) if conflict else "",
        "products": products, "options": offered_options(registry, form.region, form.products),
        "action": action, "focus": focus, "unticked": [registry.products.get(p, p) for p in unticked],
        "kept": kept, "form_id": FORM_ID, "lang_form": {"id": FORM_ID, "action": action},
        "unrecorded": unrecorded, "unrecorded_text": say.error(unrecorded)[0] if unrecorded else "",
    }
    return render(request, "contract_form.html.j2", context, status_code=status_code)


def _registry(request: Request) -> Registry:
    return app.load_registry(request.app.state.settings.registry_dir)


async def new_form(request: Request) -> Response:
    """An empty contract form for a new customer: the first region, the registry's language (the customer's
    business ID decides it once typed, see customer_language), today's date."""
    registry = await run_in_threadpool(_registry, request)
    form = ContractForm(date=dt.date.today().isoformat(), region=next(iter(registry.regions)),
                        language=customer_language(registry))
    return _show(request, registry, form, editing=None)


async def edit_form(request: Request) -> Response:
    """The form of a saved contract, with the digest of the file as it is now."""
    settings = request.app.state.settings
    customer_id = request.path_params["customer_id"]
    registry, entry = await run_in_threadpool(app.contract_entry, settings.registry_dir, settings.customers_dir,
                                              settings.out_dir, customer_id, settings.archive)
    if not entry.editable:
        raise InvalidInput([Diagnostic(entry.contract.source, None, None, "",
                                       "a contract from a CRM export is read-only here; change it in the CRM",
                                       code="contract.crm_read_only")])
    return _show(request, registry, ContractForm.of(entry.contract), editing=customer_id, digest=entry.digest)


async def submit(request: Request) -> Response:
    """Save the form (action=save), or re-render it with the choices of a new region or products (refresh)."""
    settings = request.app.state.settings
    registry = await run_in_threadpool(_registry, request)
    data = await request.form()
    editing = request.path_params.get("customer_id")
    digest = str(data.get("digest", ""))
    form = _form_of(data)
    if data.get("lang") in languages():  # a language switch keeps what was typed
        request.session["lang"] = str(data["lang"])
    if data.get("action") == "keep" and editing:  # reload the saved file's version, keep the typed values
        entry = app.contract_entry(settings.registry_dir, settings.customers_dir, settings.out_dir, editing)[1]
        return _show(request, registry, form, editing=editing, digest=entry.digest, kept=True)
    if data.get("action") != "save":
        changes: dict[str, Any] = {}
        if not editing and not form.customer_id.strip() and form.name.strip():
            changes["customer_id"] = suggest_id(form.name)
        if not editing and form.language == data.get("language_proposed"):  # not chosen by hand
            changes["language"] = customer_language(registry, form.business_id)
        unticked = unoffered(registry, form.region, form.products)
        if unticked:
            changes["products"] = tuple(p for p in form.products if p not in unticked)
        form = ContractForm(**{**form.__dict__, **changes})
        return _show(request, registry, form, editing=editing, digest=digest, focus=str(data.get("focus", "")),
                     unticked=unticked)
    try:  # recorded in the audit log before the file is written: unrecorded, it is not saved
        saved = await save_contract(request, form, editing=editing, digest=digest, actor=actor(request))
    except InvalidInput as exc:
        return _show(request, registry, form, editing=editing, digest=digest, problems=exc.diagnostics,
                     status_code=400)
    except EditConflict as exc:
        return _show(request, registry, form, editing=editing, digest=digest, conflict=exc, status_code=409)
    except NotRecorded as exc:  # the form is kept, so nothing typed is lost
        return _show(request, registry, form, editing=editing, digest=digest, unrecorded=exc, status_code=503)
    return see_other(f"/customers/{saved.contract.customer_id}?saved=1")


def routes() -> list[Route]:
    """New and edit, each a form and its submission."""
    return [
        page("/customers/new", new_form, permission="contracts.edit"),
        page("/customers/new", submit, permission="contracts.edit", methods=("POST",), name="create"),
        page("/customers/{customer_id}/edit", edit_form, permission="contracts.edit"),
        page("/customers/{customer_id}/edit", submit, permission="contracts.edit", methods=("POST",), name="update"),
    ]
