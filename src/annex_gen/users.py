"""The users file: who may sign in, with which role; passwords stored as argon2id hashes only.

Each user also has a session generation (`sessions`): every session carries the generation it
started with and ends when the number moves on (sign-out, a new password or role, `users
sign-out`). Every change is a locked read-modify-write, so the server and the command line
never undo each other's edits.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.inputs.yamlio import load

ROLES = ("sales", "legal", "admin")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 12  # OWASP asks at least 8 with multi-factor, 15 without; 12 for a tool behind single sign-in
MAX_PASSWORD = 1024
# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 passes, 1 lane.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
HEADER = ("# annex-gen users: written by `annex-gen users`; passwords are argon2id hashes;\n"
          "# sessions: ends every session of the user when it changes (sign-out, new password or role)\n")
FILE_MODE = 0o600
# At most one check per core at a time: each takes 19 MiB and a core for tens of milliseconds.
_CHECKS = threading.BoundedSemaphore(max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                         else os.cpu_count() or 1))


@dataclass(frozen=True)
class User:
    """A person who may sign in, what their role lets them do, and their session generation."""

    name: str
    role: str
    password_hash: str = ""
    sessions: int = 0


def _hasher():  # noqa: ANN202 - argon2 imported only where passwords are handled
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                          parallelism=ARGON2_PARALLELISM, type=Type.ID)


def hash_password(password: str) -> str:
    """An argon2id hash of password with the parameters above (salted: differs every time)."""
    return _hasher().hash(password)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("no such user")  # once per process: an unknown name costs one check, as a known one


def verify_password(user: User | None, password: str) -> bool:
    """Whether password is user's; checks a dummy hash when there is no such user, so timing says nothing."""
    from argon2.exceptions import InvalidHashError, VerificationError

    target = user.password_hash if user else _dummy_hash()
    try:
        with _CHECKS:
            return _hasher().verify(target, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def weak_hash(password_hash: str) -> bool:
    """Whether a stored hash costs less than the OWASP minimum (argon2id; memory x passes of 19 MiB x 2)."""
    from argon2 import Type, extract_parameters

    p = extract_parameters(password_hash)
    return (p.type is not Type.ID or p.memory_cost < 7 * 1024
            or p.memory_cost * p.time_cost < ARGON2_MEMORY_KIB * ARGON2_TIME_COST)


def load_users(path: Path) -> dict[str, User]:
    """The users of a users file; raise InvalidInput with every problem."""
    from argon2.exceptions import InvalidHashError

    if not path.is_file():
        raise UsageError(f"{path}: no such users file; create it with `annex-gen users add NAME --role sales "
                         f"--users {path}`")
    doc = load(path)
    problems: list[Diagnostic] = []
    users: dict[str, User] = {}
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise InvalidInput([doc.diag((), "expected a mapping with the key 'users'")])
    for name, entry in data["users"].items():
        where = ("users", name)
        if not NAME_RE.match(str(name)):
            problems.append(doc.diag(where, f"{name!r} is not a user name (a-z, 0-9, '.', '_', '-')", key=True))
            continue
        if not isinstance(entry, dict) or not {"role", "password"} <= set(entry) <= {"role", "password", "sessions"}:
            problems.append(doc.diag(where, "expected the keys role and password (and sessions)"))
            continue
        if entry["role"] not in ROLES:
            problems.append(doc.diag((*where, "role"), f"unknown role {entry['role']!r}; expected one of "
                                     + ", ".join(ROLES)))
            continue
        sessions = entry.get("sessions", 0)
        if not isinstance(sessions, int) or isinstance(sessions, bool) or sessions < 0:
            problems.append(doc.diag((*where, "sessions"), "expected a whole number, 0 or more"))
            continue
        try:
            if not str(entry["password"]).startswith("$argon2"):
                raise InvalidHashError
            weak_hash(str(entry["password"]))
        except (InvalidHashError, ValueError):
            problems.append(doc.diag((*where, "password"), "expected an argon2 hash written by `annex-gen users add`"))
            continue
        users[name] = User(name, entry["role"], entry["password"], sessions)
    if problems:
        raise InvalidInput(problems)
    return users


def users_text(users: dict[str, User]) -> str:
    """The users file for these users, sorted by name."""
    lines = [HEADER, "users:\n" if users else "users: {}\n"]
    for name in sorted(users):
        user = users[name]
        lines.append(f"  {name}:\n    role: {user.role}\n    password: '{user.password_hash}'\n")
        if user.sessions:
            lines.append(f"    sessions: {user.sessions}\n")
    return "".join(lines)


def check_new_user(name: str, role: str, password: str) -> None:
    """Refuse a user name, role or password that cannot be used."""
    if not NAME_RE.match(name):
        raise UsageError(f"{name!r} is not a user name: use a-z, 0-9, '.', '_' and '-', at most 64 characters")
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters "
                         "(a few unrelated words are easy to remember)")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"the password is too long: use at most {MAX_PASSWORD} characters")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the users file's lock (a file beside it) for a read-modify-write."""
    lock = path.with_name(f".{path.name}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot lock the users file {path}: {exc.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def update_users(path: Path, change: Callable[[dict[str, User]], None], *, create: bool = False) -> dict[str, User]:
    """Apply change to the users of path in place and write the file (mode 0600); the users written."""
    from annex_gen.output.write import write_atomic

    with _locked(path):
        users = load_users(path) if create is False or path.exists() else {}
        change(users)
        write_atomic(path, users_text(users).encode("utf-8"), mode=FILE_MODE)
        return users


def set_user(users: dict[str, User], name: str, role: str, password: str) -> None:
    """Add a user or give them a new role and password; their sessions so far end."""
    old = users.get(name)
    users[name] = User(name, role, hash_password(password), old.sessions + 1 if old else 0)


def end_sessions(users: dict[str, User], name: str) -> None:
    """End every session of a user (their session generation moves on)."""
    if name not in users:
        raise UsageError(f"no user {name!r} in the users file")
    users[name] = replace(users[name], sessions=users[name].sessions + 1)


def file_warnings(path: Path, users: dict[str, User]) -> list[str]:
    """What an operator should fix in a users file that loads: who else may read it, weak hashes."""
    warnings = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.append(f"{path}: other users of this machine may read the password hashes (mode {mode:04o}); "
                        f"make it private with: chmod 600 {path}")
    weak = sorted(name for name, user in users.items() if weak_hash(user.password_hash))
    if weak:
        warnings.append(f"{path}: the password hashes of {', '.join(weak)} are weaker than argon2id with "
                        f"{ARGON2_MEMORY_KIB // 1024} MiB and {ARGON2_TIME_COST} passes; each is hashed again at "
                        "the user's next sign-in (or set a new password with `annex-gen users add`)")
    return warnings
