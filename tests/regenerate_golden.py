"""Regenerate the golden files of the rendering tests: `make golden`.

For every example contract (examples/*.yaml) writes

    tests/output/<example>.html      the HTML exactly as `annex-gen generate --format html` writes it
    tests/output/<example>.docx.txt  the DOCX's text: paragraphs and table cells in document order,
                                     one per line (render_support.docx_text_lines)

and removes golden files of examples that no longer exist; and the public site's pages, JSON and
feed (`annex-gen publish`, the registry committed once on a fixed date) into tests/output/site/.
tests/integration/test_render_golden.py and test_publish_golden.py compare the output with these
files; review the diff (git diff tests/output) before committing regenerated goldens.

    .venv/bin/python tests/regenerate_golden.py          write the files
    .venv/bin/python tests/regenerate_golden.py --check  only report differences (exit 1 if any)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))

import publish_support as ps  # noqa: E402
import render_support as rs  # noqa: E402

from annex_gen.counts import Counted  # noqa: E402
from annex_gen.inputs.contract import load_contract  # noqa: E402
from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.render.docx import render_docx  # noqa: E402
from annex_gen.render.html import render_html  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402


def golden_files() -> dict[Path, bytes]:
    """Every golden file's path and its current content."""
    # the final annexes, as legal reviews them (the CLI makes them with an archive that approved the
    # registry, render_support.approved_archive); the draft marks are tested in test_signoff_render.py
    registry = dataclasses.replace(load_registry(rs.ROOT / "registry"), status="final")
    files: dict[Path, bytes] = {}
    for path in rs.EXAMPLES:
        contract, _ = load_contract(registry, path)
        annex = resolve(registry, contract)
        files[rs.GOLDEN_DIR / f"{path.stem}.html"] = render_html(annex).encode("utf-8")
        text = "\n".join(rs.docx_text_lines(render_docx(annex))) + "\n"
        files[rs.GOLDEN_DIR / f"{path.stem}.docx.txt"] = text.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="annex-gen-golden-") as tmp:
        files.update(ps.golden_site_files(Path(tmp)))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="report differences without writing (exit 1 if any)")
    args = parser.parse_args(argv)
    files = golden_files()
    stale = sorted(p for p in rs.GOLDEN_DIR.glob("*") if p.is_file() and p not in files
                   and p.name.endswith((".html", ".docx.txt")))
    stale += sorted(p for p in ps.GOLDEN_SITE_DIR.glob("*") if p.is_file() and p not in files)
    changed = [p for p, data in files.items() if not p.is_file() or p.read_bytes() != data]
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(rs.ROOT)}")
    for path in stale:
        print(f"{'stale' if args.check else 'removed'}: {path.relative_to(rs.ROOT)}")
    if args.check:
        return 1 if changed or stale else 0
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
    for path in stale:
        path.unlink()
    print(f"{Counted(len(files)):golden file|golden files}, {len(changed)} updated, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
