"""Contracts from a CRM export: a CSV file with one row per contract.

Columns (header row required; names are case-insensitive, spaces and hyphens count as
underscores; the order is free; the delimiter may be ',', ';' or a tab):

==================  ========  ===========================================================
column              required  meaning
==================  ========  ===========================================================
customer_id         yes       the customer's id (lowercase letters, digits, hyphens)
customer_name       yes       the customer's legal name
business_id         no        EU VAT number, Finnish Y-tunnus, UAE TRN or Hong Kong BR
contact_email       no        where the change notices go (the notices summary CSV)
contract_reference  no        the DPA's reference, e.g. DPA-2026-0042
contract_date       yes       YYYY-MM-DD
region              yes       a registry region id, e.g. eu
language            yes       fi or en (a registry language)
products            yes       product ids separated by ';', ',' or spaces, e.g. mailer;cms
options             no        ids of the options that are on, e.g. dedicated_mta
==================  ========  ===========================================================

An unknown column is an error (a misspelt 'options' would silently drop a sub-processor).
Empty optional cells count as absent; empty rows are skipped. Each row becomes a contract
document whose diagnostics point at the file, the row's line and the cell's column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput
from annex_gen.inputs.files import read_text
from annex_gen.inputs.schema import did_you_mean, one_of
from annex_gen.inputs.yamlio import Document, Path_

MAX_CSV_BYTES = 64 * 1024 * 1024

# column -> where its value goes in the contract document
COLUMNS: dict[str, Path_] = {
    "customer_id": ("customer", "id"),
    "customer_name": ("customer", "name"),
    "business_id": ("customer", "business_id"),
    "contact_email": ("customer", "contact_email"),
    "contract_reference": ("contract", "reference"),
    "contract_date": ("contract", "date"),
    "region": ("contract", "region"),
    "language": ("contract", "language"),
    "products": ("contract", "products"),
    "options": ("contract", "options"),
}
REQUIRED = ("customer_id", "customer_name", "contract_date", "region", "language", "products")
_LIST_SPLIT = re.compile(r"[;,\s]+")


@dataclass(frozen=True)
class CrmRow:
    """One contract row: its label (file:line) and the contract document it stands for."""

    label: str
    line: int
    document: Document
    problems: tuple[Diagnostic, ...] = ()


def _column_name(header: str) -> str:
    return re.sub(r"[\s-]+", "_", header.strip().lower())


def _header(path: str, header: list[str]) -> dict[int, str]:
    """Column index -> column name; raise InvalidInput for unknown, duplicate or missing columns."""
    problems: list[Diagnostic] = []
    columns: dict[int, str] = {}
    for i, raw in enumerate(header):
        name = _column_name(raw)
        if not name:
            continue
        if name not in COLUMNS:
            problems.append(Diagnostic(path, 1, i + 1, "", f"unknown column {raw!r}; "
                                       f"{one_of(COLUMNS)}{did_you_mean(name, COLUMNS)}", code="crm.column_unknown",
                                       params={"column": raw, "known": sorted(COLUMNS)}))
        elif name in columns.values():
            problems.append(Diagnostic(path, 1, i + 1, "", f"column {name!r} appears twice", code="crm.column_twice",
                                       params={"column": name}))
        else:
            columns[i] = name
    for name in REQUIRED:
        if name not in columns.values():
            problems.append(Diagnostic(path, 1, None, "", f"missing required column {name!r}",
                                       code="crm.column_missing", params={"column": name}))
    if problems:
        raise InvalidInput(problems)
    return columns


def _row_document(path: str, line: int, columns: dict[int, str], cells: list[str]) -> Document:
    doc = Document(path=path, data=None)
    data: dict = {"customer": {}, "contract": {}}
    doc.positions[()] = (line, 1)
    for i, name in columns.items():
        value = cells[i].strip() if i < len(cells) else ""
        where = (line, i + 1)
        part, key = COLUMNS[name]
        if not value:
            doc.positions[(part, key)] = where  # where a missing value is reported
            continue
        if name == "products":
            items = [p for p in _LIST_SPLIT.split(value) if p]
            for j in range(len(items)):
                doc.positions[(part, key, j)] = where
            data[part][key] = items
        elif name == "options":
            options = {}
            for oid in (o for o in _LIST_SPLIT.split(value) if o):
                doc.positions[(part, key, oid)] = where
                doc.key_positions[(part, key, oid)] = where
                options[oid] = True
            data[part][key] = options
        else:
            data[part][key] = value
        doc.positions[(part, key)] = where
    doc.data = data
    return doc


def parse_crm(text: str, path: str) -> list[CrmRow]:
    """The contract rows of a CRM CSV export; raise InvalidInput for a bad header or layout."""
    text = text.removeprefix("\ufeff")
    # the header row decides the delimiter: data rows may leave trailing cells out
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    # strict: an unterminated quote is an error, not a cell that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter, strict=True)
    end = 0  # the last line of the last complete row
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput([Diagnostic(path, 1, None, "",
                                           "the CSV file is empty; expected a header row", code="crm.empty")])
        columns = _header(path, header)
        rows: list[CrmRow] = []
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            problems: tuple[Diagnostic, ...] = ()
            if len(cells) > len(header):
                problems = (Diagnostic(path, line, len(header) + 1, "",
                                       f"the row has {len(cells)} cells but the header has {len(header)}",
                                       code="crm.too_many_cells",
                                       params={"line": line, "cells": len(cells), "columns": len(header)}),)
            rows.append(CrmRow(f"{path}:{line}", line, _row_document(path, line, columns, cells), problems))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):  # the quote opened on the row after the last complete one
            line = end + 1
            row_text = text.split("\n")[line - 1]
            col = row_text.find('"') + 1 or None
            raise InvalidInput([Diagnostic(path, line, col, "", 'a quoted cell opened here is never closed; '
                                           'add the closing double quote (") or remove the opening one',
                                           code="crm.unclosed_quote", params={"line": line})]) from None
        where = reader.line_num or None
        raise InvalidInput([Diagnostic(path, where, None, "", f"invalid CSV: {exc}", code="crm.invalid")]) from None
    return rows


def read_crm(path: Path) -> list[CrmRow]:
    """Read and parse a CRM CSV export (UTF-8, with or without a byte order mark)."""
    return parse_crm(read_text(path, MAX_CSV_BYTES), str(path))


def in_column_terms(diagnostic: Diagnostic) -> Diagnostic:
    """A contract diagnostic of a CSV row, named by CSV columns rather than contract keys."""
    key, message = diagnostic.key, diagnostic.message
    for column, path in COLUMNS.items():
        dotted = ".".join(path)
        if key == dotted or key.startswith(dotted + ".") or key.startswith(dotted + "["):
            key = column + key[len(dotted):]
            break
    for column, (part, name) in COLUMNS.items():
        if key == part and message == f"missing required key {name!r}":
            key, message = column, f"missing value in required column {column!r}"
            break
    return replace(diagnostic, key=key, message=message)
