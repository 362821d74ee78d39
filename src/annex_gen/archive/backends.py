"""The archive's backends by location: a directory (SQLite) or a postgresql:// URL.

The factory sits beside the backends, so `index` (the interface) imports neither of them.
"""

from __future__ import annotations

from pathlib import Path

from annex_gen.archive.index import Index, is_server_url
from annex_gen.errors import ArchiveError


def open_index(location: str | Path, *, create: bool = False, migrate: bool = False) -> Index:
    """The index at a directory or a postgresql:// URL; with create, make it (and its schema) if needed.

    With migrate, an index at an older schema version is brought up to date.
    """
    if is_server_url(location):
        from annex_gen.archive.postgres_index import PostgresIndex

        return PostgresIndex.open(str(location), create=create, migrate=migrate)
    if "://" in str(location):
        raise ArchiveError(f"{location}: not an archive location; give a directory or a postgresql:// URL")
    from annex_gen.archive.sqlite_index import SqliteIndex

    return SqliteIndex.open(Path(location), create=create, migrate=migrate)
