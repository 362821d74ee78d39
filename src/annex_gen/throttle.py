"""Sign-in throttling: growing delays after repeated failures, per user name and per client address.

Every attempt counts as a failure when it starts (so parallel guesses see each other) and is
taken back when it succeeds. After a key's free failures, the next attempt must wait a delay
that doubles with each further failure, up to a cap; a key's failures are forgotten once it
has had none for the window. Refused attempts are not counted (nobody can push the wait out
further while waiting).

`Throttle` is the interface the web server uses; `MemoryThrottle` keeps its state in one
process; a team's web instances share theirs in the database (annex_gen.team.sessions), with
the same rules (`current`, `wait`, `after_success`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Policy:
    """How a kind of key is throttled."""

    free: int
    """Failures allowed without any wait."""
    first_delay: float
    """Seconds to wait once the free failures are used up; doubles with each further failure."""
    max_delay: float
    """The longest wait."""
    window: float
    """Seconds without a failure after which a key's failures are forgotten."""

    def delay(self, failures: int) -> float:
        """The wait after this many failures."""
        if failures < self.free:
            return 0.0
        return min(self.first_delay * 2 ** min(failures - self.free, 64), self.max_delay)


# A person mistyping stays well within these; a guesser gets a few dozen tries a day per name.
USER_POLICY = Policy(free=5, first_delay=2.0, max_delay=15 * 60, window=24 * 3600)
ADDRESS_POLICY = Policy(free=20, first_delay=1.0, max_delay=15 * 60, window=24 * 3600)
MAX_KEYS = 100_000  # beyond this, keys whose window has passed are dropped first
POLICIES = {"user": USER_POLICY, "address": ADDRESS_POLICY}


def policy_of(policies: dict[str, Policy], key: str) -> Policy:
    """The policy of a key's kind ("user:NAME" -> policies["user"])."""
    return policies[key.split(":", 1)[0]]


def current(policy: Policy, count: int, last: float, now: float) -> tuple[int, float]:
    """A key's failures and the time of the last, or (0, -inf) once its window has passed."""
    return (0, -math.inf) if now - last >= policy.window else (count, last)


def wait(policy: Policy, count: int, last: float, now: float) -> float:
    """Seconds a key with these current failures must still wait (0 or less: none)."""
    return last + policy.delay(count) - now


def after_success(key: str, count: int) -> int:
    """A key's failures once its counted attempt succeeded: a user name's are forgotten, an address's one less."""
    return 0 if key.startswith("user:") else max(count - 1, 0)


class Throttle(Protocol):
    """Where sign-in attempts are counted, by key ("user:NAME", "address:IP")."""

    def attempt(self, keys: Sequence[str]) -> float:
        """Seconds to wait before an attempt with these keys may be made (nothing counted), or 0: counted."""

    def succeeded(self, keys: Sequence[str]) -> None:
        """The attempt counted for these keys succeeded: take it back, and forget a user name's failures."""


class MemoryThrottle:
    """A Throttle in this process's memory (thread-safe)."""

    def __init__(self, policies: dict[str, Policy] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policies = policies or POLICIES
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, time of the last)

    def _policy(self, key: str) -> Policy:
        return policy_of(self.policies, key)

    def _current(self, key: str, now: float) -> tuple[int, float]:
        return current(self._policy(key), *self._failures.get(key, (0, -math.inf)), now)

    def attempt(self, keys: Sequence[str]) -> float:
        with self._lock:
            now = self.clock()
            longest = 0.0
            for key in keys:
                longest = max(longest, wait(self._policy(key), *self._current(key, now), now))
            if longest > 0:
                return longest
            if len(self._failures) >= MAX_KEYS:
                self._prune(now)
            for key in keys:
                self._failures[key] = (self._current(key, now)[0] + 1, now)
            return 0.0

    def succeeded(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                left = after_success(key, count)
                if left:
                    self._failures[key] = (left, last)
                else:
                    self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, (_, last) in self._failures.items() if now - last >= self._policy(k).window]:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:  # still full: the oldest go
            for key in sorted(self._failures, key=lambda k: self._failures[k][1])[: MAX_KEYS // 10]:
                del self._failures[key]
