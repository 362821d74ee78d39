"""Contracts in the database: every saved version kept, with who saved it and when.

A contract is its YAML text, as in a customers folder; a save adds a version (a text equal to
the latest adds none). `import_folder` and `export_folder` move contracts between a folder and
the database. The web application keeps a working copy (`Mirror`): a folder holding each
contract's latest text, brought up to date from the database before a request reads it, so
every instance shows the same contracts; a save goes to the database under a lock, after the
same conflict check as a folder save.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annex_gen.errors import Diagnostic, InvalidInput, NotFound
from annex_gen.hashing import sha256_text
from annex_gen.output.write import write_atomic

SAVE_LOCK = 0x636F6E74  # "cont": a save's conflict check and insert are one step across instances
CUSTOMER_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Version:
    """One saved version of a contract."""

    customer_id: str
    version: int
    sha256: str
    saved_by: str
    saved_at: str
    text: str = ""


def _iso(value: Any) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest(con: Any, *, with_text: bool = True) -> list[Version]:
    """Each contract's latest version, by customer id."""
    rows = con.execute(f"SELECT DISTINCT ON (customer_id) customer_id, version, sha256, saved_by, saved_at"
                       f"{', body' if with_text else ''} FROM contracts ORDER BY customer_id, version DESC").fetchall()
    return [Version(r[0], r[1], r[2], r[3], _iso(r[4]), r[5] if with_text else "") for r in rows]


def history(con: Any, customer_id: str) -> list[Version]:
    """Every version of one contract, oldest first; NotFound when there is none."""
    rows = con.execute("SELECT customer_id, version, sha256, saved_by, saved_at, body FROM contracts "
                       "WHERE customer_id = %s ORDER BY version", (customer_id,)).fetchall()
    if not rows:
        raise NotFound(f"no contract for the customer id {customer_id!r} in the database")
    return [Version(r[0], r[1], r[2], r[3], _iso(r[4]), r[5]) for r in rows]


def marker(con: Any) -> int:
    """Changes whenever any contract is saved (versions are only ever added)."""
    return con.execute("SELECT coalesce(max(seq), 0) FROM contracts").fetchone()[0]


def add_version(con: Any, customer_id: str, text: str, saved_by: str) -> int | None:
    """Store text as the contract's next version (in the caller's transaction); None when it equals the latest."""
    if not CUSTOMER_ID.fullmatch(customer_id):
        raise InvalidInput([Diagnostic(customer_id, None, None, "customer.id",
                                       "expected a customer id of a-z, 0-9 and hyphens")])
    row = con.execute("SELECT version, sha256 FROM contracts WHERE customer_id = %s ORDER BY version DESC LIMIT 1",
                      (customer_id,)).fetchone()
    digest = sha256_text(text)
    if row is not None and row[1] == digest:
        return None
    version = (row[0] if row else 0) + 1
    con.execute("INSERT INTO contracts (customer_id, version, body, sha256, saved_by) VALUES (%s, %s, %s, %s, %s)",
                (customer_id, version, text, digest, saved_by))
    return version


@contextlib.contextmanager
def save_lock(con: Any) -> Iterator[None]:
    """A transaction holding the save lock."""
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (SAVE_LOCK,))
        yield


@dataclass(frozen=True)
class Imported:
    """What an import did: (customer id, new version) per contract saved, and those unchanged."""

    saved: list[tuple[str, int]]
    unchanged: list[str]


def import_folder(con: Any, registry: Any, paths: list[Path], saved_by: str) -> Imported:
    """Every contract YAML file of paths, validated first (all problems, nothing stored), then stored."""
    from annex_gen.inputs.sources import gather

    sources, failures = gather(paths)
    problems: list[Diagnostic] = [d for f in failures for d in (f.diagnostics or
                                  (Diagnostic(f.label, None, None, "", f.message),))]
    texts: dict[str, tuple[str, str]] = {}
    for source in sources:
        if source.row is not None:
            problems.append(Diagnostic(source.label, None, None, "", "a CRM export row is not a contract file; "
                                       "import the contract YAML files (the database keeps contracts as YAML)"))
            continue
        try:
            contract, _warnings = source.load(registry)
        except InvalidInput as exc:
            problems += [d for d in exc.diagnostics if d.severity == "error"]
            continue
        if contract.customer_id in texts:
            problems.append(Diagnostic(source.label, None, None, "customer.id",
                                       f"the customer id {contract.customer_id!r} is also in "
                                       f"{texts[contract.customer_id][0]}"))
            continue
        text = source.text if source.text is not None else Path(source.label).read_text(encoding="utf-8")
        texts[contract.customer_id] = (source.label, text.removeprefix("\ufeff"))
    if problems:
        raise InvalidInput(problems)
    saved, unchanged = [], []
    with save_lock(con):
        for cid, (_label, text) in sorted(texts.items()):
            version = add_version(con, cid, text, saved_by)
            if version is None:
                unchanged.append(cid)
            else:
                saved.append((cid, version))
    return Imported(saved, unchanged)


def export_folder(con: Any, out_dir: Path) -> list[Path]:
    """Each contract's latest text as OUT/<customer-id>.yaml."""
    written = []
    for version in latest(con):
        if not CUSTOMER_ID.fullmatch(version.customer_id):  # never a path outside out_dir
            continue
        path = out_dir / f"{version.customer_id}.yaml"
        write_atomic(path, version.text.encode("utf-8"))
        written.append(path)
    return written


class Mirror:
    """A folder holding each contract's latest text, brought up to date from the database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: int | None = None

    def sync(self, con: Any, *, force: bool = False) -> None:
        """Write what changed in the database since the last sync, and remove contracts that are not there."""
        now = marker(con)
        if now == self.seen and not force:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        wanted = {}
        for version in latest(con):
            if CUSTOMER_ID.fullmatch(version.customer_id):
                wanted[f"{version.customer_id}.yaml"] = version
        for name, version in wanted.items():
            path = self.folder / name
            try:
                current = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                current = None
            if current is None or sha256_text(current) != version.sha256:
                write_atomic(path, version.text.encode("utf-8"))
        for path in self.folder.glob("*.y*ml"):
            if path.name not in wanted:
                path.unlink(missing_ok=True)
        self.seen = now
