"""Draft or final, visibly: an annex from registry content legal has not approved is a draft on every page.

Read back from the real files: the PDF of both engines (pdfplumber, every page), the DOCX (python-docx:
the header every page repeats, and the body's end), the annex JSON; and `archive add` refuses a draft
unless legal states the customer signed it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from render_support import approved_archive

from annex_gen.inputs.contract import load_contract
from annex_gen.render import render
from annex_gen.resolve import resolve
from archive_support import draft_registry, sign
from conftest import EXAMPLES_DIR

MARK = {"fi": "LUONNOS – ei allekirjoitettavaksi", "en": "DRAFT – not for signature"}
STATEMENT = {"fi": "Tämä liite on luonnos tarkastettavaksi", "en": "This annex is a draft for review"}
SIGNATURE_LABEL = {"fi": "Nimenselvennys ja asema", "en": "Name in block letters and title"}
# one example per region and language: EU (fi), UAE (en), HK (fi); nordic-webshop is EU in English
EXAMPLES = {"esimerkki-oy": "fi", "gulf-retail": "en", "kowloon-studio": "fi", "nordic-webshop": "en"}


def generate(out: Path, names, *args: str) -> dict[str, dict[str, Path]]:
    paths = [str(EXAMPLES_DIR / f"{name}.yaml") for name in names]
    result = subprocess.run([sys.executable, "-m", "annex_gen", "generate", *paths, "--format", "pdf,docx,json",
                             "--out", str(out), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    files = {}
    for name in names:
        folder = out / name
        files[name] = {ext: next(folder.glob(f"*.{ext}")) for ext in ("pdf", "docx", "json")}
    return files


@pytest.fixture(scope="module", params=["weasyprint", "typst"])
def drafts(request, tmp_path_factory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp(f"drafts-{request.param}")
    return generate(out, EXAMPLES, "--engine", request.param, "--archive", str(out / "no-archive"))


@pytest.fixture(scope="module")
def finals(tmp_path_factory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("finals")
    return generate(out, EXAMPLES, "--archive", str(approved_archive()))


def pages(pdf: Path) -> list[str]:
    with pdfplumber.open(pdf) as doc:
        return [page.extract_text() or "" for page in doc.pages]


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_draft_is_marked_on_every_page_and_has_no_signature_block(drafts, name):
    language = EXAMPLES[name]
    files = drafts[name]
    assert json.loads(files["json"].read_text(encoding="utf-8"))["status"] == "draft"
    texts = pages(files["pdf"])
    assert len(texts) >= 2
    for number, text in enumerate(texts, start=1):
        assert text.splitlines()[0] == MARK[language], f"page {number}"
    assert STATEMENT[language] in " ".join(texts[-1].split())
    assert SIGNATURE_LABEL[language] not in "".join(texts)
    # the DOCX: the mark in the header (repeated on every page), the statement where the signatures were
    docx = Document(str(files["docx"]))
    header = [p.text for p in docx.sections[0].header.paragraphs]
    assert MARK[language] in header
    body = [p.text for p in docx.paragraphs]
    assert body[-2:] == [MARK[language], body[-1]] and body[-1].startswith(STATEMENT[language])
    assert not any(SIGNATURE_LABEL[language] in cell.text for t in docx.tables for r in t.rows for cell in r.cells)


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_final_has_no_mark_and_keeps_the_signature_block(finals, name):
    language = EXAMPLES[name]
    files = finals[name]
    assert json.loads(files["json"].read_text(encoding="utf-8"))["status"] == "final"
    texts = pages(files["pdf"])
    assert not any(MARK[language] in text or STATEMENT[language] in text for text in texts)
    assert SIGNATURE_LABEL[language] in texts[-1]
    docx = Document(str(files["docx"]))
    assert [p.text for p in docx.sections[0].header.paragraphs if MARK[language] in p.text] == []


def test_draft_and_final_are_different_documents(drafts, finals):
    draft = json.loads(drafts["esimerkki-oy"]["json"].read_text(encoding="utf-8"))
    final = json.loads(finals["esimerkki-oy"]["json"].read_text(encoding="utf-8"))
    assert draft["document_id"] != final["document_id"]
    assert {k: v for k, v in draft.items() if k not in ("status", "document_id")} == \
           {k: v for k, v in final.items() if k not in ("status", "document_id")}


def archive_add(cwd: Path, pdf: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    (cwd / "signed.pdf").write_bytes(pdf)
    return subprocess.run([sys.executable, "-m", "annex_gen", "archive", "add", "signed.pdf", "--customer",
                           "esimerkki-oy", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_archive_add_refuses_a_draft_unless_the_customer_signed_it(tmp_path, backend):
    registry = draft_registry()
    contract, _ = load_contract(registry, EXAMPLES_DIR / "esimerkki-oy.yaml")
    annex = resolve(registry, contract)
    signed = sign(render(annex, "pdf"))
    where = ("--archive", backend.location)
    refused = archive_add(tmp_path, signed, *where)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"annex {annex.document_id} is a DRAFT, not for signature" in refused.stderr
    assert "--signed-draft" in refused.stderr
    added = archive_add(tmp_path, signed, "--signed-draft", *where)
    assert added.returncode == 0, added.stderr
    assert "is a signed DRAFT (not for signature), archived because of --signed-draft" in added.stderr
    shown = subprocess.run([sys.executable, "-m", "annex_gen", "archive", "show", "1", "--json", *where],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    body = json.loads(shown.stdout)["body"]
    assert body["signed_draft"] is True and body["annex"]["status"] == "draft"
    listed = subprocess.run([sys.executable, "-m", "annex_gen", "archive", "list", *where],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path).stdout
    assert f"{annex.document_id} DRAFT" in listed
    show = subprocess.run([sys.executable, "-m", "annex_gen", "archive", "show", "1", *where],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path).stdout
    assert "a signed DRAFT (not for signature), archived with --signed-draft" in show
    verify = subprocess.run([sys.executable, "-m", "annex_gen", "archive", "verify", *where],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # --signed-draft on a final is refused: the record never says draft about a final
    final = sign(render(resolve(_final(registry), contract), "pdf"))
    wrong = archive_add(tmp_path, final, "--signed-draft", *where)
    assert wrong.returncode == 1 and "--signed-draft was given, but annex" in wrong.stderr


def _final(registry):
    import dataclasses

    return dataclasses.replace(registry, status="final")
