"""Control characters from a certificate name, a PDF's embedded data or a file name never reach the
terminal or a page raw: `archive add`, `show`, `list`, `verify` and the web pages show them escaped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen.shown import escaped
from archive_support import annex_pdf, example_annex, pdf_with_annex_json, sign, with_document_id, write
from legal_web_support import example_contracts, registry_repo
from web_support import csrf

HOSTILE_SIGNER = "Evil\x1b]0;pwned\x07\x1b[2J\nannex-gen: record 9 verified\u202eFDP"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_escaped_writes_every_control_character_visibly():
    assert escaped("a\x1b[31mb\x07\nc\u202ed\x9b") == "a\\x1b[31mb\\x07\\nc\\u202ed\\x9b"
    assert escaped("line one\nline\ttwo\r", keep="\n\t") == "line one\nline\ttwo\\r"
    assert escaped("Maija Meikäläinen, 東京") == "Maija Meikäläinen, 東京"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "annex_gen", "archive", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stdout + result.stderr
    assert not RAW.search(text), f"raw control character in {text!r}"
    return text


@pytest.fixture
def hostile_files(tmp_path: Path) -> dict[str, Path]:
    annex = example_annex("nordic-webshop").to_dict()
    annex["subprocessors"][0]["name"] += "\x1b[8m hidden"
    return {
        "signed": write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop"), signer=HOSTILE_SIGNER)),
        "embedded": write(tmp_path / "embedded.pdf", pdf_with_annex_json(with_document_id(annex))),
        "named": write(tmp_path / "scan\x1b[2J\u202e.pdf", sign(annex_pdf("kauppahuone-aalto"))),
    }


def test_the_terminal_shows_them_escaped(tmp_path, backend, hostile_files):
    archive = ["--archive", backend.location]
    added = _clean(run(tmp_path, "add", "signed.pdf", "--customer", "nordic-webshop", *archive))
    assert "by Evil\\x1b]0;pwned\\x07\\x1b[2J\\nannex-gen: record 9 verified\\u202eFDP, signed" in added
    embedded = _clean(run(tmp_path, "add", "embedded.pdf", "--customer", "nordic-webshop", "--unsigned-copy", *archive))
    assert "archived embedded.pdf as record 2" in embedded
    named = _clean(run(tmp_path, "add", "scan\x1b[2J\u202e.pdf", "--customer", "kauppahuone-aalto", *archive))
    assert "archived scan\\x1b[2J\\u202e.pdf as record 3" in named

    shown = _clean(run(tmp_path, "show", "1", *archive))
    assert "signature Signature1 by Evil\\x1b]0;pwned\\x07\\x1b[2J\\nannex-gen: record 9 verified" in shown
    assert "\\x1b[8m hidden" in _clean(run(tmp_path, "show", "2", *archive))
    listed = _clean(run(tmp_path, "list", *archive))
    assert "scan\\x1b[2J\\u202e.pdf" in listed and len(listed.splitlines()) == 4
    assert "no problems" in _clean(run(tmp_path, "verify", *archive))

    # A refusal names the signer the same way, on one line.
    refused = run(tmp_path, "add", "signed.pdf", "--customer", "nordic-webshop", *archive)
    assert refused.returncode == 1
    assert len(_clean(refused).splitlines()) == 2


def test_a_refused_file_with_a_hostile_signer_is_one_line(tmp_path, hostile_files):
    from archive_support import flip_signed_byte

    write(tmp_path / "broken.pdf", flip_signed_byte(hostile_files["signed"].read_bytes()))
    result = run(tmp_path, "add", "broken.pdf", "--customer", "nordic-webshop", "--archive", str(tmp_path / "a"))
    assert result.returncode == 1
    lines = _clean(result).splitlines()
    assert lines[0].startswith("broken.pdf: signature Signature1 by Evil\\x1b]0;pwned\\x07") and len(lines) == 2


def test_the_web_pages_show_them_escaped(tmp_path, backend, hostile_files):
    from annex_gen.web import Settings, create_app

    settings = Settings(registry_dir=registry_repo(tmp_path / "repo"),
                        customers_dir=example_contracts(tmp_path / "customers", "nordic-webshop"),
                        out_dir=tmp_path / "output", archive=backend.location)
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        review = client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"),
                                                      "customer": "nordic-webshop"},
                             files={"file": ("signed.pdf", hostile_files["signed"].read_bytes(), "application/pdf")})
        assert review.status_code == 200
        assert not RAW.search(review.text)
        assert "Evil\\x1b]0;pwned\\x07\\x1b[2J" in review.text
        token = re.search(r'name="token" value="([0-9a-f]{64})"', review.text).group(1)
        stored = client.post("/archive/store", data={"csrf_token": csrf(client, "/archive"), "token": token,
                                                     "customer": "nordic-webshop", "action": "store"})
        assert stored.status_code == 303
        history = "/archive/customers/nordic-webshop"  # the signer's name, as the archive's history shows it
        for page in (stored.headers["location"], history, "/archive", "/audit"):
            response = client.get(page)
            assert response.status_code == 200, page
            assert not RAW.search(response.text), page
        assert "Evil\\x1b]0;pwned" in client.get(history).text
