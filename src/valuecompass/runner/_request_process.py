"""The request process: a run's event loop in a forked child, so requests never wait for the GIL.

In one interpreter, the thread that parses answers and the one that writes the store hold the
GIL while they work; on a busy machine, a request whose answer has arrived then waits for them
before the next one is sent. Here the child process only sends requests and sends each outcome
back through a pipe, and this process parses and stores them (off the request path).

The child is forked (it inherits the backend and the jobs, nothing is pickled on the way in),
so this is used only where fork is safe: on Linux, from a process with no other thread. It
never touches the store, ignores Ctrl-C (the parent stops it), and exits when the parent goes
away (its next write to the pipe fails).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from valuecompass.errors import ValueCompassError
from valuecompass.models import AsyncBackend, Request
from valuecompass.runner._async import AsyncProducer

_DONE = "done"


class RequestProcessError(ValueCompassError, RuntimeError):
    """The process sending the run's requests died; what was answered is stored."""


@dataclass(frozen=True)
class _Indexed:
    index: int
    request: Request


class _Pipe:
    """The child's side: what the async producer puts goes back through the pipe."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, item: Any) -> None:
        try:
            self._conn.send(item)
        except (BrokenPipeError, OSError):  # the parent is gone: stop at once
            os._exit(1)
        except Exception as exc:  # an error that cannot be pickled: send its text instead
            if not isinstance(item, BaseException):
                raise
            self._conn.send(RequestProcessError(f"{type(item).__name__}: {item} ({exc})"))


def _numbered(job: _Indexed, outcome: Any) -> tuple[int, Any]:
    return job.index, outcome


def _child(
    backend: AsyncBackend, jobs: Sequence[Any], args: tuple[Any, ...], conn: Any, other: Any
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    other.close()  # the parent's end: once the parent is gone, no one reads the pipe
    workers, retries, backoff = args
    numbered = [_Indexed(i, job.request) for i, job in enumerate(jobs)]
    pipe = _Pipe(conn)
    producer = AsyncProducer(backend, numbered, workers, retries, backoff, pipe, _numbered)
    producer.join()
    pipe.put(_DONE)


def can_fork() -> bool:
    """Whether the request process can be forked safely here."""
    return sys.platform == "linux" and threading.active_count() == 1


class ProcessProducer:
    """The async producer in a forked child; this process turns outcomes into rows."""

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
        self._jobs, self._out, self._finish = jobs, out, finish
        self._stopping = threading.Event()
        context = multiprocessing.get_context("fork")
        self._recv, send = context.Pipe(duplex=False)
        self._proc = context.Process(
            target=_child,
            args=(backend, jobs, (workers, retries, backoff), send, self._recv),
            name="vc-requests",
            daemon=True,
        )
        self._proc.start()
        send.close()
        self._reader = threading.Thread(target=self._read, name="vc-outcomes", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Outcomes from the child → the store's rows, on the writer's queue."""
        try:
            while True:
                message = self._recv.recv()
                if message == _DONE:
                    return
                if isinstance(message, BaseException):
                    self._out.put(message)
                    return
                index, outcome = message
                self._out.put(self._finish(self._jobs[index], outcome))
        except EOFError:
            if not self._stopping.is_set():
                self._proc.join(timeout=5)
                code = self._proc.exitcode
                how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
                self._out.put(RequestProcessError(
                    f"the request process ended unexpectedly ({how}); what was answered is "
                    "stored: run again to resume"
                ))  # fmt: skip
        except BaseException as exc:  # a failure turning an outcome into rows stops the run
            self._out.put(exc)

    def stop(self) -> None:
        """End the child (what it still has in flight is dropped, never stored) and wait."""
        self._stopping.set()
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._reader.join()
        self._recv.close()
