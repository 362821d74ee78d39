"""The generate command: formats, output paths, errors, and nothing half-written.

- files go to OUT/<customer-id>/<document-id>.<format>, and each path is printed on stdout;
- `--format html` (or json) writes only that format, the same bytes as a pdf,docx,html run;
- an unknown format is a usage error (exit 2) that names the format and the choices;
- a contract with errors stops the run before anything is written (exit 1), even for the valid
  contracts given with it; no *.part temporary file is left behind;
- a file that cannot be written fails the run (exit 1) without leaving a *.part file.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import render_support as rs

from annex_gen.resources import TEMPLATES_DIR

NAMES = [p.stem for p in rs.EXAMPLES]


@pytest.fixture(scope="session")
def session(tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory)


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _part_files(root):
    return sorted(root.rglob("*.part")) if root.exists() else []


def test_output_paths_are_customer_and_document_id_and_printed(session):
    expected = [
        str(session.out_a / ex.annex["customer"]["id"] / f"{ex.document_id}.{fmt}")
        for ex in (session.examples[n] for n in NAMES)
        for fmt in rs.FORMATS
    ]
    assert session.stdout_a == expected
    # beside each HTML: the stylesheet it links to, for a styled preview
    customers = {Path(p).parent.name for p in expected}
    stylesheets = [Path(n) / "annex.css" for n in customers] if "html" in rs.FORMATS else []
    assert _files(session.out_a) == sorted([Path(p).relative_to(session.out_a) for p in expected] + stylesheets)
    assert _part_files(session.out_a) == []
    for name in NAMES:
        ex = session.examples[name]
        assert ex.document_id.startswith("ANX-")
        assert ex.files["pdf"].read_bytes().startswith(b"%PDF-")
        assert ex.files["docx"].read_bytes().startswith(b"PK\x03\x04")


def test_html_format_writes_the_html_and_its_stylesheet(session, tmp_path):
    ex = session.examples["kauppahuone-aalto"]
    out = tmp_path / "out"
    result = rs.run_cli("generate", ex.contract, "--format", "html", "--out", out, "--archive", rs.approved_archive())
    assert result.returncode == 0, result.stderr.decode()
    path = out / ex.annex["customer"]["id"] / f"{ex.document_id}.html"
    assert result.stdout.decode().splitlines() == [str(path)]
    css = path.parent / "annex.css"
    assert _files(out) == sorted([path.relative_to(out), css.relative_to(out)])
    assert css.read_bytes() == (TEMPLATES_DIR / "annex.css").read_bytes()
    data = path.read_bytes()
    assert data.startswith(b"<!DOCTYPE html>")
    assert data == ex.files["html"].read_bytes()


def test_json_format_is_resolve_output(session, tmp_path):
    out = tmp_path / "out"
    result = rs.run_cli("generate", *rs.EXAMPLES, "--format", "json", "--out", out, "--archive", rs.approved_archive())
    assert result.returncode == 0, result.stderr.decode()
    expected = [out / ex.annex["customer"]["id"] / f"{ex.document_id}.json"
                for ex in (session.examples[n] for n in NAMES)]
    assert result.stdout.decode().splitlines() == [str(p) for p in expected]
    for path, name in zip(expected, NAMES, strict=True):
        assert path.read_bytes() == session.examples[name].json_bytes


@pytest.mark.parametrize(("value", "named"), [("pdf,xls", "xls"), ("PDF,odt", "odt"), (",", "(none)")])
def test_unknown_format_is_a_usage_error(tmp_path, value, named):
    out = tmp_path / "out"
    result = rs.run_cli("generate", rs.EXAMPLES[0], "--format", value, "--out", out)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert f"unknown format {named}" in err
    assert "pdf, docx, html, json" in err
    assert "Traceback" not in err
    assert result.stdout == b""
    assert not out.exists()


BAD_CONTRACT = """\
customer:
  id: broken-contract
  name: Broken Oy
  business_id: FI12345678
contract:
  date: 2026-11-29
  region: eu
  language: fi
  products: [mailer, fax]
"""


def test_contract_with_errors_writes_nothing(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BAD_CONTRACT, encoding="utf-8")
    out = tmp_path / "out"
    # A valid contract comes first: it must not be written either.
    result = rs.run_cli("generate", rs.EXAMPLES[0], bad, "--format", "pdf,docx,html", "--out", out)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"{bad}:4:" in err and "customer.business_id" in err  # located diagnostics, one per problem
    assert f"{bad}:9:" in err and "fax" in err
    assert "nothing was written" in err
    assert result.stdout == b""
    assert _files(out) == []
    assert _part_files(tmp_path) == []


def test_unwritable_target_fails_without_part_files(session, tmp_path):
    ex = session.examples["kauppahuone-aalto"]
    out = tmp_path / "out"
    blocker = out / ex.annex["customer"]["id"] / f"{ex.document_id}.html"
    blocker.mkdir(parents=True)  # a directory where the file should go: the rename must fail
    result = rs.run_cli("generate", ex.contract, "--format", "html,json", "--out", out,
                        "--archive", rs.approved_archive())
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "cannot write" in err and str(blocker) in err
    assert "Traceback" not in err
    assert blocker.is_dir()
    assert _part_files(out) == []
    assert _files(out) == []


def test_shared_by_processes_the_files_and_lines_are_one_process_s(session, tmp_path):
    # Nine contracts: from six on, a worker process per further core shares them with the command's own.
    one, shared = tmp_path / "one", tmp_path / "shared"
    alone = rs.run_cli("generate", *rs.EXAMPLES, "--format", "pdf,docx", "--out", one, "--jobs", "1")
    together = rs.run_cli("generate", *rs.EXAMPLES, "--format", "pdf,docx", "--out", shared, "--jobs", "3")
    assert alone.returncode == 0 and together.returncode == 0, together.stderr.decode()
    assert together.stdout.decode().replace(str(shared), str(one)) == alone.stdout.decode()
    assert _files(shared) == _files(one) and len(_files(one)) == 2 * len(rs.EXAMPLES)
    for name in _files(one):
        assert (shared / name).read_bytes() == (one / name).read_bytes(), name


def test_a_file_a_worker_cannot_write_fails_the_run_with_its_message(session, tmp_path):
    out = tmp_path / "out"
    for ex in session.examples.values():  # every target blocked: the command's process and the workers all fail
        (out / ex.annex["customer"]["id"] / f"{ex.document_id}.html").mkdir(parents=True)
    result = rs.run_cli("generate", *rs.EXAMPLES, "--format", "html", "--out", out, "--jobs", "3",
                        "--archive", rs.approved_archive())
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "cannot write" in err and "Traceback" not in err and "internal error" not in err
    assert _part_files(out) == []


def test_typst_shares_contracts_among_threads_with_one_thread_s_files(tmp_path):
    # Typst's compiler works outside the interpreter's lock: its PDFs are shared among threads, from two contracts on.
    one, shared = tmp_path / "one", tmp_path / "shared"
    contracts = rs.EXAMPLES[:4]
    alone = rs.run_cli("generate", *contracts, "--format", "pdf", "--engine", "typst", "--out", one, "--jobs", "1")
    together = rs.run_cli("generate", *contracts, "--format", "pdf", "--engine", "typst", "--out", shared,
                          "--jobs", "3")
    assert alone.returncode == 0 and together.returncode == 0, together.stderr.decode()
    assert together.stdout.decode().replace(str(shared), str(one)) == alone.stdout.decode()
    assert _files(shared) == _files(one) and len(_files(one)) == len(contracts)
    for name in _files(one):
        assert (shared / name).read_bytes() == (one / name).read_bytes(), name


def test_a_file_a_typst_thread_cannot_write_fails_the_run_and_the_others_stop(tmp_path):
    out = tmp_path / "out"
    check = rs.run_cli("resolve", rs.EXAMPLES[0])
    blocked = json.loads(check.stdout)
    (out / blocked["customer"]["id"] / f"{blocked['document_id']}.pdf").mkdir(parents=True)
    result = rs.run_cli("generate", *rs.EXAMPLES, "--format", "pdf", "--engine", "typst", "--out", out,
                        "--jobs", "2")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "cannot write" in err and "Traceback" not in err and "internal error" not in err
    assert _part_files(out) == []
    assert len(list(out.rglob("*.pdf"))) < len(rs.EXAMPLES), "no annex was taken after the failure"


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if (_stat(int(p.name)) or ["", ""])[1] == str(pid)]


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def test_a_command_forks_its_workers_and_they_end_with_it(tmp_path):
    # From a command's one thread the workers are forked (they start with its imports, argv unchanged) and,
    # like spawned ones, the kernel ends them when the command is killed.
    out = tmp_path / "out"
    proc = subprocess.Popen([*rs.cli_command(), "generate", *map(str, rs.EXAMPLES), "--format", "pdf", "--out",
                             str(out), "--jobs", "2"], cwd=rs.ROOT, env=rs.cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(out.rglob("*.pdf")) and time.monotonic() < deadline:
            time.sleep(0.02)
        workers = _children(proc.pid)
        assert workers, "a worker shares the contracts"
        command_line = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert all(Path(f"/proc/{w}/cmdline").read_bytes() == command_line for w in workers), "forked, not spawned"
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 20
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, workers)), "the workers ended with the command"
