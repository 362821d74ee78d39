"""A team's batch follows the local batch's rule: a final annex never replaces a draft (resolve.next_annex).

The team's stored documents keep each annex's status through the run row that rendered it, so after
drafts the first final annex names the final annex in force, as the customer signed it.
"""

from __future__ import annotations

import dataclasses
import hashlib

from team_support import migrated

from annex_gen.inputs.sources import Source
from annex_gen.model import Registry
from annex_gen.team import documents, runs
from annex_gen.team.runs import annex_of
from annex_gen.team.schema import connected
from conftest import REGISTRY_DIR, load_registry

CONTRACT = """\
customer:
  id: nordic-webshop
  name: Nordic Webshop AB
  business_id: SE556703748501
contract:
  reference: DPA-2026-0350
  date: 2026-11-30
  region: eu
  language: en
  products: [{products}]
"""


def run_once(url: str, registry: Registry, products: str, *, statuses: bool = True) -> dict:
    """Plan the contract against the stored documents, record the run and store its annex as a worker does;
    the annex as rendered (its JSON). Without statuses, as a team's batch planned before it read them."""
    text = CONTRACT.format(products=products)
    source = Source("database:nordic-webshop@v1", hashlib.sha256(text.encode()).hexdigest(), text=text)
    with connected(url) as con:
        plan = runs.plan(registry, [source], [], documents.latest(con), "templates", ("pdf",),
                         with_status=(lambda stored: documents.with_status(con, stored)) if statuses else None)
        (item,) = plan.items
        assert item.status == "queued", item
        run_id = runs.record_run(con, plan, started_by="test", registry_version=registry.version, engine="typst",
                                 templates="templates")
        with con.transaction():
            assert documents.store(con, document_id=item.document_id, customer_id="nordic-webshop",
                                   content_hash=item.content_hash, templates="templates",
                                   registry_version=registry.version, run_id=run_id, files={"pdf": b"%PDF-"})
            con.execute("UPDATE run_items SET status = 'generated' WHERE run_id = %s", (run_id,))
            con.execute("UPDATE runs SET finished_at = now() WHERE id = %s", (run_id,))
    return annex_of(item.annex).to_dict()


def stored_status(url: str) -> tuple[str, str | None, str | None]:
    """The customer's latest stored document: its ID, status and (a draft's) final annex in force."""
    with connected(url) as con:
        (stored,) = documents.with_status(con, [documents.latest(con)["nordic-webshop"]]).values()
    return stored.document_id, stored.status, stored.in_force


def test_after_drafts_a_final_annex_replaces_the_final_annex_in_force(postgres_server) -> None:
    url = migrated(postgres_server)
    draft = load_registry(REGISTRY_DIR)
    assert draft.status == "draft"
    final = dataclasses.replace(draft, status="final")

    signed = run_once(url, final, "cms")
    assert (signed["status"], signed["contract"]["replaces"]) == ("final", None)
    first = run_once(url, draft, "cms, wordpress")  # a preview of a change: a draft naming the annex in force
    assert (first["status"], first["contract"]["replaces"]) == ("draft", signed["document_id"])
    assert stored_status(url) == (first["document_id"], "draft", signed["document_id"])
    second = run_once(url, draft, "cms, commerce")  # another draft still names the annex in force
    assert second["contract"]["replaces"] == signed["document_id"]
    approved = run_once(url, final, "cms, wordpress, commerce")
    assert (approved["status"], approved["contract"]["replaces"]) == ("final", signed["document_id"])
    assert stored_status(url) == (approved["document_id"], "final", None)


def test_drafts_alone_are_replaced_by_nothing(postgres_server) -> None:
    url = migrated(postgres_server)
    draft = load_registry(REGISTRY_DIR)
    first = run_once(url, draft, "cms")
    second = run_once(url, draft, "cms, wordpress")  # a draft names the draft before it: no annex is in force
    assert second["contract"]["replaces"] == first["document_id"]
    assert stored_status(url) == (second["document_id"], "draft", None)
    approved = run_once(url, dataclasses.replace(draft, status="final"), "cms, commerce")
    assert (approved["status"], approved["contract"]["replaces"]) == ("final", None)


def test_drafts_stored_before_statuses_were_read_lead_back_to_the_annex_in_force(postgres_server) -> None:
    url = migrated(postgres_server)
    draft = load_registry(REGISTRY_DIR)
    final = dataclasses.replace(draft, status="final")
    signed = run_once(url, final, "cms", statuses=False)
    first = run_once(url, draft, "cms, wordpress", statuses=False)
    second = run_once(url, draft, "cms, commerce", statuses=False)
    assert second["contract"]["replaces"] == first["document_id"]  # a draft then named the draft before it
    assert stored_status(url) == (second["document_id"], "draft", signed["document_id"])
    approved = run_once(url, final, "cms, wordpress, commerce")
    assert approved["contract"]["replaces"] == signed["document_id"]
