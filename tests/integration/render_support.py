"""Shared helpers of the rendering tests (tests/integration/test_render_*.py) and tests/regenerate_golden.py.

- `render_examples()` runs the CLI once per test session: every example contract is generated
  (pdf, docx, html) twice, by two separate processes with different hash seeds and time zones,
  and resolved with `annex-gen resolve`. The test modules share the result.
- `pdf_document()` reads a generated PDF back with pdfplumber: per page the running header and
  footer text, and the stream of h2 headings and table rows (cells located by the header-row
  backgrounds and the row rules), so the tests compare what a reader sees with the resolved JSON.
- `docx_blocks()` / `docx_text_lines()` / `docx_custom_json()` read a DOCX back with python-docx.
- `expected_document()` is what the resolved JSON says the document must contain.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from annex_gen.resources import TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = tuple(sorted(EXAMPLES_DIR.glob("*.yaml")))
GOLDEN_DIR = ROOT / "tests" / "output"
FORMATS = ("pdf", "docx", "html")
ENGINES = ("weasyprint", "typst")  # every PDF test runs over both engines
CLI_TIMEOUT = 300


def cli_command() -> list[str]:
    """The installed `annex-gen` console script of this interpreter's venv (else `python -m annex_gen`)."""
    script = Path(sys.executable).parent / "annex-gen"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "annex_gen"]


def uv_command() -> str:
    """The project's pinned uv (make setup installs it in .tools/)."""
    uv = ROOT / ".tools" / "bin" / "uv"
    assert uv.is_file(), f"{uv} is missing: run make setup"
    return str(uv)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "PYTHONHASHSEED", "TZ")}
    env.update(extra)
    return env


def run_cli(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT,
            timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run `annex-gen ARGS` in the project root; capture stdout and stderr as bytes."""
    return subprocess.run(
        [*cli_command(), *map(str, args)], cwd=cwd, env=env or cli_env(), capture_output=True,
        timeout=timeout, check=False,
    )


@lru_cache(maxsize=1)
def approved_archive() -> Path:
    """An archive in which legal approved the project's registry content as it stands, so `generate` and
    `resolve --archive` make final annexes (the documents legal reviews as golden files). Made with the
    library's own record; `release approve` itself, with every check, is tested in test_signoff_cli.py."""
    import datetime as dt
    import tempfile

    from annex_gen.archive.store import Archive
    from annex_gen.inputs.registry import load_registry
    from annex_gen.signoff.releases import record_approval

    location = Path(tempfile.mkdtemp(prefix="annex-gen-approved-")) / "archive"
    with Archive.open(location, create=True) as archive:
        record_approval(archive, ROOT / "registry", load_registry(ROOT / "registry"), by="Test Legal",
                        on=dt.date(2026, 12, 1), effective=dt.date(2026, 12, 1))
    return location


def _start(*args: str | Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*cli_command(), *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes], what: str) -> bytes:
    try:
        out, err = proc.communicate(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{what}: timed out after {CLI_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{what}: exit {proc.returncode}\n{err.decode(errors='replace')}")
    return out


# The session render -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One example contract, its resolved JSON and its generated files (run A and run B)."""

    name: str
    contract: Path
    json_bytes: bytes
    files: dict[str, Path]
    files_b: dict[str, Path]

    @property
    def annex(self) -> dict:
        return json.loads(self.json_bytes)

    @property
    def language(self) -> str:
        return self.annex["language"]

    @property
    def document_id(self) -> str:
        return self.annex["document_id"]


@dataclass(frozen=True)
class Session:
    engine: str
    out_a: Path
    out_b: Path
    stdout_a: list[str]
    examples: dict[str, Example] = field(default_factory=dict)


_SESSION: dict[str, Session | BaseException] = {}


def render_examples(tmp_path_factory, engine: str = ENGINES[0]) -> Session:
    """Generate every example once per session and PDF engine (two processes at once) and resolve each one.
    A failure is remembered, so the tests that share the render fail at once instead of retrying."""
    if engine not in _SESSION:
        try:
            _SESSION[engine] = _render(tmp_path_factory.mktemp(f"rendered-{engine}"), engine)
        except Exception as exc:
            _SESSION[engine] = exc
    result = _SESSION[engine]
    if isinstance(result, BaseException):
        raise RuntimeError(f"rendering the examples failed: {result}") from result
    return result


def _render(base: Path, engine: str) -> Session:
    out_a, out_b = base / "a", base / "b"
    fmt = ",".join(FORMATS)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # Two independent processes; different hash seeds and time zones must not change a byte.
        final = ("--archive", approved_archive())
        gen_a = _start("generate", *EXAMPLES, "--format", fmt, "--engine", engine, "--out", out_a, *final,
                       env=cli_env(PYTHONHASHSEED="1", TZ="UTC0"))
        procs.append(gen_a)
        gen_b = _start("generate", *EXAMPLES, "--format", fmt, "--engine", engine, "--out", out_b, *final,
                       env=cli_env(PYTHONHASHSEED="2", TZ="NZST-12"))
        procs.append(gen_b)
        resolved = {}
        for path in EXAMPLES:
            resolved[path] = _start("resolve", path, *final, env=cli_env())
            procs.append(resolved[path])
        json_bytes = {path: _finish(proc, f"annex-gen resolve {path.name}")
                      for path, proc in resolved.items()}
        stdout_a = _finish(gen_a, "annex-gen generate (run A)").decode().splitlines()
        _finish(gen_b, "annex-gen generate (run B)")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    examples = {}
    for path in EXAMPLES:
        annex = json.loads(json_bytes[path])
        rel = Path(annex["customer"]["id"])
        files = {f: out_a / rel / f"{annex['document_id']}.{f}" for f in FORMATS}
        files_b = {f: out_b / rel / f"{annex['document_id']}.{f}" for f in FORMATS}
        examples[path.stem] = Example(path.stem, path, json_bytes[path], files, files_b)
    return Session(engine, out_a, out_b, stdout_a, examples)


# Matching wrapped text ----------------------------------------------------------------------------


def squash(text: str) -> str:
    """Whitespace collapsed to single spaces."""
    return " ".join(text.split())


def lines_match(lines: list[str], expected: str) -> bool:
    """Whether text wrapped into lines reads as expected: each line break stands for a space or for
    nothing (a break after a hyphen or inside a long word)."""
    pattern = "(?: |)".join(re.escape(squash(line)) for line in lines)
    return re.fullmatch(pattern, squash(expected)) is not None


def normalise_cells(actual: list[list[list[str]]], expected: list[list[str]]) -> list[list[str]]:
    """The PDF rows as strings: a cell that matches its expected text becomes that text, so a
    comparison with `expected` shows only the cells that really differ."""
    out = []
    for i, row in enumerate(actual):
        want = expected[i] if i < len(expected) else []
        cells = []
        for j, lines in enumerate(row):
            if j < len(want) and lines_match(lines, want[j]):
                cells.append(want[j])
            else:
                cells.append(" ".join(squash(line) for line in lines))
        out.append(cells)
    return out


# What the JSON says --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A heading of the document and the table under it: header labels and rows of cells, each cell
    a list of paragraphs."""

    heading: str
    header: tuple[str, ...] | None
    rows: list[list[list[str]]]
    kind: str = ""  # section, summary, notice, signatures, register (expected blocks only)


def catalog(language: str):
    from annex_gen.views.catalog import load_catalogs

    return load_catalogs()[language]


def entry_cells(cat, entry: dict, option_names: dict[str, str]) -> list[list[str]]:
    """The printed cells of one entry: company, identifier, location (+ mark), purpose (+ items, option)."""
    location = [entry["location"]]
    if entry["outside_eea"]:
        location.append(cat["table.outside_eea_mark"])
    if entry.get("registered_outside_eea"):
        location.append(cat["table.registered_outside_eea_mark"])
    purpose = [entry["purpose"], *(f"• {item}" for item in entry.get("purpose_items", []))]
    if entry.get("transfer"):
        purpose.append(cat.format("transfer_basis", basis=entry["transfer"]))
    if entry.get("option"):
        option = option_names.get(entry["option"], entry["option"])
        purpose.append(cat.format("table.option_gated", option=option))
    return [[entry["name"]], [entry["legal_id"] or cat["meta.none"]], location, purpose]


def expected_document(annex: dict) -> list[Block]:
    """Headings and tables of the document in order, as the resolved JSON determines them: the
    sections, the legal-entity summary, the region's transfer clause, the change-notice clause, the
    customer-register list (for information), then the signatures, which nothing follows (none on a
    replacement issued by a notice; a draft's statement in their place)."""
    from babel import Locale  # CLDR's names, read apart from the table annex_gen.cldr ships

    from annex_gen.cldr import LOCALES
    from annex_gen.model import Annex
    from annex_gen.views.annex import merged_locations, party_details

    def country_name(code: str, language: str) -> str:
        return Locale.parse(LOCALES[language][0]).territories.get(code, "")

    cat = catalog(annex["language"])
    names = annex["option_names"]
    entries_header = tuple(cat[f"table.{k}"] for k in ("company", "identifier", "location", "purpose"))
    summary_header = tuple(cat[f"table.{k}"] for k in ("company", "identifier", "country", "locations",
                                                       "outside_eea"))
    blocks = [
        Block(s["title"], entries_header, [entry_cells(cat, e, names) for e in s["entries"]], "section")
        for s in annex["sections"]
    ]
    # the name, then its details (legal name or a brand's contracting entity, registration, address, contact)
    details = [party_details(cat, p) for p in Annex.from_dict(annex).subprocessors]
    parties = [
        [[p["name"], *lines], [p["legal_id"] or cat["meta.none"]],
         [country_name(p["country"], annex["language"])] if p["country"] else [],
         [merged_locations(tuple(p["locations"]))],
         [cat["table.yes"], *p.get("transfers", [])] if p["outside_eea"] else [cat["table.no"]]]
        for p, lines in zip(annex["subprocessors"], details, strict=True)
    ]
    blocks.append(Block(cat["summary.title"], summary_header, parties, "summary"))
    if annex.get("transfer_clause"):
        blocks.append(Block(cat.format("transfer_clause.title", region=annex["region_name"]), None, [],
                            "transfer_clause"))
    blocks.append(Block(cat["notice.title"], None, [], "notice"))
    # The informational register comes before the signatures, which close the annex; it is headed
    # as Liana's own processors, outside the authorisation.
    blocks.append(Block(cat.format("register.title", company=annex["company"]), entries_header,
                        [entry_cells(cat, e, names) for e in annex["customer_register"]], "register"))
    if not annex["contract"].get("issued_by_notice"):
        blocks.append(Block(cat["signatures.title"], None, [], "signatures"))
    return blocks


def normalise_header(actual: tuple[tuple[str, ...], ...] | None, expected: tuple[str, ...] | None):
    """A PDF table header (cells as text lines) as strings, matched against the expected labels."""
    if actual is None:
        return None
    return normalise_cells([[list(cell) for cell in actual]], [list(expected or ())])[0]


def flat(block_rows: list[list[list[str]]]) -> list[list[str]]:
    """Rows with each cell's paragraphs joined by spaces (the form a PDF cell is compared with)."""
    return [[" ".join(cell) for cell in row] for row in block_rows]


# Reading a PDF back -------------------------------------------------------------------------------


@dataclass
class PdfPage:
    number: int
    text: str
    header_text: str
    footer_text: str
    fontnames: set[str]
    events: list[tuple[float, str, object]]  # (top, "heading"|"table", payload)


@dataclass
class PdfTable:
    header: tuple[tuple[str, ...], ...]  # header cells as text lines
    rows: list[list[list[str]]]  # rows of cells of text lines


def _group_lines(words: list[dict], tolerance: float = 2.5) -> list[str]:
    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(w["top"], 1), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - w["top"]) <= tolerance:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [" ".join(w["text"] for w in sorted(line, key=lambda w: w["x0"])) for line in lines]


def _header_rows(page) -> list[list[dict]]:
    """Rows of at least three adjoining filled rectangles of the same height: table header rows."""
    rects = [r for r in page.rects if r["fill"] and 8 < r["height"] < 60]
    by_top: dict[float, list[dict]] = {}
    for r in rects:
        by_top.setdefault(round(r["top"]), []).append(r)
    rows = []
    for group in by_top.values():
        group.sort(key=lambda r: r["x0"])
        adjoining = all(abs(a["x1"] - b["x0"]) < 1 for a, b in zip(group, group[1:], strict=False))
        if len(group) >= 3 and adjoining:
            rows.append(group)
    return sorted(rows, key=lambda g: g[0]["top"])


def _tables(page, words: list[dict], heading_tops: list[float]) -> list[tuple[float, PdfTable]]:
    headers = _header_rows(page)
    out = []
    for i, head in enumerate(headers):
        columns = [(r["x0"], r["x1"]) for r in head]
        top, bottom = head[0]["top"], head[0]["bottom"]
        # a table ends at the next header row or heading: a heading's full-width rule is not a row rule
        end = min([headers[i + 1][0]["top"] if i + 1 < len(headers) else page.height,
                   *(t for t in heading_tops if t > bottom)])
        labels = tuple(
            tuple(_group_lines([w for w in words if x0 <= (w["x0"] + w["x1"]) / 2 <= x1
                                and top <= (w["top"] + w["bottom"]) / 2 <= bottom]))
            for x0, x1 in columns
        )
        # Row rules: the bottom border of the first column's cells (WeasyPrint draws one per cell, Typst one
        # across the row), between this header and the next.
        ends = (columns[0][1], columns[-1][1])
        rules = sorted(
            line["top"] for line in page.lines
            if abs(line["top"] - line["bottom"]) < 1.5
            and abs(line["x0"] - columns[0][0]) < 1.5 and any(abs(line["x1"] - x1) < 1.5 for x1 in ends)
            and bottom - 1.5 <= line["top"] < end
        )
        bounds = [bottom]
        for y in rules:
            if y - bounds[-1] > 1.5:
                bounds.append(y)
        rows = []
        for upper, lower in zip(bounds, bounds[1:], strict=False):
            cells = []
            for x0, x1 in columns:
                inside = [w for w in words if x0 <= (w["x0"] + w["x1"]) / 2 <= x1
                          and upper <= (w["top"] + w["bottom"]) / 2 <= lower]
                cells.append(_group_lines(inside))
            rows.append(cells)
        out.append((top, PdfTable(labels, rows)))
    return out


MM = 72 / 25.4


@lru_cache(maxsize=1)
def page_layout() -> tuple[float, float, float]:
    """(top margin, bottom margin, h2 font size) in points, read from templates/annex.css, so the
    PDF reader follows the stylesheet: running header text lies in the top margin, the footer in
    the bottom margin, and h2 headings are the only text of their size."""
    css = (TEMPLATES_DIR / "annex.css").read_text(encoding="utf-8")
    page = re.search(r"@page\s*{[^}]*?margin:\s*([\d.]+)mm\s+[\d.]+mm\s+([\d.]+)mm", css)
    h2 = re.search(r"(?m)^h2\s*{[^}]*?font-size:\s*([\d.]+)pt", css)
    if not page or not h2:
        raise AssertionError("templates/annex.css: no @page margin or h2 font-size; update render_support.py")
    return float(page[1]) * MM, float(page[2]) * MM, float(h2[1])


def _headings(words_with_size: list[dict]) -> list[tuple[float, str]]:
    """h2 headings; a heading wrapped over lines is one heading."""
    size = page_layout()[2]
    big = [w for w in words_with_size if abs(w["size"] - size) < 0.3]
    out: list[tuple[float, list[str], float]] = []
    for top, line in _line_tops(big):
        if out and top - out[-1][2] < 20:
            out[-1][1].append(line)
            out[-1] = (out[-1][0], out[-1][1], top)
        else:
            out.append((top, [line], top))
    return [(top, " ".join(lines)) for top, lines, _ in out]


def _line_tops(words: list[dict]) -> list[tuple[float, str]]:
    groups: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(w["top"], 1), w["x0"])):
        if groups and abs(groups[-1][0]["top"] - w["top"]) <= 2.5:
            groups[-1].append(w)
        else:
            groups.append([w])
    return [(g[0]["top"], " ".join(w["text"] for w in sorted(g, key=lambda w: w["x0"]))) for g in groups]


@dataclass
class PdfDocument:
    pages: list[PdfPage]

    def blocks(self) -> list[Block]:
        """Headings in order, each with the rows of every table fragment up to the next heading
        (a table continued on the next page is one table); the header labels of every fragment
        must agree, else the header is reported as None."""
        blocks: list[Block] = []
        headers: list[set[tuple[str, ...]]] = []
        for page in self.pages:
            for _, kind, payload in sorted(page.events, key=lambda e: e[0]):
                if kind == "heading":
                    blocks.append(Block(payload, None, []))
                    headers.append(set())
                elif blocks:
                    blocks[-1].rows.extend(payload.rows)
                    headers[-1].add(payload.header)
                else:
                    raise AssertionError(f"a table before the first heading on page {page.number}")
        return [Block(b.heading, next(iter(h)) if len(h) == 1 else None, b.rows)
                for b, h in zip(blocks, headers, strict=True)]


@lru_cache(maxsize=32)
def pdf_document(path: Path) -> PdfDocument:
    import pdfplumber

    pages = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words(extra_attrs=["size"])
            top, bottom, _ = page_layout()
            top_margin, bottom_margin = top, page.height - bottom
            body = [w for w in words if top_margin <= w["top"] and w["bottom"] <= bottom_margin]
            headings = _headings(body)
            events: list[tuple[float, str, object]] = [(t, "heading", h) for t, h in headings]
            events += [(t, "table", table) for t, table in _tables(page, body, [t for t, _ in headings])]
            pages.append(PdfPage(
                number=number,
                text=page.extract_text(),
                header_text=" ".join(_group_lines([w for w in words if w["bottom"] < top_margin])),
                footer_text=" ".join(_group_lines([w for w in words if w["top"] > bottom_margin])),
                fontnames={c["fontname"] for c in page.chars},
                events=events,
            ))
    return PdfDocument(pages)


# Reading a DOCX back ------------------------------------------------------------------------------


def _readable(text: str) -> str:
    """Text as a reader sees it: a no-break space (which keeps 'UK CRN 08790783' whole) is a space."""
    return text.replace("\u00a0", " ")


def _cell_paragraphs(cell) -> list[str]:
    paragraphs = [_readable(p.text) for p in cell.paragraphs]
    return [] if paragraphs == [""] else paragraphs  # an empty cell has no lines, as in the PDF


@lru_cache(maxsize=32)
def docx_blocks(path: Path) -> tuple[list[list[list[list[str]]]], list[Block]]:
    """(tables before the first heading, [Block per Heading 1 with its tables' rows]); a Block's
    header is the first row of its (single) table."""
    from docx import Document
    from docx.table import Table

    doc = Document(str(path))
    front: list[list[list[list[str]]]] = []
    blocks: list[Block] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            rows = [[_cell_paragraphs(c) for c in row.cells] for row in item.rows]
            if not blocks:
                front.append(rows)
                continue
            last = blocks[-1]
            if last.header is not None:
                raise AssertionError(f"two tables under the heading {last.heading!r}")
            header = tuple(" ".join(cell) for cell in rows[0])
            blocks[-1] = Block(last.heading, header, rows[1:])
        elif item.style is not None and item.style.name == "Heading 1":
            blocks.append(Block(_readable(item.text), None, []))
    return front, blocks


def docx_text_lines(data_or_path: bytes | Path) -> list[str]:
    """The DOCX body text in document order, one line per non-empty paragraph and one per table
    cell (a cell's paragraphs joined by ' ¶ ')."""
    import io

    from docx import Document
    from docx.table import Table

    doc = Document(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path))
    lines: list[str] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                for cell in row.cells:
                    lines.append(" ¶ ".join(_cell_paragraphs(cell)))
        elif item.text:
            lines.append(item.text)
    return lines


def docx_custom_json(path: Path) -> tuple[str, dict[str, str], str]:
    """(root tag, root attributes, root text) of the customXml part that holds the annex JSON."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from lxml import etree

    doc = Document(str(path))
    found = []
    for rel in doc.part.rels.values():
        if rel.reltype == RT.CUSTOM_XML and not rel.is_external:
            root = etree.fromstring(rel.target_part.blob)
            if root.tag.startswith("{urn:annex-gen:"):
                found.append((root.tag, dict(root.attrib), root.text or ""))
    if len(found) != 1:
        raise AssertionError(f"expected one annex custom XML part, found {len(found)}")
    return found[0]


# LibreOffice --------------------------------------------------------------------------------------


def libreoffice() -> str | None:
    path = Path("/usr/bin/libreoffice")
    return str(path) if path.exists() else shutil.which("libreoffice")
