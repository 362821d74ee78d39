"""A customer's life end to end in Debian's headless Chromium, with a real SMTP server the test starts:
sales sends the annex, legal archives the signed copy by uploading it (nothing typed), the registry
changes, the notice is sent, an objection is recorded and resolved, the timeline shows each step and the
evidence zip's sums match. The screenshots illustrate docs/legal/lifecycle.md (copied there when
ANNEX_GEN_DOCS_SCREENSHOTS is set)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import expect

from annex_gen import app
from archive_support import approve_release, sign
from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from conftest import ROOT
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from smtp_support import smtp_server  # noqa: F401 - fixture

CUSTOMER = "kauppahuone-aalto"
DOC_SHOTS = ROOT / "docs" / "legal" / "img"


def doc_shot(tab, name: str, *, full_page: bool = False) -> None:
    """A screenshot for the test's folder, and for the docs when asked."""
    path = shot(tab, name, full_page=full_page)
    if os.environ.get("ANNEX_GEN_DOCS_SCREENSHOTS"):
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOC_SHOTS / f"lifecycle-{name}.png")


def test_send_sign_notice_object_and_evidence_in_chromium(tmp_path: Path, page, smtp_server,  # noqa: F811
                                                          monkeypatch) -> None:
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    monkeypatch.setenv("ANNEX_GEN_MAIL_FROM", "legal@liana.example")
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER, "nordic-webshop")
    out, archive = tmp_path / "output", tmp_path / "archive"
    today = dt.date.today()
    server = Server(customers, out, "--registry", str(registry), "--archive", str(archive))
    try:
        # Sales: from the customer's annex to "Send to customer".
        page.goto(server.url + "/customers")
        page.get_by_role("link", name="Kauppahuone Aalto & Co. Oy").click()
        page.get_by_role("link", name="Send to customer").click()
        expect(page).to_have_title("Send the annex to Kauppahuone Aalto & Co. Oy · annex-gen")
        assert "legal@aalto.example" in page.inner_text("main")
        doc_shot(page, "01-send")
        page.get_by_role("button", name="Send to legal@aalto.example").click()
        expect(page.locator("[data-state]").first).to_have_text("sent, awaiting signature")
        (received,) = smtp_server.received
        attachment = next(received.message.iter_attachments())
        assert attachment.get_filename().endswith(".pdf") and attachment.get_content()[:5] == b"%PDF-"
        assert received.recipients == ["legal@aalto.example"]
        assert received.message["Message-ID"].strip("<>") in page.inner_text("main")
        doc_shot(page, "02-sent")

        # The customer signs; legal uploads the signed copy and types nothing.
        signed = tmp_path / "Aalto signed.pdf"
        with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's holds this thread
            signed.write_bytes(pool.submit(sign, attachment.get_content(), signer="Aino Aalto").result())
        page.goto(server.url + "/archive/upload")
        page.get_by_label("Signed PDF *").set_input_files(str(signed))
        page.get_by_role("button", name="Read the file").click()
        expect(page).to_have_title("Check before archiving · annex-gen")
        body = page.inner_text("main")
        assert "kauppahuone-aalto (Kauppahuone Aalto & Co. Oy)" in body
        assert "unchanged since signing; signer's identity not verified" in body
        doc_shot(page, "03-review", full_page=True)
        # the list here is no approved release: the customer signed the draft they were sent, and legal says so
        page.get_by_label(re.compile(r"^The customer signed the draft ANX-")).check()
        page.get_by_role("button", name="Check again with these choices").click()
        page.get_by_role("button", name="Store in the archive").click()
        expect(page.locator("[data-state]").first).to_have_text("signed, current")
        assert page.get_by_text("The signed copy was archived.").is_visible()
        doc_shot(page, "04-signed", full_page=True)

        # A change of sub-processors, approved by legal: the notice written and sent from the Changes page.
        approve_release(registry, archive)  # the release the customer signed
        add_mailer_subprocessor(registry)
        approve_release(registry, archive)
        page.goto(server.url + "/customers")
        assert "outdated: no notice sent" in page.locator("table.list").inner_text()
        page.goto(server.url + "/changes")
        # the release customers signed (before the change) is offered by label and chosen by default
        assert page.get_by_label("Release to compare with").locator("option:checked").inner_text().startswith(
            "2026.11.1")
        page.get_by_role("button", name="Compare").click()
        page.get_by_label("Notice date *").fill(today.isoformat())
        page.get_by_role("button", name="Write the notices").click()
        expect(page).to_have_title(f"Change notices of {today} · annex-gen")
        page.get_by_role("button", name="Send 1 notice by e-mail").click()
        expect(page).to_have_title(f"Notices of {today} sent · annex-gen")
        assert "The mail server accepted 1 of 1 message." in page.inner_text("main")
        doc_shot(page, "05-notices-sent")
        notice_mail = smtp_server.received[1].message
        names = [p.get_filename() for p in notice_mail.iter_attachments()]
        assert names[0].startswith("NTC-") and names[1].startswith("ANX-")
        deadline = today + dt.timedelta(days=15)
        page.goto(server.url + "/customers")
        ends = f"outdated: notice sent, objection period ends {deadline.day} {deadline:%b %Y}"
        assert ends in page.locator("table.list").inner_text()
        doc_shot(page, "06-customers")

        # The customer objects; legal records it with the letter, then its outcome.
        letter = tmp_path / "Aalto objection.pdf"
        letter.write_bytes(b"%PDF-1.4 objection letter")
        page.goto(server.url + "/objections")
        assert f"{deadline.day} {deadline:%b %Y}" in page.locator("table.list").first.inner_text()
        page.get_by_label("From").fill("Aino Aalto, legal@aalto.example")
        page.get_by_label("What it says").fill("We object to Hetzner archiving our e-mail.")
        page.get_by_label("Letter").set_input_files(str(letter))
        doc_shot(page, "07-objections", full_page=True)
        page.get_by_role("button", name="Record the objection").click()
        expect(page.locator("[data-state]").first).to_contain_text("open")
        page.goto(server.url + "/objections")
        page.get_by_label("Outcome").select_option("accepted")
        page.get_by_label("What was agreed").fill("Hetzner is not used for Aalto's e-mail")
        page.get_by_role("button", name="Record the outcome").click()
        expect(page.get_by_text("The objection's outcome was recorded.")).to_be_visible()
        expect(page.locator("[data-state]").first).to_contain_text("not applied to this customer")
        steps = [s.get_attribute("data-kind") for s in page.locator("li.step").all()]
        for kind in ("sent", "signed", "outdated", "notice_sent", "objection_received", "objection_resolved"):
            assert kind in steps, steps
        assert steps.index("sent") < steps.index("signed") < steps.index("notice_sent") < steps.index(
            "objection_received") < steps.index("objection_resolved")
        doc_shot(page, "08-timeline", full_page=True)

        # The evidence: every document with its sum.
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the evidence (zip)").click()
        with zipfile.ZipFile(download.value.path()) as zf:
            files = {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist()}
        sums = dict(reversed(line.split("  ", 1)) for line in files["MANIFEST.sha256"].decode().splitlines())
        assert set(sums) == set(files) - {"README.txt", "MANIFEST.sha256"}
        assert all(hashlib.sha256(files[p]).hexdigest() == digest for p, digest in sums.items())
        assert signed.read_bytes() in files.values() and letter.read_bytes() in files.values()
        assert {r.data for r in smtp_server.received} <= set(files.values())
        actions = [e.action for e in app.audit_entries(archive)]
        for action in ("message sent", "file archived", "notices written", "objection recorded",
                       "objection resolved", "evidence exported"):
            assert action in actions
    finally:
        server.stop()
