"""The archive's hash chain: record bodies, their canonical hashes, and chain verification (pure).

Each record is a canonical JSON object (its `body`) that names its file's SHA-256 and the hash
of the record before it (`prev`); the record's own hash is the SHA-256 of the body text.
Altering, removing or reordering a record therefore breaks the chain. Nothing here touches a
database or a file: the index backends hand rows in, problems come out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annex_gen.errors import Diagnostic
from annex_gen.hashing import canonical_json, sha256_text

GENESIS = "0" * 64
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

record_hash = sha256_text  # a record's hash: SHA-256 of its canonical body text


@dataclass(frozen=True)
class Record:
    """One archived file and what is known about it; `body` is exactly what the chain hashes."""

    seq: int
    body: Mapping[str, Any]
    record_hash: str

    @property
    def kind(self) -> str:
        """'annex' (a signed annex) or 'attachment' (another file kept with an annex record)."""
        return self.body["kind"]

    @property
    def customer_id(self) -> str:
        """The customer the file belongs to ('' for a release approval)."""
        return self.body.get("customer_id") or ""

    @property
    def document_id(self) -> str | None:
        """The annex's document ID, when known."""
        return self.body.get("document_id")

    @property
    def signed_on(self) -> dt.date | None:
        """The date the annex was signed."""
        value = self.body.get("signed_on")
        return dt.date.fromisoformat(value) if value else None

    @property
    def sha256(self) -> str:
        """SHA-256 of the archived file."""
        return self.body["file"]["sha256"]

    @property
    def file_name(self) -> str:
        """The file's name when it was added."""
        return self.body["file"]["name"]

    @property
    def parent(self) -> int | None:
        """For an attachment, the record of the annex it belongs to."""
        return self.body.get("parent")

    @property
    def annex(self) -> Mapping[str, Any] | None:
        """The annex.json embedded in the file, if it had one."""
        return self.body.get("annex")

    @property
    def signatures(self) -> list[Mapping[str, Any]]:
        """The signature checks made when the file was added."""
        return list(self.body.get("signatures") or [])


def new_record(fields: Mapping[str, Any], *, seq: int, prev: str, archived_at: dt.datetime,
               file: Mapping[str, Any]) -> tuple[Record, str]:
    """The record appended as number seq after the record hashed prev, and its canonical body text."""
    body = {**fields, "seq": seq, "prev": prev, "archived_at": archived_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "file": dict(file)}
    text = canonical_json(body)
    return Record(seq, json.loads(text), record_hash(text)), text


@dataclass(frozen=True)
class Head:
    """A chain's last link, as kept outside the archive: its number and hash."""

    seq: int
    record_hash: str

    def __str__(self) -> str:
        return f"{self.seq} {self.record_hash}"

    @classmethod
    def parse(cls, text: str, where: str) -> Head:
        """The record chain's head as `archive head` prints it: 'SEQ HASH' or 'record SEQ HASH'."""
        heads = Heads.parse(text, where)
        if heads.record is None:
            raise ValueError(f"{where}: names no record; {_HEAD_FORMAT}")
        return heads.record


_HEAD_FORMAT = ("expected a chain head as `annex-gen archive head` prints it: the record number and its 64-digit "
                "hash, e.g. '12 3f9a…', optionally followed by the audit log's 'audit 40 b2c1…'")


@dataclass(frozen=True)
class Heads:
    """The heads of the archive's two chains, records and audit log, as kept outside the archive.

    Removing the last records or audit entries leaves a chain that is consistent in itself:
    only a head kept elsewhere shows that the chain once went further.
    """

    record: Head | None
    audit: Head | None = None

    def __str__(self) -> str:
        lines = [f"record {self.record}"] if self.record else []
        lines += [f"audit {self.audit}"] if self.audit else []
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str, where: str) -> Heads:
        """Heads as `archive head` prints them: 'record SEQ HASH' and 'audit SEQ HASH' (either may be missing;
        a bare 'SEQ HASH' is the record chain's, as older versions printed it)."""
        words = text.split()
        found: dict[str, Head] = {}
        i = 0
        while i < len(words):
            label = words[i] if words[i] in ("record", "audit") else "record"
            i += label == words[i]
            pair = words[i:i + 2]
            if (len(pair) != 2 or not pair[0].isdigit() or not SHA256_RE.match(pair[1].lower())
                    or label in found):
                raise ValueError(f"{where}: {_HEAD_FORMAT}")
            found[label] = Head(int(pair[0]), pair[1].lower())
            i += 2
        if not found:
            raise ValueError(f"{where}: {_HEAD_FORMAT}")
        return cls(found.get("record"), found.get("audit"))


@dataclass
class VerifyReport:
    """What `verify` checked and found; errors make it fail, notes do not."""

    records: int = 0
    files: int = 0
    head: Record | None = None
    problems: list[Diagnostic] = field(default_factory=list)
    audit_entries: int = 0  # the audit log's entries checked
    audit_head: Head | None = None  # its last entry
    anchored: tuple[str, ...] = ()  # the chains checked against a head kept outside the archive

    @property
    def errors(self) -> list[Diagnostic]:
        """The problems that make the archive fail verification."""
        return [p for p in self.problems if p.severity == "error"]

    def add(self, where: str, message: str, severity: str = "error") -> None:
        """Record a problem found at where."""
        self.problems.append(Diagnostic(where, None, None, "", message, severity))


def verify_chain(rows: Iterable[tuple[int, str, str]], report: VerifyReport, where: str, *,
                 highest_seq: int | None = None, anchor: Head | None = None) -> dict[str, int]:
    """Check each (seq, body text, stored hash) row's hash, number and link; return the files they name.

    highest_seq is the highest number the index ever handed out, when it keeps one: a record
    removed from the end of the chain leaves it behind. anchor is a head kept outside the archive.
    """
    referenced: dict[str, int] = {}
    hashes: dict[int, str] = {}
    prev_hash = GENESIS
    expected_seq = 1
    for seq, text, stored_hash in rows:
        report.records += 1
        hashes[seq] = stored_hash
        at = f"{where}: record {seq}"
        if seq > expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            report.add(where, f"record {missing} missing (removed from the index)")
        expected_seq = seq + 1
        if record_hash(text) != stored_hash:
            report.add(at, "record altered (its content no longer matches its hash)")
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            report.add(at, "record altered (not JSON)")
            prev_hash = stored_hash
            continue
        if body.get("seq") != seq:
            report.add(at, f"record altered or moved (it says it is record {body.get('seq')})")
        if body.get("prev") != prev_hash:
            report.add(at, "chain broken: the record before it was altered, removed or reordered")
        sha = (body.get("file") or {}).get("sha256")
        if isinstance(sha, str) and SHA256_RE.match(sha):
            referenced[sha] = seq
        else:
            report.add(at, "record altered (no valid file SHA-256)")
        prev_hash = stored_hash
        report.head = Record(seq, body, stored_hash)
    if highest_seq is not None and highest_seq >= expected_seq:
        gone = f"{expected_seq}" if highest_seq == expected_seq else f"{expected_seq}-{highest_seq}"
        report.add(where, f"record {gone} missing (removed from the end of the index)")
    if anchor is not None:
        check_head(hashes, report.head.seq if report.head else 0, anchor, report, where)
    return referenced


def check_head(records: Mapping[int, str], last: int, anchor: Head, report: VerifyReport, where: str, *,
               noun: str = "record", chain: str = "chain") -> None:
    """Compare a chain with a head kept outside the archive: it must still be in the chain, unchanged.

    noun names a link ('record', 'entry'), chain the chain ('chain', 'audit log') in messages.
    """
    plural = "entries" if noun == "entry" else f"{noun}s"
    stored = records.get(anchor.seq)
    if stored is None and anchor.seq > last:
        gone = f"{noun} {anchor.seq} was" if anchor.seq == last + 1 else f"{plural} {last + 1}-{anchor.seq} were"
        report.add(where, f"the {chain} ends at {noun} {last}, but the head kept outside the archive is {noun} "
                          f"{anchor.seq}: {gone} removed")
    elif stored is None:
        report.add(where, f"{noun} {anchor.seq}, the head kept outside the archive, is missing")
    elif stored != anchor.record_hash:
        report.add(where, f"{noun} {anchor.seq} is not the head kept outside the archive (its hash is "
                          f"{stored}, the head is {anchor.record_hash}): the {chain} up to it was rewritten")
    elif last > anchor.seq:
        added = f"{noun} {last} was" if last == anchor.seq + 1 else f"{plural} {anchor.seq + 1}-{last} were"
        report.add(where, f"{added} added after the head kept outside the archive; check the additions are "
                          "expected, then keep the new head", "note")
