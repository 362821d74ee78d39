"""The change feed and the changes pages over a scripted registry history, read back with a real feed parser.

History: the project's registry, then three releases: an entry added, a purpose changed, an
entity removed (each commit sets a new release label, as `check` asks).
"""

from __future__ import annotations

import re
from pathlib import Path

import publish_support as ps
import pytest

from annex_gen.cli import main

try:
    import feedparser
except ImportError:  # pragma: no cover - the test must fail, not skip, without its dependency
    feedparser = None


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def release(label: str, effective: str | None = None):
    """Set the release label and the effective date legal set for it (none: the line is removed)."""
    def set_label(registry: Path) -> None:
        text = (registry / "registry.yaml").read_text(encoding="utf-8")
        text = re.sub(r"^effective: .*\n", "", text, flags=re.M)
        line = f'release: "{label}"\n' + (f"effective: {effective}\n" if effective else "")
        (registry / "registry.yaml").write_text(re.sub(r'release: "[^"]*"\n', line, text, count=1),
                                                encoding="utf-8")
    return set_label


def add_entry(registry: Path) -> None:
    edit(registry / "sections.yaml", "  - id: eu-automation\n",
         "      - entity: hetzner\n        location: germany\n        purpose: {fi: Varmuuskopiot, en: Backups}\n\n"
         "  - id: eu-automation\n")
    release("2026.12.1", "2026-12-31")(registry)


def change_purpose(registry: Path) -> None:
    edit(registry / "sections.yaml",
         "purpose: {fi: Käytetään asiakastilausten hallintaan, en: Used to manage customer subscriptions}",
         "purpose: {fi: Käytetään asiakastilausten ja laskutuksen hallintaan, "
         "en: Used to manage customer subscriptions and billing}")
    release("2026.12.2")(registry)


def remove_entity(registry: Path) -> None:
    sections = registry / "sections.yaml"
    text = sections.read_text(encoding="utf-8")
    entry = re.search(r"      - entity: startdeliver\n(?:        .*\n)+", text)
    assert entry, "the Startdeliver entry is not in sections.yaml"
    sections.write_text(text.replace(entry.group(0), ""), encoding="utf-8")
    entities = registry / "entities.yaml"
    text = entities.read_text(encoding="utf-8")
    block = re.search(r"  startdeliver:\n(?:    .*\n|\n)+", text)  # the entity and its facts
    assert block, "the Startdeliver entity is not in entities.yaml"
    entities.write_text(text.replace(block.group(0), ""), encoding="utf-8")
    release("2027.1.1", "2027-02-09")(registry)


BASE_RELEASE = re.search(r'release: "([^"]*)"', (ps.REGISTRY_DIR / "registry.yaml").read_text()).group(1)
HISTORY = [
    ps.Commit("2026-11-30T09:00:00Z", "The registry as published"),
    ps.Commit("2026-12-01T10:00:00Z", "LianaPress: Hetzner for backups", add_entry),
    ps.Commit("2026-12-15T10:00:00Z", "Chargebee also bills", change_purpose),
    ps.Commit("2027-01-10T23:30:00Z", "Startdeliver no longer used", remove_entity),
]


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory) -> Path:
    return ps.scripted_history(tmp_path_factory.mktemp("history") / "repo", HISTORY)


def publish(registry_dir: Path, out: Path, *extra: str) -> dict[str, str]:
    archive = ["--archive", str(ps.archive_of(registry_dir))]
    assert main(["publish", "--registry", str(registry_dir), "--out", str(out), *archive, *extra]) == 0
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
            for p in out.rglob("*") if p.suffix in (".html", ".atom", ".json")}


@pytest.fixture(scope="module")
def site(registry_dir, tmp_path_factory) -> dict[str, str]:
    return publish(registry_dir, tmp_path_factory.mktemp("site"))


def parse(feed_text: str):
    assert feedparser is not None, "feedparser is not installed: pip install -e '.[test]'"
    parsed = feedparser.parse(feed_text)
    assert not parsed.bozo, f"the feed is not well-formed: {parsed.get('bozo_exception')}"
    assert parsed.version == "atom10"
    return parsed


def test_one_entry_per_release_newest_first(site):
    feed = parse(site["changes.atom"])
    assert feed.feed.title == "Liana Technologies Oy: changes to the sub-processors"
    labels = [re.match(r"Version ([0-9.]+)\+", e.title).group(1) for e in feed.entries]
    assert labels == ["2027.1.1", "2026.12.2", "2026.12.1", BASE_RELEASE]
    assert len({e.id for e in feed.entries}) == 4 and all(e.id.startswith("urn:uuid:") for e in feed.entries)
    assert feed.feed.updated.startswith("2027-01-10")


def test_entries_say_what_changed(site):
    removed, changed, added, first = parse(site["changes.atom"]).entries
    terms = [{t.term for t in e.get("tags", [])} for e in (removed, changed, added, first)]
    assert terms[0] == {"entity-removed", "entry-removed"}
    assert terms[1] == {"purpose-changed"}
    assert terms[2] == {"entry-added"}
    assert terms[3] == set()
    text = [e.content[0].value for e in (removed, changed, added, first)]
    assert "Sub-processor removed: Startdeliver" in text[0]
    assert "Startdeliver removed from Sub-processors of Liana's customer register" in text[0]
    assert "Chargebee, Sub-processors of Liana" in text[1] and "subscriptions and billing" in text[1]
    assert "Hetzner Online GmbH added to EU: LianaPress: Germany, Backups" in text[2]
    assert "The first version in the change history." in text[3]


def test_entries_carry_the_effective_date_and_the_objection_deadline(site):
    removed, changed, added, _ = parse(site["changes.atom"]).entries
    # Committed 2027-01-10 23:30 UTC; in effect from the date legal set (registry.yaml `effective`),
    # objections until 15 days before it
    assert removed.summary == "In effect from: 2027-02-09. Objections by: 2027-01-25."
    assert removed.published.startswith("2027-01-10")
    # a release without an effective date is never said to be in effect from a computed date
    assert changed.summary == "Published: 2026-12-15. In effect from: not set."
    assert added.summary == "In effect from: 2026-12-31. Objections by: 2026-12-16."
    assert removed.link.endswith("changes-en.html#v-2027-1-1")


def test_the_changes_pages_list_the_same_history_in_words(site):
    fi = site["changes.html"]
    anchors = re.findall(r'<section class="version" id="([^"]+)"', fi)
    assert anchors == ["v-2027-1-1", "v-2026-12-2", "v-2026-12-1", "v-" + BASE_RELEASE.replace(".", "-")]
    assert "Alikäsittelijä poistettu: Startdeliver" in fi
    assert "Hetzner Online GmbH lisätty osioon EU: LianaPress: Saksa, Varmuuskopiot" in fi
    assert "<dd>9.2.2027</dd>" in fi and "<dd>25.1.2027</dd>" in fi
    assert "<dd>ei vahvistettu</dd>" in fi  # release 2026.12.2 has no effective date
    assert "Sub-processor removed: Startdeliver" in site["changes-en.html"]


def test_the_list_page_shows_the_current_version_and_when_it_took_effect(site):
    fi = site["index.html"]
    assert re.search(r"Luettelon versio 2027\.1\.1\+[0-9a-f]{8}, voimassa 9\.2\.2027 alkaen", fi)
    assert "Startdeliver" not in fi and "Varmuuskopiot" in fi


def test_a_list_without_an_effective_date_says_when_it_was_published(tmp_path):
    # the project's registry holds no effective date: the page does not claim one 30 days on
    fi = ps.publish_site(tmp_path)["index.html"].decode("utf-8")
    assert re.search(r"Luettelon versio [0-9.]+\+[0-9a-f]{8}, julkaistu 30\.11\.2026 ·", fi)
    assert "voimassa" not in fi


def test_a_range_compares_its_first_release_with_the_one_before(registry_dir, tmp_path):
    site = publish(registry_dir, tmp_path / "site", "--history", "HEAD~2..HEAD")
    entries = parse(site["changes.atom"]).entries
    assert [{t.term for t in e.get("tags", [])} for e in entries] == [{"entity-removed", "entry-removed"},
                                                                       {"purpose-changed"}]


def test_a_bad_range_is_an_error_and_writes_nothing(registry_dir, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["publish", "--registry", str(registry_dir), "--out", str(out), "--history", "nosuch..HEAD",
                 "--archive", str(ps.archive_of(registry_dir))]) == 2
    err = capsys.readouterr().err
    assert "--history nosuch..HEAD: not a revision range of the repository holding" in err
    assert "Traceback" not in err
    assert not out.exists()
