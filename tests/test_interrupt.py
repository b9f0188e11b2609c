"""Issue 14, item 1: Ctrl-C stops a run promptly and marks it interrupted; a killed run never
looks ``running`` for ever. Real processes, the mock backend, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from _store_support import GRID, cli, counts, pg_database, run_store, spawn, status, wait_for
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
