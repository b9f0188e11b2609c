"""One model call with retries: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from valuecompass.models import (
    Backend,
    BackendError,
    Completion,
    FatalBackendError,
    Request,
    TransientError,
)

MAX_DELAY = 60.0


@dataclass(frozen=True)
class Outcome:
    """A call's result after its retries: a completion, or the error that ended it."""

    completion: Completion | None
    error: str | None
    attempts: int
    latency: float


def backoff_delay(
    attempt: int, base: float, retry_after: float | None, rng: random.Random
) -> float:
    """Seconds to wait before retry ATTEMPT (1-based).

    The server's Retry-After wins when given; otherwise ``base * 2**(attempt-1)`` with up to
    25% jitter, so clients that failed together do not retry together. Capped at a minute.
    """
    if retry_after is not None:
        return min(max(float(retry_after), 0.0), MAX_DELAY)
    delay: float = base * 2.0 ** (attempt - 1) * (1.0 + 0.25 * rng.random())
    return min(delay, MAX_DELAY)


def _retry_delay(
    exc: BackendError, attempt: int, retries: int, base: float, rng: random.Random
) -> float | None:
    """How long to wait before trying again after EXC, or ``None`` to give up.

    A :class:`FatalBackendError` is re-raised: the run must stop.
    """
    if isinstance(exc, FatalBackendError):
        raise exc
    if isinstance(exc, TransientError) and attempt <= retries:
        return backoff_delay(attempt, base, exc.retry_after, rng)
    return None


def _gave_up(exc: BackendError, attempt: int, start: float) -> Outcome:
    error = str(exc)
    if isinstance(exc, TransientError):
        error += f" (gave up after {attempt} attempts)"
    return Outcome(None, error, attempt, time.perf_counter() - start)


def call_with_retries(
    backend: Backend,
    request: Request,
    retries: int,
    base: float,
    rng: random.Random,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Call BACKEND; retry transient failures up to RETRIES times.

    A :class:`FatalBackendError` propagates (the run must stop); any other backend error
    becomes an outcome with ``error`` set, kept as a missing answer with its reason.
    """
    start = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            completion = backend.complete(request)
            return Outcome(completion, None, attempt, time.perf_counter() - start)
        except BackendError as exc:
            delay = _retry_delay(exc, attempt, retries, base, rng)
            if delay is None:
                return _gave_up(exc, attempt, start)
            sleep(delay)
