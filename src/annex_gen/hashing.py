"""Canonical JSON and its SHA-256: the one way annex-gen fingerprints structured data."""

from __future__ import annotations

import json
from typing import Any

try:  # the interpreter's own SHA-256: importing hashlib loads OpenSSL, about 5 ms of every command's start
    from _sha2 import sha256  # Python 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256

# json.dumps with these options builds an encoder per call; these two are built once
_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
_SPACED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def canonical_json(value: Any, *, compact: bool = True) -> str:
    """Sorted keys, UTF-8 text; compact separators unless compact=False (the registry digest's form)."""
    return (_COMPACT if compact else _SPACED).encode(value)


def sha256_json(value: Any, *, compact: bool = True) -> str:
    """The hex SHA-256 of the canonical JSON of value."""
    return sha256(canonical_json(value, compact=compact).encode("utf-8")).hexdigest()


def sha256_text(text: str) -> str:
    """The hex SHA-256 of UTF-8 text."""
    return sha256(text.encode("utf-8")).hexdigest()
