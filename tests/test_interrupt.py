"""Issue 14, item 1: Ctrl-C stops a run promptly and marks it interrupted; a killed run never
looks ``running`` for ever. Real processes, the mock backend, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from _store_support import GRID, cli, counts, pg_database, run_store, spawn, status, wait_for
from valuecompass.models import Completion, Request
from valuecompass.runner._execute import MAX_WAITING, ThreadProducer
from valuecompass.store import open_store
from valuecompass.store._leases import STALE_AFTER, Lease, run_leases

__all__ = ["pg_database", "run_store"]

#: Where in a run the SIGINT lands: while the CLI starts (imports), once the run is marked
#: running, after a few answers, and deep into the run.
POINTS: dict[str, Callable[[str], bool]] = {
    "starting": lambda db: True,
    "run marked running": lambda db: status(db, "intr") == "running",
    "a few answers stored": lambda db: counts(db)[0] >= 5,
    "hundreds stored": lambda db: counts(db)[0] >= 300,
}


def _leases(db: str) -> int:
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(run_leases)).scalar_one())
    finally:
        engine.dispose()


def _interrupt_once(db: str, point: str) -> None:
    args = ["run", "--model", "mock:delay=0.002", *GRID, "--samples", "4", "--run", "intr"]
    proc = spawn(*args, "--db", db, "--concurrency", "2", "--no-progress")
    if point == "starting":
        time.sleep(0.15)  # the interpreter is up and importing the CLI
    else:
        wait_for(lambda: POINTS[point](db), proc)
    assert proc.poll() is None, f"the run ended before the signal ({point})"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)  # a hung shutdown fails here
    assert proc.returncode == 130, (point, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (point, err)
    assert "interrupted" in err
    state = status(db, "intr")
    if state is None:  # stopped before the run was made: nothing stored
        assert point == "starting" and counts(db) == (0, 0, 0)
        return
    assert state == "interrupted", point
    prompts, answers, distinct = counts(db)
    assert prompts == answers == distinct < 4 * 448, point  # every stored prompt whole
    assert _leases(db) == 0  # the lease is given back


@pytest.mark.parametrize("backend_runs", [20])
def test_sigint_at_any_point_exits_promptly_and_marks_the_run(
    run_store: str, backend_runs: int
) -> None:
    points = list(POINTS)
    tries = backend_runs if "://" not in run_store else 8  # PostgreSQL: fewer, same points
    for i in range(tries):
        db = run_store if "://" in run_store else f"{run_store}.{i}"
        if "://" in db and i:
            _empty(db)
        _interrupt_once(db, points[i % len(points)])


def _empty(db: str) -> None:
    engine = open_store(db)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE run_leases, answers, prompts, runs RESTART IDENTITY CASCADE")
    engine.dispose()


def test_sigkill_leaves_a_stale_run_that_the_next_run_takes_over(run_store: str) -> None:
    args = ["run", "--model", "mock:delay=0.005", *GRID, "--run", "k", "--db", run_store]
    proc = spawn(*args, "--concurrency", "2", "--no-progress")
    wait_for(lambda: counts(run_store)[0] >= 20, proc)
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert status(run_store, "k") == "running"  # as the killed process left it
    listed = cli("runs", "list", "--db", run_store, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert '"status": "stale"' in listed.stdout  # never shown as running
    table = cli("runs", "list", "--db", run_store)
    assert " stale " in table.stdout and " running " not in table.stdout
    stored = counts(run_store)[0]
    done = cli(*args, "--no-progress")
    assert done.returncode == 0, done.stderr
    assert f"{stored} already stored" in done.stdout
    assert status(run_store, "k") == "finished" and counts(run_store) == (448, 448, 448)


def test_a_lease_is_live_while_its_owner_is() -> None:
    now = datetime.now(UTC)
    me, here = os.getpid(), socket.gethostname()
    assert Lease(1, here, me, "t", now).live()
    assert not Lease(1, here, me, "t", now - timedelta(seconds=STALE_AFTER + 1)).live()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not Lease(1, here, int(dead.stdout), "t", now).live()  # its process is gone
    # another machine's process cannot be looked up: only its heartbeat tells
    assert Lease(1, "elsewhere", 1, "t", now - timedelta(seconds=STALE_AFTER - 5)).live()
    assert not Lease(1, "elsewhere", 1, "t", now - timedelta(seconds=STALE_AFTER + 5)).live()


class _Gate:
    """A synchronous backend whose calls wait for a gate (or answer at once when it is open)."""

    max_concurrency = 4

    def __init__(self, open_: bool) -> None:
        self.gate = threading.Event()
        if open_:
            self.gate.set()
        self.started = 0
        self.lock = threading.Lock()

    def complete(self, request: Request) -> Completion:
        with self.lock:
            self.started += 1
        self.gate.wait()
        return Completion(text="1")

    def close(self) -> None:
        pass


def _jobs(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(request=Request([{"role": "user", "content": str(i)}], 0.0, 1, 0))
            for i in range(n)]  # fmt: skip


def _until(check: Callable[[], bool], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_a_stop_waits_for_no_call_in_flight_and_starts_none() -> None:
    """Issue 23, item 3: a slow synchronous backend (5 s a call) held Ctrl-C for 1.8-3.8 s, as
    the pool waited for its calls. Stopped while every worker is inside a call, the producer
    returns without them, and no further job starts once they end."""
    backend = _Gate(open_=False)
    out: queue.Queue[object] = queue.Queue()
    producer = ThreadProducer(backend, _jobs(1000), 4, 0, 0.0, out, lambda job, o: o)  # type: ignore[arg-type]
    _until(lambda: backend.started == 4)
    stopper = threading.Thread(target=producer.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert not stopper.is_alive()  # it did not wait for the four calls
    backend.gate.set()
    _until(lambda: out.qsize() == 4)
    time.sleep(0.2)
    assert backend.started == 4 and out.qsize() == 4


def test_a_fast_backend_piles_up_no_more_than_the_writer_may_store() -> None:
    """Item 3: the producer took every job at once, and a stop then stored 110,142 queued
    answers (3 s). With nobody writing, a fast backend's answers wait at most MAX_WAITING (plus
    one a worker) on the queue."""
    backend = _Gate(open_=True)
    out: queue.Queue[object] = queue.Queue()
    jobs = _jobs(MAX_WAITING * 3)
    producer = ThreadProducer(backend, jobs, 4, 0, 0.0, out, lambda job, o: o)  # type: ignore[arg-type]
    _until(lambda: out.qsize() >= MAX_WAITING)
    time.sleep(0.3)
    assert MAX_WAITING <= out.qsize() <= MAX_WAITING + 4 and backend.started == out.qsize()
    producer.stop()
