"""Shared by the store and run tests: an empty run store on SQLite or PostgreSQL, the CLI in a
real process, and counts of what a store holds.

PostgreSQL comes from the survey tests' session database (``_survey_support.pg_database``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from _survey_support import BACKENDS, pg_database
from valuecompass.store import open_store
from valuecompass.store._leases import run_leases
from valuecompass.store.runs import answers, prompts, runs

__all__ = [
    "BACKENDS",
    "GRID",
    "cli",
    "counts",
    "pg_database",
    "run_store",
    "spawn",
    "status",
    "wait_for",
]

#: A small grid: one context, all 8 variants of each of the 56 values (448 prompts).
GRID = ["--countries", "India", "--scenarios", "healthcare"]


@pytest.fixture(params=BACKENDS)
def run_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store for runs: a new SQLite file, or the session's PostgreSQL database with
    its run tables emptied."""
    if request.param == "sqlite":
        yield str(tmp_path / "runs.db")
        return
    url: str = request.getfixturevalue("pg_database")
    engine = open_store(url)
    names = ", ".join(t.name for t in (run_leases, answers, prompts, runs))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()
    yield url


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}


def default_sigint() -> None:
    """In a child before it runs: Ctrl-C back to its default. A shell without job control
    starts background commands with SIGINT ignored, and children inherit that; a run that
    finds SIGINT ignored keeps it so (as under ``nohup``), so a test that sends it must not
    depend on how the suite itself was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(*args: str) -> subprocess.Popen[str]:
    """``valuecompass ARGS`` in a process of its own (``python -m valuecompass``), with
    Ctrl-C at its default (see :func:`default_sigint`)."""
    command = [sys.executable, "-m", "valuecompass", *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=default_sigint,
    )


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``valuecompass ARGS`` run to its end in a process of its own."""
    command = [sys.executable, "-m", "valuecompass", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env())


Counts = tuple[int, int, int]


def counts(db: str) -> Counts:
    """(prompts, answers, distinct answer keys) in the store at DB; zeros if it has none yet."""
    if "://" not in db and not Path(db).exists():
        return 0, 0, 0
    engine = open_store(db, create=False)
    key = (answers.c.run_id, answers.c.country, answers.c.scenario, answers.c.value)
    key += (answers.c.variant, answers.c.sample)
    try:
        with engine.connect() as conn:
            n_prompts = conn.execute(select(func.count()).select_from(prompts)).scalar_one()
            n_answers = conn.execute(select(func.count()).select_from(answers)).scalar_one()
            distinct = select(*key).distinct().subquery()
            n_distinct = conn.execute(select(func.count()).select_from(distinct)).scalar_one()
    finally:
        engine.dispose()
    return int(n_prompts), int(n_answers), int(n_distinct)


def status(db: str, name: str) -> str | None:
    """The stored status of run NAME, or None if the store has no such run yet."""
    if "://" not in db and not Path(db).exists():
        return None
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(runs.c.status).where(runs.c.name == name)).first()
    finally:
        engine.dispose()
    return None if row is None else str(row[0])


def wait_for(check: Callable[[], object], proc: subprocess.Popen[str], limit: float = 60) -> None:
    """Poll CHECK until it is true, while PROC runs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if check():
                return
        except Exception:  # the store is being created by the other process
            pass
        time.sleep(0.02)


def v1_record(row: tuple[Any, ...], columns: list[str]) -> tuple[Any, ...]:
    """A runs ROW (of COLUMNS) of a Value Form run as record version 1 had it: mode ``all`` as
    ``form``, the grid's levels under ``countries`` and ``topics``, its items under ``values``."""
    data = dict(zip(columns, row, strict=True))
    grid = json.loads(data["grid"])
    axes = grid["axes"]
    data["grid"] = json.dumps({"countries": axes["country"], "topics": axes["scenario"],
                               "values": grid["items"], "variants": grid["variants"]})  # fmt: skip
    data["mode"] = "form" if data["mode"] == "all" else data["mode"]
    return tuple(data[c] for c in columns)


def v1_copy(source: Path, target: Path) -> None:
    """A store as schema 1 made it (the frozen DDL of migration 1), holding SOURCE's runs,
    prompts and answers in schema 1's columns: what the code before schema 2 wrote."""
    import sqlite3

    from sqlalchemy import create_engine

    from valuecompass.store._history import _v1

    engine = create_engine(f"sqlite:///{target}")
    schema = _v1()
    schema.create_all(engine)
    engine.dispose()
    with sqlite3.connect(target) as dst, sqlite3.connect(source) as src:
        dst.execute("insert into schema_meta values ('schema_version', '1')")
        for table in ("runs", "prompts", "answers"):
            columns = ", ".join(c.name for c in schema.tables[table].columns)
            kept = columns.replace("topic", "scenario")  # its name since schema 8
            rows = src.execute(f"select {kept} from {table}").fetchall()
            if table == "runs":
                names = [c.name for c in schema.tables[table].columns]
                rows = [v1_record(r, names) for r in rows]
            marks = ", ".join("?" * len(schema.tables[table].columns))
            dst.executemany(f"insert into {table} ({columns}) values ({marks})", rows)
    dst.close()
    src.close()
