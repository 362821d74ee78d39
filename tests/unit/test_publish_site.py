"""The public site built in memory: untrusted text stays text, the list's paragraphs, and registry checks."""

from __future__ import annotations

import json

import pytest

from annex_gen.changes.registry_diff import diff_registries
from annex_gen.errors import InvalidInput
from annex_gen.inputs.registry import load_registry
from annex_gen.publish.history import History
from annex_gen.publish.site import build_site, list_page, site_catalogs
from annex_gen.publish.words import describe, section_label
from conftest import copy_registry, replace_once

HOSTILE = "<b>Acme</b> & {{ 7*7 }} \"q\""


def test_untrusted_text_stays_text(tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    replace_once(registry_dir / "entities.yaml", "name: Garba", f"name: '{HOSTILE}'")
    registry = load_registry(registry_dir)
    files = build_site(registry, History())
    page = files["index.html"].decode("utf-8")
    assert "<b>Acme</b>" not in page and "&lt;b&gt;Acme&lt;/b&gt; &amp; {{ 7*7 }}" in page
    data = json.loads(files["subprocessors.json"])
    assert next(e["name"] for e in data["entities"] if e["id"] == "garba") == HOSTILE


def test_a_registry_without_history_has_no_date_and_an_empty_feed(registry):
    files = build_site(registry, History())
    assert "ei vielä julkaistu muutoshistoriassa" in files["index.html"].decode("utf-8")
    assert "Muutoshistoriaa ei ole saatavilla." in files["changes.html"].decode("utf-8")
    feed = files["changes.atom"].decode("utf-8")
    assert "<entry>" not in feed and f"<updated>{registry.list_retrieved.isoformat()}T00:00:00Z</updated>" in feed
    assert json.loads(files["subprocessors.json"])["effective"] is None


def test_the_updates_quote_the_notice_terms(tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    replace_once(registry_dir / "registry.yaml", "period_days: 30", "period_days: 45")
    files = build_site(load_registry(registry_dir), History())
    assert "vähintään 45 päivää ennen uuden alikäsittelijän käyttöä" in files["index.html"].decode("utf-8")
    assert "at least 45 days before a new sub-processor" in files["en.html"].decode("utf-8")


def test_the_published_language_is_the_index(registry):
    assert [list_page(registry, lang) for lang in registry.languages] == ["index.html", "en.html"]


def test_an_unknown_placeholder_in_the_list_text_is_an_error(tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    line, _ = replace_once(registry_dir / "registry.yaml", "vähintään {period_days} päivää", "vähintään {days} päivää")
    with pytest.raises(InvalidInput) as exc:
        load_registry(registry_dir)
    (d,) = exc.value.diagnostics
    assert d.key == "published_list.updates[1].fi"
    assert d.message == "unknown placeholder {days}; allowed: {period_days}, {objection_days}"


def test_a_correction_replacement_needs_published_text(tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    replace_once(registry_dir / "corrections.yaml", '{published: "Dedikoidut MTAt (", registry: "Dedikoidut MTA:t ("}',
                 '{published: "", registry: "Dedikoidut MTA:t ("}')
    replace_once(registry_dir / "corrections.yaml", '{published: "Lianan loktus-", registry: "Lianan lokitus-"}',
                 '{published: "Lianan loktus-"}')
    with pytest.raises(InvalidInput) as exc:
        load_registry(registry_dir)
    assert sorted((d.key, d.message) for d in exc.value.diagnostics) == [
        ("corrections[12].text[0].published", "must not be empty"),
        ("corrections[3].text[1]", "missing required key 'registry'"),
    ]


def test_changes_in_words(tmp_path, registry):
    registry_dir = copy_registry(tmp_path / "registry")
    replace_once(registry_dir / "entities.yaml", "name: Cyclr", "name: Cyclr Systems")
    replace_once(registry_dir / "sections.yaml", "location: hong-kong", "location: dubai")
    new = load_registry(registry_dir)
    fi, en = site_catalogs()["fi"], site_catalogs()["en"]
    changes = diff_registries(registry, new)
    assert {describe(c, registry, new, en) for c in changes} == {
        "Cyclr is now Cyclr Systems",
        "Alicloud Global, Hong Kong: LianaMailer, LianaAutomation and LianaCMS: location Hong Kong → "
        "Dubai, United Arab Emirates",
    }
    assert "Alicloud Global, Hongkong: LianaMailer, LianaAutomation ja LianaCMS: sijainti Hongkong → " \
           "Dubai, Yhdistyneet arabiemiirikunnat" in {describe(c, registry, new, fi) for c in changes}
    assert section_label(registry, "shared-mta", "en") == "Shared MTA infrastructure"
