"""Ctrl-C during a run: a request to stop, seen by the writer between writes.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to be, even
inside a lock it holds (a queue's, the store driver's): the worker threads then wait on that
lock for ever and the process never exits. While a run writes, the first Ctrl-C only sets an
event; the writer stops at its next step, stores what has arrived, marks the run interrupted and
raises KeyboardInterrupt itself. A second Ctrl-C interrupts at once, the usual way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """An event set by the first SIGINT while the block runs (main thread only: elsewhere
    signals do not arrive, and the event is never set; nor where SIGINT is ignored)."""
    stop = threading.Event()
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # ignored: keep it so
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def check(stop: threading.Event) -> None:
    """Raise KeyboardInterrupt if a stop was asked for (at a point where that is safe)."""
    if stop.is_set():
        raise KeyboardInterrupt
