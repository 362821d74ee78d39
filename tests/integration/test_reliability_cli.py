"""Hardening, end to end: names in every script of our regions, long names, batch trust boundaries, broken pipes."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import docx
import pdfplumber
import pytest
from docx.oxml.ns import qn
from tests.integration.batch_support import ROOT, add_mailer_entry, cli, command, manifest, pdf_text

HK_NAME = "九龍設計工作室有限公司"
SC_NAME = "简体中文测试"
HEBREW = "שלום"
ARABIC = "شركة دبي للفعاليات"


def write_contract(path: Path, name: str, *, cid: str = "acme", region: str = "hk", email: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = f"  contact_email: {email}\n" if email else ""
    path.write_text(f"customer:\n  id: {cid}\n  name: {json.dumps(name, ensure_ascii=False)}\n{extra}"
                    f"contract:\n  date: 2026-12-01\n  region: {region}\n  language: en\n  products: [mailer]\n",
                    encoding="utf-8")
    return path


def pdf_fonts(path: Path) -> dict[str, set[str]]:
    """Each character of page 1 -> the families it is drawn in (subset prefix and weight removed)."""
    out: dict[str, set[str]] = {}
    with pdfplumber.open(path) as pdf:
        for c in pdf.pages[0].chars:
            out.setdefault(c["text"], set()).add(c["fontname"].split("+", 1)[-1].removesuffix("-Bold"))
    return out


def test_chinese_arabic_and_hebrew_names_render_from_the_bundled_fonts(tmp_path):
    name = f"{HK_NAME} {SC_NAME} {HEBREW} {ARABIC}"
    contract = write_contract(tmp_path / "c" / "acme.yaml", name)
    proc = cli("generate", contract, "--out", tmp_path / "out", "--format", "pdf,docx")
    assert proc.returncode == 0, proc.stderr
    pdf = next((tmp_path / "out" / "acme").glob("*.pdf"))
    text = pdf_text(pdf)
    assert HK_NAME in text and SC_NAME in text
    fonts = pdf_fonts(pdf)
    assert set().union(*(fonts[c] for c in HK_NAME + SC_NAME)) == {"Annex-CJK"}
    assert set().union(*(fonts[c] for c in HEBREW)) == {"Annex-Hebrew"}
    arabic = [f for ch, f in fonts.items() if "\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff"]
    assert arabic and set().union(*arabic) == {"Annex-Arabic"}  # shaped: presentation forms from the Arabic font
    assert set().union(*(fonts[c] for c in "Customer")) == {"Annex-Sans"}

    document = docx.Document(str(next((tmp_path / "out" / "acme").glob("*.docx"))))
    runs = [r for p in document.element.body.iter(qn("w:p")) for r in p.iter(qn("w:r"))
            if HK_NAME in "".join(t.text or "" for t in r.iter(qn("w:t")))]
    assert runs
    for run in runs:
        fonts_el = run.find(qn("w:rPr")).find(qn("w:rFonts"))
        assert fonts_el.get(qn("w:eastAsia")) == "Droid Sans Fallback"
        assert fonts_el.get(qn("w:cs")) == "Noto Sans Arabic"


def test_a_latin_annex_loads_no_fallback_font(tmp_path):
    contract = write_contract(tmp_path / "c" / "acme.yaml", "Pohjolan Media ja Viestintä Oy", region="eu")
    proc = cli("generate", contract, "--out", tmp_path / "out", "--format", "pdf,html")
    assert proc.returncode == 0, proc.stderr
    html = next((tmp_path / "out" / "acme").glob("*.html")).read_text(encoding="utf-8")
    assert "Annex CJK" not in html and "<style>" not in html
    with pdfplumber.open(next((tmp_path / "out" / "acme").glob("*.pdf"))) as pdf:
        used = {c["fontname"].split("+", 1)[-1] for page in pdf.pages for c in page.chars}
    assert used <= {"Annex-Sans", "Annex-Sans-Bold", "Annex-Sans-Italic"}


def test_check_warns_about_a_character_no_bundled_font_has(tmp_path):
    contract = write_contract(tmp_path / "c" / "acme.yaml", "Smile 😀 Ltd")
    proc = cli("check", contract)
    assert proc.returncode == 0
    assert "customer.name: warning: no bundled font has '😀' (U+1F600 GRINNING FACE)" in proc.stderr
    assert cli("check", "--strict", contract).returncode == 1


def test_the_longest_valid_name_generates_and_its_docx_properties_are_shortened(tmp_path):
    name = ("Pohjoismainen Erittäin Pitkänimisen Yhtiön Tytäryhtiö " * 6)[:300].strip()
    contract = write_contract(tmp_path / "c" / "long.yaml", name, cid="long", region="eu")
    assert cli("check", contract).returncode == 0
    proc = cli("generate", contract, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    props = docx.Document(str(next((tmp_path / "out" / "long").glob("*.docx")))).core_properties
    assert len(props.subject) == 255 and props.subject.endswith("\u2026")
    assert name in pdf_text(next((tmp_path / "out" / "long").glob("*.pdf"))).replace("\n", " ")


def test_notices_for_a_long_name_leave_no_orphan(tmp_path):
    registry = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", registry)
    add_mailer_entry(registry)
    name = ("Pohjoismainen Erittäin Pitkänimisen Yhtiön Tytäryhtiö " * 6)[:300].strip()
    contract = write_contract(tmp_path / "c" / "long.yaml", name, cid="long", region="eu",
                              email="legal@long.example")
    out = tmp_path / "notices"
    proc = cli("notices", "--from", "registry", "--to", registry, "--notice-date", "2026-12-01", "--out", out,
               contract)
    assert proc.returncode == 0, proc.stderr
    with (out / "notices.csv").open(encoding="utf-8-sig", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert sorted(p.name for p in (out / "long").iterdir()) == sorted(
        Path(row[k]).name for k in ("notice_pdf", "notice_docx", "annex_pdf", "annex_docx"))


def test_batch_never_acts_on_a_manifest_path_outside_out(tmp_path):
    contract = write_contract(tmp_path / "c" / "acme.yaml", "Acme Oy", region="eu")
    out = tmp_path / "out"
    assert cli("batch", contract, "--out", out, "--jobs", "1").returncode == 0
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    data["customers"]["acme"]["files"]["pdf"]["path"] = "../victim.txt"
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    proc = cli("batch", contract, "--out", out, "--jobs", "1", "--plain")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "someone else's file"
    assert (f"{out / 'manifest.json'}: customers.acme: warning: file path '../victim.txt' is outside {out}; "
            "the record is corrupt and ignored") in proc.stderr
    assert "1 generated, 0 unchanged, 0 failed" in proc.stdout
    assert not manifest(out)["acme"]["files"]["pdf"]["path"].startswith("..")


def test_a_no_op_batch_keeps_the_files_generate_wrote(tmp_path):
    contract = write_contract(tmp_path / "c" / "acme.yaml", "Acme Oy", region="eu")
    out = tmp_path / "out"
    assert cli("batch", contract, "--out", out, "--jobs", "1").returncode == 0
    assert cli("generate", contract, "--out", out, "--format", "html,json").returncode == 0
    before = sorted(p.name for p in (out / "acme").iterdir())
    assert {p.rsplit(".", 1)[1] for p in before} == {"pdf", "docx", "html", "json", "css"}
    proc = cli("batch", contract, "--out", out, "--jobs", "1", "--plain")
    assert proc.returncode == 0 and "0 generated, 1 unchanged, 0 failed" in proc.stdout
    assert sorted(p.name for p in (out / "acme").iterdir()) == before


def test_a_broken_pipe_is_not_success(tmp_path):
    # The reader goes away at once, as `| head -0` would: the summary line cannot be delivered.
    proc = subprocess.Popen(command("check", ROOT / "examples"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141, stderr
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_check_refuses_a_device_at_once(path):
    proc = cli("check", path, timeout=60)
    assert proc.returncode == 1
    assert f"{path}: is not a regular file (a device, FIFO or socket); expected a file" in proc.stderr


def test_check_refuses_a_fifo_without_hanging(tmp_path):
    import os

    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    proc = cli("check", fifo, timeout=60)
    assert proc.returncode == 1
    assert f"{fifo}: is not a regular file (a device, FIFO or socket); expected a file" in proc.stderr


def test_the_docx_embeds_noto_sans_as_word_does(annex_for):
    import io
    import zipfile

    from fontTools.ttLib import TTFont

    from annex_gen.render.docx import render_docx

    data = render_docx(annex_for("eu", ["mailer"], customer_name="Pohjolan Media ja Viestintä Oy"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        font_table = z.read("word/fontTable.xml").decode("utf-8")
        assert "<w:embedTrueTypeFonts/><w:saveSubsetFonts/>" in z.read("word/settings.xml").decode("utf-8")
        assert 'ContentType="application/vnd.openxmlformats-officedocument.obfuscatedFont"' in z.read(
            "[Content_Types].xml").decode("utf-8")
        for tag, name in (("embedRegular", "Regular"), ("embedBold", "Bold"), ("embedItalic", "Italic")):
            key = font_table.split(f"<w:{tag} ", 1)[1].split('w:fontKey="', 1)[1].split('"', 1)[0]
            blob = bytearray(z.read(f"word/fonts/NotoSans-{name}.odttf"))
            key_bytes = bytes.fromhex(key.strip("{}").replace("-", ""))[::-1]
            for i in range(32):  # undo Word's obfuscation (ECMA-376 part 1, 17.8.1)
                blob[i] ^= key_bytes[i % 16]
            font = TTFont(io.BytesIO(bytes(blob)))
            assert font["name"].getDebugName(1) == "Noto Sans"
            assert all(ord(c) in font.getBestCmap() for c in "Pohjolan Media ja Viestintä Oy – Åå €")


def test_libreoffice_shows_the_docx_in_its_embedded_noto_sans(annex_for, tmp_path):
    """Where Noto Sans is installed this passes anyway; on a machine without it (CI) only embedding makes it."""
    from tests.integration.render_support import libreoffice

    from annex_gen.render.docx import render_docx

    office = libreoffice()
    assert office is not None, "LibreOffice is needed for this test: scripts/install-system-packages installs it"
    path = tmp_path / "annex.docx"
    path.write_bytes(render_docx(annex_for("eu", ["mailer"])))
    result = subprocess.run(
        [office, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        capture_output=True, timeout=180, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with pdfplumber.open(tmp_path / "annex.pdf") as pdf:
        used = {c["fontname"].split("+", 1)[-1] for page in pdf.pages for c in page.chars}
    assert used == {"NotoSans-Regular", "NotoSans-Bold", "NotoSans-Italic"}
