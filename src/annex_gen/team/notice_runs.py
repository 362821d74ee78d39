"""Change notices as a run on the queue: planned where started, rendered by the workers, stored by notice ID.

A notices run is a run (`runs`, kind 'notices') with one row per notice: the row carries the
notice as JSON (changes.notices.notice_payload), so a worker renders it with no registry or
contracts. A worker stores the notice's four files (its PDF and DOCX, the enclosed annex's
PDF and DOCX) in `notices` and `notice_files`, content-addressed in `blobs`, and marks the row
in one transaction (runs.render_item). The summary CSV is made from the run's rows once the run
has finished, by whoever writes the notices out (`export_run`, `copy_finished`): the same folder,
byte for byte, as `annex-gen notices` writes on one machine.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import Any

from annex_gen.errors import ArchiveError, UsageError
from annex_gen.output.write import write_atomic
from annex_gen.team import documents

KIND = "notices"
NOTHING_TO_NOTIFY = "the annex changes, but nothing it prints does; no notice"
_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9-]*\.(pdf|docx)")  # <customer>/<id>.<format>


def exists(con: Any, notice_id: str) -> bool:
    """Whether the notice is stored with its four files."""
    return con.execute("SELECT count(*) FROM notice_files WHERE notice_id = %s", (notice_id,)).fetchone()[0] == 4


def store(con: Any, notice: Any, files: list[tuple[str, str, bytes]], *, templates: str, run_id: int) -> bool:
    """Insert the notice and its files (kind, relative path, bytes), in the caller's transaction; False when it
    was stored already."""
    for _kind, _path, data in files:
        con.execute("INSERT INTO blobs (sha256, size, data) VALUES (%s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                    (hashlib.sha256(data).hexdigest(), len(data), data))
    inserted = con.execute(
        "INSERT INTO notices (notice_id, customer_id, notice_date, annex_document_id, templates, registry_version, "
        "run_id) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (notice_id) DO NOTHING RETURNING seq",
        (notice.notice_id, notice.impact.customer_id, notice.dates.notice_date, notice.annex_document_id, templates,
         notice.registry_version, run_id)).fetchone()
    for kind, path, data in files:
        con.execute("INSERT INTO notice_files (notice_id, kind, path, sha256, size) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING", (notice.notice_id, kind, path, hashlib.sha256(data).hexdigest(),
                                               len(data)))
    return inserted is not None


def _target(out_dir: Path, path: str) -> Path:
    """OUT/<customer>/<id>.<format>, refusing a stored path that is anything else."""
    if not _PATH.fullmatch(path):
        raise ArchiveError(f"notice_files/{path!r}: not a plain <customer>/<id>.<format> path; not written")
    return out_dir / PurePosixPath(path)


def run_files(con: Any, run_id: int) -> tuple[dict, bytes]:
    """A finished notices run's files ({relative path: (sha256, size)}) and its summary CSV."""
    from annex_gen.changes.notices import WrittenNotice, notice_of, summary_csv

    row = con.execute("SELECT kind, finished_at FROM runs WHERE id = %s", (run_id,)).fetchone()
    if row is None or row[0] != KIND:
        raise UsageError(f"run {run_id} is not a notices run (`annex-gen runs --archive URL` lists them)")
    if row[1] is None:
        raise UsageError(f"run {run_id} is not finished yet; its notices are written out once it is")
    rows = con.execute("SELECT i.position, i.annex, f.kind, f.path, f.sha256, f.size FROM run_items i "
                       "JOIN notice_files f ON f.notice_id = i.document_id WHERE i.run_id = %s "
                       "AND i.status = 'generated' ORDER BY i.position, f.kind", (run_id,)).fetchall()
    files: dict[str, tuple[str, int]] = {}
    written: dict[int, tuple[str, dict[str, Path]]] = {}  # by position: the order the notices were planned in
    root = Path("notices")
    for position, payload, kind, path, sha, size in rows:
        files[path] = (sha, int(size))
        written.setdefault(position, (payload, {}))[1][kind] = root / PurePosixPath(path)
    csv = summary_csv([WrittenNotice(notice_of(payload), paths) for payload, paths in written.values()], root)
    return files, csv


def export_run(con: Any, run_id: int, out_dir: Path) -> list[Path]:
    """Write a finished notices run as `annex-gen notices` lays it out: OUT/<customer>/<id>.<format> for each
    notice and enclosed annex, then OUT/notices.csv. Files already there with the same size are kept."""
    from annex_gen.changes.notices import SUMMARY_NAME

    files, csv = run_files(con, run_id)
    written = []
    for path, (sha, size) in sorted(files.items()):
        target = _target(out_dir, path)
        if not (target.is_file() and target.stat().st_size == size and _sha256(target) == sha):
            write_atomic(target, documents.read_file(con, sha))
        written.append(target)
    write_atomic(out_dir / SUMMARY_NAME, csv)
    written.append(out_dir / SUMMARY_NAME)
    return written


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def finished_marker(con: Any) -> int:
    """The id of the latest finished notices run (0 when none): changes when another one finishes."""
    return con.execute("SELECT coalesce(max(id), 0) FROM runs WHERE kind = %s AND finished_at IS NOT NULL",
                       (KIND,)).fetchone()[0]


def copy_finished(con: Any, notices_root: Path, after: int) -> int:
    """Write every notices run finished after run `after` into notices_root/<notice date>/, in run order, and
    record the release notified when a run wrote notices and none failed; return the last run id copied."""
    from annex_gen.changes.bundle import notice_rows
    from annex_gen.changes.releases import record_notified
    from annex_gen.lifecycle.cases import notices_enclose_drafts

    rows = con.execute(
        "SELECT r.id, r.notice_date, r.registry_version, r.error, "
        "count(*) FILTER (WHERE i.status = 'generated'), count(*) FILTER (WHERE i.status = 'failed') "
        "FROM runs r LEFT JOIN run_items i ON i.run_id = r.id WHERE r.kind = %s AND r.finished_at IS NOT NULL "
        "AND r.id > %s GROUP BY r.id ORDER BY r.id", (KIND, after)).fetchall()
    last = after
    for run_id, notice_date, registry_version, error, written, failed in rows:
        last = run_id
        if error is not None and not written:  # never got going (its jobs could not be queued): nothing to write,
            continue  # and an earlier run's folder for the same date stays as it is
        folder = notices_root / notice_date.isoformat()
        export_run(con, run_id, folder)
        # the new list is what customers know from now on, once approved: drafts are written again after approval
        if written and not failed and error is None and not notices_enclose_drafts(folder, notice_rows(folder)):
            record_notified(notices_root, registry_version, notice_date)
    return last

