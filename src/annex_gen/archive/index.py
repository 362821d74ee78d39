"""The archive's index: where records (and, for a database server, the files) are kept.

`Index` is the interface both backends implement: the embedded one (`sqlite_index`: SQLite
beside a directory of files) and the server one (`postgres_index`: PostgreSQL, files in the
database). The queries every archive needs are written once here, over the columns both
schemas share: seq, body, record_hash, kind, customer_id, document_id, signed_on, sha256, parent.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads this module's defaults at start-up; the chain is imported when used
    from annex_gen.archive.chain import Record, VerifyReport

DEFAULT_ARCHIVE = Path("archive")
ARCHIVE_ENV = "ANNEX_GEN_ARCHIVE"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(location: str | Path) -> bool:
    """Whether a --archive value names a PostgreSQL server rather than a directory."""
    return str(location).startswith(POSTGRES_SCHEMES)


def shown_url(url: str) -> str:
    """A location as messages show it: a URL without its password."""
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@]*@", r"\1:***@", url)


def default_location() -> str:
    """The archive used when none is given: $ANNEX_GEN_ARCHIVE, else archive/."""
    return os.environ.get(ARCHIVE_ENV) or str(DEFAULT_ARCHIVE)


class Index(ABC):
    """An archive index: append-only records in chain order, and the files they name."""

    location: str  # how messages name the index, e.g. "archive/index.sqlite"
    db_errors: tuple[type[Exception], ...] = ()  # the driver's errors, reported as damage by verify

    # Reading (one implementation for both backends)

    @abstractmethod
    def query(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Run a SELECT (written with ? markers) and return its rows."""

    def select(self, where: str = "", params: tuple = ()) -> list[Record]:
        """The records matching a WHERE clause, in chain order."""
        rows = self.query(f"SELECT seq, body, record_hash FROM records {where} ORDER BY seq", params)
        from annex_gen.archive.chain import Record

        return [Record(int(seq), json.loads(body), h) for seq, body, h in rows]

    def records(self, customer: str | None = None) -> list[Record]:
        """Every record of a file a customer signed (annexes and attachments) in chain order, or one customer's."""
        if customer is None:
            return self.select("WHERE kind <> 'release'")
        return self.select("WHERE customer_id = ?", (customer,))

    def releases(self) -> list[Record]:
        """The registry releases legal approved, in chain order."""
        return self.select("WHERE kind = 'release'")

    def find_file(self, sha256: str) -> Record | None:
        """The record that archived the file with this SHA-256, if any."""
        found = self.select("WHERE sha256 = ?", (sha256,))
        return found[0] if found else None

    def with_document(self, document_id: str) -> list[Record]:
        """The records of annexes with this document ID."""
        return self.select("WHERE document_id = ? AND kind = 'annex'", (document_id,))

    def attachments(self, seq: int) -> list[Record]:
        """The attachments of an annex record."""
        return self.select("WHERE parent = ?", (seq,))

    def by_seq(self, seq: int) -> list[Record]:
        """The record with this number (none or one)."""
        return self.select("WHERE seq = ?", (seq,))

    def by_sha256_prefix(self, prefix: str) -> list[Record]:
        """The records whose file's SHA-256 starts with prefix (lower-case hex)."""
        return self.select("WHERE sha256 LIKE ?", (prefix + "%",))

    def chain_rows(self) -> Iterator[tuple[int, str, str]]:
        """(seq, body text, record hash) of every record, in chain order."""
        for seq, body, h in self.query("SELECT seq, body, record_hash FROM records ORDER BY seq"):
            yield int(seq), body, h

    # Writing

    @abstractmethod
    def stage(self, sha256: str, data: bytes) -> None:
        """Make a file durable before the transaction that records it (a no-op where both commit as one)."""

    @abstractmethod
    def writing(self) -> AbstractContextManager[None]:
        """A write transaction that serialises appends: commits on success, rolls back on error."""

    @abstractmethod
    def next_seq(self) -> tuple[int, str]:
        """The next record number and the hash it chains to (inside `writing`)."""

    @abstractmethod
    def insert(self, record: Record, text: str, data: bytes) -> None:
        """Append the record (body text as hashed) and, where the index holds them, its file."""

    def committed(self) -> None:  # noqa: B027 - optional hook
        """Called after an append commits."""

    # Files and verification

    @abstractmethod
    def read_object(self, record: Record) -> bytes:
        """A record's stored bytes, unchecked; raise ArchiveError when missing or unreadable."""

    @abstractmethod
    def describe_object(self, sha256: str) -> str:
        """Where a file is kept, for messages."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the index is at."""

    @abstractmethod
    def check_schema(self, report: VerifyReport) -> None:
        """Report an altered schema: version, tables, the safeguards that refuse updates and deletes."""

    def highest_seq(self) -> int | None:
        """The highest record number ever handed out, if the index remembers it apart from the rows."""
        return None

    @abstractmethod
    def check_objects(self, referenced: dict[str, int], report: VerifyReport) -> None:
        """Re-hash every file the records name; report missing, altered and unrecorded files."""

    migrated_from: int | None = None  # the version an open with migrate found, when it migrated

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""
