"""Who may do what: every permission a page needs, granted to roles in one place."""

from __future__ import annotations

from annex_gen.users import ROLES, User

PERMISSIONS: dict[str, frozenset[str]] = {
    "contracts.view": frozenset(ROLES),
    "contracts.edit": frozenset({"sales", "admin"}),
    "registry.view": frozenset(ROLES),
    "legal": frozenset({"legal", "admin"}),
    "registry.edit": frozenset({"legal", "admin"}),
}

# Serving on loopback without a users file: the person at this machine may do everything.
LOCAL_USER = User("local", "admin")


def allowed(user: User | None, permission: str | None) -> bool:
    """Whether user may use a page that needs permission (None: any visitor, signed in or not)."""
    if permission is None:
        return True
    if user is None:
        return False
    return user.role in PERMISSIONS[permission]
