"""The customer list: every contract with its annex state; search and sort."""

from __future__ import annotations

import collections
from typing import Any, ClassVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annex_gen import app
from annex_gen.lifecycle.cases import customer_states
from annex_gen.web.http import current_user, language, page, render
from annex_gen.web.permissions import allowed
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
    can_edit = allowed(current_user(request), "contracts.edit")
    return render(request, "customers.html.j2", {
        "registry": registry, "entries": shown, "total": len(listing.entries), "problems": listing.problems,
        "query": query, "sort": sort, "folder": str(settings.customers_dir), "lifecycle": states,
        "rows": _Rows((registry.digest, language(request), can_edit)),
    })


class _Rows:
    """The list's rows as written before: a row is templated again only when what it shows changed."""

    kept: ClassVar[collections.OrderedDict[tuple, str]] = collections.OrderedDict()
    MOST = 20_000  # rows kept, across pages, languages and users' rights

    def __init__(self, page: tuple) -> None:
        self.page = page

    def _key(self, entry: ContractEntry, life: Any) -> tuple:
        c = entry.contract
        shown = (c.customer_id, c.customer_name, c.region, tuple(c.products), c.language, c.date, entry.state,
                 entry.editable)
        return self.page + shown + ((life.key, repr(sorted(life.values.items()))) if life else (None,))

    def get(self, entry: ContractEntry, life: Any) -> str | None:
        return self.kept.get(self._key(entry, life))

    def keep(self, entry: ContractEntry, life: Any, html: str) -> str:
        self.kept[self._key(entry, life)] = html
        while len(self.kept) > self.MOST:
            self.kept.popitem(last=False)
        return html


def routes() -> list[Route]:
    """The customer list."""
    return [page("/customers", customers, permission="contracts.view")]
