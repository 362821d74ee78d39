"""The team's shared state on a real PostgreSQL: run plans, rendering a row once, documents and contract versions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from annex_gen.errors import InvalidInput
from annex_gen.inputs.sources import Source, gather
from annex_gen.render import DOCUMENT_FORMATS, templates_digest
from annex_gen.team import contracts, documents, runs, schema
from conftest import ROOT

EXAMPLES = ROOT / "examples"
ENGINE = "typst"  # the fastest renderer: these tests are about the state, not the layout


@pytest.fixture
def con(postgres_server):
    url = postgres_server.database()
    schema.migrate(url)
    connection = schema.connect(url)
    yield connection
    connection.close()


def _sources(*names: str) -> list[Source]:
    sources, failures = gather([EXAMPLES / f"{n}.yaml" for n in names])
    assert not failures
    return sources


def _stored(document_id: str, customer_id: str, content_hash: str, templates: str) -> documents.StoredDocument:
    return documents.StoredDocument(document_id, customer_id, content_hash, templates, "v", "t",
                                    {fmt: ("0" * 64, 1) for fmt in DOCUMENT_FORMATS})


def test_the_plan_decides_as_the_local_batch(registry) -> None:
    templates = templates_digest(ENGINE)
    first = runs.plan(registry, _sources("esimerkki-oy", "dubai-events"), [], {}, templates, DOCUMENT_FORMATS)
    assert [(i.customer_id, i.status) for i in first.items] == [("esimerkki-oy", "queued"), ("dubai-events", "queued")]
    esimerkki = first.items[0]
    assert runs.annex_of(esimerkki.annex).document_id == esimerkki.document_id
    same = {"esimerkki-oy": _stored(esimerkki.document_id, "esimerkki-oy", esimerkki.content_hash, templates)}
    again = runs.plan(registry, _sources("esimerkki-oy"), [], same, templates, DOCUMENT_FORMATS)
    assert [(i.status, i.document_id) for i in again.items] == [("unchanged", esimerkki.document_id)]
    forced = runs.plan(registry, _sources("esimerkki-oy"), [], same, templates, DOCUMENT_FORMATS, force=True)
    assert forced.items[0].status == "queued" and runs.annex_of(forced.items[0].annex).replaces is None
    # Another content: the new annex names the one it replaces, as the manifest's batch does.
    changed = {"esimerkki-oy": _stored("ANX-0000-0000-0000-0001", "esimerkki-oy", "other", templates)}
    replaced = runs.plan(registry, _sources("esimerkki-oy"), [], changed, templates, DOCUMENT_FORMATS)
    assert runs.annex_of(replaced.items[0].annex).replaces == "ANX-0000-0000-0000-0001"
    # Other templates: rendered again.
    stale = runs.plan(registry, _sources("esimerkki-oy"), [], {"esimerkki-oy": dataclasses.replace(
        same["esimerkki-oy"], templates="old")}, templates, DOCUMENT_FORMATS)
    assert stale.items[0].status == "queued"


def test_a_duplicate_customer_id_and_a_broken_contract_fail_alone(registry, tmp_path: Path) -> None:
    text = (EXAMPLES / "esimerkki-oy.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("customer: {id: x}\n", encoding="utf-8")
    sources, failures = gather([tmp_path])
    plan = runs.plan(registry, sources, failures, {}, "t", DOCUMENT_FORMATS)
    assert sorted((Path(i.source).name, i.status) for i in plan.items) == [
        ("a.yaml", "failed"), ("b.yaml", "failed"), ("broken.yaml", "failed")]
    assert plan.to_render == 0


def test_a_row_is_rendered_and_stored_once(con, registry) -> None:
    templates = templates_digest(ENGINE)
    plan = runs.plan(registry, _sources("esimerkki-oy"), [], {}, templates, DOCUMENT_FORMATS)
    run_id = runs.record_run(con, plan, started_by="maija", registry_version=registry.version, engine=ENGINE,
                             templates=templates)
    with pytest.raises(runs.RunInProgress, match="run 1 is not finished yet .*started by maija"):
        runs.record_run(con, plan, started_by="lea", registry_version=registry.version, engine=ENGINE,
                        templates=templates)
    assert runs.render_item(con, run_id, 0) == "generated"
    assert runs.render_item(con, run_id, 0) == "done already"  # a job run twice renders once
    state = runs.run_state(con, run_id)
    assert state.finished and state.counts == {"generated": 1} and state.last == "esimerkki-oy"
    (doc,) = documents.list_documents(con)
    assert doc.document_id == plan.items[0].document_id and set(doc.files) == set(DOCUMENT_FORMATS)
    pdf = documents.read_file(con, doc.files["pdf"][0])
    assert pdf.startswith(b"%PDF-") and doc.document_id.encode() in pdf
    # The same document stored again (a retried job whose first try committed): nothing added.
    with con.transaction():
        assert not documents.store(con, document_id=doc.document_id, customer_id="esimerkki-oy", content_hash="x",
                                   templates=templates, registry_version="v", run_id=run_id, files={"pdf": pdf})
    assert con.execute("SELECT count(*) FROM annex_team.documents").fetchone() == (1,)
    # A second run over the same row's document: the stored one is kept, nothing rendered.
    run2 = runs.record_run(con, runs.plan(registry, _sources("esimerkki-oy"), [], {}, templates, DOCUMENT_FORMATS),
                           started_by="maija", registry_version=registry.version, engine=ENGINE, templates=templates)
    assert runs.render_item(con, run2, 0) == "stored already"
    result = runs.result_of(con, run2)
    assert result.generated == [("esimerkki-oy", doc.document_id)] and not result.failed


def test_a_worker_of_another_version_refuses_and_a_row_whose_worker_keeps_dying_fails(con, registry) -> None:
    plan = runs.plan(registry, _sources("esimerkki-oy", "dubai-events"), [], {}, "planned-elsewhere",
                     DOCUMENT_FORMATS)
    run_id = runs.record_run(con, plan, started_by="m", registry_version="v", engine=ENGINE,
                             templates="planned-elsewhere")
    assert runs.render_item(con, run_id, 0) == "failed"
    detail = con.execute("SELECT detail FROM annex_team.run_items WHERE position = 0").fetchone()[0]
    assert "upgrade every machine to the same annex-gen" in detail
    con.execute("UPDATE annex_team.run_items SET attempts = %s WHERE position = 1", (runs.MAX_ATTEMPTS,))
    assert runs.render_item(con, run_id, 1) == "failed"
    assert runs.run_state(con, run_id).finished
    assert "stopped 3 times while rendering it" in runs.result_of(con, run_id).failed[1].reason


def test_contract_versions_keep_who_and_when(con, registry, tmp_path: Path) -> None:
    with contracts.save_lock(con):
        assert contracts.add_version(con, "acme", "customer: {id: acme}\n", "maija") == 1
        assert contracts.add_version(con, "acme", "customer: {id: acme}\n", "lea") is None  # the same text
        assert contracts.add_version(con, "acme", "customer: {id: acme, name: A}\n", "lea") == 2
    history = contracts.history(con, "acme")
    assert [(v.version, v.saved_by) for v in history] == [(1, "maija"), (2, "lea")]
    assert history[1].saved_at.endswith("Z")
    with pytest.raises(InvalidInput):
        contracts.add_version(con, "../etc", "x", "m")
    mirror = contracts.Mirror(tmp_path / "copy")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "gone.yaml").write_text("x", encoding="utf-8")
    mirror.sync(con)
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["acme.yaml"]
    assert (tmp_path / "copy" / "acme.yaml").read_text(encoding="utf-8") == "customer: {id: acme, name: A}\n"


def test_an_import_with_one_invalid_file_stores_nothing(con, registry, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "esimerkki-oy.yaml").write_text((EXAMPLES / "esimerkki-oy.yaml").read_text(encoding="utf-8"))
    (folder / "bad.yaml").write_text("customer: {id: bad, name: B}\ncontract: {region: mars}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        contracts.import_folder(con, registry, [folder], "maija")
    assert any("bad.yaml" in d.file for d in raised.value.diagnostics)
    assert contracts.latest(con) == []
    (folder / "bad.yaml").unlink()
    imported = contracts.import_folder(con, registry, [folder], "maija")
    assert imported.saved == [("esimerkki-oy", 1)]
    assert contracts.import_folder(con, registry, [folder], "maija").unchanged == ["esimerkki-oy"]
    written = contracts.export_folder(con, tmp_path / "out")
    assert [p.read_bytes() for p in written] == [(EXAMPLES / "esimerkki-oy.yaml").read_bytes()]


def test_a_run_whose_jobs_left_the_queue_ends_instead_of_waiting_forever(con, registry) -> None:
    templates = templates_digest(ENGINE)
    plan = runs.plan(registry, _sources("esimerkki-oy"), [], {}, templates, DOCUMENT_FORMATS)
    run_id = runs.record_run(con, plan, started_by="m", registry_version="v", engine=ENGINE, templates=templates)
    assert runs.lost(con, run_id) and not runs.lost(con, run_id, min_age_s=60)  # no job was ever queued for it
    events = []
    result = runs.follow(con, run_id, events.append, poll_s=0.01)
    assert [e.kind for e in events] == ["planned", "failed"]
    assert result.failed[0].reason == runs.LOST and runs.run_state(con, run_id).error == runs.LOST
