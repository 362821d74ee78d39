"""The `check` and `resolve` commands, run as a user runs them: a subprocess of the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, build_file_tree, copy_registry, replace_once

HEAVY = ("weasyprint", "docx")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m annex_gen ARGS` in cwd."""
    return subprocess.run(
        [sys.executable, "-m", "annex_gen", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr


GOOD = """
    customer:
      id: acme
      name: Acme Oy
      business_id: FI12345671
    contract:
      reference: DPA-7
      date: 2026-11-29
      region: eu
      language: fi
      products: [mailer, cms]
      options: {dedicated_mta: true}
"""

BAD = """
    customer:
      id: ../acme
      name: Acme Oy
    contract:
      date: 2026-11-29
      region: uae
      language: fi
      products: [press]
"""


def bad_messages(path: Path) -> list[str]:
    return [
        f"{path}:2:7: customer.id: '../acme' is not a valid id; use lowercase letters a-z, digits and "
        "hyphens (at most 64 characters, no leading or trailing hyphen)",
        f"{path}:8:14: contract.products[0]: product 'press' is not offered in region 'uae'; "
        "expected one of automation, cms, mailer",
    ]


def test_check_of_the_clean_project_exits_0():
    proc = run("check")
    assert proc.returncode == 0, proc.stderr
    # only warnings: what no public source confirms yet, and annexes dated before the published list
    assert proc.stderr and all(": warning: " in line for line in proc.stderr.splitlines())
    assert "0 errors," in proc.stdout


def test_check_of_a_bad_file_exits_1_with_the_exact_messages(tmp_path):
    build_file_tree(tmp_path, {"good.yaml": GOOD, "bad.yaml": BAD})
    proc = run("check", str(tmp_path))
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert [line for line in proc.stderr.splitlines() if line.startswith(str(tmp_path))] == \
        bad_messages(tmp_path / "bad.yaml")
    assert "1 contract valid; 2 errors," in proc.stdout


def test_check_of_a_malicious_file_exits_1_without_a_traceback(tmp_path):
    build_file_tree(tmp_path, {
        "tag.yaml": "customer: !!python/object/apply:os.system ['touch pwned']\n",
        "bomb.yaml": "a: &a [x, x]\nb: &b [*a, *a]\n",
        "deep.yaml": "[" * 100,
        "latin1.yaml": "customer:\n  name: Kärkkäinen\n".encode("latin-1"),
    })
    proc = run("check", "--registry", str(ROOT / "registry"), str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert [line for line in proc.stderr.splitlines() if line.startswith(str(tmp_path))] == [
        f"{tmp_path}/bomb.yaml:1:1: a: anchors and aliases (&, *) are not supported; write the value out",
        f"{tmp_path}/bomb.yaml:2:1: b: anchors and aliases (&, *) are not supported; write the value out",
        f"{tmp_path}/deep.yaml:1:66: nested deeper than 64 levels",
        f"{tmp_path}/latin1.yaml:2:10: not valid UTF-8 (byte 0xe4); save the file as UTF-8",
        f"{tmp_path}/tag.yaml:1:11: customer: "
        "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ]
    assert not (tmp_path / "pwned").exists()


def test_check_warnings_fail_only_with_strict(tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: eu
          language: fi
          products: [cms]
          options: {dedicated_mta: true}
    """})
    warning = (f"{tmp_path}/c.yaml:7:28: contract.options.dedicated_mta: warning: option 'dedicated_mta' "
               "has no effect for region 'eu' and products cms; no entry it enables applies")
    proc = run("check", str(tmp_path / "c.yaml"))
    mine = [line for line in proc.stderr.splitlines() if line.startswith(str(tmp_path))]
    assert (proc.returncode, mine) == (0, [warning])
    # what the registry cannot source (an address, a contact) is a warning too, so --strict fails on it;
    # so are the printed facts legal has not confirmed (counted here, each one with --strict)
    assert any(line.endswith("entities.peakford.address: warning: registered address of Peakford Ltd. unknown "
                             "(SCC 2021/914 Annex III, 2021/915 Annex IV): record it with its source; the annex "
                             "prints nothing for it") for line in proc.stderr.splitlines())
    assert any("printed facts are not confirmed by legal, so every annex is a draft" in line
               for line in proc.stderr.splitlines())
    proc = run("check", "--strict", str(tmp_path / "c.yaml"))
    mine = [line for line in proc.stderr.splitlines() if line.startswith(str(tmp_path))]
    assert (proc.returncode, mine) == (1, [warning])


def test_check_of_a_missing_path(tmp_path):
    proc = run("check", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stderr.splitlines()[0] == f"{tmp_path}/nope.yaml: no such file or directory"


def test_check_with_registry_pointing_at_a_copy(tmp_path):
    reg = copy_registry(tmp_path / "reg")
    proc = run("check", "--registry", str(reg), str(ROOT / "examples"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("registry ")
    line, col = replace_once(reg / "entities.yaml", "value: FI24315605", "value: FI 24315605")
    proc = run("check", "--registry", str(reg), str(ROOT / "examples"), cwd=tmp_path)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stderr.splitlines() == [
        f"{reg}/entities.yaml:{line}:{col + 7}: entities.upcloud.legal_id.value: "
        "identifier 'FI 24315605' contains spaces"
    ]


def test_check_without_a_registry_here(tmp_path):
    proc = run("check", cwd=tmp_path)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stderr.splitlines() == ["registry: " + (
        "registry directory not found; run annex-gen from the project directory or pass --registry DIR")]


def test_resolve_prints_the_documented_json(tmp_path):
    build_file_tree(tmp_path, {"acme.yaml": GOOD})
    proc = run("resolve", str(tmp_path / "acme.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    annex = json.loads(proc.stdout)
    assert {
        "customer", "region", "language", "products", "registry_version", "notice_period_days", "sections",
        "subprocessors", "customer_register", "document_id",
    } <= set(annex)
    assert {k: annex["customer"][k] for k in ("id", "name")} == {"id": "acme", "name": "Acme Oy"}
    assert (annex["region"], annex["language"], annex["notice_period_days"]) == ("eu", "fi", 30)
    assert annex["products"] == [{"id": "mailer", "name": "LianaMailer"}, {"id": "cms", "name": "LianaCMS"}]
    assert annex["registry_version"].count("+") == 1
    assert [s["id"] for s in annex["sections"]] == ["eu-general", "shared-mta", "eu-mailer", "eu-cms"]
    for section in annex["sections"]:
        assert section["entries"]
        for entry in section["entries"]:
            assert {"subprocessor", "name", "legal_id", "location", "purpose"} <= set(entry)
    mailer = next(s for s in annex["sections"] if s["id"] == "eu-mailer")
    upcloud = mailer["entries"][1]
    assert {k: upcloud[k] for k in ("subprocessor", "name", "legal_id", "location", "purpose")} == {
        "subprocessor": "upcloud", "name": "Upcloud Oy", "legal_id": "FI24315605",
        "location": "Helsinki, Suomi", "purpose": "Dedikoidut MTA:t",
    }
    for party in annex["subprocessors"]:
        assert {"id", "name", "legal_id", "country"} <= set(party)
    assert [(p["id"], p["country"]) for p in annex["subprocessors"]] == [
        ("google-ireland", "IE"), ("peakford", "MT"), ("okta-ireland", "IE"), ("cyclr", "GB"),
        ("twilio-ireland", "IE"), ("dna", "FI"), ("hetzner", "DE"), ("upcloud", "FI"),
    ]
    assert [r["name"] for r in annex["customer_register"]] == [
        "Garba", "Chargebee", "Gainsight", "Monday.com", "Pipedrive", "Startdeliver", "Zendesk",
    ]
    # The same file gives the same document.
    assert json.loads(run("resolve", str(tmp_path / "acme.yaml")).stdout) == annex


def test_resolve_of_a_bad_file_exits_1_and_prints_no_json(tmp_path):
    build_file_tree(tmp_path, {"bad.yaml": BAD})
    proc = run("resolve", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[:-1] == bad_messages(tmp_path / "bad.yaml")
    assert lines[-1].startswith("annex-gen: 2 errors")


def test_resolve_of_a_missing_file(tmp_path):
    proc = run("resolve", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == f"{tmp_path}/nope.yaml: no such file"


def test_resolve_prints_warnings_on_stderr_and_json_on_stdout(tmp_path):
    build_file_tree(tmp_path, {"c.yaml": """
        customer: {id: acme, name: Acme Oy}
        contract:
          date: 2026-11-29
          region: hk
          language: en
          products: [mailer]
          options: {dedicated_mta: true}
    """})
    proc = run("resolve", str(tmp_path / "c.yaml"))
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [
        f"{tmp_path}/c.yaml:7:28: contract.options.dedicated_mta: warning: option 'dedicated_mta' "
        "has no effect for region 'hk' and products mailer; no entry it enables applies"
    ]
    assert json.loads(proc.stdout)["region"] == "hk"


PROBE = f"""
import sys, time
from annex_gen.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - start
sys.stdout.flush()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {set(HEAVY)})
print("PROBE", code, ",".join(heavy), f"{{elapsed:.3f}}", file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["check"], ["resolve", "examples/kaikki-tuotteet.yaml"]])
def test_check_and_resolve_do_not_import_the_renderers(args):
    # Their start-up time is measured in bench/, not here; what keeps it low is not loading the renderers.
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    probe = proc.stderr.splitlines()[-1].split(" ")
    assert probe[:2] == ["PROBE", "0"], proc.stderr
    assert probe[2] == "", f"{' '.join(args)} imported {probe[2]}"


def test_version():
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("annex-gen ")


def test_the_program_exits_with_its_code_its_output_whole_and_its_exit_handlers_run(tmp_path):
    """`annex-gen` skips the interpreter's teardown at exit: the code, every byte written and the
    exit handlers' work (here the compiled-code cache) are as with a full exit."""
    program = str(Path(sys.executable).parent / "annex-gen")
    env = {**os.environ, "ANNEX_GEN_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([program, "resolve", "examples/kaikki-tuotteet.yaml"], cwd=ROOT, capture_output=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads(proc.stdout)  # the whole JSON came through the pipe
    assert resolved["customer"]["id"] == "kaikki-tuotteet" and len(proc.stdout) > 10_000
    assert list((tmp_path / "cache").glob("dataclasses-*.marshal")), "the exit handler wrote the cache"
    missing = subprocess.run([program, "check", str(tmp_path / "missing.yaml")], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, env=env)
    assert missing.returncode == 1 and "missing.yaml: no such file" in missing.stderr
    closed = subprocess.run(f"{program} resolve examples/kaikki-tuotteet.yaml | head -c 10", shell=True, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    assert closed.stdout == '{\n  "schem' and "Traceback" not in closed.stderr

    # the teardown is what is skipped: an object's finaliser runs only when another thread is still alive
    teardown = ("import os, sys\nclass Torn:\n    def __del__(self): os.write(2, b'torn down')\nkept = Torn()\n{}"
                "sys.argv = ['annex-gen', 'resolve', 'examples/kaikki-tuotteet.yaml']\n"
                "from annex_gen.cli import run\nrun()\n")
    other = "import threading, time\nthreading.Thread(target=time.sleep, args=(0.3,)).start()\n"
    fast, usual = (subprocess.run([sys.executable, "-c", teardown.format(extra)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60, env=env) for extra in ("", other))
    assert fast.returncode == usual.returncode == 0 and fast.stdout == usual.stdout == proc.stdout.decode()
    assert "torn down" not in fast.stderr and "torn down" in usual.stderr
