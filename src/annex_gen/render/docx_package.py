"""Write a python-docx document as a zip with fixed bytes, compressing its template parts once.

python-docx's own save gives the members the time of the save and compresses every part
again, though the styles, theme and embedded fonts (nine tenths of a package) are the same
in every annex. Here the members are the ones python-docx writes, in its order, laid out as
Python's zipfile lays them out, with a fixed date and mode; the compressed form of each
template part is kept for the process.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

from docx.opc.pkgwriter import PackageWriter

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MODE = 0o644
KEPT_PREFIXES = ("word/styles.xml", "word/theme/", "word/fonts/", "word/numbering.xml")
VERSION = 20  # deflate
UNIX = 3


class _Members:
    """Collects what python-docx's PackageWriter writes: (member name, bytes), in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []

    def write(self, pack_uri, blob: bytes) -> None:
        self.items.append((pack_uri.membername, blob))


def members(doc) -> list[tuple[str, bytes]]:
    """The package's members as python-docx's save writes them."""
    package = doc.part.package
    parts = list(package.parts)
    for part in parts:
        part.before_marshal()
    out = _Members()
    PackageWriter._write_content_types_stream(out, parts)
    PackageWriter._write_pkg_rels(out, package.rels)
    PackageWriter._write_parts(out, parts)
    return out.items


def _deflate(blob: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # as zipfile does
    return compressor.compress(blob) + compressor.flush()


@lru_cache(maxsize=32)
def _kept(name: str, blob: bytes) -> bytes:
    return _deflate(blob)


def _dos_time(moment: tuple[int, ...]) -> tuple[int, int]:
    year, month, day, hour, minute, second = moment
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def zip_bytes(items: list[tuple[str, bytes]]) -> bytes:
    """A deflated zip of items, byte for byte what zipfile writes, with a fixed date and mode."""
    time, date = _dos_time(ZIP_DATE)
    body = bytearray()
    directory = bytearray()
    for name, blob in items:
        encoded = name.encode("ascii")  # OPC part names are ASCII
        data = _kept(name, blob) if name.startswith(KEPT_PREFIXES) else _deflate(blob)
        crc = zlib.crc32(blob)
        offset = len(body)
        body += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", VERSION, 0, 0, 8, time, date, crc, len(data), len(blob),
                            len(encoded), 0)
        body += encoded
        body += data
        directory += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", VERSION, UNIX, VERSION, 0, 0, 8, time, date, crc,
                                 len(data), len(blob), len(encoded), 0, 0, 0, 0, MODE << 16, offset)
        directory += encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(items), len(items), len(directory), len(body), 0)
    return bytes(body + directory + end)


def save(doc) -> bytes:
    """The document's DOCX bytes: identical documents give identical bytes."""
    return zip_bytes(members(doc))
