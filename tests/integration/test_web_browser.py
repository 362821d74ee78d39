"""The web application end to end: `annex-gen serve` driven in Debian's headless Chromium.

Walks what a sales person does (a new customer's contract, its preview, the PDF, an edit that
adds a product) and saves a screenshot of every page under test-results/web/<test>/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.render_support import pdf_document

from annex_gen.inputs.registry import load_registry
from annex_gen.model import Contract
from annex_gen.resolve import resolve
from browser_support import Server, browser, page, shot  # noqa: F401 - fixtures
from conftest import EXAMPLES_DIR, REGISTRY_DIR, build_file_tree


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`annex-gen serve` over a customers folder holding one example contract and a CRM export."""
    customers = build_file_tree(tmp_path / "customers", {
        "esimerkki-oy.yaml": (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8"),
        "crm.csv": """
            customer_id,customer_name,contract_date,region,language,products
            harbour-hk,Harbour <b>Trading</b> Ltd,2026-11-29,hk,en,mailer
        """,
    })
    running = Server(customers, tmp_path / "output")
    yield running
    running.stop()


def pdf_annex(path: Path) -> tuple[list[str], set[str]]:
    """A PDF read back with pdfplumber: its headings, and the companies of its legal-entity summary."""
    blocks = pdf_document(path).blocks()
    summary = next(b for b in blocks if b.heading == "Legal entities processing the Customer's data")
    return [b.heading for b in blocks], {_name(row[0]) for row in summary.rows}


DETAILS = ("Registered name:", "Contracting entity:", "A brand name", "Registration:", "Registered address:",
           "Data protection contact:")


def _name(lines: list[str]) -> str:
    """The company cell's name, without the details printed under it (legal name, address, contact)."""
    name = []
    for line in lines:
        if line.startswith(DETAILS):
            break
        name.append(line)
    return " ".join(name)


def download(tab, link: str, folder: Path) -> Path:
    """Click a download link and keep the file under its suggested name."""
    with tab.expect_download() as caught:
        tab.get_by_role("link", name=link).click()
    path = folder / caught.value.suggested_filename
    caught.value.save_as(path)
    return path


def subprocessor_names(region: str, products: tuple[str, ...]) -> set[str]:
    """The legal entities an annex for region and products lists (the library's answer)."""
    contract = Contract("x", "X", dt.date(2026, 11, 30), region, "en", products)
    return {p.name for p in resolve(load_registry(REGISTRY_DIR), contract).subprocessors}


def test_sales_creates_previews_downloads_and_edits_a_contract(server: Server, page, tmp_path: Path) -> None:  # noqa: F811
    page.goto(server.url + "/")
    assert page.title() == "Customers · annex-gen"
    assert page.get_by_role("link", name="Harbour <b>Trading</b> Ltd").is_visible()  # escaped, shown as text
    shot(page, "1-customers")

    page.get_by_role("link", name="New contract").click()
    page.wait_for_url("**/customers/new")
    page.wait_for_load_state()
    page.get_by_label("Customer name *").fill("Testi & Co Oy")
    assert page.get_by_label("Customer id *").input_value() == "testi-co-oy"  # suggested from the name
    page.get_by_label("Contact email").fill("it@testi.example")
    page.get_by_label("Date of annex *").fill("2026-11-30")
    page.get_by_label("Language of the annex *").select_option("en")
    with page.expect_navigation():
        page.get_by_label("LianaMailer", exact=True).check()  # a product change re-renders the options offered
    assert page.get_by_label("Dedicated MTAs", exact=False).is_visible()
    shot(page, "2-new-contract", full_page=True)

    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/customers/testi-co-oy?saved=1")
    assert page.get_by_text("The contract was saved.").is_visible()
    why = page.locator("section.why").inner_text()
    mailer = subprocessor_names("eu", ("mailer",))
    assert all(name in why for name in mailer)
    assert "Product: LianaMailer" in why and "General: every customer in the region EU" in why
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == "Annex to the Data Processing Agreement: Sub-processors"
    shot(page, "3-preview")

    pdf = download(page, "Download PDF", tmp_path)
    assert pdf.name.startswith("testi-co-oy-ANX-") and pdf.suffix == ".pdf"
    headings, companies = pdf_annex(pdf)
    assert companies == mailer
    assert "LianaMailer" in headings and not any(h.startswith("LianaCMS") for h in headings)
    assert "Testi & Co Oy" in pdf_document(pdf).pages[0].text

    page.get_by_role("link", name="Edit contract").click()
    assert page.get_by_label("Customer id *").get_attribute("readonly") is not None
    shot(page, "4-edit-contract", full_page=True)
    with page.expect_navigation():
        page.get_by_label("LianaCMS", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/customers/testi-co-oy?saved=1")
    why = page.locator("section.why").inner_text()
    both = subprocessor_names("eu", ("mailer", "cms"))
    assert both - mailer == {"Upcloud Oy"}  # LianaCMS brings in a company LianaMailer does not use
    assert all(name in why for name in both)
    assert "Product: LianaCMS" in why
    shot(page, "5-preview-after-edit")
    edited = download(page, "Download PDF", tmp_path)
    assert edited.name != pdf.name  # a new document ID for the new content
    headings, companies = pdf_annex(edited)
    assert companies == both
    assert any(h.startswith("LianaCMS") for h in headings)

    page.goto(server.url + "/customers?sort=-date")
    assert page.locator("tbody tr").first.inner_text().startswith("Testi & Co Oy")
    page.get_by_role("link", name="Sub-processor list").click()
    assert page.get_by_role("heading", name="Recorded corrections").is_visible()
    shot(page, "6-registry")
    page.get_by_role("button", name="Suomeksi").click()
    assert page.get_by_role("heading", name="Alikäsittelijäluettelo", exact=True).is_visible()
    page.goto(server.url + "/customers")
    shot(page, "7-customers-fi")
    log = server.log.read_text()
    assert '"POST /customers/new" 303' in log and '"GET /customers/testi-co-oy/download/pdf" 200' in log


def test_the_form_works_without_javascript(server: Server, browser, tmp_path: Path) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 768}, java_script_enabled=False, locale="en")
    tab = context.new_page()
    try:
        tab.goto(server.url + "/customers/new")
        tab.get_by_label("Region *").select_option("uae")
        tab.get_by_role("button", name="Update the choices").click()
        products = tab.locator("input[name=products]").evaluate_all("els => els.map(e => e.value)")
        assert products == ["mailer", "automation", "cms"]  # what the UAE offers, in its order
        tab.get_by_label("Customer name *").fill("Gulf Example LLC")
        tab.get_by_role("button", name="Update the choices").click()
        assert tab.get_by_label("Customer id *").input_value() == "gulf-example-llc"
        tab.get_by_role("button", name="Save").click()  # no product: refused, next to the field
        assert tab.locator("#products .error").inner_text().startswith("Choose at least one product: LianaMailer")
        tab.screenshot(path=str(RESULTS_DIR(tab, "no-javascript-error")))
        tab.get_by_label("LianaCMS", exact=True).check()
        tab.get_by_role("button", name="Save").click()
        tab.wait_for_url("**/customers/gulf-example-llc?saved=1")
    finally:
        context.close()


def RESULTS_DIR(tab, name: str) -> Path:  # noqa: N802
    """A screenshot path for a page made outside the page fixture."""
    from browser_support import RESULTS

    folder = RESULTS / "test_the_form_works_without_javascript"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


def test_keyboard_alone(server: Server, page) -> None:  # noqa: F811
    page.goto(server.url + "/customers/new")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !(e.tagName === 'BUTTON' && e.textContent.trim()))
        .map(e => e.name || e.id)""")
    assert unlabelled == []
    for _ in range(12):  # every stop of the tab order shows where the focus is
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", page.evaluate("document.activeElement.outerHTML")
    page.get_by_label("Customer name *").focus()
    shot(page, "focus-visible")
    page.get_by_label("LianaMailer", exact=True).focus()
    with page.expect_navigation():
        page.keyboard.press("Space")  # the form re-renders with the options LianaMailer has
    assert page.evaluate("document.activeElement.id") == "product-mailer"  # and the focus stays there
    assert page.get_by_label("LianaMailer", exact=True).is_checked()


def test_chinese_arabic_and_hebrew_names_render_in_the_interface_and_the_preview(tmp_path: Path, page) -> None:  # noqa: F811
    contract = (EXAMPLES_DIR / "kowloon-studio.yaml").read_text(encoding="utf-8")
    name = "九龍設計工作室 استوديو סטודיו"
    customers = build_file_tree(tmp_path / "customers", {
        "kowloon-studio.yaml": contract.replace("name: Kowloon Design Studio Ltd", f"name: {name}"),
    })
    running = Server(customers, tmp_path / "output")
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Refused" in message.text else None)
    loaded = "async () => { await document.fonts.ready; return [...document.fonts]" \
             ".filter(f => f.status === 'loaded').map(f => f.family.replaceAll('\"', '')); }"
    try:
        page.goto(running.url + "/")
        assert name in page.get_by_role("table").inner_text()
        assert {"Annex CJK", "Annex Arabic", "Annex Hebrew"} <= set(page.evaluate(loaded))
        shot(page, "customers-cjk")
        page.goto(running.url + "/customers/kowloon-studio/annex/annex.html")
        assert name in page.inner_text("body")
        assert {"Annex CJK", "Annex Arabic", "Annex Hebrew"} <= set(page.evaluate(loaded))
        shot(page, "annex-cjk")
    finally:
        running.stop()
    assert refused == []  # nothing blocked by the Content-Security-Policy
