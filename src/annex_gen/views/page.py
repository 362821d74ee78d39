"""What every document prints around its body: running header and footer, title block, labels."""

from __future__ import annotations

from dataclasses import dataclass

from annex_gen.views.catalog import Catalog


@dataclass(frozen=True)
class Row:
    """One line of the metadata block."""

    label: str
    value: str


@dataclass(frozen=True)
class PageView:
    """What every document prints around its body: header, footer, title block, table labels."""

    language: str
    title: str
    subject: str
    company: str
    date: str
    document_id: str
    footer_id: str
    page_label: str
    page_of: str
    meta: tuple[Row, ...]
    intro: str
    labels: dict[str, str]
    pdf_title: str  # the PDF's and DOCX's title property: the title and the customer


def page_parts(cat: Catalog) -> tuple[str, str]:
    """'Page {page} of {pages}' split around the page number, for CSS counters and DOCX fields."""
    before, _, after = cat["document.page"].partition("{page}")
    between, _, _ = after.partition("{pages}")
    return before.strip(), between.strip()
