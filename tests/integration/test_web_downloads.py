"""The web application's downloads are `annex-gen generate`'s files, byte for byte, generated once."""

from __future__ import annotations

from pathlib import Path

import docx
from tests.integration.render_support import pdf_document, run_cli

from conftest import EXAMPLES_DIR, REGISTRY_DIR
from web_support import web_client


def test_downloads_are_the_bytes_generate_writes_and_are_cached(tmp_path: Path) -> None:
    contract = (EXAMPLES_DIR / "kauppahuone-aalto.yaml").read_text(encoding="utf-8")
    client = web_client(tmp_path, {"kauppahuone-aalto.yaml": contract})
    cli_out = tmp_path / "cli"
    result = run_cli("generate", tmp_path / "customers" / "kauppahuone-aalto.yaml", "--out", cli_out,
                     "--registry", REGISTRY_DIR)
    assert result.returncode == 0, result.stderr.decode()
    (expected_pdf,) = (cli_out / "kauppahuone-aalto").glob("ANX-*.pdf")
    document_id = expected_pdf.stem

    for fmt, media in (("pdf", "application/pdf"), ("docx", "application/vnd.openxmlformats-officedocument")):
        response = client.get(f"/customers/kauppahuone-aalto/download/{fmt}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-disposition"] == \
            f'attachment; filename="kauppahuone-aalto-{document_id}.{fmt}"'
        assert response.content == (cli_out / "kauppahuone-aalto" / f"{document_id}.{fmt}").read_bytes()

    cached = tmp_path / "output" / "kauppahuone-aalto" / f"{document_id}.pdf"
    stamp = cached.stat().st_mtime_ns
    assert client.get("/customers/kauppahuone-aalto/download/pdf").content == cached.read_bytes()
    assert cached.stat().st_mtime_ns == stamp  # served from the output folder, not rendered again
    assert "Kauppahuone Aalto" in pdf_document(cached).pages[0].text
    word = docx.Document(str(cached.with_suffix(".docx")))
    assert any("Kauppahuone Aalto" in p.text for p in word.paragraphs + [
        p for t in word.tables for row in t.rows for c in row.cells for p in c.paragraphs])
    assert '<span class="tag current"' in client.get("/customers").text


def test_hostile_names_stay_text_in_pages_and_documents(tmp_path: Path) -> None:
    name = "<script>alert(1)</script> & {{ 7*7 }}"
    client = web_client(tmp_path, {"x.yaml": f"""
        customer:
          id: hostile
          name: '{name}'
        contract:
          date: 2026-11-30
          region: eu
          language: en
          products: [mailer]
    """})
    for path in ("/customers", "/customers/hostile", "/customers/hostile/edit", "/customers/hostile/annex/annex.html"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ 7*7 }}" in page, path
    client.get("/customers/hostile/download/pdf")
    (pdf,) = (tmp_path / "output" / "hostile").glob("*.pdf")
    assert name in " ".join(pdf_document(pdf).pages[0].text.split())
