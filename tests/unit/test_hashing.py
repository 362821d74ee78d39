"""annex_gen.hashing: the interpreter's own SHA-256 gives OpenSSL's digests (document IDs, cache keys)."""

from __future__ import annotations

import hashlib

import pytest

from annex_gen import hashing


@pytest.mark.parametrize("data", [b"", b"abc", "Liana\u00ae Technologies \u2013 \u00e4\u00f6".encode(),
                                  bytes(range(256)) * 4099])
def test_the_digest_is_sha256s(data: bytes) -> None:
    assert hashing.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    h = hashing.sha256(data[:7])
    h.update(data[7:])
    assert h.digest() == hashlib.sha256(data).digest()


def test_text_and_json_digests() -> None:
    assert hashing.sha256_text("ä") == hashlib.sha256("ä".encode()).hexdigest()
    assert hashing.sha256_json({"b": 1, "a": "ä"}) == hashlib.sha256('{"a":"ä","b":1}'.encode()).hexdigest()
