"""Every page of the web application through Starlette's test client, and every refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import EXAMPLES_DIR
from web_support import PASSWORD, csrf, login, web_client

CUSTOMERS = {
    "esimerkki-oy.yaml": (EXAMPLES_DIR / "esimerkki-oy.yaml").read_text(encoding="utf-8"),
    "dubai-events.yaml": (EXAMPLES_DIR / "dubai-events.yaml").read_text(encoding="utf-8"),
    "crm.csv": """
        customer_id,customer_name,contract_date,region,language,products
        harbour-hk,Harbour Trading Ltd,2026-12-01,hk,en,mailer
    """,
}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return web_client(tmp_path, CUSTOMERS)


def linked(html: str) -> list[str]:
    """The customer ids the page links to, in order."""
    return list(dict.fromkeys(re.findall(r'<a href="/customers/([a-z0-9-]+)">', html)))


def field_errors(html: str) -> dict[str, str]:
    """The messages shown next to the fields: {field: message}."""
    return {m[0]: m[1] for m in re.findall(r'<span class="error" id="([a-z_]*)-error">([^<]*)</span>', html)}


def new_contract(client: TestClient, **values: object) -> dict[str, object]:
    """A valid new-contract form submission, with values replaced."""
    return {"csrf_token": csrf(client), "action": "save", "name": "Uusi Oy", "customer_id": "uusi-oy",
            "date": "2026-11-30", "region": "eu", "language": "fi", "products": ["mailer"], **values}


def test_customer_list_search_and_sort(client: TestClient) -> None:
    page = client.get("/customers").text
    assert linked(page) == ["dubai-events", "esimerkki-oy", "harbour-hk"]
    assert "from CRM export" in page and "never generated" in page
    assert 'href="/customers/harbour-hk/edit"' not in page  # CRM rows are read-only
    found = client.get("/customers?q=ESIM").text
    assert linked(found) == ["esimerkki-oy"]
    assert "1 of 3 contracts" in found
    by_date = client.get("/customers?sort=-date").text
    assert linked(by_date)[0] == "dubai-events"  # dated 2026-12-03
    assert client.get("/customers?sort=nonsense").status_code == 200


def test_new_contract_form_offers_the_regions_products(client: TestClient) -> None:
    page = client.get("/customers/new").text
    assert re.findall(r'name="products" value="(\w+)"', page) == \
        ["press", "automation", "mailer", "monitor", "cms", "wordpress", "commerce"]
    token = csrf(client)
    page = client.post("/customers/new", data={"csrf_token": token, "action": "refresh", "region": "hk",
                                               "name": "Kowloon Ltd", "products": ["mailer"]}).text
    assert re.findall(r'name="products" value="(\w+)"', page) == ["mailer", "automation", "cms"]
    assert 'value="kowloon-ltd"' in page  # the id suggested from the name
    assert 'name="options" value="dedicated_mta"' not in page  # no effect in Hong Kong
    page = client.post("/customers/new", data={"csrf_token": token, "action": "refresh", "region": "eu",
                                               "products": ["mailer"]}).text
    assert 'name="options" value="dedicated_mta"' in page


def test_saving_a_new_contract(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/customers/new", data=new_contract(client, options=["dedicated_mta"]))
    assert response.status_code == 303 and response.headers["location"] == "/customers/uusi-oy?saved=1"
    assert "dedicated_mta: true" in (tmp_path / "customers" / "uusi-oy.yaml").read_text()
    page = client.get("/customers/uusi-oy?saved=1").text
    assert "The contract was saved." in page
    assert "Contract option: Dedicated MTAs (LianaMailer)" in page  # the option's name in the interface's language


def test_bad_values_are_shown_next_to_their_fields(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/customers/new", data=new_contract(
        client, customer_id="Uusi Oy", date="30.11.2026", business_id="123", contact_email="nobody", products=[]))
    assert response.status_code == 400
    assert field_errors(response.text) == {  # in the page's words: product names, no key paths
        "customer_id": "“Uusi Oy” is not a valid id: use lowercase letters a–z, digits and hyphens "
                       "(at most 64 characters, no hyphen at the start or end).",
        "business_id": "123 is not a recognised business ID: give an EU VAT number (FI12345671), "
                       "a Finnish business ID (1234567-1), a UAE TRN (15 digits) or a Hong Kong BR number (8 digits).",
        "contact_email": "nobody is not an email address.",
        "date": "Write the date as YYYY-MM-DD.",
        "products": "Choose at least one product: LianaPress, LianaAutomation, LianaMailer, LianaMonitor, LianaCMS, "
                    "Liana WordPress, and LianaCommerce.",
    }
    assert "The contract was not saved: 5 problems" in response.text
    assert 'value="Uusi Oy"' in response.text  # what was typed stays in the form
    assert sorted(p.name for p in (tmp_path / "customers").glob("*.yaml")) == ["dubai-events.yaml",
                                                                               "esimerkki-oy.yaml"]


def test_an_existing_id_is_a_conflict(client: TestClient) -> None:
    response = client.post("/customers/new", data=new_contract(client, customer_id="dubai-events"))
    assert response.status_code == 409
    assert "This customer id is taken" in response.text
    assert "There is already a contract with the customer id dubai-events." in response.text
    assert '<a href="/customers/dubai-events">' in response.text  # a link to the existing contract


def test_editing_keeps_the_file_and_refuses_a_stale_form(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "customers" / "dubai-events.yaml"
    page = client.get("/customers/dubai-events/edit").text
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)
    assert 'readonly' in re.search(r'<input id="customer_id"[^>]*>', page).group(0)
    form = {"csrf_token": csrf(client), "action": "save", "name": "Dubai Events FZ-LLC", "date": "2026-12-03",
            "region": "uae", "language": "fi", "products": ["automation", "cms"], "digest": digest,
            "customer_id": "renamed"}
    response = client.post("/customers/dubai-events/edit", data=form)
    assert response.status_code == 303
    text = path.read_text()
    assert text.startswith("# United Arab Emirates, LianaAutomation only")  # the comment is kept
    assert "products: [automation, cms]" in text and "id: dubai-events" in text
    response = client.post("/customers/dubai-events/edit", data=form)  # the same, now stale, form again
    assert response.status_code == 409
    assert "Someone else saved this contract after you opened the form. Nothing was saved." in response.text
    assert path.read_text() == text
    # reload and keep my changes: the saved version's digest, the typed values
    form["name"] = "Dubai Events (typed)"
    response = client.post("/customers/dubai-events/edit", data={**form, "action": "keep"})
    assert response.status_code == 200 and 'value="Dubai Events (typed)"' in response.text
    assert "the values you typed are kept" in response.text
    fresh = re.search(r'name="digest" value="([0-9a-f]+)"', response.text).group(1)
    assert fresh != digest
    assert client.post("/customers/dubai-events/edit", data={**form, "digest": fresh}).status_code == 303
    assert "name: Dubai Events (typed)" in path.read_text()


def test_crm_contracts_cannot_be_edited(client: TestClient) -> None:
    response = client.get("/customers/harbour-hk/edit")
    assert response.status_code == 400
    assert "This contract comes from a CRM export and is read-only here; change it in the CRM." in response.text
    assert "read-only here" in client.get("/customers/harbour-hk").text


def test_preview_and_its_files(client: TestClient) -> None:
    page = client.get("/customers/esimerkki-oy").text
    assert 'src="/customers/esimerkki-oy/annex/annex.html"' in page
    assert "General: every customer in the region EU" in page and "Product: LianaMailer" in page
    annex = client.get("/customers/esimerkki-oy/annex/annex.html")
    assert annex.headers["content-type"] == "text/html; charset=utf-8"
    assert '<link rel="stylesheet" href="annex.css" />' in annex.text
    css = client.get("/customers/esimerkki-oy/annex/annex.css").text
    assert 'url("fonts/NotoSans-Regular.ttf")' in css
    font = client.get("/customers/esimerkki-oy/annex/fonts/NotoSans-Regular.ttf")
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf"
    for bad in ("fonts/../annex.css.j2", "fonts/OFL.txt", "../i18n/fi.yaml", "annex.html.j2"):
        assert client.get(f"/customers/esimerkki-oy/annex/{bad}").status_code == 404, bad


def test_the_interface_uses_the_bundled_fonts(client: TestClient) -> None:
    css = client.get("/static/web.css").text
    assert 'src: url("fonts/NotoSans-Regular.ttf")' in css
    assert 'font-family: "UI Sans", "Annex Arabic", "Annex Hebrew", "Annex CJK", sans-serif' in css
    faces = client.get("/static/fonts.css").text
    assert 'font-family: "Annex CJK"; src: url("fonts/DroidSansFallbackFull.ttf")' in faces
    assert "unicode-range: U+" in faces
    font = client.get("/static/fonts/NotoSans-Bold.ttf")
    assert font.status_code == 200 and font.content[:4] == b"\x00\x01\x00\x00"
    assert client.get("/static/fonts/OFL.txt").status_code == 404
    assert client.get("/static/annex.css").status_code == 404


def test_unknown_customer_and_format(client: TestClient) -> None:
    response = client.get("/customers/nobody")
    assert response.status_code == 404
    assert "There is no contract with the customer id nobody." in response.text
    assert client.get("/customers/esimerkki-oy/download/exe").status_code == 404


def test_registry_page(client: TestClient) -> None:
    page = client.get("/registry").text
    assert re.search(r"Version 2026\.\d+\.\d+\+[0-9a-f]{8}", page)
    assert "Recorded corrections" in page and "Twilio Ireland Ltd." in page and "United Arab Emirates" in page
    assert "Typo; the rest of the list spells the word" in page
    assert "Alikäsittelijäluettelo" in client.get("/registry", headers={"accept-language": "fi"}).text
    # a transfer the annex marks is marked here too: a location outside the EU/EEA, or the company registered outside it
    rows = {cells[0]: cells[1] for cells in (re.findall(r"<td>(.*?)</td>", row, re.S)
                                             for row in re.findall(r"<tr><td>.*?</tr>", page, re.S)) if len(cells) == 4}
    assert "company registered outside the EU/EEA" in rows["Cyclr"]
    assert "outside the EU/EEA" not in rows["Twilio Ireland Ltd."]


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_download_asked_for_by_another_site_generates_and_records_nothing(client: TestClient, tmp_path: Path,
                                                                           site: str) -> None:
    refused = client.get("/customers/esimerkki-oy/download/docx", headers={"sec-fetch-site": site})
    assert refused.status_code == 403 and "The link came from another site" in refused.text
    assert not list(tmp_path.glob("output/**/*.docx"))
    for own in ("same-origin", "none", None):  # a link on this server's pages, a typed address, not a browser
        got = client.get("/customers/esimerkki-oy/download/docx", headers={"sec-fetch-site": own} if own else {})
        assert got.status_code == 200 and got.content.startswith(b"PK")


def test_the_contract_form_needs_the_csrf_token(client: TestClient, tmp_path: Path) -> None:
    data = new_contract(client)
    del data["csrf_token"]
    assert client.post("/customers/new", data=data).status_code == 403
    assert client.post("/customers/esimerkki-oy/edit", data=data).status_code == 403
    assert not (tmp_path / "customers" / "uusi-oy.yaml").exists()


def test_roles(tmp_path: Path) -> None:
    client = web_client(tmp_path, CUSTOMERS, users={"lea": "legal", "sami": "sales"}, host="0.0.0.0")
    for path in ("/customers", "/customers/new", "/customers/esimerkki-oy", "/registry",
                 "/customers/esimerkki-oy/download/pdf"):
        assert client.get(path).headers["location"].startswith("/login?next="), path
    login(client, "lea")
    assert client.get("/customers").status_code == 200
    assert "New contract" not in client.get("/customers").text
    response = client.get("/customers/new")
    assert response.status_code == 403 and "Your role does not allow this page" in response.text
    assert client.post("/customers/new", data=new_contract(client)).status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(client, "sami")
    assert client.post("/customers/new", data=new_contract(client)).status_code == 303


def test_every_post_route_checks_csrf(client: TestClient) -> None:
    """Every form of the application, part 2's too, is refused without the token."""
    csrf(client)
    app = client.app
    posts = [r.path for r in app.routes if "POST" in (getattr(r, "methods", None) or ())]
    assert "/customers/new" in posts
    for path in posts:
        target = path.replace("{customer_id}", "esimerkki-oy")
        assert client.post(target, data={"x": "1"}).status_code == 403, path


def test_the_list_shows_each_row_as_it_is_now_after_changes(tmp_path: Path) -> None:
    # Rows are kept once written; each must still follow its annex, its contract, the language and the user.
    contract = (EXAMPLES_DIR / "nordic-webshop.yaml").read_text(encoding="utf-8")
    client = web_client(tmp_path, {"nordic-webshop.yaml": contract}, users={"maija": "sales", "lasse": "legal"})
    login(client, "maija", PASSWORD)

    def row() -> str:
        page = client.get("/customers").text
        return page[page.index("<tbody>"):page.index("</tbody>")]

    assert 'class="tag never"' in row() and "/edit" in row()
    assert client.get("/customers/nordic-webshop/download/pdf").status_code == 200
    assert 'class="tag current"' in row()
    path = tmp_path / "customers" / "nordic-webshop.yaml"
    path.write_text(contract.replace("Nordic Webshop AB", "Nordic Webshop Group AB"), encoding="utf-8")
    assert "Nordic Webshop Group AB" in row() and 'class="tag stale"' in row()
    chosen = client.post("/language", data={"lang": "fi", "next": "/customers", "csrf_token": csrf(client)})
    assert chosen.status_code == 303
    assert "englanti" in row() and "Muokkaa" in row()
    client.cookies.clear()
    login(client, "lasse", PASSWORD)  # legal: may see contracts, not edit them
    assert "Nordic Webshop Group AB" in row() and "/edit" not in row()
