"""`annex-gen batch`: real batches over the examples and over generated contracts."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.integration.batch_support import (
    EU_MAILER_EXAMPLES,
    EXAMPLES_DIR,
    ROOT,
    add_mailer_entry,
    assert_consistent,
    cli,
    docx_text,
    make_contracts,
    manifest,
    pdf_text,
    start,
    wait_for_records,
)


@pytest.fixture(scope="module")
def examples_out(tmp_path_factory) -> tuple[Path, object]:
    """One full batch over the examples, shared read-only; tests that write copy it first."""
    out = tmp_path_factory.mktemp("batch") / "out"
    return out, cli("batch", EXAMPLES_DIR, "--out", out, "--jobs", "2")


def copy_of(examples_out, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(examples_out[0], out)
    return out


def test_a_batch_over_the_examples_writes_every_annex(examples_out):
    out, proc = examples_out
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("9 contracts in ")
    assert ": 9 generated, 0 unchanged, 0 failed (output: " in proc.stdout
    assert proc.stderr.splitlines()[0] == "9 contracts, 9 to generate"
    assert sum(" generated " in line for line in proc.stderr.splitlines()) == 9
    records = assert_consistent(out)
    assert sorted(records) == sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))
    esimerkki = records["esimerkki-oy"]
    assert esimerkki["source"] == str(EXAMPLES_DIR / "esimerkki-oy.yaml")
    assert esimerkki["registry_version"].startswith("2026.11.1+")
    text = pdf_text(out / esimerkki["files"]["pdf"]["path"])
    assert "Esimerkki Oy" in text and esimerkki["document_id"] in text and "Upcloud" not in text
    text = docx_text(out / records["kauppahuone-aalto"]["files"]["docx"]["path"])
    assert "Kauppahuone Aalto & Co. Oy" in text and "Upcloud Oy" in text


def test_a_second_batch_skips_every_unchanged_annex_without_loading_the_renderer_or_the_parsers(
        examples_out, tmp_path):
    out = copy_of(examples_out, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("ANX-*")}
    # the registry comes from the cache the first batch filled; no contract needs parsing
    probe = ("import sys; from annex_gen.cli import main; code = main(sys.argv[1:]); "
             "print('loaded:', sorted(m for m in ('weasyprint', 'docx', 'ruamel.yaml', 'yaml', 'stdnum', 'babel') "
             "if m in sys.modules)); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, "batch", str(EXAMPLES_DIR), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ": 0 generated, 9 unchanged, 0 failed" in proc.stdout
    assert "loaded: []" in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("ANX-*")} == before


def test_force_regenerates_what_it_is_given(examples_out, tmp_path):
    out = copy_of(examples_out, tmp_path)
    pdf = out / manifest(out)["dubai-events"]["files"]["pdf"]["path"]
    stamp = pdf.stat().st_mtime_ns
    proc = cli("batch", EXAMPLES_DIR / "dubai-events.yaml", "--out", out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert ": 1 generated, 0 unchanged, 0 failed" in proc.stdout
    assert pdf.stat().st_mtime_ns != stamp
    assert len(assert_consistent(out)) == 9


def test_a_registry_change_regenerates_exactly_the_customers_it_reaches(examples_out, tmp_path):
    out = copy_of(examples_out, tmp_path)
    before = manifest(out)
    registry = tmp_path / "registry"
    shutil.copytree(ROOT / "registry", registry)
    add_mailer_entry(registry)
    proc = cli("batch", EXAMPLES_DIR, "--out", out, "--registry", registry)
    assert proc.returncode == 0, proc.stderr
    assert ": 3 generated, 6 unchanged, 0 failed" in proc.stdout
    after = assert_consistent(out)
    regenerated = {cid for cid in after if after[cid]["document_id"] != before[cid]["document_id"]}
    assert regenerated == EU_MAILER_EXAMPLES
    for cid in EU_MAILER_EXAMPLES:
        assert not (out / before[cid]["files"]["pdf"]["path"]).exists()
    text = pdf_text(out / after["esimerkki-oy"]["files"]["pdf"]["path"])
    assert "Sähköpostiarkisto" in text
    assert after["gulf-retail"] == before["gulf-retail"] | {"input_key": after["gulf-retail"]["input_key"]}


def test_one_bad_contract_does_not_stop_the_others(tmp_path):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    shutil.copy(EXAMPLES_DIR / "dubai-events.yaml", contracts)
    (contracts / "broken.yaml").write_text("customer: {id: broken, name: Broken Oy\n", encoding="utf-8")
    (contracts / "wrong.yaml").write_text(
        "customer: {id: wrong, name: Wrong Oy}\ncontract: {date: 2026-12-01, region: eu, language: sv, "
        "products: [mailer]}\n", encoding="utf-8")
    crm = tmp_path / "crm.csv"
    crm.write_text("customer_id;customer_name;contract_date;region;language;products;contact_email\n"
                   "crm-good;CRM Good Oy;2026-12-02;hk;en;mailer;dpo@good.example\n"
                   "dubai-events;Dubai Again;2026-12-02;uae;en;cms;\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = cli("batch", contracts, crm, "--out", out, "--jobs", "2")
    assert proc.returncode == 1
    assert ": 1 generated, 0 unchanged, 4 failed" in proc.stdout
    failed = proc.stdout.split("failed:\n", 1)[1]
    assert f"  {crm}:3 (dubai-events):\n    customer id 'dubai-events' is used by both {crm}:3 and " \
           f"{contracts / 'dubai-events.yaml'}" in failed
    assert (f"  {contracts / 'dubai-events.yaml'} (dubai-events):\n"
            "    customer id 'dubai-events' is used by both") in failed
    broken = contracts / "broken.yaml"
    assert f"  {broken}:\n    {broken}:1:11: invalid YAML: a mapping starts here" in failed
    assert f"  {contracts / 'wrong.yaml'}:\n    {contracts / 'wrong.yaml'}:2:52: contract.language: " \
           "unknown language 'sv'; expected one of en, fi" in failed
    records = assert_consistent(out)
    assert list(records) == ["crm-good"]
    assert records["crm-good"]["source"] == f"{crm}:2"
    assert "CRM Good Oy" in pdf_text(out / records["crm-good"]["files"]["pdf"]["path"])


# kill (SIGTERM) with worker processes: running annexes finish; Ctrl-C in one process: the annex stops.
# enough contracts that the batch is still running when the signal arrives
@pytest.mark.parametrize("jobs, sig, n", [("2", signal.SIGTERM, 24), ("1", signal.SIGINT, 16)])
def test_an_interrupted_batch_leaves_a_consistent_directory_and_the_next_run_continues(
        tmp_path, jobs, sig, n):
    contracts = tmp_path / "contracts"
    make_contracts(contracts, n)
    out = tmp_path / "out"
    proc = start("batch", contracts, "--out", out, "--jobs", jobs)
    wait_for_records(out, 1, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted, the next run continues" in stdout
    done = assert_consistent(out)
    assert 1 <= len(done) < n
    resumed = cli("batch", contracts, "--out", out, "--jobs", jobs)
    assert resumed.returncode == 0, resumed.stderr
    assert f": {n - len(done)} generated, {len(done)} unchanged, 0 failed" in resumed.stdout
    assert len(assert_consistent(out)) == n


def test_a_killed_batch_is_cleaned_up_by_the_next_run(tmp_path):
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 5)
    out = tmp_path / "out"
    proc = start("batch", contracts, "--out", out, "--jobs", "2")
    wait_for_records(out, 1, proc)
    proc.kill()  # SIGKILL: no chance to clean up; the workers die with it (PR_SET_PDEATHSIG)
    proc.communicate(timeout=60)
    recorded = set(manifest(out))
    resumed = cli("batch", contracts, "--out", out, "--jobs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{5 - len(recorded)} generated, {len(recorded)} unchanged, 0 failed" in resumed.stdout
    assert len(assert_consistent(out)) == 5


def test_two_batches_on_one_directory_do_not_run_at_once(tmp_path):
    contracts = tmp_path / "contracts"
    make_contracts(contracts, 3)
    out = tmp_path / "out"
    first = start("batch", contracts, "--out", out, "--jobs", "1")
    deadline = time.monotonic() + 60
    while not (out / ".annex-gen.lock").exists() or not (out / ".annex-gen.lock").read_text():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = cli("batch", contracts, "--out", out)
    stdout, stderr = first.communicate(timeout=120)
    assert second.returncode == 1
    assert second.stderr == (f"annex-gen: error: {out} is in use by another batch (pid {first.pid} since "
                             + second.stderr.split(" since ", 1)[1])
    assert "wait for it to finish or use another --out directory" in second.stderr
    assert first.returncode == 0, stderr
    assert ": 3 generated, 0 unchanged, 0 failed" in stdout
    assert len(assert_consistent(out)) == 3
