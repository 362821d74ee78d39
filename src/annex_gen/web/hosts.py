"""Which Host and Origin a request may carry: the served name, loopback names and --allowed-host names.

A page on another site can resolve its own name to 127.0.0.1 (DNS rebinding) and so reach a
loopback server; its requests carry that other name in Host, and are refused. A form sent from
another site carries that site in Origin, and is refused whatever its CSRF token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from annex_gen.web.settings import is_loopback

DEFAULT_PORTS = {"http": 80, "https": 443}
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def split_host(value: str, scheme: str = "http") -> tuple[str, int | None] | None:
    """(name, port) of a Host header value or an origin's netloc, the name lower-case; None if malformed."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return name.lower().rstrip("."), port if port is not None else DEFAULT_PORTS.get(scheme)


def allowed_names(served: str, extra: tuple[str, ...]) -> frozenset[str]:
    """The names a request's Host may carry besides loopback ones: the served address and the extra names."""
    names = {name.strip().lower().rstrip(".").strip("[]") for name in extra}
    if served.strip("[]") not in WILDCARDS and not is_loopback(served):
        names.add(served.lower().strip("[]"))
    return frozenset(names)


def host_allowed(host: str | None, names: frozenset[str]) -> bool:
    """Whether a Host header names this server: a loopback name or address, or one of names."""
    parsed = split_host(host) if host else None
    return parsed is not None and (is_loopback(parsed[0]) or parsed[0] in names)


def origin_allowed(origin: str, host: str | None, scheme: str, names: frozenset[str]) -> bool:
    """Whether a form's Origin is this server: the request's own scheme, host and port, or one of names."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in DEFAULT_PORTS or parts.path not in ("", "/"):
        return False  # includes "null": a sandboxed frame, a file, or a redirect from elsewhere
    sent = split_host(parts.netloc, parts.scheme)
    own = split_host(host, scheme) if host else None
    return sent is not None and ((sent == own and parts.scheme == scheme) or sent[0] in names)
