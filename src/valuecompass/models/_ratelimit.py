"""Requests- and tokens-per-minute budgets for the HTTP backends, and 429s that slow them down.

Each budget is a token bucket (kept as a theoretical arrival time, the generic cell rate
algorithm): it refills at its rate per minute and holds one second's worth, so a burst never
exceeds what the provider counts in a second. A request takes its place in every bucket before
it is sent (:meth:`RateLimiter.reserve`) and waits until its place comes; N requests of the
requests bucket therefore take at least ``(N - burst) / rate`` seconds. A request's tokens are
estimated when it is sent (its characters / 4, plus ``max_tokens``) and settled with the
provider's usage once it is answered (:meth:`RateLimiter.settle`).

A 429 slows the backend down (:meth:`RateLimiter.limited`): every request waits out the
server's Retry-After, and the rate is halved (once per round: for a request placed since the
last cut), down to an eighth of the budget at least, and the buckets are emptied (no burst right
after the pause). Each answer after that gives back 1% of the
rate, up to the budget. Without a requests budget, a 429 sets one at the rate the backend was
sending at (once it has sent enough to tell: before, the pause alone); once it has grown back
to twice that rate it is dropped.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: How far a 429 cuts the rate, the least it gets to, and what each answer gives back.
CUT, FLOOR, RECOVERY = 0.5, 1 / 8, 1.01
#: A learned budget (no ``rpm`` given) is dropped once it grows back to this many times the
#: rate it was learned at.
LEARNED_CEILING = 2.0
#: Seconds of send times kept to learn a rate from, and the fewest sends to learn it from.
WINDOW, FEWEST = 10.0, 20
#: Characters per token, in the estimate of a request's tokens before it is sent.
CHARS_PER_TOKEN = 4


def estimate_tokens(messages: Sequence[Mapping[str, str]], max_tokens: int) -> int:
    """What a request may cost in tokens before it is answered: its text's characters / 4,
    rounded up, plus the most it may generate (the way providers count a request's tokens
    against a budget before they know the answer)."""
    chars = sum(len(str(m.get("content", ""))) for m in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + max_tokens


class _Bucket:
    """One budget: RATE units per second at full speed, BURST units at once."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1.0, self.rate)
        self.tat = -math.inf  # when the bucket would be full again at the current rate

    def place(self, cost: float, now: float, rate: float) -> float:
        """Take COST units at RATE; the time the request may go."""
        step = cost / rate
        slack = max(self.burst / rate - step, 0.0)
        start = max(now, self.tat - slack)
        self.tat = max(self.tat, start) + step
        return start

    def give_back(self, units: float, rate: float) -> None:
        self.tat -= units / rate

    def empty(self, at: float, rate: float) -> None:
        """Hold nothing at AT (after a 429: no burst until it refills at RATE)."""
        self.tat = max(self.tat, at + self.burst / rate)


@dataclass
class Ticket:
    """A request's place: when it went, its estimated tokens, the token rate they were
    charged at (so that settling gives back exactly what was taken), and when it was placed
    (a request placed before a cut was spaced at the old rate: its 429 is no news)."""

    sent: float
    tokens: int
    token_rate: float
    placed: float


class RateLimiter:
    """The request and token budgets of one backend (``rpm``, ``tpm``; either may be None),
    shared by every request it sends, from any thread or event loop."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = _Bucket(rpm) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self._learned = False  # the requests bucket was set up by a 429, not given
        self.factor = 1.0  # the share of the budget in use; below 1 after 429s
        self._paused_until = -math.inf
        self._last_cut = -math.inf
        self._sent: deque[float] = deque()

    @property
    def rpm(self) -> float | None:
        """The requests budget in use now, per minute (None: no limit)."""
        with self._lock:
            if self._requests is None:
                return None
            return self._requests.rate * self.factor * 60.0

    def reserve(self, tokens: int) -> tuple[Ticket, float]:
        """Take a place for a request of TOKENS (estimated): its ticket, and the seconds to
        wait before sending it."""
        with self._lock:
            now = self._clock()
            start = earliest = max(now, self._paused_until)
            token_rate = 0.0
            if self._requests is not None:
                rate = self._requests.rate * self.factor
                start = max(start, self._requests.place(1, earliest, rate))
            if self._tokens is not None:
                token_rate = self._tokens.rate * self.factor
                start = max(start, self._tokens.place(tokens, earliest, token_rate))
            self._sent.append(start)
            while self._sent and self._sent[0] < start - WINDOW:
                self._sent.popleft()
            return Ticket(start, tokens, token_rate, now), start - now

    async def acquire(self, tokens: int) -> Ticket:
        """:meth:`reserve`, then wait on the running loop until the request may go."""
        ticket, wait = self.reserve(tokens)
        if wait > 0:
            await asyncio.sleep(wait)
        return ticket

    def settle(self, ticket: Ticket, used: int | None) -> None:
        """The request was answered having used USED tokens (None: unknown, the estimate
        stands): the difference goes back to (or is taken from) the tokens budget; and the
        rate recovers a little."""
        with self._lock:
            if self._tokens is not None and used is not None and ticket.token_rate > 0:
                self._tokens.give_back(ticket.tokens - used, ticket.token_rate)
            if self.factor < 1.0 or self._learned:
                self.factor *= RECOVERY
                if self._learned and self.factor >= LEARNED_CEILING:
                    self._requests, self._learned, self.factor = None, False, 1.0
                elif not self._learned:
                    self.factor = min(self.factor, 1.0)

    def limited(self, ticket: Ticket, retry_after: float | None) -> None:
        """The request of TICKET was refused with a 429: pause every request for the server's
        RETRY_AFTER and, unless the rate was cut since this request was placed, halve it."""
        with self._lock:
            now = self._clock()
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, now + retry_after)
            if ticket.placed <= self._last_cut:
                return  # placed before the last cut: the cut already answered it
            self._last_cut = now
            if self._requests is None:
                seen = self._observed()
                if seen is None:
                    return  # too few requests yet to tell a rate: the pause alone
                self._requests = _Bucket(seen * 60.0)
                self._learned = True
            self.factor = max(self.factor * CUT, FLOOR)
            after = max(now, self._paused_until)
            if self._requests is not None:
                self._requests.empty(after, self._requests.rate * self.factor)
            if self._tokens is not None:
                self._tokens.empty(after, self._tokens.rate * self.factor)

    def _observed(self) -> float | None:
        """Requests per second sent over the last :data:`WINDOW` seconds (over a span of at
        least a second); None with fewer than :data:`FEWEST` sent."""
        if len(self._sent) < FEWEST:
            return None
        span = max(self._sent[-1] - self._sent[0], 1.0)
        return len(self._sent) / span
