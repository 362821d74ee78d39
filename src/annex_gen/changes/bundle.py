"""The notices of one run as a set: the files notices.csv lists, and a zip of them all."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from annex_gen.changes.notices import SUMMARY_NAME
from annex_gen.errors import UsageError

_FILE_COLUMNS = ("notice_pdf", "notice_docx", "annex_pdf", "annex_docx")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: the same files give the same zip


@dataclass(frozen=True)
class NoticeRow:
    """One line of notices.csv: a customer's notice, its dates and files (relative to the notices folder)."""

    customer_id: str
    customer_name: str
    language: str
    contact_email: str
    notice_date: str
    effective_date: str
    objection_deadline: str
    notice_id: str
    annex_document_id: str
    added: int
    removed: int
    changed: int
    files: dict[str, str]

    @property
    def key(self) -> str:
        """customer/notice: the notice as the lifecycle log knows it once sent."""
        return f"{self.customer_id}/{self.notice_id}"


def notice_rows(out_dir: Path) -> list[NoticeRow]:
    """The notices written into out_dir, as notices.csv lists them."""
    path = out_dir / SUMMARY_NAME
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no notices have been written there") from None
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        name = row["customer_name"]
        rows.append(NoticeRow(
            row["customer_id"], name[1:] if name[:2] in ("'=", "'+", "'-", "'@") else name, row["language"],
            row["contact_email"], row["notice_date"], row["effective_date"], row["objection_deadline"],
            row["notice_id"], row["annex_document_id"], int(row["added"]), int(row["removed"]),
            int(row["changed"]), {k: row[k] for k in _FILE_COLUMNS if row.get(k)}))
    return rows


def notice_files(out_dir: Path) -> list[str]:
    """notices.csv and every file it lists, relative to out_dir, in a stable order."""
    listed = {f for row in notice_rows(out_dir) for f in row.files.values()}
    return [SUMMARY_NAME, *sorted(listed)]


def notices_zip(out_dir: Path) -> bytes:
    """A zip of notices.csv and every notice and annex it lists; the same files give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in notice_files(out_dir):
            info = zipfile.ZipInfo(rel, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            try:
                zf.writestr(info, (out_dir / rel).read_bytes())
            except FileNotFoundError:
                raise UsageError(f"{out_dir / rel}: listed in {SUMMARY_NAME} but missing") from None
    return buf.getvalue()
