"""The navigation bar: one list, in display order; a page module adds its entry here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation bar, shown to users whose role grants permission."""

    path: str
    label: str  # a key of the web catalog
    permission: str


NAV: list[NavItem] = [
    NavItem("/customers", "nav.customers", "contracts.view"),
    NavItem("/registry", "nav.registry", "registry.view"),
    NavItem("/editor", "editor.nav", "registry.edit"),
    NavItem("/archive", "nav.archive", "legal"),
    NavItem("/changes", "nav.changes", "legal"),
    NavItem("/objections", "nav.objections", "legal"),
    NavItem("/releases", "nav.releases", "legal"),
    NavItem("/audit", "nav.audit", "legal"),
]
