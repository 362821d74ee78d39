"""Who may stay signed in, shared by a team's web instances: session generations and sign-in throttling.

`session_ends` holds each user's session generation in the database, beside the users file's
own: a session carries the generation it started with and ends, on every instance, when the
number moves on (signing out on any instance, `annex-gen users` with the team's database).
`signin_failures` counts failed sign-ins per user name and per client address for every
instance, with the rules of annex_gen.throttle and the database's clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from annex_gen.throttle import POLICIES, Policy, after_success, current, policy_of, wait

THROTTLE_LOCK = 0x7468726F  # "thro": sign-in attempts are counted one at a time (they are few)


def generation(con: Any, user: str) -> int:
    """A user's session generation in the database (0 until their sessions are first ended)."""
    row = con.execute("SELECT generation FROM session_ends WHERE user_name = %s", (user,)).fetchone()
    return int(row[0]) if row else 0


def end(con: Any, user: str, by: str) -> int:
    """End every session of a user on every instance; their new generation."""
    return int(con.execute(
        "INSERT INTO session_ends (user_name, generation, ended_by) VALUES (%s, 1, %s) "
        "ON CONFLICT (user_name) DO UPDATE SET generation = session_ends.generation + 1, ended_at = now(), "
        "ended_by = excluded.ended_by RETURNING generation", (user, by)).fetchone()[0])


class DatabaseThrottle:
    """A Throttle (annex_gen.throttle) counting in the database, so delays hold across instances.

    Times are the database's (every instance agrees), unless a clock is given (tests).
    """

    def __init__(self, url: str, policies: dict[str, Policy] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.url = url
        self.policies = policies or POLICIES
        self.clock = clock

    def _now(self, con: Any) -> float:
        if self.clock is not None:
            return self.clock()
        return float(con.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])

    def attempt(self, keys: Sequence[str]) -> float:
        from annex_gen.team.schema import connected

        with connected(self.url) as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (THROTTLE_LOCK,))
            now = self._now(con)
            longest = max(p.window for p in self.policies.values())
            con.execute("DELETE FROM signin_failures WHERE last_at < to_timestamp(%s)", (now - longest,))
            found = {key: (count, float(last)) for key, count, last in con.execute(
                "SELECT key, failures, extract(epoch FROM last_at) FROM signin_failures WHERE key = ANY(%s)",
                (list(keys),))}
            counts = {key: current(policy_of(self.policies, key), *found.get(key, (0, -math.inf)), now)
                      for key in keys}
            longest_wait = max((wait(policy_of(self.policies, key), *counts[key], now) for key in keys), default=0.0)
            if longest_wait > 0:
                return longest_wait
            for key in keys:
                con.execute("INSERT INTO signin_failures (key, failures, last_at) VALUES (%s, %s, to_timestamp(%s)) "
                            "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at",
                            (key, counts[key][0] + 1, now))
            return 0.0

    def succeeded(self, keys: Sequence[str]) -> None:
        from annex_gen.team.schema import connected

        with connected(self.url) as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (THROTTLE_LOCK,))
            for key in keys:
                row = con.execute("SELECT failures FROM signin_failures WHERE key = %s", (key,)).fetchone()
                left = after_success(key, int(row[0]) if row else 0)
                if left:
                    con.execute("UPDATE signin_failures SET failures = %s WHERE key = %s", (left, key))
                else:
                    con.execute("DELETE FROM signin_failures WHERE key = %s", (key,))


def end_everywhere(url: str, user: str, by: str) -> int:
    """End every session of a user on every web instance of the team; their new generation."""
    from annex_gen.team.schema import connected

    with connected(url) as con:
        return end(con, user, by)
