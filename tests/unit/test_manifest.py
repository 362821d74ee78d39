"""The batch manifest, the output lock, and the batch engine's decisions (with a stand-in renderer)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES_DIR, build_file_tree, copy_registry, replace_once

import annex_gen.batch.run as batch
import annex_gen.render
from annex_gen.batch.manifest import FileRecord, Manifest, ManifestError, OutputLocked, Record, locked
from annex_gen.inputs import sources
from annex_gen.inputs.registry import load_registry


def record(cid: str, *paths: str) -> Record:
    files = {Path(p).suffix[1:]: FileRecord(p, 3, "0" * 64) for p in paths}
    return Record(cid, f"{cid}.yaml", "key", "ANX-1", "hash", "2026.11.1+abc", "tpl", files,
                  "2026-11-29T00:00:00+00:00")


def test_save_and_load_round_trip(tmp_path):
    manifest = Manifest(tmp_path, {"acme": record("acme", "acme/ANX-1.pdf")})
    manifest.save()
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["schema"] == "annex-gen/manifest/1"
    assert data["customers"]["acme"]["files"]["pdf"] == {
        "path": "acme/ANX-1.pdf", "size": 3, "sha256": "0" * 64}
    assert Manifest.load(tmp_path).records == manifest.records
    assert Manifest.load(tmp_path / "nowhere").records == {}


@pytest.mark.parametrize("text, problem", [
    ("{not json", "cannot read the manifest (Expecting property name"),
    ('{"schema": "other/1", "customers": {}}', "not an annex-gen manifest (ValueError: schema 'other/1'"),
    ('{"schema": "annex-gen/manifest/1", "customers": {"a": {}}}',
     "not an annex-gen manifest (KeyError: 'files')"),
])
def test_a_bad_manifest_is_reported_with_the_way_out(tmp_path, text, problem):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ManifestError) as exc:
        Manifest.load(tmp_path)
    assert str(exc.value).startswith(f"{tmp_path / 'manifest.json'}: {problem}")
    assert str(exc.value).endswith("remove it or run with --force to rebuild it")


def test_files_present_checks_existence_and_size(tmp_path):
    build_file_tree(tmp_path, {"acme": {"ANX-1.pdf": "abc"}})
    manifest = Manifest(tmp_path)
    assert manifest.files_present(record("acme", "acme/ANX-1.pdf"))
    (tmp_path / "acme" / "ANX-1.pdf").write_text("abcd")
    assert not manifest.files_present(record("acme", "acme/ANX-1.pdf"))
    assert not manifest.files_present(record("acme", "acme/ANX-2.pdf"))


def test_sweep_removes_only_pending_files_no_record_lists(tmp_path):
    build_file_tree(tmp_path, {
        ".manifest.json.x1.part": "",
        "notes.txt": "mine",
        "acme": {"ANX-1.pdf": "abc", "ANX-0.pdf": "old", ".ANX-2.pdf.x.part": "half", "README": "mine"},
        "other": {"ANX-3.pdf": "from annex-gen generate", ".ANX-3.pdf.y.part": "generate's, running",
                  "ANX-3.html": "from annex-gen generate"},
    })
    manifest = Manifest(tmp_path, {"acme": record("acme", "acme/ANX-1.pdf")})
    manifest.begin([tmp_path / "acme" / "ANX-1.pdf", tmp_path / "acme" / "ANX-2.pdf"])
    (tmp_path / "acme" / "ANX-2.pdf").write_text("written, then killed before it was recorded")
    removed = manifest.sweep()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == [
        ".manifest.json.x1.part", "acme/.ANX-2.pdf.x.part", "acme/ANX-2.pdf"]
    assert sorted(p.name for p in (tmp_path / "acme").iterdir()) == ["ANX-0.pdf", "ANX-1.pdf", "README"]
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == [".ANX-3.pdf.y.part", "ANX-3.html", "ANX-3.pdf"]
    assert (tmp_path / "notes.txt").exists() and not (tmp_path / ".annex-gen.pending").exists()
    assert manifest.sweep() == []


@pytest.mark.parametrize("path", ["../victim.txt", "/etc/passwd", "acme/../../victim.txt", "link/ANX-1.pdf", ""])
def test_a_record_whose_path_leaves_the_output_directory_is_corrupt(tmp_path, path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    victim = build_file_tree(tmp_path, {"victim.txt": "not annex-gen's"}) / "victim.txt"
    Manifest(out, {"acme": record("acme", path), "beta": record("beta", "beta/ANX-1.pdf")}).save()
    manifest = Manifest.load(out)
    assert list(manifest.records) == ["beta"]
    (problem,) = manifest.corrupt
    assert (problem.key, problem.severity) == ("customers.acme", "warning")
    assert problem.message == (f"file path {path!r} is outside {out}; the record is corrupt and ignored (its "
                               "files are left alone, the annex is generated again)")
    (out / ".annex-gen.pending").write_text(json.dumps([path, "beta/ANX-9.pdf"]))
    manifest.sweep()
    assert victim.read_text() == "not annex-gen's"


def test_a_second_batch_on_the_same_directory_is_refused(tmp_path):
    with locked(tmp_path):
        with pytest.raises(OutputLocked) as exc:
            with locked(tmp_path):
                pass
        assert str(exc.value).startswith(f"{tmp_path} is in use by another batch (pid ")
    with locked(tmp_path):  # released
        pass


# The engine, with a stand-in for the renderer: the decisions, not the PDFs.


class _Rendered(list):
    """Customer ids in render order; annexes holds the last annex rendered for each."""

    def __init__(self) -> None:
        super().__init__()
        self.annexes: dict = {}


@pytest.fixture
def fake_render(monkeypatch):
    """Replace rendering with tiny files; return the list of customer ids rendered (and their annexes)."""
    rendered = _Rendered()

    def render(job, out_dir, registry=None):
        contract, annex, _engine = job
        if contract.customer_id == "explodes":
            return ("failed", "internal error: RuntimeError: boom")
        rendered.append(contract.customer_id)
        rendered.annexes[contract.customer_id] = annex
        files = {}
        for fmt in ("pdf", "docx"):
            path = out_dir / annex.customer_id / f"{annex.document_id}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{fmt} {annex.document_id}".encode())
            files[fmt] = FileRecord.of(out_dir, path)
        return ("ok", annex.document_id, files)

    monkeypatch.setattr(batch, "_render", render)
    monkeypatch.setattr(annex_gen.render, "templates_digest", lambda engine: f"templates-1 {engine}")
    return rendered


def run(registry, paths, out, **kwargs):
    return batch.run_batch(registry, paths, out, jobs=1, **kwargs)


def test_skip_force_and_template_change(tmp_path, registry, fake_render, monkeypatch):
    out = tmp_path / "out"
    first = run(registry, [EXAMPLES_DIR], out)
    assert len(first.generated) == 9 and first.unchanged == [] and first.failed == []
    second = run(registry, [EXAMPLES_DIR], out)
    assert (second.generated, len(second.unchanged)) == ([], 9)
    forced = run(registry, [EXAMPLES_DIR / "esimerkki-oy.yaml"], out, force=True)
    assert [cid for cid, _ in forced.generated] == ["esimerkki-oy"]
    # unchanged content replaces nothing: the forced annex keeps its document ID
    assert fake_render.annexes["esimerkki-oy"].replaces is None
    assert forced.generated == [(cid, doc) for cid, doc in first.generated if cid == "esimerkki-oy"]
    monkeypatch.setattr(annex_gen.render, "templates_digest", lambda engine: f"templates-2 {engine}")
    assert len(run(registry, [EXAMPLES_DIR], out).generated) == 9
    assert len(fake_render) == 9 + 1 + 9
    manifest = Manifest.load(out)
    assert {r.templates for r in manifest.records.values()} == {"templates-2 weasyprint"}
    # Another PDF engine is another rendering: everything again, once.
    assert len(run(registry, [EXAMPLES_DIR], out, engine="typst").generated) == 9
    assert len(run(registry, [EXAMPLES_DIR], out, engine="typst").generated) == 0


def test_a_registry_change_regenerates_the_reached_customers_and_drops_their_old_files(tmp_path, registry,
                                                                                     fake_render):
    out = tmp_path / "out"
    run(registry, [EXAMPLES_DIR], out)
    before = Manifest.load(out).records
    directory = copy_registry(tmp_path / "registry")
    anchor = "      - entity: upcloud\n        location: helsinki\n        option: dedicated_mta\n"
    replace_once(directory / "sections.yaml", anchor,
                 "      - entity: hetzner\n        location: germany\n"
                 "        purpose: {fi: Arkisto, en: Archive}\n" + anchor)
    replace_once(directory / "registry.yaml", 'release: "2026.11.1"', 'release: "2026.12.1"')
    new = load_registry(directory)
    result = run(new, [EXAMPLES_DIR], out)
    reached = ["esimerkki-oy", "kaikki-tuotteet", "kauppahuone-aalto"]
    assert sorted(cid for cid, _ in result.generated) == reached
    # each new annex names the one it replaces, from the manifest
    assert {cid: fake_render.annexes[cid].replaces for cid in reached} == {
        cid: before[cid].document_id for cid in reached}
    after = Manifest.load(out).records
    for cid, rec in after.items():
        if cid in reached:
            assert rec.registry_version == new.version and rec.document_id != before[cid].document_id
            assert not (out / before[cid].files["pdf"].path).exists()
        else:  # unchanged content keeps its annex, its document ID and the registry version it was made from
            assert (rec.registry_version, rec.document_id) == (registry.version, before[cid].document_id)
            assert rec.input_key != before[cid].input_key  # the next no-op needs no parsing
        assert (out / rec.files["pdf"].path).exists()
    assert run(new, [EXAMPLES_DIR], out).generated == []


def test_a_deleted_output_file_is_regenerated(tmp_path, registry, fake_render):
    out = tmp_path / "out"
    run(registry, [EXAMPLES_DIR / "esimerkki-oy.yaml", EXAMPLES_DIR / "gulf-retail.yaml"], out)
    pdf = out / Manifest.load(out).records["gulf-retail"].files["pdf"].path
    pdf.unlink()
    result = run(registry, [EXAMPLES_DIR / "esimerkki-oy.yaml", EXAMPLES_DIR / "gulf-retail.yaml"], out)
    assert [cid for cid, _ in result.generated] == ["gulf-retail"]
    assert pdf.exists()


def test_failures_are_collected_and_do_not_stop_the_rest(tmp_path, registry, fake_render):
    contracts = build_file_tree(tmp_path / "contracts", {
        "good.yaml": "customer: {id: good, name: Good Oy}\n"
                     "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}\n",
        "explodes.yaml": "customer: {id: explodes, name: Boom Oy}\n"
                         "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}\n",
        "bad.yaml": "customer: {id: bad, name: Bad Oy}\n"
                    "contract: {date: 2026-12-01, region: eux, language: fi, products: [mailer]}\n",
        "dup.yaml": "customer: {id: good, name: Good Again Oy}\n"
                    "contract: {date: 2026-12-01, region: eu, language: fi, products: [cms]}\n",
    })
    events = []
    result = batch.run_batch(registry, [contracts, tmp_path / "missing.yaml"], tmp_path / "out", jobs=1,
                             progress=events.append)
    failed = {Path(f.source).name: f.reason for f in result.failed}
    assert failed["missing.yaml"] == f"{tmp_path / 'missing.yaml'}: no such file or directory"
    assert failed["bad.yaml"] == (f"{contracts / 'bad.yaml'}:2:38: contract.region: unknown region 'eux'; "
                                     "expected one of eu, hk, uae; did you mean 'eu'?")
    assert failed["explodes.yaml"] == "internal error: RuntimeError: boom"
    good, dup = contracts / "good.yaml", contracts / "dup.yaml"
    assert failed["good.yaml"] == f"customer id 'good' is used by both {good} and {dup}"
    assert failed["dup.yaml"] == f"customer id 'good' is used by both {dup} and {good}"
    assert result.generated == [] and fake_render == []
    assert [e.kind for e in events][0] == "planned" and events[-1].done == events[-1].total == 5


# Input stamps: an input whose size, times and inode are those recorded is not read again.


def test_a_file_changed_within_the_settle_time_gets_no_stamp(tmp_path):
    path = build_file_tree(tmp_path, {"a.yaml": "x: 1\n"}) / "a.yaml"
    st = os.stat(path)
    assert sources.stamp_of(st, time.time_ns()) is None
    later = time.time_ns() + sources.STAMP_SETTLE_NS + 1
    assert sources.stamp_of(st, later) == f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
    assert sources.stamp_of(os.stat(tmp_path), later) is None  # a directory has none


def test_gather_reuses_the_recorded_digest_while_the_stamp_matches(tmp_path, registry, monkeypatch):
    monkeypatch.setattr(sources, "STAMP_SETTLE_NS", 0)
    path = tmp_path / "esimerkki-oy.yaml"
    path.write_bytes((EXAMPLES_DIR / "esimerkki-oy.yaml").read_bytes())
    (first,), _ = sources.gather([path], {})  # a batch asks for stamps
    assert sources.gather([path])[0][0].stamp is None  # check and diff take none
    assert first.stamp is not None and first.text is not None
    known = {first.label: (first.stamp, "recorded digest")}
    (again,), _ = sources.gather([path], known)
    assert (again.digest, again.text, again.stamp) == ("recorded digest", None, first.stamp)
    assert again.load(registry)[0] == first.load(registry)[0]  # read when it has to be parsed
    # The same size and modification time, but another file (a new inode and change time): read again.
    replacement = tmp_path / "new.yaml"
    replacement.write_bytes(path.read_bytes().replace(b"Esimerkki", b"Esimerkkx"))
    os.utime(replacement, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns))
    os.replace(replacement, path)
    (changed,), _ = sources.gather([path], known)
    assert changed.text is not None and changed.digest != "recorded digest" and changed.stamp != first.stamp


def test_a_no_op_batch_reads_no_settled_input_and_still_sees_a_change(tmp_path, registry, fake_render, monkeypatch):
    monkeypatch.setattr(sources, "STAMP_SETTLE_NS", 0)
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    for name in ("esimerkki-oy.yaml", "gulf-retail.yaml"):
        (contracts / name).write_bytes((EXAMPLES_DIR / name).read_bytes())
    out = tmp_path / "out"
    assert len(run(registry, [contracts], out).generated) == 2
    records = Manifest.load(out).records
    assert all(r.source_stamp and r.source_sha256 for r in records.values())

    def no_reading(*args, **kwargs):
        raise AssertionError("an unchanged input was read")

    with monkeypatch.context() as m:
        m.setattr(sources, "read_text", no_reading)
        second = run(registry, [contracts], out)
    assert (second.generated, sorted(second.unchanged)) == ([], ["esimerkki-oy", "gulf-retail"])
    # --force reads and renders everything
    assert len(run(registry, [contracts], out, force=True).generated) == 2
    # a change that keeps the size and the modification time is still seen (the change time is not kept)
    path = contracts / "gulf-retail.yaml"
    text = path.read_text()
    before = os.stat(path)
    path.write_text(text.replace("Gulf", "Gulp", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    if os.stat(path).st_ctime_ns == before.st_ctime_ns:  # the same clock tick: make the change visible
        time.sleep(0.05)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    third = run(registry, [contracts], out)
    assert [cid for cid, _ in third.generated] == ["gulf-retail"]


def test_gather_reports_failures_in_the_order_of_the_paths(tmp_path):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "bad.yaml").write_bytes(b"\xff not utf-8\n")
    sources_found, failures = sources.gather([contracts, tmp_path / "missing.yaml", contracts / "bad.yaml"])
    assert sources_found == []
    assert [Path(f.label).name for f in failures] == ["bad.yaml", "missing.yaml"]  # the same file once
