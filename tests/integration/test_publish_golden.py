"""Golden files of the public site, and its determinism and self-containment.

After an intended change of the site's templates, texts or the registry: `make golden`, review
`git diff tests/output/site`, commit.
"""

from __future__ import annotations

import json
import re

import publish_support as ps
import pytest

HINT = "the site differs from tests/output/site; if the change is intended, run `make golden` and review the diff"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, bytes]:
    return ps.publish_site(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", ps.GOLDEN_FILES)
def test_file_equals_golden(site, name):
    golden = ps.GOLDEN_SITE_DIR / name
    assert golden.is_file(), f"{golden} is missing; run `make golden`"
    assert site[name].decode("utf-8").splitlines() == golden.read_text(encoding="utf-8").splitlines(), HINT
    assert site[name] == golden.read_bytes(), HINT


def test_the_same_history_gives_byte_identical_files(site, tmp_path):
    again = ps.publish_site(tmp_path)
    assert set(again) == set(site)
    assert [name for name in site if again[name] != site[name]] == []


def test_the_site_is_self_contained(site):
    names = set(site)
    assert {"site.css", "fonts/NotoSans-Regular.ttf", "fonts/NotoSans-Bold.ttf", "fonts/OFL.txt"} <= names
    for name in ("index.html", "en.html", "changes.html", "changes-en.html"):
        html = site[name].decode("utf-8")
        assert "<script" not in html
        for ref in re.findall(r'(?:href|src)="([^"]*)"', html):
            target, _, fragment = ref.partition("#")
            target = target or name
            assert target in names, f"{name} refers to {ref!r}, which is not in the site"
            if fragment:
                assert f'id="{fragment}"' in site[target].decode("utf-8"), f"{name}: no #{fragment} in {target}"
    css = site["site.css"].decode("utf-8")
    for ref in re.findall(r'url\("([^"]+)"\)', css):
        assert ref in names
    assert "http" not in css


def test_pages_are_accessible_html(site):
    fi, en = site["index.html"].decode("utf-8"), site["en.html"].decode("utf-8")
    assert '<html lang="fi">' in fi and '<html lang="en">' in en
    assert fi.count("<table") == 12 and fi.count("<thead>") == 12
    assert fi.count('<th scope="col">') == 3 + 11 * 4  # the customer register has no identifier column
    assert fi.count('<th scope="row">') == sum(
        len(s["entries"]) for s in json.loads(site["subprocessors.json"])["sections"])
    assert '<h1>Lianan alikäsittelijät</h1>' in fi and "<h1>Liana&#39;s sub-processors</h1>" in en
    assert 'href="en.html" lang="en" hreflang="en"' in fi


def test_subprocessors_json(site):
    data = json.loads(site["subprocessors.json"])
    assert data["schema"] == "annex-gen/subprocessors/1"
    assert data["registry_version"].startswith(data["release"] + "+")
    assert data["published"] == "2026-11-30" and data["effective"] is None  # no effective date set by legal
    assert [s["id"] for s in data["sections"]][:3] == ["customer-register", "eu-general", "shared-mta"]
    entities = {e["id"]: e for e in data["entities"]}
    # printed as published: the six digits are no valid VAT number, and no source confirms a CRO number
    assert entities["twilio-ireland"]["legal_id"] == {"kind": "published", "value": "IE557454", "printed": "IE557454"}
    assert entities["alicloud-global"]["legal_id"] is None
    mailer = next(s for s in data["sections"] if s["id"] == "eu-mailer")
    assert [(e["entity"], e["option"]) for e in mailer["entries"]] == [("google-ireland", None),
                                                                       ("upcloud", "dedicated_mta")]
    for section in data["sections"]:
        for entry in section["entries"]:
            assert entry["entity"] in entities
            assert set(entry["purpose"]) == set(data["languages"])
