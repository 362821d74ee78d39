"""Golden files: the generated HTML and the DOCX's text of every example equal tests/output/.

After an intended change of the templates, texts or registry: `make golden` (runs
tests/regenerate_golden.py), review `git diff tests/output`, commit.
"""

from __future__ import annotations

import importlib.util

import pytest
import render_support as rs

NAMES = [p.stem for p in rs.EXAMPLES]
HINT = ("the output differs from tests/output; if the change is intended, run `make golden` "
        "and review the diff")


@pytest.fixture(scope="session")
def session(tmp_path_factory) -> rs.Session:
    return rs.render_examples(tmp_path_factory)


def test_golden_files_match_the_examples():
    present = {p.name for p in rs.GOLDEN_DIR.glob("*")
               if p.is_file() and p.name.endswith((".html", ".docx.txt"))}
    expected = {f"{n}.html" for n in NAMES} | {f"{n}.docx.txt" for n in NAMES}
    assert present == expected, "missing or stale golden files; run `make golden`"


@pytest.mark.parametrize("name", NAMES)
def test_html_equals_golden(session, name):
    golden = rs.GOLDEN_DIR / f"{name}.html"
    actual = session.examples[name].files["html"].read_text(encoding="utf-8")
    assert actual.splitlines() == golden.read_text(encoding="utf-8").splitlines(), HINT
    assert actual == golden.read_text(encoding="utf-8"), HINT


@pytest.mark.parametrize("name", NAMES)
def test_docx_text_equals_golden(session, name):
    golden = rs.GOLDEN_DIR / f"{name}.docx.txt"
    actual = rs.docx_text_lines(session.examples[name].files["docx"])
    assert actual == golden.read_text(encoding="utf-8").splitlines(), HINT
    assert session.examples[name].document_id in actual


def test_regenerate_script_agrees_with_the_cli(session):
    """The script renders in-process; what it would write equals what the CLI wrote."""
    script_path = rs.ROOT / "tests" / "regenerate_golden.py"
    spec = importlib.util.spec_from_file_location("regenerate_golden", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    files = {path: data for path, data in script.golden_files().items() if path.parent == rs.GOLDEN_DIR}
    assert set(files) == {rs.GOLDEN_DIR / f"{n}.{ext}" for n in NAMES for ext in ("html", "docx.txt")}
    for name in NAMES:
        assert files[rs.GOLDEN_DIR / f"{name}.html"] == session.examples[name].files["html"].read_bytes()
        text = "\n".join(rs.docx_text_lines(session.examples[name].files["docx"])) + "\n"
        assert files[rs.GOLDEN_DIR / f"{name}.docx.txt"] == text.encode("utf-8")
