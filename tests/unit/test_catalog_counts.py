"""A number's word in the catalogs: `{n:one|other}` gives "1 file" and "3 files" ("1 tiedosto", "3 tiedostoa"),
in the interface, the library's messages and the public feed, and a badly written form is a catalog error;
the command line's and the logs' English count the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annex_gen.counts import Counted
from annex_gen.errors import InvalidInput
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views.catalog import Catalog, load_catalogs
from annex_gen.web.formats import Formats
from annex_gen.web.messages import Messages


def test_a_number_takes_the_word_s_form_for_one_or_for_any_other():
    assert [format(Counted(n), "file|files") for n in (0, 1, 2, -1)] == ["0 files", "1 file", "2 files", "-1 file"]
    assert format(Counted(1234, "1 234"), "tietue|tietuetta") == "1 234 tietuetta"
    assert format(Counted(7), "") == str(Counted(7)) == "7" and format(Counted(7), "03d") == "007"
    texts = Catalog("fi", {"k": "{n:päivä|päivää} jäljellä, {m} muuta"})
    assert [texts.format("k", n=n, m=n) for n in (1, 2)] == ["1 päivä jäljellä, 1 muuta", "2 päivää jäljellä, 2 muuta"]


def test_no_text_in_the_code_counts_with_a_bracketed_plural():
    src = Path(__file__).resolve().parents[2] / "src" / "annex_gen"
    found = [f"{path.relative_to(src)}:{n}" for path in sorted(src.rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\} \w+\((s|es)\)|\d \w+\((s|es)\)|\w\(s\) (are|is|were)\b", line)]
    assert found == []
    said = f"{Counted(1):problem|problems}; {Counted(2):printed fact is|printed facts are}"
    assert said == "1 problem; 2 printed facts are"


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["The contract was not saved: 1 problem", "The contract was not saved: 2 problems"]),
    ("fi", ["Sopimusta ei tallennettu: 1 ongelma", "Sopimusta ei tallennettu: 2 ongelmaa"]),
])
def test_the_interface_says_one_problem_and_two_problems(language, expected):
    web = load_catalogs(TEMPLATES_DIR / "web" / "i18n")[language]
    assert [web.format("contract.errors_title", count=n) for n in (1, 2)] == expected
    for key, text in web.items():
        assert "(s)" not in text and "(a)" not in text and "(ta)" not in text, key


def test_library_messages_choose_the_form_by_the_number_not_its_shown_text():
    catalogs = load_catalogs(TEMPLATES_DIR / "web" / "i18n")
    en = Messages(catalogs["en"], Formats("en", "UTC"), None)
    params = {"fact": "x", "value": "y"}
    assert "; 1 source)." in en.text("signoff.fact_proposed", {**params, "sources": 1}, "fallback")
    assert "; 1,234 sources)." in en.text("signoff.fact_proposed", {**params, "sources": 1234}, "fallback")


def test_a_form_not_written_one_or_other_is_a_catalog_error(tmp_path: Path):
    for language, text in (("en", '"{n:file|files|more} left"'), ("fi", '"{n:tiedosto|tiedostoa} jäljellä"')):
        (tmp_path / f"{language}.yaml").write_text(f"k: {text}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        load_catalogs.__wrapped__(tmp_path)
    [problem] = raised.value.diagnostics
    assert problem.key == "k" and "{n:one|other}" in problem.message and problem.file.endswith("en.yaml")
