"""Generated documents in the database: by document ID, their files content-addressed in `blobs`.

A document ID names one annex's content, so a document is stored once: a second store of the
same ID (a retried job, a second run) inserts nothing. Export writes the files as a batch
lays them out: DIR/<customer-id>/<document-id>.<format>.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annex_gen.errors import ArchiveError
from annex_gen.output.write import write_atomic

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")  # a customer id or a document ID: never a path outside OUT


def file_path(out_dir: Path, customer_id: str, document_id: str, fmt: str) -> Path:
    """OUT/<customer>/<document-id>.<format>, refusing names that are not plain ids."""
    if not all(_NAME.fullmatch(name) for name in (customer_id, document_id, fmt)):
        raise ArchiveError(f"documents/{document_id!r}: not a plain customer id, document ID or format; not written")
    return out_dir / customer_id / f"{document_id}.{fmt}"


@dataclass(frozen=True)
class StoredDocument:
    """A generated annex in the database and its files (format -> (sha256, size))."""

    document_id: str
    customer_id: str
    content_hash: str
    templates: str
    registry_version: str
    created_at: str
    files: dict[str, tuple[str, int]]
    status: str | None = None  # "final" or "draft" as its run rendered it (None: stored without a run's row)
    in_force: str | None = None  # a draft's: the final annex still in force when it was stored


def store(con: Any, *, document_id: str, customer_id: str, content_hash: str, templates: str,
          registry_version: str, run_id: int | None, files: dict[str, bytes]) -> bool:
    """Insert the document and its files, in the caller's transaction; False when it was stored already."""
    for data in files.values():
        con.execute("INSERT INTO blobs (sha256, size, data) VALUES (%s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                    (hashlib.sha256(data).hexdigest(), len(data), data))
    inserted = con.execute(
        "INSERT INTO documents (document_id, customer_id, content_hash, templates, registry_version, run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (document_id) DO NOTHING RETURNING seq",
        (document_id, customer_id, content_hash, templates, registry_version, run_id)).fetchone()
    for fmt, data in files.items():
        con.execute("INSERT INTO document_files (document_id, format, sha256, size) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING", (document_id, fmt, hashlib.sha256(data).hexdigest(), len(data)))
    return inserted is not None


def _documents(rows: list[tuple], files: list[tuple]) -> list[StoredDocument]:
    by_id: dict[str, dict[str, tuple[str, int]]] = {}
    for document_id, fmt, sha, size in files:
        by_id.setdefault(document_id, {})[fmt] = (sha, int(size))
    return [StoredDocument(r[0], r[1], r[2], r[3], r[4], r[5].isoformat(timespec="seconds"), by_id.get(r[0], {}))
            for r in rows]


_COLUMNS = "document_id, customer_id, content_hash, templates, registry_version, created_at"


def list_documents(con: Any, customer_id: str | None = None) -> list[StoredDocument]:
    """Every stored document (or a customer's), oldest first."""
    where, params = ("WHERE customer_id = %s", (customer_id,)) if customer_id else ("", ())
    rows = con.execute(f"SELECT {_COLUMNS} FROM documents {where} ORDER BY seq", params).fetchall()
    files = con.execute("SELECT f.document_id, f.format, f.sha256, f.size FROM document_files f JOIN documents d "
                        f"USING (document_id) {where.replace('customer_id', 'd.customer_id')}", params).fetchall()
    return _documents(rows, files)


def latest(con: Any) -> dict[str, StoredDocument]:
    """Each customer's most recently stored document."""
    rows = con.execute(f"SELECT DISTINCT ON (customer_id) {_COLUMNS} FROM documents "
                       "ORDER BY customer_id, seq DESC").fetchall()
    ids = [r[0] for r in rows]
    files = con.execute("SELECT document_id, format, sha256, size FROM document_files WHERE document_id = ANY(%s)",
                        (ids,)).fetchall()
    return {d.customer_id: d for d in _documents(rows, files)}


def with_status(con: Any, stored: Iterable[StoredDocument]) -> dict[str, StoredDocument]:
    """The documents (by document ID) with their status and, for a draft, the final annex still in force,
    read from the run rows that rendered them: only for the documents a new annex will replace (reading
    a run row's annex costs about a quarter of a millisecond)."""
    stored = list(stored)
    rendered = _rendered(con, [d.document_id for d in stored])
    # A draft names the final annex in force, else the draft before it (resolve.replaced_by_next); one stored
    # before statuses were read may name a draft beside a final in force: follow its drafts back to a final.
    in_force: dict[str, str] = {}
    following = {d: named for d, (status, named) in rendered.items() if status == "draft" and named}
    seen: set[str] = set()
    while following:
        seen |= set(following.values())
        named_rendered = _rendered(con, sorted(set(following.values())))
        further = {}
        for document_id, named in following.items():
            status, before = named_rendered.get(named, (None, None))
            if status != "draft":  # final, or stored without a run's row: counted final, as before
                in_force[document_id] = named
            elif before and before not in seen:
                further[document_id] = before
        following = further
    return {d.document_id: replace(d, status=rendered.get(d.document_id, (None, None))[0],
                                   in_force=in_force.get(d.document_id)) for d in stored}


def _rendered(con: Any, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """document ID -> (status, the annex it replaces), as the run that stored it rendered it."""
    if not ids:
        return {}
    rows = con.execute(
        "SELECT d.document_id, a.annex #>> '{annex,status}', a.annex #>> '{annex,contract,replaces}' FROM documents d "
        "JOIN run_items i ON i.run_id = d.run_id AND i.document_id = d.document_id AND i.annex IS NOT NULL "
        "CROSS JOIN LATERAL (SELECT i.annex::jsonb AS annex) a WHERE d.document_id = ANY(%s)", (ids,)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def exists(con: Any, document_id: str, formats: tuple[str, ...]) -> bool:
    """Whether the document is stored with every one of formats."""
    row = con.execute("SELECT count(*) FROM document_files WHERE document_id = %s AND format = ANY(%s)",
                      (document_id, list(formats))).fetchone()
    return row[0] == len(formats)


def read_file(con: Any, sha256: str) -> bytes:
    """A file's bytes, checked against its hash."""
    row = con.execute("SELECT data FROM blobs WHERE sha256 = %s", (sha256,)).fetchone()
    if row is None:
        raise ArchiveError(f"blobs/{sha256}: file missing from the database")
    data = bytes(row[0])
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveError(f"blobs/{sha256}: file altered (SHA-256 is now {hashlib.sha256(data).hexdigest()})")
    return data


def export(con: Any, out_dir: Path, *, latest_only: bool = False) -> list[Path]:
    """Write every stored document (or each customer's latest) as OUT/<customer>/<document-id>.<format>."""
    documents = list(latest(con).values()) if latest_only else list_documents(con)
    written = []
    for doc in sorted(documents, key=lambda d: (d.customer_id, d.document_id)):
        for fmt, (sha, _size) in sorted(doc.files.items()):
            path = file_path(out_dir, doc.customer_id, doc.document_id, fmt)
            write_atomic(path, read_file(con, sha))
            written.append(path)
    return written


def copy_new(con: Any, out_dir: Path, after: int) -> int:
    """Write the files of documents stored after seq `after` that out_dir lacks; return the last seq seen."""
    rows = con.execute("SELECT d.seq, d.customer_id, d.document_id, f.format, f.sha256, f.size FROM documents d "
                       "JOIN document_files f USING (document_id) WHERE d.seq > %s ORDER BY d.seq",
                       (after,)).fetchall()
    last = after
    for seq, customer_id, document_id, fmt, sha, size in rows:
        path = file_path(out_dir, customer_id, document_id, fmt)
        if not (path.is_file() and path.stat().st_size == size):
            write_atomic(path, read_file(con, sha))
        last = max(last, seq)
    return last
