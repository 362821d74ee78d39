"""The archive: records appended to a hash chain over an index backend, and their files.

`chain` makes and checks the records (pure), `index` is where they are kept: SQLite beside
a directory of content-addressed files (`sqlite_index`, `objects`), or PostgreSQL with the
files in the database (`postgres_index`). This module puts them together: open by location,
append under the index's write lock, read back checked, verify everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from annex_gen.archive.backends import open_index
from annex_gen.archive.chain import GENESIS, Head, Record, VerifyReport, new_record, record_hash, verify_chain
from annex_gen.archive.index import DEFAULT_ARCHIVE, Index, shown_url
from annex_gen.archive.objects import file_sha256
from annex_gen.errors import ArchiveError, Diagnostic, InvalidInput
from annex_gen.hashing import canonical_json

__all__ = ["DEFAULT_ARCHIVE", "GENESIS", "Archive", "ArchiveError", "Head", "Record", "VerifyReport",
           "canonical_json", "file_sha256", "record_hash"]


class Archive:
    """An archive (a directory or a postgresql:// URL): add records, read them back, verify it."""

    def __init__(self, index: Index, location: str) -> None:
        self.index = index
        self.location = location

    @classmethod
    def open(cls, location: str | Path, *, create: bool = False, migrate: bool = False) -> Archive:
        """Open the archive at location; with create, make it (and its schema) if needed; migrate an older one."""
        return cls(open_index(location, create=create, migrate=migrate), shown_url(str(location)))

    def close(self) -> None:
        """Release the index."""
        self.index.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reading

    def records(self, customer: str | None = None) -> list[Record]:
        """Every record in chain order, or those of one customer."""
        return self.index.records(customer)

    def find_file(self, sha256: str) -> Record | None:
        """The record that archived the file with this SHA-256, if any."""
        return self.index.find_file(sha256)

    def with_document(self, document_id: str) -> list[Record]:
        """The records of annexes with this document ID."""
        return self.index.with_document(document_id)

    def attachments(self, seq: int) -> list[Record]:
        """The attachments of an annex record."""
        return self.index.attachments(seq)

    def get(self, ref: str | int) -> Record:
        """A record by number ('12' or '#12') or by a prefix of its file's SHA-256 (8+ digits)."""
        text = str(ref).strip().removeprefix("#")
        if text.isdigit():
            found = self.index.by_seq(int(text))
        elif re.fullmatch(r"[0-9a-fA-F]{8,64}", text):
            found = self.index.by_sha256_prefix(text.lower())
            if len(found) > 1:
                raise ArchiveError(f"{self.location}: {text} matches {len(found)} files; give more digits")
        else:
            raise ArchiveError(f"{ref!r} is not a record number or a SHA-256 prefix of 8 or more hex digits")
        if not found:
            raise ArchiveError(f"{self.location}: no record {ref}", code="archive.no_record", params={"seq": ref})
        return found[0]

    def head(self) -> Head | None:
        """The chain's last record as a head to keep outside the archive; None when empty."""
        records = self.index.query("SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1")
        return Head(int(records[0][0]), records[0][1]) if records else None

    def read_file(self, record: Record) -> bytes:
        """The archived bytes of a record's file, checked against its SHA-256."""
        data = self.index.read_object(record)
        if hashlib.sha256(data).hexdigest() != record.sha256:
            where = self.index.describe_object(record.sha256)
            raise ArchiveError(f"{where}: record {record.seq}: file altered (its SHA-256 no longer matches)")
        return data

    # Writing

    def _refuse_duplicate(self, sha256: str, shown: str) -> None:
        existing = self.find_file(sha256)
        if existing is not None:
            what = f"customer {existing.customer_id}"
            if existing.document_id:
                what += f", document {existing.document_id}"
            raise InvalidInput([Diagnostic(
                shown, None, None, "",
                f"already archived as record {existing.seq} ({what}, added {existing.body['archived_at']})",
                code="archive.duplicate",
                params={"seq": existing.seq, "customer": existing.customer_id, "document": existing.document_id or "",
                        "at": existing.body["archived_at"]},
            )])

    def append(self, fields: Mapping[str, Any], data: bytes, *, name: str, media_type: str, shown: str,
               check: Callable[[Archive], None] | None = None,
               before_commit: Callable[[Record], None] | None = None) -> Record:
        """Store data and append a record of it: fields plus seq, prev, archived_at and file.

        check runs inside the write transaction, after the chain's tip is locked, so what it
        checks (e.g. that a document ID belongs to no other customer) holds when the record commits.
        before_commit(record) runs last before the commit; what it raises rolls the append back
        (the audit entry is written there).
        """
        sha256 = hashlib.sha256(data).hexdigest()
        self._refuse_duplicate(sha256, shown)
        if check is not None:
            check(self)
        self.index.stage(sha256, data)
        file = {"name": name, "sha256": sha256, "size": len(data), "media_type": media_type}
        try:
            with self.index.writing():
                self._refuse_duplicate(sha256, shown)  # another process may have added it meanwhile
                if check is not None:
                    check(self)
                seq, prev = self.index.next_seq()
                record, text = new_record(fields, seq=seq, prev=prev, archived_at=dt.datetime.now(dt.UTC),
                                          file=file)
                self.index.insert(record, text, data)
                if before_commit is not None:
                    before_commit(record)
        except self.index.db_errors as exc:  # locked for too long, disk full, read-only, a missing parent...
            raise ArchiveError(f"{self.index.location}: cannot record {shown}: {exc}") from None
        self.index.committed()
        return record

    # Verification

    def verify(self, head: Head | None = None) -> VerifyReport:
        """Re-hash every file, check the chain (and against head, if given) and the index; collect every problem."""
        report = VerifyReport()
        where = self.index.location
        try:
            self.index.check_schema(report)
            referenced = verify_chain(self.index.chain_rows(), report, where,
                                      highest_seq=self.index.highest_seq(), anchor=head)
        except self.index.db_errors as exc:
            report.add(where, f"index unreadable: {exc}")
            return report
        self.index.check_objects(referenced, report)
        return report


def copy_records(source: Archive, target: Archive, *,
                 progress: Callable[[Record], None] | None = None) -> tuple[int, int]:
    """Append source's records to target exactly (body text, numbers, hashes); return (copied, already there).

    The target must be empty or hold the same first records (a copy interrupted earlier).
    """
    there = {seq: h for seq, _, h in target.index.chain_rows()}
    already, copied = len(there), 0
    for seq, text, digest in source.index.chain_rows():
        record = Record(seq, json.loads(text), digest)
        if seq in there:
            if there.pop(seq) != digest:
                raise ArchiveError(f"{target.location}: record {seq} differs from {source.location}'s; "
                                   "copy into an empty archive")
            continue
        if there:
            raise ArchiveError(f"{target.location}: holds records the source does not; copy into an empty archive")
        data = source.read_file(record)
        target.index.stage(record.sha256, data)
        try:
            with target.index.writing():
                next_seq, prev = target.index.next_seq()
                if (next_seq, prev) != (seq, record.body.get("prev")):
                    raise ArchiveError(f"{target.location}: record {seq} would not continue the chain there "
                                       f"(the next record there is {next_seq}); copy into an empty archive")
                target.index.insert(record, text, data)
        except target.index.db_errors as exc:
            raise ArchiveError(f"{target.index.location}: cannot copy record {seq}: {exc}") from None
        target.index.committed()
        copied += 1
        if progress is not None:
            progress(record)
    if there:
        raise ArchiveError(f"{target.location}: holds records the source does not; copy into an empty archive")
    return copied, already
