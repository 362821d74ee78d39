"""Every page and every kind of message in Finnish: all visible text comes from the Finnish catalog.

The test renders each page (and each message a page can show: validation, refusal, conflict,
drift, audit, error) with the interface in Finnish, takes the text a person sees (text nodes,
titles, labels, button values), removes every literal part of the Finnish catalog's texts and
every piece of data the test itself put in (customer and company names, ids, file names, the
registry's Finnish texts, document IDs, hashes, dates and numbers), and fails on any word left.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.batch.run import BatchResult
from annex_gen.errors import BatchInterrupted
from annex_gen.inputs.contract import load_contract
from annex_gen.inputs.yamlio import load
from annex_gen.publish.site import site_catalogs
from annex_gen.registry_edit import approve as approving
from annex_gen.registry_edit.log import open_change_log
from annex_gen.resolve import resolve
from annex_gen.signoff.releases import record_approval
from annex_gen.web import Settings, create_app
from annex_gen.web.i18n import catalogs
from archive_support import annex_pdf, approve_release, flip_signed_byte, scan_pdf, sign
from legal_web_support import add_mailer_subprocessor, example_contracts, registry_repo
from smtp_support import smtp_server  # noqa: F401 - fixture
from web_support import csrf

CUSTOMER = "kauppahuone-aalto"
TODAY = dt.date.today().isoformat()  # notices are sent on the day they are dated
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
# Words that are no language: the product's name, file formats, the hash's name, units Babel writes.
NEUTRAL = ("annex-gen", "SHA-256", "PDF", "DOCX", "CSV", "zip", "YAML", "CRM", "klo", "tavua", "kt", "Mt", "Gt",
           "VVVV-KK-PP", "ANX-XXXX-XXXX-XXXX-XXXX", "Y-tunnus", "ALV", "TRN", "BR", "EU", "ETA", "Europe/Helsinki",
           "https://…", " ja ")  # an address's placeholder; the last "and" of a list as Babel writes it
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


@pytest.fixture(autouse=True)
def _today() -> None:
    """TODAY and YESTERDAY as each test starts: a run may pass midnight, and the tool dates by the day it runs."""
    global TODAY, YESTERDAY
    TODAY = dt.date.today().isoformat()
    YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


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
    """The literal parts of every Finnish text (placeholders cut out): the web catalog's, and the public site's
    (the editor words a change as the public changes page does)."""
    parts: set[str] = set()
    for text in [*catalogs()["fi"].values(), *site_catalogs()["fi"].values()]:
        for literal, _, spec, _ in string.Formatter().parse(text):
            for part in re.split(r"\s{2,}", literal):
                parts |= {part.strip(), part.strip(" .,:;()·–—")}  # also without the punctuation around it
            if spec and "|" in spec:  # a number's word forms: {count:ilmoitus|ilmoitusta}
                parts |= set(spec.split("|"))
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
    found |= {str(registry), str(registry.parent), "notices.csv"}  # a file's name, as a problem locates it
    return {" ".join(s.split()) for s in found if s.strip()}


def _mail_strings(mailbox, archive) -> set[str]:  # noqa: ANN001
    """The messages sent, as the test mail server received them and as the audit log recorded each attempt (a
    refused one too): written in the customer's language, and the server's answers, shown as they are."""
    found: set[str] = set()
    for entry in app.audit_entries(archive):
        if entry.action == "message sent":
            found |= {entry.params["subject"], entry.params["reply"]}
    for received in mailbox.received:
        message = received.message
        found |= {str(message["Subject"]), str(message["Message-ID"])}
        found |= {line for line in message.get_body(("plain",)).get_content().splitlines() if line.strip()}
    return {" ".join(s.split()) for s in found if s.strip()}


def _left_over(text: str, allowed: re.Pattern[str], long_data: re.Pattern[str]) -> str:
    # long texts first (an address holding a date), then ids and hashes (a catalog fragment matched inside a hash
    # would leave letters of it behind), then the catalog's texts and the rest of the data
    text = long_data.sub(" ", " ".join(text.split()))
    text = re.sub(r"(?:ANX|NTC)(?:-[0-9A-F]{4}){4}|OBJ-[0-9]+|\b[0-9a-f]{8,64}|[0-9]{4}\.[0-9]+\.[0-9]+\+[0-9a-f]+",
                  " ", text)
    text = allowed.sub(" ", text)
    return " ".join(w for w in re.findall(r"[^\W\d_]{2,}", text))


@pytest.fixture
def site(tmp_path: Path, smtp_server, monkeypatch):  # noqa: F811
    """A Finnish session over a registry in git with a change, two contracts, an archive, a test mail server."""
    monkeypatch.setenv("ANNEX_GEN_SMTP", smtp_server.url)
    monkeypatch.setenv("ANNEX_GEN_MAIL_FROM", "legal@liana.example")
    registry = registry_repo(tmp_path / "repo")
    customers = example_contracts(tmp_path / "customers", CUSTOMER, "nordic-webshop")
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        archive=tmp_path / "archive")
    with TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False) as client:
        assert client.post("/language", data={"lang": "fi", "csrf_token": csrf(client), "next": "/"}).status_code == 303
        client.registry, client.customers, client.out_dir = registry, customers, settings.out_dir  # type: ignore[attr-defined]
        client.archive, client.smtp, client.monkeypatch = settings.archive, smtp_server, monkeypatch  # type: ignore[attr-defined]
        yield client


def _upload(client: TestClient, data: bytes, name: str, customer: str = CUSTOMER):
    return client.post("/archive/upload", data={"csrf_token": csrf(client, "/archive"), "customer": customer},
                       files={"file": (name, data, "application/pdf")})


def _token(html: str) -> str:
    return re.search(r'name="token" value="([^"]*)"', html).group(1)


# What the test types into the forms (Finnish, as a user would), shown back as it was typed.
TYPED = ("Emme hyväksy.", "Aino Aalto", "vastustus.pdf", "Ei käytössä", "Lasku 2026-11", "Toinen Juristi",
         "Uusi analytiikkapalvelu", "MailMetrics Oy käsittelee tietoja.", "Sähköpostien analytiikka",
         "E-mail analytics",
         "Uusi konesali", "Ei tarvita", "Ei enää käytössä", "Oulu, Suomi", "Oulu, Finland", "mailmetrics", "oulu",
         "skannaus.pdf", "muu.pdf", "kaikki-tuotteet",
         "https://example.com/mailmetrics/dpa", "FI12345698", "FI12345678", "FI24315605", "uusi julkaisu")
NEW_ENTITY_FORM = {
    "action": "add", "id": "mailmetrics", "name": "MailMetrics Oy",
    "name_src_url": "https://example.com/mailmetrics/dpa", "name_src_quote": "MailMetrics Oy käsittelee tietoja.",
    "legal_kind": "vat", "legal_value": "FI12345698", "legal_id_src_url": "https://example.com/mailmetrics/dpa",
    "country": "FI", "country_src_url": "https://example.com/mailmetrics/dpa", "address": "", "privacy_contact": "",
    "entry_section": "eu-mailer", "entry_location": "eu", "entry_purpose_fi": "Sähköpostien analytiikka",
    "entry_purpose_en": "E-mail analytics", "entry_entry_src_url": "https://example.com/mailmetrics/dpa",
    "reason": "Uusi analytiikkapalvelu",
}


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
    shown["archive-customer-empty"] = site.get(f"/archive/customers/{CUSTOMER}").text
    assert "Kauppahuone Aalto &amp; Co. Oy" in shown["archive-customer-empty"]  # named, though nothing is archived
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
    scan = post("review-scan", "/archive/upload", {"customer": CUSTOMER}, 200,
                {"file": ("skannaus.pdf", scan_pdf(marker="paperi"), "application/pdf")})
    stored_scan = site.post("/archive/store", data={"csrf_token": csrf(site), "token": _token(scan),
                                                    "customer": CUSTOMER, "action": "store", "unsigned_copy": "on"})
    assert stored_scan.status_code == 303, stored_scan.text[-500:]
    post("review-no-contract", "/archive/upload", {"customer": ""}, 422,
         {"file": ("muu.pdf", annex_pdf("kaikki-tuotteet"), "application/pdf")})
    approve_release(site.registry, site.archive, by="Aalto Legal")  # type: ignore[attr-defined] # what customers have
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
    post("notices-no-baseline", "/changes/notices", {"from": "", "notice_date": TODAY}, 400)
    written = site.post("/changes/notices", data={"csrf_token": csrf(site), "from": baseline.ref,
                                                  "notice_date": TODAY})
    assert written.status_code == 303, written.text[-500:]
    get("notices-draft", written.headers["location"])  # the change not yet approved: its annexes are drafts
    post("notices-draft-refused", f"/changes/notices/{TODAY}/send", {}, 400)
    approve_release(site.registry, site.archive, by="Aalto Legal")  # type: ignore[attr-defined]
    late = site.post("/changes/notices", data={"csrf_token": csrf(site), "from": baseline.ref,
                                               "notice_date": YESTERDAY})
    get("notices-late", late.headers["location"])  # dated before today: not sent
    post("notices-late-refused", f"/changes/notices/{YESTERDAY}/send", {}, 400)
    written = site.post("/changes/notices", data={"csrf_token": csrf(site), "from": baseline.ref,
                                                  "notice_date": TODAY})
    assert written.status_code == 303, written.text[-500:]
    get("notices", written.headers["location"])
    get("batch", "/changes/batch")
    _batch_pages(site, get)
    _lifecycle_pages(site, get, post)
    _release_pages(site, get, post)
    _editor_pages(site, get, post)
    get("archive-record", "/archive/records/1", 303)
    get("no-document", "/archive/documents/ANX-0000-0000-0000-0000", 404)
    get("audit", "/audit")
    return shown


def _batch_pages(site: TestClient, get) -> None:  # noqa: ANN001
    """A batch run to its end, and one that was interrupted."""
    assert site.post("/changes/batch", data={"csrf_token": csrf(site)}).status_code == 303
    site.app.state.batch_runner.wait(120)  # type: ignore[attr-defined]
    get("batch-finished", "/changes/batch")

    def interrupted(progress) -> BatchResult:  # noqa: ANN001
        raise BatchInterrupted(result=BatchResult())

    runner = site.app.state.batch_runner  # type: ignore[attr-defined]
    runner.start(interrupted, out_dir=site.out_dir, started_by="local")  # type: ignore[attr-defined]
    runner.wait(30)
    get("batch-interrupted", "/changes/batch")
    get("changes-batch-interrupted", "/changes")


def _lifecycle_pages(site: TestClient, get, post) -> None:  # noqa: ANN001
    """Sending (refused without a mail server, then sent), the notices sent, objections, the timeline."""
    get("send", f"/customers/{CUSTOMER}/send")
    site.monkeypatch.delenv("ANNEX_GEN_SMTP", raising=False)  # type: ignore[attr-defined]
    post("send-no-mail-server", f"/customers/{CUSTOMER}/send", {"formats": "pdf"}, 422)
    site.monkeypatch.setenv("ANNEX_GEN_SMTP", site.smtp.url)  # type: ignore[attr-defined]
    sent = site.post(f"/customers/{CUSTOMER}/send", data={"csrf_token": csrf(site), "formats": "pdf"})
    assert sent.status_code == 303, sent.text[-500:]
    get("timeline-sent", sent.headers["location"])
    post("notices-sent", f"/changes/notices/{TODAY}/send", {}, 200)
    get("objections", "/objections")
    post("objection-refused", "/objections", {"notice": "", "received_on": TODAY, "sender": "Aino Aalto",
                                              "text": "Emme hyväksy."}, 422)
    notice = re.search(r'value="([^"/]+/NTC-[0-9A-F-]+)"', shown_objections := site.get("/objections").text)
    assert notice, shown_objections[-500:]
    day = dt.date.fromisoformat(TODAY)
    assert f"(annettu {day.day}.{day.month}.{day.year})</option>" in shown_objections
    added = site.post("/objections", data={"csrf_token": csrf(site), "notice": notice.group(1),
                                           "received_on": TODAY, "sender": "Aino Aalto",
                                           "text": "Emme hyväksy."},
                      files={"letter": ("vastustus.pdf", b"%PDF-1.4 kirje", "application/pdf")})
    assert added.status_code == 303, added.text[-500:]
    get("objections-open", "/objections")
    objection = re.search(r"OBJ-\d+", site.get("/objections").text).group(0)
    post("objection-resolve-refused", f"/objections/{objection}/resolve",
         {"outcome": "", "resolved_on": TODAY}, 422)
    resolved = site.post(f"/objections/{objection}/resolve", data={
        "csrf_token": csrf(site), "outcome": "accepted", "resolved_on": TODAY, "note": "Ei käytössä"})
    assert resolved.status_code == 303, resolved.text[-500:]
    get("timeline", f"/customers/{CUSTOMER}/timeline")
    site.smtp.mailbox.refuse.add("dpo@nordicwebshop.example")  # type: ignore[attr-defined]
    refused = site.post("/customers/nordic-webshop/send", data={"csrf_token": csrf(site), "formats": "pdf"})
    assert refused.status_code == 303 and refused.headers["location"].endswith("done=failed"), refused.text[-500:]
    get("timeline-refused", refused.headers["location"])
    retried = site.post("/customers/nordic-webshop/retry", data={"csrf_token": csrf(site)})
    assert retried.status_code == 303, retried.text[-500:]
    get("timeline-retried", retried.headers["location"])
    site.smtp.mailbox.refuse.clear()  # type: ignore[attr-defined]


def _release_pages(site: TestClient, get, post) -> None:  # noqa: ANN001
    """Facts to confirm, a confirmation and its refusal, a refused approval, an approved release."""
    get("releases", "/releases")
    post("confirm-no-source", "/releases/confirm", {"key": "entities.cyclr.address", "value": "", "current": "",
                                                    "source": ""}, 422)
    confirmed = site.post("/releases/confirm", data={
        "csrf_token": csrf(site), "key": "entities.alicloud-global.legal_name",
        "value": "Alibaba Cloud (Singapore) Private Limited", "current": "", "source": "Lasku 2026-11"})
    assert confirmed.status_code == 303, confirmed.text[-500:]
    get("releases-confirmed", confirmed.headers["location"])
    post("approve-refused", "/releases/approve", {"label": "2026.12.2", "effective": ""}, 422)
    post("approve-bad-label", "/releases/approve", {"label": "uusi julkaisu", "effective": ""}, 422)
    with app.open_archive(site.archive, create=True) as opened:  # type: ignore[attr-defined]
        record_approval(opened, site.registry, app.load_registry(site.registry), by="Aalto Legal",  # type: ignore[attr-defined]
                        on=dt.date(2026, 12, 1), effective=dt.date(2026, 12, 1))
    get("releases-approved", "/releases?approved=2026.12.1")


def _editor_pages(site: TestClient, get, post) -> None:  # noqa: ANN001
    """Every form of the registry editor, its refusals, a proposal, four eyes, approval, withdrawal, history."""
    get("editor", "/editor")
    get("editor-new-entity", "/editor/entity/new")
    get("editor-new-location", "/editor/location/new")
    get("editor-new-basis", "/editor/basis/new")
    get("editor-new-entry", "/editor/entry/new?section=eu-mailer")
    get("editor-change-entity", "/editor/entity/change?id=upcloud")
    get("editor-change-location", "/editor/location/change?id=helsinki")
    get("editor-change-basis", "/editor/basis/change?id=scc-module-3")
    get("editor-change-entry", "/editor/entry/change?section=eu-mailer&entity=upcloud&location=helsinki")
    get("editor-remove", "/editor/entity/remove?id=upcloud")
    get("editor-no-item", "/editor/entity/change?id=nobody", 404)
    get("editor-no-kind", "/editor/nothing/new", 404)
    post("editor-invalid", "/editor/entity", {**NEW_ENTITY_FORM, "legal_value": "FI12345678", "reason": ""}, 400)
    post("editor-taken", "/editor/entity", {**NEW_ENTITY_FORM, "legal_value": "FI24315605"}, 400)
    post("editor-location-invalid", "/editor/location", {"action": "add", "id": "Iso Kirjain", "name_fi": "",
                                                          "name_en": "", "reason": ""}, 400)
    proposed = site.post("/editor/entity", data={"csrf_token": csrf(site), **NEW_ENTITY_FORM})
    assert proposed.status_code == 303, proposed.text[-500:]
    get("editor-proposal", proposed.headers["location"])
    get("editor-proposal-edit", proposed.headers["location"] + "/edit")
    get("editor-with-proposal", "/editor")
    post("editor-same-item", "/editor/entity", {**NEW_ENTITY_FORM, "name": "MailMetrics Finland Oy"}, 409)
    post("editor-none-chosen", "/editor/proposals/approve", {"release": "2026.12.3"}, 400)
    post("editor-four-eyes", proposed.headers["location"] + "/approve", {"release": "2026.12.3"}, 403)
    approving.approve(open_change_log(site.archive), site.registry, "Toinen Juristi", [1],  # type: ignore[attr-defined]
                      release="2026.12.3")
    get("editor-approved", "/editor/proposals/1?done=approved")
    post("editor-remove-refused", "/editor/location", {"action": "remove", "key": "helsinki",  # still in use
                                                        "reason": "Ei enää käytössä"}, 400)
    withdrawn = site.post("/editor/location", data={
        "csrf_token": csrf(site), "action": "add", "id": "oulu", "name_fi": "Oulu, Suomi",
        "name_en": "Oulu, Finland", "eea": "on", "reason": "Uusi konesali"})
    assert withdrawn.status_code == 303, withdrawn.text[-500:]
    pid = withdrawn.headers["location"].rsplit("/", 1)[1]
    assert site.post(f"/editor/proposals/{pid}/withdraw", data={"csrf_token": csrf(site),
                                                                "reason": "Ei tarvita"}).status_code == 303
    get("editor-withdrawn", f"/editor/proposals/{pid}?done=withdrawn")
    get("editor-no-proposal", "/editor/proposals/99", 404)
    get("editor-history", "/editor/history")


def _not_finnish(pages: dict[str, str], data: set[str]) -> dict[str, list[str]]:
    """Per page, the visible texts with words left once catalog texts and data are taken out."""
    allowed = re.compile("|".join(re.escape(s) for s in sorted(data | set(NEUTRAL) | set(_fragments()),
                                                                  key=len, reverse=True)))
    long_data = re.compile("|".join(re.escape(s) for s in sorted(
        (s for s in data | set(_fragments()) if len(s) >= 16), key=len, reverse=True)) or "(?!)")
    english: dict[str, list[str]] = {}
    for name, html in pages.items():
        parser = _Visible()
        parser.feed(html)
        left = [(text.strip(), rest) for text in parser.texts if (rest := _left_over(text, allowed, long_data))]
        if left:
            english[name] = [f"{text!r} -> {rest!r}" for text, rest in left]
    return english


def _report(english: dict[str, list[str]]) -> str:
    return "text not from the Finnish catalog:\n" + "\n".join(
        f"{name}: {line}" for name, lines in english.items() for line in lines)


def test_every_page_and_message_is_finnish(site):
    pages = _pages(site)
    data = _data_strings(site.registry, site.customers)  # type: ignore[attr-defined]
    data |= _mail_strings(site.smtp, site.archive)  # type: ignore[attr-defined]
    data |= {"Aalto Legal", "signed.pdf", "broken.pdf", "again.pdf", "x.pdf", "Iso Kirjain", "Uusi Oy", "nobody",
             "huomenna", "=x@example.com", "local", "Hetzner Online GmbH", "liana.example", "Ok: queued as TEST",
             *TYPED}
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


def test_a_contract_the_chosen_release_cannot_make_is_named_in_finnish(site):
    """The Changes page's error for a contract that needs what the compared release lacks (an option added since)."""
    meta = site.registry / "registry.yaml"  # type: ignore[attr-defined]
    meta.write_text(meta.read_text(encoding="utf-8").replace("options:\n", (
        "options:\n  archive:\n    name: {fi: Arkisto, en: Archive}\n    description: {fi: Arkisto, en: Archive}\n"),
        1), encoding="utf-8")
    contract = site.customers / f"{CUSTOMER}.yaml"  # type: ignore[attr-defined]
    contract.write_text(contract.read_text(encoding="utf-8").replace("dedicated_mta: true", "archive: true"),
                        encoding="utf-8")
    baseline = app.release_choices(site.registry, site.out_dir / "_notices").baseline  # type: ignore[attr-defined]
    page = site.get(f"/changes?from={baseline.ref}")
    assert page.status_code == 200
    assert "Kauppahuone Aalto &amp; Co. Oy: sopimusta ei voi muodostaa valitusta julkaisusta" in page.text
    data = _data_strings(site.registry, site.customers) | {"archive"}  # type: ignore[attr-defined]
    english = _not_finnish({"changes-unresolved": page.text}, data)
    assert not english, _report(english)
