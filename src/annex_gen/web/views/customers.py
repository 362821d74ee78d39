"""The customer list: every contract with its annex state; search and sort."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.lifecycle.cases import customer_states
from annex_gen.web.http import page, render
from annex_gen.workspace import ContractEntry

SORTS = {
    "name": lambda e: (e.contract.customer_name.casefold(), e.contract.customer_id),
    "id": lambda e: e.contract.customer_id,
    "region": lambda e: (e.contract.region, e.contract.customer_name.casefold()),
    "language": lambda e: (e.contract.language, e.contract.customer_name.casefold()),
    "date": lambda e: (e.contract.date, e.contract.customer_id),
    "state": lambda e: (("stale", "never", "current").index(e.state), e.contract.customer_name.casefold()),
}


def _matches(entry: ContractEntry, query: str) -> bool:
    needle = query.casefold()
    return needle in entry.contract.customer_name.casefold() or needle in entry.contract.customer_id


async def customers(request: Request) -> Response:
    """The list of contracts, filtered by ?q= and sorted by ?sort= (prefix - for descending)."""
    settings = request.app.state.settings
    registry, listing = await run_in_threadpool(app.contract_listing, settings.registry_dir, settings.customers_dir,
                                                settings.out_dir, settings.archive)
    query = request.query_params.get("q", "").strip()[:200]
    sort = request.query_params.get("sort", "name")
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = "name", "name"
    shown = [e for e in listing.entries if not query or _matches(e, query)]
    shown.sort(key=SORTS[key], reverse=sort.startswith("-"))
    states = await run_in_threadpool(customer_states, settings.archive, settings.registry_dir,
                                     [settings.customers_dir])
    return render(request, "customers.html.j2", {
        "registry": registry, "entries": shown, "total": len(listing.entries), "problems": listing.problems,
        "query": query, "sort": sort, "folder": str(settings.customers_dir), "lifecycle": states,
    })


def routes() -> list[Route]:
    """The customer list."""
    return [page("/customers", customers, permission="contracts.view")]
