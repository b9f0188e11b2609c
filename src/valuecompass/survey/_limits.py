"""How fast new participants may take quota places: per network address, and study-wide.

A quota place is taken when a participant sends the demographics page. Without a limit, a
script could send made-up Prolific ids from one machine and hold every cell (issue 14). Two
sliding windows, kept in the server's memory, bound that: at most ``holds_per_address``
places per address per hour and ``holds_per_minute`` for the whole study. Places taken by
someone who then does no work are short besides (``first_hold_minutes``; see the quota code).

Wrong admin tokens are bounded the same way (:class:`Attempts`): at most
``FAILURES_PER_ADDRESS`` from one address and ``FAILURES_OVERALL`` from all addresses in
``FAILURE_WINDOW`` seconds; past either, every token presented from that address (or from
any, past the overall bound) is answered 429 without being checked, right or wrong.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

HOUR, MINUTE = 3600.0, 60.0
#: Wrong admin tokens allowed per address, and from all addresses, in FAILURE_WINDOW seconds.
FAILURES_PER_ADDRESS = 10
FAILURES_OVERALL = 100
FAILURE_WINDOW = 15 * MINUTE
#: Addresses remembered before those with nothing in their window are forgotten.
MAX_ADDRESSES = 50_000


class HoldLimits:
    """Sliding-window counts of places taken, by address and in all; thread-safe."""

    def __init__(
        self,
        per_address: int,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_minute = per_minute
        self.clock = clock
        self._addresses: dict[str, deque[float]] = {}
        self._study: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, address: str) -> float | None:
        """Count a place for ADDRESS and return ``None``; or, over a limit, count nothing and
        return the seconds until one is free again."""
        with self._lock:
            t = self.clock()
            _drop_before(self._study, t - MINUTE)
            if len(self._study) >= self.per_minute:
                return self._study[0] + MINUTE - t
            mine = self._addresses.setdefault(address, deque())
            _drop_before(mine, t - HOUR)
            if len(mine) >= self.per_address:
                return mine[0] + HOUR - t
            mine.append(t)
            self._study.append(t)
            if len(self._addresses) > MAX_ADDRESSES:
                self._forget(t)
            return None

    def give_back(self, address: str) -> None:
        """Uncount ADDRESS's latest place: it was not taken after all (every cell was full)."""
        with self._lock:
            mine = self._addresses.get(address)
            if mine:
                stamp = mine.pop()
                if stamp in self._study:
                    self._study.remove(stamp)

    def _forget(self, t: float) -> None:
        for address in [a for a, q in self._addresses.items() if not q or q[-1] < t - HOUR]:
            del self._addresses[address]


def _drop_before(stamps: deque[float], cutoff: float) -> None:
    while stamps and stamps[0] <= cutoff:
        stamps.popleft()


class Attempts:
    """Wrong admin tokens in a sliding window, by address and in all; thread-safe."""

    def __init__(
        self,
        per_address: int = FAILURES_PER_ADDRESS,
        overall: int = FAILURES_OVERALL,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.overall = overall
        self.window = window
        self.clock = clock
        self._addresses: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self, address: str) -> float | None:
        """Seconds until ADDRESS may present a token again; ``None`` if it may now."""
        with self._lock:
            t = self.clock()
            _drop_before(self._all, t - self.window)
            mine = self._addresses.get(address, deque())
            _drop_before(mine, t - self.window)
            waits = [q[0] + self.window - t for q, n in ((self._all, self.overall),
                     (mine, self.per_address)) if len(q) >= n]  # fmt: skip
            return max(waits) if waits else None

    def failed(self, address: str) -> None:
        """Count a wrong token from ADDRESS."""
        with self._lock:
            t = self.clock()
            self._addresses.setdefault(address, deque()).append(t)
            self._all.append(t)
            if len(self._addresses) > MAX_ADDRESSES:
                cutoff = t - self.window
                for gone in [a for a, q in self._addresses.items() if not q or q[-1] < cutoff]:
                    del self._addresses[gone]
