"""Producers: they put each job's outcome on a queue as it arrives; one writer stores them.

Backends run in a pool of worker threads (an HTTP client spends its time waiting; a local
model releases the GIL while it computes). The caller's thread is the only one that writes the
store, so a producer on other machines (a cluster executor) can feed the same writer.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from valuecompass.models import AsyncBackend, Backend
from valuecompass.runner._batch import BatchProducer, batch_size
from valuecompass.runner._call import Outcome, call_with_retries

if TYPE_CHECKING:
    from valuecompass.runner._request_process import ProcessProducer

#: What producers put on the queue: a finished job, or the exception that stops everything.
Item = Any

#: Turns a job and its outcome into what the writer stores; runs where the call ran, so the
#: writer's thread only writes.
Finish = Callable[[Any, Outcome], Any]


class Producer(Protocol):
    def stop(self) -> None: ...


@runtime_checkable
class Distributed(Protocol):
    """A backend that runs jobs elsewhere (a cluster's workers) and brings its own producer."""

    def producer(
        self,
        jobs: Sequence[Any],
        retries: int,
        backoff: float,
        out: queue.Queue[Item],
        finish: Finish,
    ) -> Producer: ...


#: Answers a thread producer lets wait for the writer before it starts another job.
MAX_WAITING = 2048


class ThreadProducer:
    """Jobs run on WORKERS threads, taken one at a time in order from one shared iterator, so
    nothing is queued ahead of the workers and a stop takes effect before the next job. While
    the writer has :data:`MAX_WAITING` answers still to store, no new job starts (a fast
    backend would otherwise pile up answers that a stop then has to store).

    :meth:`stop` does not wait for calls in flight (a synchronous call cannot be cancelled):
    their threads are daemons, and what they finish after the stop is never stored.
    """

    def __init__(
        self,
        backend: Backend,
        jobs: Sequence[Any],
        workers: int,
        retries: int,
        backoff: float,
        out: queue.Queue[Item],
        finish: Finish,
    ) -> None:
        self._stopping = threading.Event()
        pending = iter(jobs)
        lock = threading.Lock()
        rng = random.Random()

        def work() -> None:
            while not self._stopping.is_set():
                if out.qsize() >= MAX_WAITING:
                    time.sleep(0.002)
                    continue
                with lock:
                    job = next(pending, None)
                if job is None:
                    return
                try:
                    outcome = call_with_retries(backend, job.request, retries, backoff, rng)
                    out.put(finish(job, outcome))
                except BaseException as exc:
                    out.put(exc)
                    return

        self._threads = [
            threading.Thread(target=work, name=f"vc-call-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()


def start_producer(
    backend: Backend,
    jobs: Sequence[Any],
    workers: int,
    retries: int,
    backoff: float,
    out: queue.Queue[Item],
    finish: Finish,
) -> Producer:
    """The producer for BACKEND: its own for a cluster, batches for a backend that takes them,
    one event loop for a backend that answers on one (in a request process of its own where
    it can be forked), else a pool of worker threads."""
    if isinstance(backend, Distributed):
        return backend.producer(jobs, retries, backoff, out, finish)
    if batch_size(backend) > 1:
        return BatchProducer(backend, jobs, retries, backoff, out, finish)
    if isinstance(backend, AsyncBackend):
        from valuecompass.runner._async import AsyncProducer
        from valuecompass.runner._request_process import ProcessProducer, can_fork

        kind = ProcessProducer if can_fork() else AsyncProducer
        return kind(backend, jobs, workers, retries, backoff, out, finish)
    return ThreadProducer(backend, jobs, workers, retries, backoff, out, finish)


def prestart_producer(
    backend: Backend, workers: int, retries: int, backoff: float
) -> ProcessProducer | None:
    """The request process, forked now, before the run plans its prompts or opens its store
    (so its start-up overlaps theirs), where :func:`start_producer` would fork one later;
    ``None`` elsewhere (then the run starts its producer once it knows what to ask)."""
    if isinstance(backend, Distributed) or batch_size(backend) > 1:
        return None
    if not isinstance(backend, AsyncBackend):
        return None
    from valuecompass.runner._request_process import ProcessProducer, can_fork

    if not can_fork():
        return None
    return ProcessProducer.prestart(backend, workers, retries, backoff)


def feed_all(
    producer: ProcessProducer,
    jobs: Iterable[Any],
    most: int = 8,
    send: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Every job of JOBS, sent to PRODUCER as it is planned (those SEND accepts, if given): the
    first alone (it goes out at once), then in chunks doubling up to MOST (small, so no request
    waits long for the next ones to be rendered); then the end of the jobs. Returns them all."""
    out: list[Any] = []
    batch: list[Any] = []
    size = 1
    for job in jobs:
        out.append(job)
        if send is not None and not send(job):
            continue
        batch.append(job)
        if len(batch) == size:
            producer.feed(batch)
            batch, size = [], min(2 * size, most)
    producer.feed(batch)
    producer.end()
    return out


def drain(out: queue.Queue[Item], first: Item, limit: int) -> list[Item]:
    """FIRST and whatever else is already waiting, up to LIMIT items."""
    batch = [first]
    while len(batch) < limit:
        try:
            batch.append(out.get_nowait())
        except queue.Empty:
            break
    return batch


def gather(out: queue.Queue[Item], first: Item, limit: int, wait: float) -> list[Item]:
    """FIRST and what else arrives within WAIT seconds, up to LIMIT items (an exception ends
    it at once): one transaction for many answers, not one for each as it comes."""
    batch = [first]
    end = time.monotonic() + wait
    while len(batch) < limit and not isinstance(batch[-1], BaseException):
        left = end - time.monotonic()
        try:
            batch.append(out.get(timeout=left) if left > 0 else out.get_nowait())
        except queue.Empty:
            break
    return batch
