"""LibreOffice opens a generated DOCX cleanly: headless conversion to PDF succeeds, and the result
shows the document ID, every heading, and working PAGE / NUMPAGES fields in the footer."""

from __future__ import annotations

import re
import subprocess

import pytest
import render_support as rs

EXAMPLE = "kaikki-tuotteet"  # the longest example: tables continue over pages
PAGE_PATTERNS = {"en": r"Page (\d+) of (\d+)", "fi": r"Sivu (\d+) / (\d+)"}


@pytest.fixture(scope="session")
def session(tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory)


def test_libreoffice_converts_docx_to_pdf(session, tmp_path):
    office = rs.libreoffice()
    if office is None:
        pytest.fail("LibreOffice is not installed (/usr/bin/libreoffice): run scripts/install-system-packages "
                    "(Debian's libreoffice-writer-nogui)")
    ex = session.examples[EXAMPLE]
    profile = tmp_path / "profile"
    out = tmp_path / "pdf"
    result = subprocess.run(
        [office, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
         "--convert-to", "pdf", "--outdir", str(out), str(ex.files["docx"])],
        capture_output=True, timeout=180, check=False, cwd=tmp_path,
    )
    log = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, log
    converted = out / f"{ex.document_id}.pdf"
    assert converted.is_file(), log
    assert "Error:" not in log, log

    import pdfplumber

    with pdfplumber.open(converted) as pdf:
        texts = [page.extract_text() or "" for page in pdf.pages]
    assert len(texts) >= 2
    whole = rs.squash("\n".join(texts))
    assert ex.document_id in whole
    for block in rs.expected_document(ex.annex):
        assert block.heading in whole, block.heading
    # The footer fields are computed by LibreOffice: page i of n on page i.
    for number, text in enumerate(texts, start=1):
        assert ex.document_id in text, f"page {number}"
        pages = re.findall(PAGE_PATTERNS[ex.language], text)
        assert (str(number), str(len(texts))) in pages, f"page {number}: {pages}"
