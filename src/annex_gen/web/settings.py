"""What the server serves and how: directories, users, limits. One frozen object per application."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from annex_gen.archive.index import DEFAULT_ARCHIVE, shown_url
from annex_gen.archive.staging import staging_dir
from annex_gen.errors import UsageError
from annex_gen.web.formats import DEFAULT_TIME_ZONE, time_zone

DEFAULT_BODY_LIMIT = 1024 * 1024  # a contract form is a few kilobytes
UPLOAD_BODY_LIMIT = 100 * 1024 * 1024 + 64 * 1024  # the archive's file limit, plus the form around it
OBJECTION_BODY_LIMIT = 20 * 1024 * 1024 + 64 * 1024  # an objection's letter, plus the form around it


def is_loopback(host: str) -> bool:
    """Whether host only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """The configuration of one web application."""

    registry_dir: Path = Path("registry")
    """The registry served (its version is shown on every page)."""
    customers_dir: Path = Path("customers")
    """Contract YAML files (editable) and CRM CSV exports (read-only)."""
    out_dir: Path = Path("output")
    """Where generated annexes are cached: OUT/<customer>/<document-id>.<pdf|docx>."""
    users_file: Path | None = None
    """Users and their roles; None serves without login (loopback only)."""
    host: str = "127.0.0.1"
    """The address served; any but loopback requires users_file."""
    allowed_hosts: tuple[str, ...] = ()
    """Names a request's Host may carry besides the served address and loopback names (behind a proxy)."""
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    """Signs session cookies; a fresh one per start unless given (sessions end on restart)."""
    secure_cookies: bool = False
    """Send the session cookie over HTTPS only (behind a TLS-terminating reverse proxy)."""
    archive: str | Path = DEFAULT_ARCHIVE
    """The signed-annex archive (legal's pages) as given: a directory or a postgresql:// URL; the audit log
    lives with it (beside a directory's index, in a database's archive schema)."""
    state_dir: Path | None = None
    """Local state of the server (uploads waiting to be stored); None: the archive directory, or out_dir for a
    postgresql:// archive."""
    team_url: str | None = None
    """A team's database (a postgresql:// archive with the team schema): contracts are kept there, customers_dir
    is this instance's working copy of them, and the Changes page's batch is a run on its job queue."""
    body_limits: tuple[tuple[str, int], ...] = (("/", DEFAULT_BODY_LIMIT), ("/archive/upload", UPLOAD_BODY_LIMIT),
                                               ("/objections", OBJECTION_BODY_LIMIT))
    """Request body limits by path prefix; the longest matching prefix applies."""
    render_workers: int | None = None
    """Processes that render annexes for downloads, shared by all requests; None: one per core."""
    debug: bool = False
    """Log tracebacks of unexpected errors (pages never show them)."""
    time_zone: str = DEFAULT_TIME_ZONE
    """The IANA time zone pages show times in (stored times are UTC)."""

    def __post_init__(self) -> None:
        time_zone(self.time_zone)
        if self.users_file is None and not is_loopback(self.host):
            raise UsageError(
                f"serving on {self.host} needs logins: pass --users FILE "
                "(create it with `annex-gen users add NAME --role sales`), or serve on 127.0.0.1"
            )

    @property
    def archive_shown(self) -> str:
        """The archive's location as pages and logs show it (a URL without its password)."""
        return shown_url(str(self.archive))

    @property
    def staging_dir(self) -> Path:
        """Where uploaded files wait between the read-back and the store."""
        return staging_dir(self.archive, self.out_dir, self.state_dir)

    @property
    def login_required(self) -> bool:
        """Whether every page but the login page needs a signed-in user."""
        return self.users_file is not None

    def body_limit(self, path: str) -> int:
        """The largest request body accepted for path."""
        matches = [(len(prefix), limit) for prefix, limit in self.body_limits if path.startswith(prefix)]
        return max(matches)[1] if matches else DEFAULT_BODY_LIMIT
