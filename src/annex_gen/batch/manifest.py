"""The batch manifest: what each customer's annex in an output directory was generated from.

`OUT/manifest.json` records, per customer, the document ID, the content hash, the registry
version, the templates digest, the input key and every file written (path, size, SHA-256).
It is rewritten atomically, so a reader (or the next batch) sees a whole manifest, and
`OUT/.annex-gen.lock` keeps two batches from writing the same directory at once.

The manifest is input too: a path in it that leads outside the output directory makes its
record corrupt (reported, never acted on). Before rendering, a batch lists the files it is
about to write in `OUT/.annex-gen.pending`; the sweep removes only those of them that no
record lists (and their partial files), so it never touches what anything else wrote there
and never walks the whole output directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from annex_gen.errors import Diagnostic, ManifestError, OutputError, OutputLocked
from annex_gen.output.write import write_atomic

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".annex-gen.lock"
PENDING_NAME = ".annex-gen.pending"
SCHEMA = "annex-gen/manifest/1"


class FileRecord(NamedTuple):
    """One file written for a customer, relative to the output directory."""

    path: str
    size: int
    sha256: str

    @classmethod
    def of(cls, out_dir: Path, path: Path) -> FileRecord:
        """The record of a file just written."""
        data = path.read_bytes()
        return cls(path.relative_to(out_dir).as_posix(), len(data), hashlib.sha256(data).hexdigest())


class Record(NamedTuple):
    """What one customer's annex was generated from, and the files written for it.

    Named tuples, like FileRecord: a manifest of 10,000 customers is read by every batch.
    """

    customer_id: str
    source: str
    input_key: str
    document_id: str
    content_hash: str
    registry_version: str
    templates: str
    files: Mapping[str, FileRecord]
    generated_at: str
    source_stamp: str | None = None  # the input file as last read (sources.stamp_of), when trusted
    source_sha256: str | None = None  # the digest of the input as last read
    status: str | None = None  # "draft" or "final" (None: a manifest written before statuses were kept)
    in_force: str | None = None  # a draft's: the final annex still in force (resolve.in_force_after)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "source": self.source,
            "input_key": self.input_key,
            "document_id": self.document_id,
            "content_hash": self.content_hash,
            "registry_version": self.registry_version,
            "templates": self.templates,
            "generated_at": self.generated_at,
            "files": {fmt: {"path": f.path, "size": f.size, "sha256": f.sha256}
                      for fmt, f in self.files.items()},
        }
        if self.source_stamp is not None:
            out["source_stamp"] = self.source_stamp
        if self.source_sha256 is not None:  # the input as read, even when its stamp cannot be trusted
            out["source_sha256"] = self.source_sha256
        if self.status is not None:
            out["status"] = self.status
        if self.in_force is not None:
            out["in_force"] = self.in_force
        return out

    @classmethod
    def from_dict(cls, customer_id: str, data: Mapping[str, Any]) -> Record:
        """Read a record; raise KeyError or TypeError on a malformed one."""
        files = {fmt: FileRecord(str(f["path"]), int(f["size"]), str(f["sha256"]))
                 for fmt, f in data["files"].items()}
        stamp, digest = data.get("source_stamp"), data.get("source_sha256")
        digest = digest if isinstance(digest, str) else None
        stamp = stamp if isinstance(stamp, str) and digest is not None else None
        status, in_force = data.get("status"), data.get("in_force")
        return cls(customer_id, str(data["source"]), str(data["input_key"]), str(data["document_id"]),
                   str(data["content_hash"]), str(data["registry_version"]), str(data["templates"]),
                   files, str(data["generated_at"]), stamp, digest, status if status in ("draft", "final") else None,
                   in_force if isinstance(in_force, str) else None)


class Inside:
    """out_dir / relative for the relative paths that stay inside out_dir, else None.

    Refused: '..', an absolute path, a NUL, and a symbolic link (of a directory or of the file)
    that leads out. Only links are resolved, and each directory is listed once, so checking
    every file of a large manifest costs about one lstat a file. The size of each regular file
    seen is kept in `sizes`.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.base = os.fspath(out_dir).rstrip(os.sep) + os.sep
        self.root = os.path.realpath(out_dir)
        self.directories: dict[str, bool] = {"": True}
        self.listed: dict[str, set[str]] = {}
        self.sizes: dict[str, int] = {}

    def __call__(self, relative: str) -> Path | None:
        return self.out_dir / relative if self.allows(relative) else None

    def allows(self, relative: str) -> bool:
        """Whether out_dir / relative stays inside out_dir."""
        if (not relative or relative[0] == "/" or "\0" in relative
                or (".." in relative and ".." in relative.split("/"))):
            return False
        try:
            directory = relative.rpartition("/")[0]
            inside = self.directories.get(directory)
            if inside is None:
                inside = self._directory_inside(directory)
            if not inside:
                return False
            try:
                st = os.lstat(self.base + relative)
            except (FileNotFoundError, NotADirectoryError):
                return True  # its directories were checked
            if stat.S_ISREG(st.st_mode):
                self.sizes[relative] = st.st_size
            elif stat.S_ISLNK(st.st_mode):
                return self._leads_inside(relative)
            return True
        except (OSError, RuntimeError):
            return False

    def _directory_inside(self, directory: str) -> bool:
        known = self.directories.get(directory)
        if known is None:
            parent, _, name = directory.rpartition("/")
            known = self._directory_inside(parent) and (name not in self._links(parent)
                                                        or self._leads_inside(directory))
            self.directories[directory] = known
        return known

    def _links(self, directory: str) -> set[str]:
        """The names of the symbolic links in a directory: one listing instead of an lstat per subdirectory."""
        links = self.listed.get(directory)
        if links is None:
            try:
                with os.scandir(self.base + directory if directory else self.base) as entries:
                    links = {e.name for e in entries if e.is_symlink()}
            except (FileNotFoundError, NotADirectoryError):
                links = set()
            self.listed[directory] = links
        return links

    def _leads_inside(self, relative: str) -> bool:
        real = os.path.realpath(self.base + relative)
        return real == self.root or real.startswith(self.root.rstrip(os.sep) + os.sep)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class Manifest:
    """The records of one output directory, keyed by customer id, and the records refused as corrupt."""

    out_dir: Path
    records: dict[str, Record] = field(default_factory=dict)
    corrupt: list[Diagnostic] = field(default_factory=list)
    # file path -> size, as seen while loading; each is used once by files_present, then it stats
    seen_sizes: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> Path:
        """Where the manifest lives."""
        return self.out_dir / MANIFEST_NAME

    @classmethod
    def load(cls, out_dir: Path) -> Manifest:
        """The manifest of out_dir; empty if there is none yet."""
        path = out_dir / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(out_dir)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ManifestError(f"{path}: cannot read the manifest ({exc}); "
                                "remove it or run with --force to rebuild it") from None
        try:
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r} is not {SCHEMA!r}")
            records = {cid: Record.from_dict(cid, rec) for cid, rec in data["customers"].items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{path}: not an annex-gen manifest ({type(exc).__name__}: {exc}); "
                                "remove it or run with --force to rebuild it") from None
        manifest = cls(out_dir)
        contained = Inside(out_dir)
        for cid, record in records.items():
            outside = [f.path for f in record.files.values() if not contained.allows(f.path)]
            if outside:
                shown = repr(outside[0]) if len(outside[0]) <= 80 else repr(outside[0][:76] + "...")
                manifest.corrupt.append(Diagnostic(
                    str(path), None, None, f"customers.{cid}",
                    f"file path {shown} is outside {out_dir}; the record is corrupt and ignored (its "
                    "files are left alone, the annex is generated again)", "warning"))
            else:
                manifest.records[cid] = record
        manifest.seen_sizes = contained.sizes
        return manifest

    def save(self) -> None:
        """Write the manifest atomically."""
        # One customer a line: greppable, and written by json's C encoder (indenting is pure Python).
        head = json.dumps({"schema": SCHEMA, "updated": _now()})[:-1]
        lines = [f"{json.dumps(cid, ensure_ascii=False)}: {json.dumps(self.records[cid].to_dict(), ensure_ascii=False)}"
                 for cid in sorted(self.records)]
        text = head + ', "customers": {' + ("\n" + ",\n".join(lines) + "\n" if lines else "") + "}}\n"
        write_atomic(self.path, text.encode("utf-8"))

    def by_source(self) -> dict[str, Record]:
        """The records keyed by the input they came from."""
        return {r.source: r for r in self.records.values()}

    def stamps(self) -> dict[str, tuple[str, str]]:
        """Input file label -> (stamp, digest) as recorded, for sources.gather."""
        return {r.source: (r.source_stamp, r.source_sha256) for r in self.records.values()
                if r.source_stamp is not None and r.source_sha256 is not None}

    def files_present(self, record: Record) -> bool:
        """Whether every file of the record is on disk with its recorded size."""
        for f in record.files.values():
            size = self.seen_sizes.pop(f.path, None)
            if size is None:
                try:
                    size = (self.out_dir / f.path).stat().st_size
                except OSError:
                    return False
            if size != f.size:
                return False
        return True

    def referenced(self) -> set[Path]:
        """Every file the manifest lists."""
        return {self.out_dir / f.path for r in self.records.values() for f in r.files.values()}

    def begin(self, paths: list[Path]) -> None:
        """Record the files a batch is about to write, so a killed run's leftovers can be found and only those."""
        names = sorted({p.relative_to(self.out_dir).as_posix() for p in paths})
        write_atomic(self.out_dir / PENDING_NAME, (json.dumps(names, indent=0) + "\n").encode("utf-8"))

    def _pending(self) -> list[Path] | None:
        """The files a batch listed before writing them; None if no batch left a list."""
        try:
            names = json.loads((self.out_dir / PENDING_NAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return []
        if not isinstance(names, list):
            return []
        contained = Inside(self.out_dir)
        return [p for p in (contained(n) for n in names if isinstance(n, str)) if p is not None]

    def sweep(self) -> list[Path]:
        """Delete the pending files no record lists, and partial files of them and of the manifest.

        Both are what a killed (or failed) batch leaves behind; nothing else in the output
        directory is touched. Only the directories of pending files are listed, and none at
        all when no batch left a list (a batch with nothing to render).
        """
        pending = self._pending()
        if pending is None:
            return []
        keep = self.referenced()
        candidates = [p for p in pending if p not in keep]
        names_by_dir: dict[Path, set[str]] = {self.out_dir: {MANIFEST_NAME, PENDING_NAME}}
        for p in pending:
            names_by_dir.setdefault(p.parent, set()).add(p.name)
        for directory, names in names_by_dir.items():
            with contextlib.suppress(OSError):
                # write_atomic's temporary files are ".<name>.<random>.part"
                candidates += [e for e in directory.iterdir()
                               if e.name.endswith(".part") and e.name.startswith(".")
                               and e.name[1:].rsplit(".", 2)[0] in names]
        removed = []
        for path in candidates:
            if path.is_file() and not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
        with contextlib.suppress(FileNotFoundError):
            (self.out_dir / PENDING_NAME).unlink()
        return removed


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold the output directory's lock; raise OutputLocked if another batch holds it."""
    import fcntl

    path = out_dir / LOCK_NAME
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot use {out_dir} as the output directory: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            raise OutputLocked(out_dir=out_dir, holder=holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {_now()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
