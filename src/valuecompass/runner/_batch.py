"""Batches for backends that answer many prompts in one call (``complete_batch``).

Consecutive jobs of one block (a context and variant: item-mode prompts that share everything
before the value) go to the backend together, so a batch shares its prefix. A batch that fails
is asked again one prompt at a time with the usual retries, so a bad prompt costs only its own
answer.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from valuecompass.models import (
    Backend,
    BackendError,
    Completion,
    FatalBackendError,
    Request,
)
from valuecompass.runner._call import Outcome, call_with_retries


@runtime_checkable
class BatchBackend(Protocol):
    """A backend that also answers a list of requests at once, up to ``max_batch`` of them."""

    max_batch: int

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]: ...


def batch_size(backend: Backend) -> int:
    """How many requests BACKEND takes in one call (1 for a backend without batches)."""
    if isinstance(backend, BatchBackend):
        return max(1, int(backend.max_batch))
    return 1


def block_of(job: Any) -> tuple[Any, int]:
    """The block a job belongs to: its context (a level of each axis) and prompt variant."""
    return job.prompt.context, job.prompt.variant


def batches(jobs: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive JOBS of one block, up to SIZE at a time, in order."""
    current: list[Any] = []
    for job in jobs:
        if current and (len(current) == size or block_of(current[0]) != block_of(job)):
            yield current
            current = []
        current.append(job)
    if current:
        yield current


def call_batch(
    backend: Any, requests: Sequence[Request], retries: int, backoff: float, rng: random.Random
) -> list[Outcome]:
    """One batched call; a failed batch is retried request by request.

    Each outcome's latency is its share of the batch's time. A :class:`FatalBackendError`
    propagates: the run must stop.
    """
    start = time.perf_counter()
    try:
        completions = backend.complete_batch(requests)
    except FatalBackendError:
        raise
    except BackendError:
        return [call_with_retries(backend, r, retries, backoff, rng) for r in requests]
    share = (time.perf_counter() - start) / max(1, len(requests))
    return [Outcome(c, None, 1, share) for c in completions]


class BatchProducer:
    """Jobs go to the backend in batches, on one thread (a batching backend is one model)."""

    def __init__(
        self,
        backend: Backend,
        jobs: Sequence[Any],
        retries: int,
        backoff: float,
        out: queue.Queue[Any],
        finish: Any,
    ) -> None:
        self._stopping = threading.Event()
        size = batch_size(backend)
        rng = random.Random()

        def work() -> None:
            try:
                for group in batches(jobs, size):
                    if self._stopping.is_set():
                        return
                    outcomes = call_batch(
                        backend, [j.request for j in group], retries, backoff, rng
                    )
                    for job, outcome in zip(group, outcomes, strict=True):
                        out.put(finish(job, outcome))
            except BaseException as exc:
                out.put(exc)

        self._thread = threading.Thread(target=work, name="vc-batch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
