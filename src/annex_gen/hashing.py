"""Canonical JSON and its SHA-256: the one way annex-gen fingerprints structured data."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any, *, compact: bool = True) -> str:
    """Sorted keys, UTF-8 text; compact separators unless compact=False (the registry digest's form)."""
    separators = (",", ":") if compact else None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=separators, default=str)


def sha256_json(value: Any, *, compact: bool = True) -> str:
    """The hex SHA-256 of the canonical JSON of value."""
    return hashlib.sha256(canonical_json(value, compact=compact).encode("utf-8")).hexdigest()


def sha256_text(text: str) -> str:
    """The hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
