"""The users file: who may sign in, with which role; passwords stored as argon2id hashes only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from annex_gen.errors import Diagnostic, InvalidInput, UsageError
from annex_gen.inputs.yamlio import load

ROLES = ("sales", "legal", "admin")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
HEADER = "# annex-gen users: written by `annex-gen users add`; passwords are argon2id hashes\n"


@dataclass(frozen=True)
class User:
    """A person who may sign in, and what their role lets them do."""

    name: str
    role: str
    password_hash: str = ""


def _hasher():  # noqa: ANN202 - argon2 imported only where passwords are handled
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of password (salted: differs every time)."""
    return _hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Whether password is user's; hashes a dummy when there is no such user, so timing says nothing."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    target = user.password_hash if user else _DUMMY.setdefault("hash", hasher.hash("no such user"))
    try:
        return hasher.verify(target, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[str, str] = {}


def load_users(path: Path) -> dict[str, User]:
    """The users of a users file; raise InvalidInput with every problem."""
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
        if not isinstance(entry, dict) or set(entry) != {"role", "password"}:
            problems.append(doc.diag(where, "expected the keys role and password"))
            continue
        if entry["role"] not in ROLES:
            problems.append(doc.diag((*where, "role"), f"unknown role {entry['role']!r}; expected one of "
                                     + ", ".join(ROLES)))
            continue
        if not str(entry["password"]).startswith("$argon2"):
            problems.append(doc.diag((*where, "password"), "expected an argon2 hash written by `annex-gen users add`"))
            continue
        users[name] = User(name, entry["role"], entry["password"])
    if problems:
        raise InvalidInput(problems)
    return users


def users_text(users: dict[str, User]) -> str:
    """The users file for these users, sorted by name."""
    lines = [HEADER, "users:\n"]
    for name in sorted(users):
        user = users[name]
        lines.append(f"  {name}:\n    role: {user.role}\n    password: '{user.password_hash}'\n")
    return "".join(lines)


def check_new_user(name: str, role: str, password: str) -> None:
    """Refuse a user name, role or password that cannot be used."""
    if not NAME_RE.match(name):
        raise UsageError(f"{name!r} is not a user name: use a-z, 0-9, '.', '_' and '-', at most 64 characters")
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters")
