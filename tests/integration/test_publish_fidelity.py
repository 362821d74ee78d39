"""The Finnish public page says what the published list says, except where a recorded correction says otherwise.

The page's list text (headings, paragraphs, table rows with tab-separated cells) is compared
with shared/source/published-subprocessor-list-fi.txt after applying exactly the replacements
recorded in registry/corrections.yaml, read when the test runs: every difference must be
explained by a recorded correction, and every recorded replacement must match the list.
"""

from __future__ import annotations

import difflib
import shutil

import publish_support as ps
import pytest

pytestmark = pytest.mark.skipif(not ps.PUBLISHED_LIST.is_file(),
                                reason=f"the published list is not available here ({ps.PUBLISHED_LIST})")


@pytest.fixture(scope="module")
def page_lines(tmp_path_factory) -> list[str]:
    files = ps.publish_site(tmp_path_factory.mktemp("fidelity"))
    return ps.list_text_lines(files["index.html"].decode("utf-8"))


@pytest.fixture(scope="module")
def published() -> str:
    return ps.PUBLISHED_LIST.read_text(encoding="utf-8")


def test_every_difference_is_a_recorded_correction(page_lines, published):
    corrected, _ = ps.apply_corrections(published, ps.corrections())
    expected = ps.text_lines(corrected)
    diff = "\n".join(difflib.unified_diff(expected, page_lines, "published list, corrections applied",
                                          "index.html", lineterm="", n=0))
    assert page_lines == expected, f"differences no recorded correction explains:\n{diff}"


def test_every_recorded_replacement_matches_the_published_list(published):
    _, applied = ps.apply_corrections(published, ps.corrections())
    unused = [f"corrections[{a.index}] ({a.record['at']}): {old!r} does not occur"
              for a in applied for (old, _), count in zip(a.replacements, a.matches, strict=True) if count == 0]
    assert not unused, "recorded replacements that match nothing (give `text:` the literal published text):\n" \
        + "\n".join(unused)


def test_an_unrecorded_departure_is_found(tmp_path, published):
    """The comparison sees a change of the registry that no correction records."""
    registry = tmp_path / "registry"
    shutil.copytree(ps.REGISTRY_DIR, registry)
    entities = registry / "entities.yaml"
    text = entities.read_text(encoding="utf-8")
    assert "name: Gainsight\n" in text
    entities.write_text(text.replace("name: Gainsight\n", "name: Gainsight Inc.\n"), encoding="utf-8")
    repo = ps.scripted_history(tmp_path / "repo", [ps.Commit("2026-11-30T09:00:00Z", "typo")], registry=registry)
    lines = ps.list_text_lines(ps.publish_site(tmp_path, repo)["index.html"].decode("utf-8"))
    corrected, _ = ps.apply_corrections(published, ps.corrections())
    expected = ps.text_lines(corrected)
    differing = [line for line in lines if line not in expected]
    assert len(differing) == 1 and differing[0].startswith("Gainsight Inc.\tEU/USA\t")


def test_the_list_part_starts_with_the_title_and_ends_with_the_updates(page_lines):
    assert page_lines[0] == "Lianan alikäsittelijät"
    assert page_lines[-1].startswith("Jos sinulla on perusteltu syy vastustaa uutta alikäsittelijää")
    assert "Päivitykset ja ilmoitukset" in page_lines
