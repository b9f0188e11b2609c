"""The async producer: every request of a run on one event loop, in one thread.

For a backend that answers on an event loop (:class:`~valuecompass.models.AsyncBackend`, such as
the openai client), WORKERS coroutines take the jobs in order and each keeps one request in
flight, so at most WORKERS are in flight at once, over one connection pool. Each outcome goes on
the same queue as with the thread pool, for the one writer. Retries are those of
:func:`~valuecompass.runner.call_with_retries`: Retry-After, else exponential backoff with
jitter; a refused key (:class:`~valuecompass.models.FatalBackendError`) stops the run.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from valuecompass.models import AsyncBackend, BackendError, Request
from valuecompass.runner._call import Outcome, _gave_up, _retry_delay


class Sink(Protocol):
    """Where outcomes go: the writer's queue, or a pipe to it from a request process."""

    def put(self, item: Any) -> None: ...


async def acall_with_retries(
    backend: AsyncBackend, request: Request, retries: int, base: float, rng: random.Random
) -> Outcome:
    """:func:`~valuecompass.runner.call_with_retries` on the running loop: the same retries,
    the same outcomes; a :class:`~valuecompass.models.FatalBackendError` propagates."""
    start = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            completion = await backend.acomplete(request)
            return Outcome(completion, None, attempt, time.perf_counter() - start)
        except BackendError as exc:
            delay = _retry_delay(exc, attempt, retries, base, rng)
            if delay is None:
                return _gave_up(exc, attempt, start)
            await asyncio.sleep(delay)


class AsyncProducer:
    """Jobs run on one event loop in a thread of their own, at most WORKERS at a time."""

    def __init__(
        self,
        backend: AsyncBackend,
        jobs: Sequence[Any],
        workers: int,
        retries: int,
        backoff: float,
        out: Sink,
        finish: Any,
    ) -> None:
        self._backend, self._out, self._finish = backend, out, finish
        self._args = (retries, backoff, random.Random())
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._task = self._loop.create_task(self._all(iter(jobs), max(1, workers)))
        self._thread = threading.Thread(target=self._run, name="vc-async", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            with self._lock:
                self._loop.close()

    async def _worker(self, jobs: Iterator[Any]) -> None:
        retries, backoff, rng = self._args
        for job in jobs:  # one iterator for all workers: each job is taken once, in order
            outcome = await acall_with_retries(self._backend, job.request, retries, backoff, rng)
            self._out.put(self._finish(job, outcome))

    async def _all(self, jobs: Iterator[Any], workers: int) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker(jobs))
        except BaseExceptionGroup as failed:  # the first failure stops the run
            self._out.put(failed.exceptions[0])
        finally:
            await self._backend.aclose()

    def join(self) -> None:
        """Wait until every job's outcome is out (or the first failure)."""
        self._thread.join()

    def stop(self) -> None:
        """Cancel what is still in flight (nothing more is put on the queue) and wait."""
        with self._lock:
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join()
