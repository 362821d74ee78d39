"""The registry editor end to end in Debian's headless Chromium: one legal user adds a sub-processor to
LianaMailer in the EU with a source, sees exactly the customers it reaches, cannot approve it; a second
legal user approves; the files pass `check`, and `diff` and the public list show the new entry; sales
cannot open the editor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect
from publish_support import approve_history, archive_of

from annex_gen import app
from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from editor_support import NEW_ENTITY, SOURCE_QUOTE, SOURCE_URL, customers_copy, eu_mailer_customers, git, registry_repo
from web_support import PASSWORD


def _sign_in(tab, url: str, name: str) -> None:
    tab.goto(url + "/login")
    tab.get_by_label("User name").fill(name)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_text(f"{name} (")).to_be_visible()


def _sign_out(tab) -> None:
    tab.get_by_role("button", name="Sign out").click()
    expect(tab).to_have_title("Sign in · annex-gen")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "annex_gen", *args], capture_output=True, text=True, check=False)


def test_legal_adds_a_sub_processor_with_four_eyes_in_chromium(tmp_path: Path, page) -> None:  # noqa: F811
    registry = registry_repo(tmp_path / "repo")
    customers = customers_copy(tmp_path / "customers")
    users = tmp_path / "users.yaml"
    for name, role in (("anna", "legal"), ("ben", "legal"), ("sam", "sales")):
        app.add_user(users, name, role, PASSWORD)
    server = Server(customers, tmp_path / "output", "--registry", str(registry), "--users", str(users),
                    "--archive", str(tmp_path / "archive"))
    try:
        _sign_in(page, server.url, "anna")
        page.get_by_role("link", name="Edit the list").click()
        expect(page).to_have_title("Edit the sub-processor list · annex-gen")
        shot(page, "01-editor")

        # The form: each fact with its source, the first entry's texts side by side.
        page.get_by_role("link", name="Add a sub-processor").click()
        page.get_by_label("Name", exact=True).fill(NEW_ENTITY["name"])
        page.locator("#id").fill(NEW_ENTITY["id"])
        page.locator("#name_src_url_1").fill(SOURCE_URL)
        page.locator("#name_src_quote_1").fill(SOURCE_QUOTE)
        page.get_by_label("Kind of identifier").select_option("vat")
        page.get_by_label("Identifier", exact=True).fill(NEW_ENTITY["vat"])
        page.locator("#legal_id_src_url_1").fill(SOURCE_URL)
        page.get_by_label("Country").fill(NEW_ENTITY["country"])
        page.locator("#country_src_url_1").fill(SOURCE_URL)
        page.locator("#entry_section").select_option("eu-mailer")
        page.locator("#entry_location").select_option("eu")
        page.locator("#entry_purpose_fi").fill("Sähköpostien avaus- ja klikkausanalytiikka")
        page.locator("#entry_purpose_en").fill("Open and click analytics of e-mails")
        page.locator("#entry_entry_src_url_1").fill(SOURCE_URL)
        page.get_by_label("Reason").fill("LianaMailer's new open and click analytics vendor")
        shot(page, "02-new-sub-processor", full_page=True)
        page.get_by_role("button", name="Save as a proposal").click()

        # The proposal: in words, and exactly the EU LianaMailer customers.
        expect(page).to_have_title("Proposal #1 · annex-gen")
        assert "New sub-processor: MailMetrics Oy" in page.inner_text("main")
        shown = {c.get_attribute("data-customer") for c in page.locator("[data-impact] [data-customer]").all()}
        assert shown == eu_mailer_customers(customers) and len(shown) == 3
        assert "MailMetrics Oy" in page.locator("[data-impact]").inner_text()
        approve = page.get_by_role("button", name="Approve the change")
        expect(approve).to_be_disabled()
        assert page.get_by_text("you cannot approve it").is_visible()
        shot(page, "03-proposal", full_page=True)
        # Forced past the disabled button, the server refuses the proposer too.
        page.evaluate("document.querySelector('form[action$=\"/approve\"] button').disabled = false")
        approve.click()
        expect(page.get_by_role("alert")).to_contain_text("another legal user must approve it")
        shot(page, "04-refused")
        assert NEW_ENTITY["name"] not in (registry / "entities.yaml").read_text()
        _sign_out(page)

        # Four eyes: ben approves.
        _sign_in(page, server.url, "ben")
        page.goto(server.url + "/editor")
        page.get_by_role("link", name="#1").click()
        page.get_by_role("button", name="Approve the change").click()
        expect(page.get_by_role("status")).to_contain_text("The change is approved")
        shot(page, "05-approved", full_page=True)
        # onward: the changes page compares with the list before the approval
        page.get_by_role("link", name="Changes: regenerate the annexes").click()
        expect(page).to_have_title("Sub-processor list changes · annex-gen")
        changes = page.inner_text("main")
        assert "MailMetrics Oy" in changes and all(c in changes for c in eu_mailer_customers(customers))
        page.go_back()
        page.goto(server.url + "/editor/history")
        history = page.inner_text("main")
        for fact in ("anna", "ben", "LianaMailer's new open and click analytics vendor", SOURCE_URL):
            assert fact in history
        shot(page, "06-history")
        _sign_out(page)

        # Sales: no link, and the editor refused.
        _sign_in(page, server.url, "sam")
        assert page.get_by_role("link", name="Edit the list").count() == 0
        response = page.goto(server.url + "/editor")
        assert response is not None and response.status == 403
        shot(page, "07-sales-refused")
    finally:
        server.stop()

    # The files on disk: parsed and checked as a hand edit would be, committed by the approver.
    checked = _cli("check", "--registry", str(registry), str(customers))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert git(registry.parent, "log", "-1", "--format=%an").strip() == "ben"
    numstat = git(registry.parent, "diff", "--numstat", "HEAD~1", "HEAD")
    assert sorted(line.split("\t")[2] for line in numstat.splitlines()) == [
        "registry/entities.yaml", "registry/registry.yaml", "registry/sections.yaml"]
    removed = sum(int(line.split("\t")[1]) for line in numstat.splitlines())
    assert removed == 1  # only the release label's line is replaced; everything else is kept as it was
    diff = _cli("diff", "--registry", str(registry), "--from", "HEAD~1", str(customers))
    assert diff.returncode == 0, diff.stderr
    assert "MailMetrics Oy" in diff.stdout
    for customer in eu_mailer_customers(customers):
        assert customer in diff.stdout
    site = tmp_path / "site"
    # then the release flow: legal approves the release (its checks are tested in test_signoff_cli.py), publish
    approve_history(registry)
    published = _cli("publish", "--registry", str(registry), "--out", str(site), "--archive", str(archive_of(registry)))
    assert published.returncode == 0, published.stderr
    pages = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "MailMetrics Oy" in pages and "Sähköpostien avaus- ja klikkausanalytiikka" in pages
    feed = (site / "changes.atom").read_text(encoding="utf-8")
    assert "MailMetrics Oy" in feed and "MailMetrics Oy" in (site / "subprocessors.json").read_text(encoding="utf-8")
