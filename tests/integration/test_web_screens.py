"""Every page of the web application at phone, narrow-window and desktop width, in both languages, in Chromium.

Nothing scrolls sideways at any of WIDTHS; every screenshot is kept under test-results/web/screens/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import RESULTS, Server, browser  # noqa: F401 - fixtures
from conftest import EXAMPLES_DIR, REGISTRY_DIR

WIDTHS = (390, 900, 1280)  # a phone, a tablet or narrow window, a desktop
PAGES = {
    "customers": "/customers",
    "new-contract": "/customers/new",
    "preview": "/customers/kaikki-tuotteet",
    "edit": "/customers/kaikki-tuotteet/edit",
    "registry": "/registry",
    "archive": "/archive",
    "archive-upload": "/archive/upload",
    "changes": "/changes",
    "batch": "/changes/batch",
    "audit": "/audit",
    "editor": "/editor",
    "editor-entity": "/editor/entity/new",
    "editor-entry": "/editor/entry/change?section=eu-mailer&entity=upcloud&location=helsinki",
    "editor-location": "/editor/location/new",
    "editor-basis": "/editor/basis/change?id=scc-module-3",
    "editor-remove": "/editor/entity/remove?id=upcloud",
    "editor-proposal": "/editor/proposals/1",
    "editor-history": "/editor/history",
    "releases": "/releases",
    "timeline": "/customers/kaikki-tuotteet/timeline",
    "send": "/customers/kaikki-tuotteet/send",
    "objections": "/objections",
    "archive-customer": "/archive/customers/kaikki-tuotteet",
}


def _propose(archive: Path) -> None:
    """An open proposal (a new sub-processor for LianaMailer in the EU) in the server's change log."""
    from annex_gen.registry_edit import forms, proposals
    from annex_gen.registry_edit.log import open_change_log

    source = "https://example.com/mailmetrics/data-processing-agreement"
    fields = {"id": ["mailmetrics"], "name": ["MailMetrics Oy"], "name_src_url": [source],
              "legal_kind": ["vat"], "legal_value": ["FI12345698"], "legal_id_src_url": [source], "country": ["FI"],
              "country_src_url": [source], "entry_section": ["eu-mailer"], "entry_location": ["eu"],
              "entry_purpose_fi": ["Sähköpostien avaus- ja klikkausanalytiikka"],
              "entry_purpose_en": ["Open and click analytics of e-mails"], "entry_entry_src_url": [source]}
    proposals.propose(open_change_log(archive), REGISTRY_DIR, "anna", forms.changes_of("entity", "add", fields, ()),
                      "New analytics vendor for LianaMailer")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("screens")
    customers = root / "customers"
    customers.mkdir()
    for example in EXAMPLES_DIR.glob("*.yaml"):
        shutil.copy(example, customers / example.name)
    _propose(root / "archive")
    running = Server(customers, root / "output", "--archive", str(root / "archive"))
    yield running
    running.stop()


@pytest.mark.parametrize("lang", ["en", "fi"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen(server: Server, browser, lang: str, width: int) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    folder = RESULTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        tab.goto(server.url + "/customers")
        if lang == "fi":
            tab.get_by_role("button", name="Suomeksi").click()
            tab.wait_for_load_state()
        wide = {}
        for name, path in PAGES.items():
            response = tab.goto(server.url + path)
            assert response is not None and response.status == 200, (path, response and response.status)
            assert tab.evaluate("document.documentElement.lang") == lang
            overflow = tab.evaluate("document.documentElement.scrollWidth") - width
            if overflow > 0:
                wide[name] = overflow
            tab.screenshot(path=str(folder / f"{name}-{lang}-{width}.png"), full_page=True)
        assert wide == {}, f"pages wider than {width} px (by px): {wide}"
    finally:
        context.close()
