"""Legal's path end to end in Debian's headless Chromium: archive a signed annex, see it current, change
the registry, see the customer outdated, run the batch, write the notices and download them."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pdfplumber
from playwright.sync_api import expect

from annex_gen import app
from archive_support import sign
from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo

CUSTOMER = "kauppahuone-aalto"


def test_archive_drift_batch_and_notices_in_chromium(tmp_path: Path, page) -> None:  # noqa: F811
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER, "nordic-webshop")
    out, archive = tmp_path / "output", tmp_path / "archive"
    generated = app.generate(registry, [customers / f"{CUSTOMER}.yaml"], tmp_path / "generated", ["pdf"])
    (annex,) = generated.generated
    signed = tmp_path / "Aalto signed.pdf"
    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's holds this thread
        signed.write_bytes(pool.submit(sign, annex.files["pdf"].read_bytes(), signer="Aino Aalto").result())
    document_id = annex.document_id
    version = app.load_registry(registry).version

    server = Server(customers, out, "--registry", str(registry), "--archive", str(archive))
    try:
        page.goto(server.url + "/archive")
        expect(page).to_have_title("Signed-annex archive · annex-gen")  # waits for the navigation
        assert page.get_by_text("The archive is empty.").is_visible()
        shot(page, "01-archive-empty")

        # Upload: the read-back comes first, nothing is stored until confirmed.
        page.get_by_role("link", name="Upload a signed annex").click()
        page.get_by_label("Signed PDF *").set_input_files(str(signed))
        shot(page, "02-upload")
        page.get_by_role("button", name="Read the file").click()
        expect(page).to_have_title("Check before archiving · annex-gen")  # waits for the navigation
        body = page.inner_text("main")
        for fact in (document_id, version, "Aino Aalto", "unchanged since signing; signer's identity not verified",
                     "Aalto signed.pdf", f"{CUSTOMER} (Kauppahuone Aalto & Co. Oy)"):
            assert fact in body
        assert not app.archive_exists(archive)
        shot(page, "03-review", full_page=True)
        # the registry here is not an approved release, so the customer signed a draft: legal says so
        assert f"Annex {document_id} is a DRAFT, not for signature" in body
        page.get_by_label(f"The customer signed the draft {document_id}: archive it, recorded as a signed "
                          "draft").check()
        page.get_by_role("button", name="Check again with these choices").click()
        expect(page.get_by_role("button", name="Store in the archive")).to_be_visible()
        page.get_by_role("button", name="Store in the archive").click()
        assert page.get_by_text("The signed copy was archived.").is_visible()  # on the customer's timeline
        assert "signed, current" in page.inner_text("main")
        shot(page, "04-history", full_page=True)
        with page.expect_download() as download:
            page.get_by_role("link", name="Aalto signed.pdf").click()
        assert Path(download.value.path()).read_bytes() == signed.read_bytes()

        # The drift report: current, then outdated once the registry changes.
        page.goto(server.url + "/archive")
        assert "current" in page.locator("table.list").inner_text()
        shot(page, "05-archive-current")
        add_mailer_subprocessor(registry)
        page.get_by_label("Only customers that are not current").check()
        page.get_by_role("button", name="Show").click()
        report = page.locator("table.list").inner_text()
        assert "outdated" in report and "Hetzner Online GmbH" in report
        shot(page, "06-archive-outdated", full_page=True)
        page.get_by_role("button", name="Verify the archive").click()
        assert page.get_by_text("The archive is intact").is_visible()
        head = app.archive_records(archive)[-1].record_hash
        assert head in page.inner_text("main")
        shot(page, "07-verify")

        # The change: diff, batch with progress, notices.
        page.goto(server.url + "/changes")
        # the release before the change is offered by label and date, and chosen by default
        assert page.get_by_label("Release to compare with").locator("option:checked").inner_text().startswith(
            "2026.11.1, published")
        page.get_by_role("button", name="Compare").click()
        main = page.inner_text("main")
        assert "Added: Hetzner Online GmbH to LianaMailer" in main
        assert "1 affected, 1 unaffected, 0 with errors" in main
        shot(page, "08-changes", full_page=True)
        page.get_by_role("button", name="Run the batch").click()
        expect(page).to_have_title("Batch · annex-gen")  # waits for the navigation
        shot(page, "09-batch-running")
        page.get_by_text("finished", exact=False).first.wait_for(timeout=240_000)
        assert "2 of 2 done: 2 generated" in page.inner_text("main")
        shot(page, "10-batch-finished")
        page.get_by_role("link", name="Back to the changes").click()
        assert "1 affected" in page.inner_text("main")  # the batch did not move the baseline
        page.get_by_label("Notice date *").fill("2026-12-01")
        page.get_by_role("button", name="Write the notices").click()
        expect(page).to_have_title("Change notices of 2026-12-01 · annex-gen")  # waits for the navigation
        row = page.locator("table.list tbody tr").first.inner_text()
        assert "Kauppahuone Aalto & Co. Oy" in row and "31 Dec 2026" in row
        shot(page, "11-notices")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download all (zip)").click()
        with zipfile.ZipFile(download.value.path()) as zf:
            notice = next(n for n in zf.namelist() if n.endswith(".pdf") and "/NTC-" in n)
            with pdfplumber.open(io.BytesIO(zf.read(notice))) as pdf:
                text = "\n".join(p.extract_text() or "" for p in pdf.pages)
        assert "Hetzner Online GmbH" in text

        page.goto(server.url + "/audit")
        actions = page.locator("table.list tbody").inner_text()
        for action in ("file archived", "archive verified", "batch run", "notices written"):
            assert action in actions
        assert "local" in actions
        shot(page, "12-audit")
    finally:
        server.stop()
