"""Render a document as its JSON: the machine-readable twin every other format embeds."""

from __future__ import annotations

from typing import Any


def render(document: Any) -> bytes:
    """The document's JSON bytes, exactly as the PDF and DOCX embed them."""
    return document.to_json_bytes()
