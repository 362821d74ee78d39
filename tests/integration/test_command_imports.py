"""What a one-contract command imports: nothing another command, engine or format needs.

A module imported is start-up time every user pays; the start-up goals (bench/startup_bench.py,
docs/performance.md) rest on these lists. Run as a user runs the CLI, in a fresh process, with
the registry cache warm (a second run), as it is from a user's second command on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, copy_registry

PROBE = """
import sys
from annex_gen.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("PROBE", code, " ".join(sorted(sys.modules)), file=sys.stderr)
"""

# Never for a single annex or a check: the archive, the web application, the team's database, signatures.
ELSEWHERE = {"pyhanko", "psycopg", "psycopg_pool", "starlette", "uvicorn", "procrastinate", "sqlite3", "asn1crypto",
             "cryptography", "annex_gen.archive.store", "annex_gen.archive.sqlite_index",
             "annex_gen.archive.postgres_index", "annex_gen.archive.pdfinfo", "annex_gen.archive.intake",
             "annex_gen.archive.chain", "annex_gen.signoff.releases", "annex_gen.web", "annex_gen.team",
             "annex_gen.lifecycle",
             "annex_gen.batch", "annex_gen.publish", "annex_gen.changes", "annex_gen.cli.archive",
             "annex_gen.cli.batch", "annex_gen.cli.web", "annex_gen.cli.lifecycle", "annex_gen.cli.team",
             "annex_gen.cli.publish"}
RENDERING = {"weasyprint", "typst", "docx", "jinja2", "fontTools", "PIL", "lxml", "pydyf", "annex_gen.render.pdf",
             "annex_gen.render.typst_pdf", "annex_gen.output", "annex_gen.views"}
# What parsing the registry afresh needs; with the cache warm, resolve and check read it pickled.
# ruamel reads only the files libyaml's fast path leaves (anchors, tags, errors; see yamlio).
REGISTRY_PARSE = {"babel", "stdnum", "annex_gen.inputs.registry", "ruamel", "annex_gen.inputs.yaml_pure"}
NETWORK = {"ssl", "socket", "http", "urllib.request", "email"}
# What only other paths need: worker processes, WeasyPrint's library search, dataclasses describing a class
# without a docstring, suggestions for a wrong value, CRM exports, OpenSSL's hashes.
START_UP = {"multiprocessing", "ctypes", "inspect", "tempfile", "difflib", "csv", "annex_gen.inputs.crm",
            "hashlib", "_hashlib"}  # OpenSSL: annex_gen.hashing takes the interpreter's own SHA-256

FORBIDDEN = {
    "resolve": ELSEWHERE | RENDERING | REGISTRY_PARSE | NETWORK | START_UP,
    "check": ELSEWHERE | RENDERING | REGISTRY_PARSE | NETWORK | START_UP,
    "generate pdf": ELSEWHERE | {"typst", "docx", "annex_gen.render.typst_pdf", "annex_gen.output.docx"},
    "generate typst": ELSEWHERE | START_UP | {"weasyprint", "docx", "fontTools", "PIL", "lxml", "pydyf", "cssselect2",
                                   "tinycss2", "jinja2", "annex_gen.render.pdf", "annex_gen.output.docx",
                                   "babel"},  # dates, lists and country names from annex_gen.cldr's table
}
ARGS = {
    "resolve": ["resolve", "examples/esimerkki-oy.yaml"],
    "check": ["check", "examples/esimerkki-oy.yaml", "examples/kaikki-tuotteet.yaml"],
    "generate pdf": ["generate", "examples/esimerkki-oy.yaml", "--format", "pdf"],
    "generate typst": ["generate", "examples/esimerkki-oy.yaml", "--format", "pdf", "--engine", "typst"],
}


def _imported(args: list[str]) -> set[str]:
    for _ in range(2):  # the first run fills the registry cache
        proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    probe = proc.stderr.splitlines()[-1].split(" ")
    assert probe[:2] == ["PROBE", "0"], proc.stderr
    return set(probe[2:])


# annex_gen.archive.index (names and defaults of archive locations, the standard library only) is
# allowed: every command with --archive reads its default there; finding no archive directory, the
# approved-release lookup (annex_gen.signoff.releases) is never imported.
@pytest.mark.parametrize("command", list(FORBIDDEN))
def test_a_command_imports_only_what_it_needs(command, tmp_path):
    args = ARGS[command] + (["--out", str(tmp_path)] if command.startswith("generate") else [])
    modules = _imported(args)
    found = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[command]))
    assert found == [], f"{' '.join(args)} imported {found}"
    if command.startswith("generate"):
        assert {"weasyprint" if command == "generate pdf" else "typst"} <= modules  # the probe saw the render
        assert any(tmp_path.rglob("*.pdf"))


def test_check_of_a_committed_registry_starts_one_git_process(tmp_path):
    """The release label warning needs git; with the registry as committed, one `git diff` answers."""
    log = tmp_path / "git.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {shutil.which("git")} "$@"\n')
    shim.chmod(0o755)
    registry = copy_registry(tmp_path / "repo" / "registry")
    author = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "."], [*author, "commit", "-qm", "r"]):
        subprocess.run(["git", "-C", str(registry.parent), *args], check=True, capture_output=True)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "annex_gen", "--registry", str(registry), "check",
                           "examples/esimerkki-oy.yaml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and " diff --quiet HEAD " in f" {calls[0]} ", calls
