"""The request process: a run's event loop in a forked child, so requests never wait for the GIL.

In one interpreter, the thread that parses answers and the one that writes the store hold the
GIL while they work; on a busy machine, a request whose answer has arrived then waits for them
before the next one is sent. Here the child process only sends requests and sends each outcome
back through a pipe, and this process parses and stores them (off the request path).

The child is forked when the run starts (it inherits the backend, nothing is pickled on the way
in), before the prompts are planned or the store is opened, so its start-up overlaps theirs.
Requests reach it through a second pipe as they are planned (:meth:`ProcessProducer.feed`), so
the first goes out while the rest are still being rendered. It is used only where fork is safe:
on Linux, from a process with no other thread. It never touches the store, ignores Ctrl-C (the
parent stops it), and exits when the parent goes away (its pipes close).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import random
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from valuecompass.errors import ValueCompassError
from valuecompass.models import AsyncBackend, Request
from valuecompass.runner._async import acall_with_retries

_DONE = "done"


class RequestProcessError(ValueCompassError, RuntimeError):
    """The process sending the run's requests died; what was answered is stored."""


class _Pipe:
    """The child's side: outcomes go back through the pipe, those that end in the same turn
    of the event loop together in one message (a list of (index, outcome) pairs)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._waiting: list[Any] = []

    def put(self, item: Any) -> None:
        """An outcome, sent once this turn of the loop is over; the end or a failure (after
        the outcomes waiting), at once."""
        if isinstance(item, tuple):
            if not self._waiting:
                asyncio.get_running_loop().call_soon(self.flush)
            self._waiting.append(item)
            return
        self.flush()
        self._send(item)

    def flush(self) -> None:
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            self._send(waiting)

    def _send(self, item: Any) -> None:
        try:
            self._conn.send(item)
        except (BrokenPipeError, OSError):  # the parent is gone: stop at once
            os._exit(1)
        except Exception as exc:  # an error that cannot be pickled: send its text instead
            if not isinstance(item, BaseException):
                raise
            self._conn.send(RequestProcessError(f"{type(item).__name__}: {item} ({exc})"))


class _Feed:
    """The child's side of the requests' pipe: (index, request) pairs onto an asyncio queue,
    read whenever the pipe is readable; a ``None`` per worker once the parent says it is done."""

    def __init__(self, conn: Connection, workers: int) -> None:
        self.conn, self.workers = conn, workers
        self.todo: asyncio.Queue[tuple[int, Request] | None] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message == _DONE:
                    self._end()
                    return
                for pair in message:
                    self.todo.put_nowait(pair)
        except (EOFError, OSError):  # the parent is gone
            os._exit(1)

    def _end(self) -> None:
        asyncio.get_running_loop().remove_reader(self.conn.fileno())
        for _ in range(self.workers):
            self.todo.put_nowait(None)


async def _serve(backend: AsyncBackend, args: tuple[Any, ...], feed: Any, pipe: _Pipe) -> None:
    """Send every request that arrives, at most WORKERS at once; each outcome to the pipe."""
    workers, retries, backoff = args
    rng = random.Random()
    source = _Feed(feed, workers)

    async def worker() -> None:
        while (pair := await source.todo.get()) is not None:
            index, request = pair
            pipe.put((index, await acall_with_retries(backend, request, retries, backoff, rng)))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    except BaseExceptionGroup as failed:  # the first failure (a refused key) stops the run
        pipe.put(failed.exceptions[0])
    finally:
        await backend.aclose()
    pipe.put(_DONE)


def _child(backend: AsyncBackend, args: tuple[Any, ...], ends: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    feed, send, parents_feed, parents_recv = ends
    parents_feed.close()  # the parent's ends: once the parent is gone, the pipes close
    parents_recv.close()
    asyncio.run(_serve(backend, args, feed, _Pipe(send)))


def can_fork() -> bool:
    """Whether the request process can be forked safely here."""
    return sys.platform == "linux" and threading.active_count() == 1


class ProcessProducer:
    """The request process, and this process's side of it: requests go in as they are
    planned (:meth:`feed`, then :meth:`end`); outcomes come back to a reader thread, which
    turns them into rows on the writer's queue once :meth:`attach` says where."""

    def __init__(
        self,
        backend: AsyncBackend,
        jobs: Sequence[Any],
        workers: int,
        retries: int,
        backoff: float,
        out: queue.Queue[Any],
        finish: Any,
    ) -> None:
        self._start(backend, workers, retries, backoff)
        self.feed(jobs)
        self.end()
        self.attach(out, finish)

    @classmethod
    def prestart(
        cls, backend: AsyncBackend, workers: int, retries: int, backoff: float
    ) -> ProcessProducer:
        """Fork the request process now; it waits for :meth:`feed`."""
        producer = cls.__new__(cls)
        producer._start(backend, workers, retries, backoff)
        return producer

    def _start(self, backend: AsyncBackend, workers: int, retries: int, backoff: float) -> None:
        self._jobs: list[Any] = []
        self._out: queue.Queue[Any] | None = None
        self._finish: Any = None
        self._attached, self._stopping = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._early: list[Any] = []  # outcomes back before attach()
        context = multiprocessing.get_context("fork")
        feed, self._feed = context.Pipe(duplex=False)
        self._recv, send = context.Pipe(duplex=False)
        ends = (feed, send, self._feed, self._recv)
        self._proc = context.Process(
            target=_child, args=(backend, (max(1, workers), retries, backoff), ends),
            name="vc-requests", daemon=True,
        )  # fmt: skip
        self._proc.start()
        feed.close()
        send.close()
        self._reader = threading.Thread(target=self._read, name="vc-outcomes", daemon=True)
        self._reader.start()

    def feed(self, jobs: Sequence[Any]) -> None:
        """Send JOBS' requests to the child (they go out in this order)."""
        if not jobs:
            return
        first = len(self._jobs)
        self._jobs.extend(jobs)
        with contextlib.suppress(BrokenPipeError, OSError):  # a dead child: the reader says so
            self._feed.send([(first + i, job.request) for i, job in enumerate(jobs)])

    def end(self) -> None:
        """No more jobs: the child ends once the last one fed is answered."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self._feed.send(_DONE)

    def attach(self, out: queue.Queue[Any], finish: Any) -> None:
        """Where the outcomes go (FINISH turns each into the store's rows, on OUT); those that
        came back before are handed on now."""
        with self._lock:
            self._out, self._finish = out, finish
            early, self._early = self._early, []
            for message in early:
                self._handle(message)
            self._attached.set()

    def _handle(self, message: Any) -> bool:
        """Hand MESSAGE on; whether the child is done (its end, or a failure)."""
        assert self._out is not None
        if message == _DONE:
            return True
        if isinstance(message, BaseException):
            self._out.put(message)
            return True
        for index, outcome in message:
            self._out.put(self._finish(self._jobs[index], outcome))
        return False

    def _read(self) -> None:
        """Outcomes from the child → the store's rows, on the writer's queue. Until
        :meth:`attach`, what comes back is kept (the pipe is always drained, so the child never
        waits on it while this process is still planning or opening the store)."""
        try:
            while True:
                message = self._recv.recv()
                with self._lock:  # each message is handed on once: here, or by attach()
                    waiting = not self._attached.is_set()
                    if waiting:
                        self._early.append(message)
                if waiting:
                    if message == _DONE or isinstance(message, BaseException):
                        self._attached.wait()  # the child is done: attach() hands it on
                        return
                    continue
                if self._out is None or self._handle(message):
                    return
        except EOFError:
            self._attached.wait()
            if not self._stopping.is_set() and self._out is not None:
                self._proc.join(timeout=5)
                code = self._proc.exitcode
                how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
                self._out.put(RequestProcessError(
                    f"the request process ended unexpectedly ({how}); what was answered is "
                    "stored: run again to resume"
                ))  # fmt: skip
        except BaseException as exc:  # a failure turning an outcome into rows stops the run
            if self._out is not None:
                self._out.put(exc)

    def stop(self) -> None:
        """End the child (what it still has in flight is dropped, never stored) and wait."""
        self._stopping.set()
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._attached.set()  # a reader still waiting to be told where: it drops the rest
        self._reader.join()
        self._recv.close()
        self._feed.close()
