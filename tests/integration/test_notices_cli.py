"""`annex-gen diff` and `annex-gen notices` over registry copies and git revisions."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import docx
import pdfplumber
import pikepdf
import pytest
from tests.integration.batch_support import (
    EU_MAILER_EXAMPLES,
    EXAMPLES_DIR,
    ROOT,
    add_mailer_entry,
    cli,
    docx_text,
    pdf_text,
)

from archive_support import approve_release, example_annex


@pytest.fixture
def new_registry(tmp_path) -> Path:
    """The project's registry plus a new sub-processor for LianaMailer in the EU."""
    directory = tmp_path / "registry-new"
    shutil.copytree(ROOT / "registry", directory)
    add_mailer_entry(directory)
    return directory


def test_diff_of_two_registry_copies_as_json(new_registry):
    proc = cli("diff", "--from", "registry", "--to", new_registry, EXAMPLES_DIR, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["from"]["source"] == "registry" and report["to"]["source"] == str(new_registry)
    (change,) = report["changes"]
    assert change["kind"] == "entry-added" and change["entity"] == "hetzner"
    assert change["new"] == {"section": "eu-mailer", "entity": "hetzner", "location": "germany",
                             "purpose": {"fi": "Sähköpostiarkisto", "en": "Email archive"}, "option": None}
    status = {c["customer_id"]: c["status"] for c in report["customers"]}
    assert {cid for cid, s in status.items() if s == "affected"} == EU_MAILER_EXAMPLES
    assert {cid for cid, s in status.items() if s == "unaffected"} == {
        p.stem for p in EXAMPLES_DIR.glob("*.yaml")} - EU_MAILER_EXAMPLES
    aalto = next(c for c in report["customers"] if c["customer_id"] == "kauppahuone-aalto")
    assert aalto["changes"] == [1]
    assert [(r["name"], r["section"], r["new"]["location"]) for r in aalto["annex"]["added"]] == [
        ("Hetzner Online GmbH", "eu-mailer", "Germany")]
    assert report["summary"] == {"affected": 3, "unaffected": 6, "error": 0}


def test_diff_as_text_lists_affected_and_unaffected_customers(new_registry):
    proc = cli("diff", "--from", "registry", "--to", new_registry,
               EXAMPLES_DIR / "esimerkki-oy.yaml", EXAMPLES_DIR / "gulf-retail.yaml")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1:3] == [
        "1 change:",
        "  [1] added: Hetzner Online GmbH (hetzner) to LianaMailer [eu-mailer]: Germany: Email archive",
    ]
    assert lines[4:] == [
        "Customers: 1 affected, 1 unaffected, 0 errors",
        f"  esimerkki-oy: affected by [1] -- Esimerkki Oy ({EXAMPLES_DIR / 'esimerkki-oy.yaml'}, fi)",
        "      + Hetzner Online GmbH -- LianaMailer: Saksa: Sähköpostiarkisto",
        f"  gulf-retail: unaffected -- Gulf Retail Trading LLC ({EXAMPLES_DIR / 'gulf-retail.yaml'})",
    ]


def test_diff_between_git_revisions(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "registry", repo / "registry")

    def git(*args: str) -> None:
        identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "registry")
    git("commit", "-q", "-m", "registry")
    add_mailer_entry(repo / "registry")
    git("commit", "-q", "-am", "new sub-processor")
    proc = cli("diff", "--registry", repo / "registry", "--from", "HEAD~1", "--to", "HEAD", "--json",
               EXAMPLES_DIR / "kauppahuone-aalto.yaml", EXAMPLES_DIR / "nordic-webshop.yaml")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["from"]["source"], report["to"]["source"]) == ("HEAD~1:registry/", "HEAD:registry/")
    assert [(c["customer_id"], c["status"]) for c in report["customers"]] == [
        ("kauppahuone-aalto", "affected"), ("nordic-webshop", "unaffected")]
    bad = cli("diff", "--registry", repo / "registry", "--from", "no-such-rev", EXAMPLES_DIR)
    assert bad.returncode == 2
    assert bad.stderr == ("annex-gen: error: 'no-such-rev' is neither a registry directory nor a git "
                          f"revision of {repo / 'registry'}\n")


@pytest.mark.parametrize("engine", ["weasyprint", "typst"])
def test_notices_for_every_affected_customer(new_registry, tmp_path, engine):
    out = tmp_path / "notices"
    proc = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-01",
               "--effective-date", "2027-01-15", "--out", out, "--engine", engine,
               EXAMPLES_DIR / "kauppahuone-aalto.yaml",
               EXAMPLES_DIR / "esimerkki-oy.yaml", EXAMPLES_DIR / "nordic-webshop.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == (f"2 notices written, 1 customer unaffected, 0 failed; "
                                            f"mail-merge summary: {out / 'notices.csv'}")
    # no release approved in this test's archive: the enclosed annexes are drafts, and the command says so
    assert "is not a release legal approved, so the new annexes these notices enclose are drafts" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["esimerkki-oy", "kauppahuone-aalto", "notices.csv"]
    with (out / "notices.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {row["customer_id"]: row for row in csv.DictReader(fh)}
    aalto = rows["kauppahuone-aalto"]
    assert {k: aalto[k] for k in ("contact_email", "language", "notice_date", "effective_date",
                                  "objection_deadline", "added", "removed", "changed")} == {
        "contact_email": "legal@aalto.example", "language": "en", "notice_date": "2026-12-01",
        "effective_date": "2027-01-15", "objection_deadline": "2026-12-31", "added": "1", "removed": "0",
        "changed": "0"}
    assert aalto["notice_pdf"] == f"kauppahuone-aalto/{aalto['notice_id']}.pdf"
    assert aalto["annex_docx"] == f"kauppahuone-aalto/{aalto['annex_document_id']}.docx"
    assert sorted(p.name for p in (out / "kauppahuone-aalto").iterdir()) == sorted(
        Path(aalto[k]).name for k in ("notice_pdf", "notice_docx", "annex_pdf", "annex_docx"))

    en = pdf_text(out / aalto["notice_pdf"])
    for expected in ("Notice of changes to sub-processors", "Kauppahuone Aalto & Co. Oy",
                     "Hetzner Online GmbH", "Email archive", "2027-01-15", "2026-12-31", aalto["notice_id"],
                     aalto["annex_document_id"],
                     "in writing, stating its grounds, by replying to the notice",
                     "If an objection is not resolved before the change takes effect"):
        assert expected in en.replace("\n", " "), expected
    assert "Hetzner Online GmbH" in docx_text(out / aalto["notice_docx"])
    assert aalto["annex_document_id"] in pdf_text(out / aalto["annex_pdf"])
    assert "Email archive" in pdf_text(out / aalto["annex_pdf"])
    with pikepdf.open(out / aalto["notice_pdf"]) as pdf:  # the notice's JSON rides along, as in the annex
        assert pdf.open_metadata().pdfa_status == "3B"
        assert len(pdf.attachments) == 1
    # the new annex is dated the day the change takes effect, not the old contract date
    assert "Date of annex 2027-01-15" in pdf_text(out / aalto["annex_pdf"])
    # and names the annex it replaces: the one the old registry resolves for the same contract
    # (no archive here: both are drafts)
    replaced = example_annex("kauppahuone-aalto", draft=True).document_id
    annex_en = " ".join(pdf_text(out / aalto["annex_pdf"]).split())
    assert f"From 15 January 2027, this annex replaces the previous annex, document ID {replaced}." in annex_en
    # running text writes dates in the reader's form; the metadata table keeps ISO dates
    assert "take effect on 15 January 2027" in " ".join(en.split())
    assert "no later than 31 December 2026" in " ".join(en.split())
    assert "The updated sub-processor annex" in " ".join(en.split())

    fi_row = rows["esimerkki-oy"]
    assert fi_row["contact_email"] == "it@esimerkki.fi"
    fi = docx_text(out / fi_row["notice_docx"])
    fi = " ".join(fi.split())
    for expected in ("Ilmoitus alikäsittelijöiden muutoksista", "Sähköpostiarkisto", "2027-01-15",
                     "kirjallisesti ja perustellen vastaamalla ilmoitukseen tai tietojenkäsittelysopimuksessa "
                     "nimetylle Lianan yhteyshenkilölle viimeistään 31.12.2026",
                     "ilmoittaa Asiakkaalle (Esimerkki Oy) seuraavista alikäsittelijöitä koskevista muutoksista",
                     "Vastustamisen määräaika", "liitteenä on päivitetty alikäsittelijäliite",
                     "Muutokset tulevat voimaan 15.1.2027", "Yritystunniste"):
        assert expected in fi, expected
    assert "asiakkaalle" not in fi  # "Asiakas" is capitalised throughout
    annex_fi = " ".join(pdf_text(out / fi_row["annex_pdf"]).split())
    replaced_fi = example_annex("esimerkki-oy", draft=True).document_id
    assert f"aiemman liitteen, jonka asiakirjatunnus on {replaced_fi}" in annex_fi
    assert "Ilmoitus alikäsittelijöiden muutoksista" in pdf_text(out / fi_row["notice_pdf"])


@pytest.mark.parametrize("engine", ["weasyprint", "typst"])
def test_a_notice_enclosing_a_draft_annex_says_draft_on_every_page(new_registry, tmp_path, engine):
    # per language: the notice's mark, its statement, the enclosed annex's mark, a line every notice has
    words = {"en": ("DRAFT – not to be sent", "This notice is a draft for review", "DRAFT – not for signature",
                    "The updated sub-processor annex"),
             "fi": ("LUONNOS – ei lähetettäväksi", "Tämä ilmoitus on luonnos tarkastettavaksi",
                    "LUONNOS – ei allekirjoitettavaksi", "Tämän ilmoituksen liitteenä")}

    def write(out: Path) -> dict[str, dict[str, str]]:
        proc = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-01",
                   "--effective-date", "2027-01-15", "--out", out, "--engine", engine, "--archive",
                   tmp_path / "archive", EXAMPLES_DIR / "kauppahuone-aalto.yaml", EXAMPLES_DIR / "esimerkki-oy.yaml")
        assert proc.returncode == 0, proc.stderr
        with (out / "notices.csv").open(encoding="utf-8-sig", newline="") as fh:
            return {row["language"]: row for row in csv.DictReader(fh)}

    def pages(path: Path) -> list[str]:
        with pdfplumber.open(path) as pdf:
            return [" ".join((page.extract_text() or "").split()) for page in pdf.pages]

    approve_release(ROOT / "registry", tmp_path / "archive")  # the list before the change: the annexes in force
    drafts = write(tmp_path / "drafts")  # legal has not approved the change
    assert sorted(drafts) == ["en", "fi"]
    # the draft new annex replaces the final annex in force, not a draft of the old list nobody was given
    in_force = example_annex("kauppahuone-aalto").document_id
    annex_en = " ".join(pdf_text(tmp_path / "drafts" / drafts["en"]["annex_pdf"]).split())
    assert f"this annex replaces the previous annex, document ID {in_force}." in annex_en
    for language, row in drafts.items():
        banner, statement, annex_banner, common = words[language]
        notice_pages = pages(tmp_path / "drafts" / row["notice_pdf"])
        assert all(banner in page for page in notice_pages), language
        assert statement in notice_pages[-1] and common in " ".join(notice_pages)
        notice = docx.Document(str(tmp_path / "drafts" / row["notice_docx"]))
        assert banner in [p.text for p in notice.sections[0].header.paragraphs]  # the header of every page
        assert any(p.text.startswith(statement) for p in notice.paragraphs)
        assert annex_banner in pages(tmp_path / "drafts" / row["annex_pdf"])[0]

    approve_release(new_registry, tmp_path / "archive")
    finals = write(tmp_path / "finals")
    for language, row in finals.items():
        banner, statement, _, common = words[language]
        assert row["notice_id"] != drafts[language]["notice_id"]  # it encloses the final annex, another document
        text = " ".join(pages(tmp_path / "finals" / row["notice_pdf"]))
        assert common in text and banner not in text and statement not in text
        notice = docx.Document(str(tmp_path / "finals" / row["notice_docx"]))
        assert len(notice.sections[0].header.paragraphs) == 1  # the company and the title alone
        assert statement not in docx_text(tmp_path / "finals" / row["notice_docx"])


def test_the_effective_date_legal_approved_dates_the_batch_and_the_notices(new_registry, tmp_path):
    """The registry file sets no date: the approval's date is when the change takes effect, for both."""
    archive = tmp_path / "archive"
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    shutil.copy(EXAMPLES_DIR / "kauppahuone-aalto.yaml", contracts)
    out = tmp_path / "batch"

    def annex_data() -> dict:
        (pdf_path,) = (out / "kauppahuone-aalto").glob("*.pdf")
        with pikepdf.open(pdf_path) as pdf:
            return json.loads(pdf.attachments["annex.json"].get_file().read_bytes())

    approve_release(ROOT / "registry", archive)
    assert cli("batch", contracts, "--out", out, "--archive", archive).returncode == 0
    in_force = annex_data()
    assert (in_force["status"], in_force["contract"]["date"]) == ("final", "2026-12-04")
    from annex_gen.inputs.registry import load_registry

    assert load_registry(new_registry).effective is None
    # a batch before the approval previews the change: a draft naming the final annex in force
    preview = cli("batch", contracts, "--out", out, "--registry", new_registry, "--archive", archive)
    assert preview.returncode == 0, preview.stderr
    draft = annex_data()
    assert (draft["status"], draft["contract"]["replaces"]) == ("draft", in_force["document_id"])
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["customers"]["kauppahuone-aalto"]
    assert (record["status"], record["in_force"]) == ("draft", in_force["document_id"])
    approve_release(new_registry, archive, effective=dt.date(2027, 2, 15))

    batch = cli("batch", contracts, "--out", out, "--registry", new_registry, "--archive", archive)
    assert batch.returncode == 0, batch.stderr
    new = annex_data()
    assert new["status"] == "final"  # it replaces the final annex in force, not the draft
    assert new["contract"] == {"reference": in_force["contract"]["reference"], "date": "2027-02-15",
                               "replaces": in_force["document_id"], "issued_by_notice": True}
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["customers"]["kauppahuone-aalto"]
    assert (record["status"], record.get("in_force")) == ("final", None)
    # the web application's notices enclose the batch's document: the same one
    from annex_gen import app

    report = app.impact(ROOT / "registry", str(ROOT / "registry"), str(new_registry), [contracts], archive=archive)
    result = app.notices(report, tmp_path / "from-batch", notice_date=dt.date(2026, 12, 7), batch_dir=out)
    (written,) = result.written
    assert written.notice.impact.new_annex.document_id == new["document_id"]
    notices = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-07",
                  "--archive", archive, "--out", tmp_path / "notices", contracts)
    assert notices.returncode == 0, notices.stderr
    with (tmp_path / "notices" / "notices.csv").open(encoding="utf-8-sig", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert (row["effective_date"], row["annex_document_id"]) == ("2027-02-15", new["document_id"])
    assert "warning" not in notices.stderr
    later = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-07",
                "--effective-date", "2027-03-01", "--archive", archive, "--out", tmp_path / "later", contracts)
    assert later.returncode == 0, later.stderr
    assert later.stderr == ("warning: legal approved release 2026.11.1 to take effect on 2027-02-15; these notices "
                            "say 2027-03-01, and `batch` dates the replacement annexes 2027-02-15\n")
    # too late for the approved day: the error says the day is legal's, and how to give the notices another
    late = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2027-01-20",
               "--archive", archive, "--out", tmp_path / "late", contracts)
    assert late.returncode == 2
    assert late.stderr == (
        "annex-gen: error: a notice sent on 2027-01-20 leaves 26 days before 2027-02-15, the day legal approved "
        "the release to take effect, but the registry's notice period is 30 days: send the notice by 2027-01-16 "
        "or give the notices an effective date of 2027-02-19 or later\n")
    assert not (tmp_path / "late").exists()


def test_an_effective_date_inside_the_notice_period_is_an_error(new_registry, tmp_path):
    path = new_registry / "registry.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("period_days: 30", "period_days: 45"), encoding="utf-8")
    out = tmp_path / "notices"
    proc = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-01",
               "--effective-date", "2027-01-05", "--out", out, EXAMPLES_DIR)
    assert proc.returncode == 2
    assert proc.stderr == (
        "annex-gen: error: a notice sent on 2026-12-01 leaves 35 days before the effective date "
        "2027-01-05, but the registry's notice period is 45 days: send the notice by 2026-11-21 or let the "
        "change take effect on 2027-01-15 or later\n")
    assert not out.exists()
    bad = cli("notices", "--from", "registry", "--notice-date", "1.12.2026", EXAMPLES_DIR)
    assert bad.returncode == 2
    assert "argument --notice-date: '1.12.2026' is not a date of the form YYYY-MM-DD" in bad.stderr


def test_a_batch_and_a_notice_give_the_same_new_annex(new_registry, tmp_path):
    """For the same customer and registry, the batch's replacement annex is the one the notice issues."""
    path = new_registry / "registry.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('release: "2026.11.1"\n', 'release: "2026.12.1"\neffective: 2027-01-20\n', 1),
                    encoding="utf-8")
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    shutil.copy(EXAMPLES_DIR / "kauppahuone-aalto.yaml", contracts)
    batch_out = tmp_path / "batch"
    first = cli("batch", contracts, "--out", batch_out)
    assert first.returncode == 0, first.stderr
    second = cli("batch", contracts, "--out", batch_out, "--registry", new_registry)
    assert second.returncode == 0, second.stderr
    (batch_pdf,) = (batch_out / "kauppahuone-aalto").glob("*.pdf")
    notices = cli("notices", "--from", "registry", "--to", new_registry, "--notice-date", "2026-12-07",
                  "--out", tmp_path / "notices", contracts)
    assert notices.returncode == 0, notices.stderr
    with (tmp_path / "notices" / "notices.csv").open(encoding="utf-8-sig", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert (row["effective_date"], row["objection_deadline"]) == ("2027-01-20", "2027-01-05")
    assert batch_pdf.stem == row["annex_document_id"]
    with pikepdf.open(batch_pdf) as pdf:
        data = json.loads(pdf.attachments["annex.json"].get_file().read_bytes())
    assert data["contract"] == {"reference": data["contract"]["reference"], "date": "2027-01-20",
                                # no archive approved the registry: the annex in force is a draft
                                "replaces": example_annex("kauppahuone-aalto", draft=True).document_id,
                                "issued_by_notice": True}
