"""Staged uploads: kept under their SHA-256 with a safe name, found again by token."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from annex_gen.archive.staging import Staging, safe_name, staging_dir
from annex_gen.errors import UsageError


def test_a_file_is_kept_by_hash_and_found_by_token(tmp_path: Path):
    staging = Staging(tmp_path)
    staged = staging.put(b"%PDF-1.7 data", "C:\\Users\\x\\Sopimus allekirjoitettu.pdf")
    assert staged.token == hashlib.sha256(b"%PDF-1.7 data").hexdigest()
    assert staged.name == "Sopimus allekirjoitettu.pdf"
    assert staging.get(staged.token).path.read_bytes() == b"%PDF-1.7 data"
    staging.discard(staged.token)
    with pytest.raises(UsageError, match="no longer waiting to be archived; upload it again"):
        staging.get(staged.token)


@pytest.mark.parametrize("token", ["../../etc", "abc", "A" * 64, ""])
def test_a_malformed_token_is_refused(tmp_path: Path, token: str):
    with pytest.raises(UsageError, match="upload it again"):
        Staging(tmp_path).get(token)


def test_names_are_made_safe():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("a<b>\"c\r\n.pdf") == "a_b_c_.pdf"
    assert safe_name("...") == "upload"


def test_an_empty_upload_is_refused(tmp_path: Path):
    with pytest.raises(UsageError, match="x.pdf: the file is empty"):
        Staging(tmp_path).put(b"", "x.pdf")


def test_uploads_left_waiting_for_a_day_are_dropped(tmp_path: Path):
    import os
    import time

    staging = Staging(tmp_path)
    old = staging.put(b"old", "old.pdf")
    day_ago = time.time() - 25 * 3600
    os.utime(old.path.parent, (day_ago, day_ago))
    new = staging.put(b"new", "new.pdf")
    assert not old.path.parent.exists() and staging.get(new.token).path.read_bytes() == b"new"


def test_uploads_wait_beside_a_directory_archive_under_out_for_a_url_or_in_the_state_directory(tmp_path: Path):
    url = "postgresql://annex_app:pw@db.example.fi/annexes"
    assert staging_dir(tmp_path / "archive", tmp_path / "out") == tmp_path / "archive" / ".incoming"
    assert staging_dir(url, tmp_path / "out") == tmp_path / "out" / ".incoming"
    assert staging_dir(url, tmp_path / "out", tmp_path / "state") == tmp_path / "state" / ".incoming"
    assert staging_dir(str(tmp_path / "archive"), tmp_path / "out", tmp_path / "state") == \
        tmp_path / "state" / ".incoming"
