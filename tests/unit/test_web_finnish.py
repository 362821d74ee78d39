"""Every page and every kind of message in Finnish: all visible text comes from the Finnish catalog.

The test renders each page (and each message a page can show: validation, refusal, conflict,
drift, audit, error) with the interface in Finnish, takes the text a person sees (text nodes,
titles, labels, button values), removes every literal part of the Finnish catalog's texts and
every piece of data the test itself put in (customer and company names, ids, file names, the
registry's Finnish texts, document IDs, hashes, dates and numbers), and fails on any word left.
"""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.yamlio import load
from annex_gen.resolve import resolve
from annex_gen.web import Settings, create_app
from annex_gen.web.i18n import catalogs
from archive_support import annex_pdf, flip_signed_byte, sign
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from web_support import csrf

CUSTOMER = "kauppahuone-aalto"
# Words that are no language: the product's name, file formats, the hash's name, units Babel writes.
NEUTRAL = ("annex-gen", "SHA-256", "PDF", "DOCX", "CSV", "zip", "YAML", "CRM", "klo", "tavua", "kt", "Mt", "Gt",
           "VVVV-KK-PP", "ANX-XXXX-XXXX-XXXX-XXXX", "Y-tunnus", "ALV", "TRN", "BR", "EU", "ETA", "Europe/Helsinki")
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _Visible(HTMLParser):
    """The texts of a page a person sees or hears: text nodes outside script and style, labels, button values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        self.texts += [values[a] or "" for a in ATTRIBUTES if values.get(a)]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.texts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data)


def _fragments() -> list[str]:
    """The literal parts of every Finnish text (placeholders cut out)."""
    parts: set[str] = set()
    for text in catalogs()["fi"].values():
        for literal, *_ in string.Formatter().parse(text):
            for part in re.split(r"\s{2,}", literal):
                parts |= {part.strip(), part.strip(" .,:;()·–—")}  # also without the punctuation around it
    return sorted(p for p in parts if p)


def _walk(value: object, found: set[str], *, skip_english: bool = True) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "en" or not skip_english:  # an English translation must not show on a Finnish page
                _walk(item, found, skip_english=skip_english)
            found.add(str(key))
    elif isinstance(value, list):
        for item in value:
            _walk(item, found, skip_english=skip_english)
    elif isinstance(value, str):
        found.add(value)


def _data_strings(registry: Path, customers: Path) -> set[str]:
    """Every text of the YAML files the test served (Finnish only where a text is translated), and the
    content of the customers' annexes, in each annex's own language (the page shows an annex as it is)."""
    found: set[str] = set()
    for folder in (registry, customers):
        for path in folder.glob("*.yaml"):
            _walk(load(path).data, found)
            found.add(path.name)
    registry_now = app.load_registry(registry)
    for path in customers.glob("*.yaml"):
        contract, _ = load_contract(registry_now, path)
        _walk(resolve(registry_now, contract).to_dict(), found, skip_english=False)
        found |= {contract.customer_name, contract.customer_id, str(customers), str(path)}
    found |= {str(registry), str(registry.parent)}
    return {s.strip() for s in found if s.strip()}


def _left_over(text: str, allowed: re.Pattern[str]) -> str:
    # ids and hashes first: a catalog fragment matched inside a hash would leave letters of it behind
    text = re.sub(r"(?:ANX|NTC)(?:-[0-9A-F]{4}){4}|\b[0-9a-f]{8,64}|[0-9]{4}\.[0-9]+\.[0-9]+\+[0-9a-f]+", " ",
                  " ".join(text.split()))
    text = allowed.sub(" ", text)
    return " ".join(w for w in re.findall(r"[^\W\d_]{2,}", text))


@pytest.fixture
def site(tmp_path: Path):
    """A Finnish session over a registry in git with a change, two contracts, an archive with a signed annex."""
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER, "nordic-webshop")
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=tmp_path / "archive")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        assert client.post("/language", data={"lang": "fi", "csrf_token": csrf(client), "next": "/"}).status_code == 303
        client.registry, client.customers, client.out_dir = registry, customers, settings.out_dir  # type: ignore[attr-defined]
        yield client


def _upload(client: TestClient, data: bytes, name: str, customer: str = CUSTOMER):
    return client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"), "customer": customer},
                       files={"file": (name, data, "application/pdf")})


def _token(html: str) -> str:
    return re.search(r'name="token" value="([^"]*)"', html).group(1)


def _pages(site: TestClient) -> dict[str, str]:
    """Every page and message kind, rendered in Finnish: name -> HTML."""
    shown: dict[str, str] = {}

    def get(name: str, path: str, status: int = 200) -> None:
        response = site.get(path)
        assert response.status_code == status, (name, response.status_code, response.text[-500:])
        shown[name] = response.text

    def post(name: str, path: str, data: dict, status: int, files: dict | None = None) -> str:
        response = site.post(path, data={"csrf_token": csrf(site), **data}, files=files)
        assert response.status_code == status, (name, response.status_code, response.text[-500:])
        shown[name] = response.text
        return response.text

    get("customers", "/customers")
    get("new-contract", "/customers/new")
    get("preview", f"/customers/{CUSTOMER}")
    get("edit", f"/customers/{CUSTOMER}/edit")
    get("registry", "/registry")
    # the form's messages: every field wrong, a region switch, a taken id, a stale edit
    post("contract-invalid", "/customers/new", {
        "action": "save", "name": "", "customer_id": "Iso Kirjain", "business_id": "1234567-2",
        "contact_email": "=x@example.com", "date": "2026-02-30", "region": "eu", "language": "fi"}, 400)
    post("contract-region-switch", "/customers/new", {
        "action": "refresh", "name": "Uusi Oy", "region": "hk", "language": "fi", "products": ["mailer", "press"]}, 200)
    post("contract-id-taken", "/customers/new", {
        "action": "save", "name": "Uusi Oy", "customer_id": CUSTOMER, "date": "2026-11-30", "region": "eu",
        "language": "fi", "products": ["mailer"]}, 409)
    post("contract-conflict", f"/customers/{CUSTOMER}/edit", {
        "action": "save", "name": "Uusi Oy", "date": "2026-11-30", "region": "eu", "language": "fi",
        "products": ["mailer"], "digest": "0" * 64}, 409)
    get("not-found", "/customers/nobody", 404)
    # the archive: refusals, a read-back, the stored record, its history with drift, verify
    get("archive-empty", "/archive")
    get("archive-upload", "/archive/upload")
    post("refused-not-pdf", "/archive/upload", {"customer": CUSTOMER}, 422,
         {"file": ("x.pdf", b"PK\x03\x04docx", "application/pdf")})
    post("refused-truncated", "/archive/upload", {"customer": CUSTOMER}, 422,
         {"file": ("x.pdf", b"%PDF-1.7\n1 0 obj", "application/pdf")})
    post("refused-other-customer", "/archive/upload", {"customer": "nordic-webshop"}, 422,
         {"file": ("x.pdf", annex_pdf(CUSTOMER), "application/pdf")})
    post("refused-broken-signature", "/archive/upload", {"customer": CUSTOMER}, 422,
         {"file": ("broken.pdf", flip_signed_byte(sign(annex_pdf(CUSTOMER), signer="Aalto Legal")),
                   "application/pdf")})
    signed = sign(annex_pdf(CUSTOMER), signer="Aalto Legal")
    review = post("review", "/archive/upload", {"customer": CUSTOMER}, 200,
                  {"file": ("signed.pdf", signed, "application/pdf")})
    stored = site.post("/archive/store", data={"csrf_token": csrf(site), "token": _token(review),
                                               "customer": CUSTOMER, "action": "store"})
    assert stored.status_code == 303
    post("refused-duplicate", "/archive/upload", {"customer": CUSTOMER}, 422,
         {"file": ("again.pdf", signed, "application/pdf")})
    add_mailer_subprocessor(site.registry)  # type: ignore[attr-defined]
    get("archive", "/archive")
    get("archive-customer", f"/archive/customers/{CUSTOMER}")
    shown["verify"] = site.post("/archive/verify", data={"csrf_token": csrf(site)}).text
    get("bad-date", "/archive?on=huomenna", 400)
    # changes, batch, notices
    get("changes", "/changes")
    baseline = app.release_choices(site.registry, site.out_dir / "_notices").baseline  # type: ignore[attr-defined]
    get("changes-other-release", f"/changes?from={baseline.ref}")
    get("changes-not-a-release", "/changes?from=HEAD~1", 400)
    post("notices-no-baseline", "/changes/notices", {"from": "", "notice_date": "2026-12-01"}, 400)
    written = site.post("/changes/notices", data={"csrf_token": csrf(site), "from": baseline.ref,
                                                  "notice_date": "2026-12-01"})
    assert written.status_code == 303, written.text[-500:]
    get("notices", written.headers["location"])
    get("batch", "/changes/batch")
    get("audit", "/audit")
    return shown


def _not_finnish(pages: dict[str, str], data: set[str]) -> dict[str, list[str]]:
    """Per page, the visible texts with words left once catalog texts and data are taken out."""
    allowed = re.compile("|".join(re.escape(s) for s in sorted(data | set(NEUTRAL) | set(_fragments()),
                                                                  key=len, reverse=True)))
    english: dict[str, list[str]] = {}
    for name, html in pages.items():
        parser = _Visible()
        parser.feed(html)
        left = [(text.strip(), rest) for text in parser.texts if (rest := _left_over(text, allowed))]
        if left:
            english[name] = [f"{text!r} -> {rest!r}" for text, rest in left]
    return english


def _report(english: dict[str, list[str]]) -> str:
    return "text not from the Finnish catalog:\n" + "\n".join(
        f"{name}: {line}" for name, lines in english.items() for line in lines)


def test_every_page_and_message_is_finnish(site):
    pages = _pages(site)
    data = _data_strings(site.registry, site.customers)  # type: ignore[attr-defined]
    data |= {"Aalto Legal", "signed.pdf", "broken.pdf", "again.pdf", "x.pdf", "Iso Kirjain", "Uusi Oy", "nobody",
             "huomenna", "=x@example.com", "local", "Hetzner Online GmbH"}
    english = _not_finnish(pages, data)
    assert not english, _report(english)


def test_signing_in_and_refusals_are_finnish(tmp_path):
    from web_support import PASSWORD, web_client

    client = web_client(tmp_path, {}, users={"myyja": "sales"})
    client.post("/language", data={"lang": "fi", "csrf_token": csrf(client, "/login"), "next": "/login"})
    pages = {"login": client.get("/login").text}
    failed = client.post("/login", data={"name": "myyja", "password": "väärä salasana",
                                         "csrf_token": csrf(client, "/login"), "next": "/"})
    pages["login-failed"] = failed.text
    signed_in = client.post("/login", data={"name": "myyja", "password": PASSWORD,
                                            "csrf_token": csrf(client, "/login"), "next": "/"})
    assert signed_in.status_code == 303
    forbidden = client.get("/archive")
    assert forbidden.status_code == 403
    pages["forbidden"] = forbidden.text
    stale = client.post("/customers/new", data={"csrf_token": "vanha", "action": "save"})
    assert stale.status_code == 403
    pages["csrf"] = stale.text
    english = _not_finnish(pages, {"myyja"})
    assert not english, _report(english)
