"""The library's messages on web pages: every message code has its text in Finnish and English,
and a message reads in the user's words (names, labels, local formats), never as a CLI line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annex_gen import app
from annex_gen.errors import Diagnostic, EditConflict, InvalidInput
from annex_gen.inputs.contract import validate_contract
from annex_gen.inputs.yamlio import parse_text
from annex_gen.web.formats import Formats
from annex_gen.web.i18n import catalogs
from annex_gen.web.messages import Messages, field_of
from conftest import REGISTRY_DIR

SRC = Path(__file__).resolve().parents[2] / "src" / "annex_gen"
_CODE = re.compile(r'code(?:: str)?\s*=\s*"([a-z_]+(?:\.[a-z_]+)+)"')


def _codes() -> set[str]:
    return {code for path in SRC.rglob("*.py") for code in _CODE.findall(path.read_text(encoding="utf-8"))}


def _messages(lang: str) -> Messages:
    return Messages(catalogs()[lang], Formats(lang), app.load_registry(REGISTRY_DIR))


def test_the_source_gives_message_codes():
    codes = _codes()
    assert {"contract.date.before_list", "archive.signature.broken", "contract.id_taken", "value.type"} <= codes
    assert len(codes) > 50


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_every_message_code_has_a_text(lang):
    catalog = catalogs()[lang]
    missing = sorted(code for code in _codes() if f"msg.{code}" not in catalog)
    assert not missing, f"no {lang} text for the message codes {missing}"


def test_the_finnish_glossary_is_kept():
    fi = catalogs()["fi"]
    assert fi["glossary.subprocessor"] == "alikäsittelijä"
    texts = {key: text for key, text in fi.items() if not key.startswith("glossary.")}
    assert not [k for k, v in texts.items() if "alihankkija" in v.casefold()], "sub-processor is alikäsittelijä"
    # Lataa is a download; an upload is Tuo
    uploads = [k for k in texts if re.search(r"upload|other_file", k)]
    assert uploads and not [k for k in uploads if texts[k].startswith("Lataa")]
    assert fi["upload.title"].startswith("Tuo")


def _diagnostics(yaml: str) -> list[Diagnostic]:
    registry = app.load_registry(REGISTRY_DIR)
    return validate_contract(registry, parse_text(yaml, "customers/acme.yaml"))[1]


BAD = """\
customer: {id: acme, name: Acme Oy, business_id: 1234567-2, contact_email: not-an-address}
contract:
  date: 2026-02-30
  region: eu
  language: sv
  products: [eu-mailer, cms, cms]
  reference: x
  bogus: 1
"""


def test_every_contract_problem_has_a_code():
    found = _diagnostics(BAD)
    assert len(found) >= 5
    assert [d for d in found if not d.code] == []


def test_messages_read_in_finnish_with_names_and_labels():
    say = _messages("fi")
    shown = [say.diagnostic(d) for d in _diagnostics(BAD)]
    text = "\n".join(shown)
    assert "acme.yaml, Liitteen kieli: ”sv” ei ole liitteen kieli; valitse jokin näistä: English ja Suomeksi." in shown
    assert "Tuntematon kenttä bogus" in text
    assert "kahdesti" in text
    # no key path, line number, CLI severity or English
    assert not re.search(r"contract\.|:\d+:|warning:|expected|unknown", text)


def test_product_and_region_names_instead_of_ids():
    registry = app.load_registry(REGISTRY_DIR)
    region = next(r for r in registry.regions if set(registry.products) - set(registry.regions[r].products))
    product = next(p for p in registry.products if p not in registry.regions[region].products)
    d = Diagnostic("customers/x.yaml", 5, 9, "contract.products[0]", "english", code="contract.products.not_offered",
                   params={"product": product, "region": region, "products": list(registry.regions[region].products)})
    text = _messages("fi").diagnostic(d)
    assert registry.products[product] in text and product not in text.replace(registry.products[product], "")
    assert text.startswith("x.yaml, Tuotteet: Alue ")


def test_dates_sizes_and_warnings_for_the_language():
    say = _messages("fi")
    early = ("customer: {id: acme, name: Acme Oy}\n"
             "contract: {date: 2001-01-02, region: eu, language: fi, products: [mailer]}\n")
    error = [d for d in _diagnostics(early) if d.code == "contract.date.before_list"]
    assert error and say.diagnostic(error[0], located=False).startswith("2.1.2001 on aikaisempi ")
    glyphs = ("customer: {id: acme, name: Acme \U0001F600 Oy}\n"
              "contract: {date: 2026-12-01, region: eu, language: fi, products: [mailer]}\n")
    warning = [d for d in _diagnostics(glyphs) if d.code == "value.missing_glyphs"]
    assert warning and say.diagnostic(warning[0], located=False).startswith("Varoitus: Mikään liitteen fonteista ")
    too_big = InvalidInput([Diagnostic("x.pdf", None, None, "", "big", code="archive.file.too_large",
                                       params={"limit_bytes": 100 * 2**20})])
    assert say.error(too_big) == ["x.pdf: Tiedosto on suurempi kuin arkiston raja 100\u00a0Mt."]
    assert _messages("en").error(too_big) == ["x.pdf: The file is larger than the archive's limit of 100\u00a0MB."]


@pytest.mark.parametrize(("given", "fi", "en"), [
    ("asked", "voimaantuloon 15.2.2027, mutta", "before it takes effect on 15 Feb 2027, but"),
    ("approved", "voimaantuloon 15.2.2027, jonka lakitiimi hyväksyi julkaisun voimaantulopäiväksi",
     "before 15 Feb 2027, the day legal approved the release to take effect"),
    ("registry", "siirrä registry.yaml-tiedoston voimaantulopäivä päivään 19.2.2027 tai myöhemmäksi",
     "before the effective date 15 Feb 2027 in registry.yaml"),
])
def test_a_late_notice_says_whose_effective_date_it_is(given, fi, en):
    import datetime as dt

    from annex_gen.errors import NoticeDateError

    late = NoticeDateError(notice_date=dt.date(2027, 1, 20), effective_date=dt.date(2027, 2, 15), period_days=30,
                           given=given)
    (finnish,), (english,) = _messages("fi").error(late), _messages("en").error(late)
    assert fi in finnish and "lähetä ilmoitus viimeistään 16.1.2027" in finnish
    assert en in english and "send the notice by 16 Jan 2027" in english


def test_an_error_without_a_text_falls_back_to_its_message():
    assert _messages("fi").error(EditConflict("plain")) == ["plain"]
    taken = EditConflict("english", code="contract.id_taken", params={"customer_id": "acme"})
    assert _messages("fi").error(taken) == ["Asiakastunnuksella acme on jo sopimus. Valitse toinen tunnus tai "
                                            "muokkaa olemassa olevaa sopimusta."]


def test_a_missing_key_is_shown_at_its_field():
    d = Diagnostic("x.yaml", 1, 1, "customer", "missing required key 'name'", code="key.missing",
                   params={"key": "name"})
    assert field_of(d) == "name"


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_every_signature_problem_has_a_text(lang):
    from annex_gen.archive.pdfinfo import _SIGNATURE_PROBLEMS

    assert [code for _, code in _SIGNATURE_PROBLEMS if f"msg.{code}" not in catalogs()[lang]] == []
    say = _messages(lang)
    assert say.signature_problem("the signed bytes were altered after signing (digest mismatch)") != \
        "the signed bytes were altered after signing (digest mismatch)" or lang == "en"


def test_unreadable_contract_files_are_described_in_finnish(tmp_path):
    from web_support import csrf, web_client

    client = web_client(tmp_path, {"rikki.yaml": "customer: {id: x\n", "crm.csv": "nimi;outo\nA;B\n",
                                   "tyhja.yaml": ""})
    client.post("/language", data={"lang": "fi", "csrf_token": csrf(client), "next": "/"})
    page = client.get("/customers").text
    assert "rikki.yaml: Tiedoston rakenne ei ole kelvollista YAML-muotoa rivillä" in page
    assert "tyhja.yaml: Tiedosto on tyhjä." in page
    assert "crm.csv: Tuntematon sarake outo; sallitut sarakkeet ovat" in page
    assert "invalid YAML" not in page and "unknown column" not in page
