"""The async producer and the request process: retries, a refused key, a dead child, Ctrl-C's
stop and a killed parent, against the stub on loopback (real HTTP, real store)."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import valuecompass.runner._request_process as request_process
from valuecompass.models import FatalBackendError
from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import RunConfig, plan, run_model
from valuecompass.runner._execute import start_producer
from valuecompass.runner._request_process import ProcessProducer, RequestProcessError
from valuecompass.testing import serve_stub

GRID = {"countries": ["India"], "scenarios": ["healthcare"], "variants": [0, 1], "progress": False}


@pytest.fixture(params=["process", "thread"])
def producer_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both producers of an async backend: the forked request process and the loop thread
    (which one a run gets depends on the platform and on other threads)."""
    kind: str = request.param
    monkeypatch.setattr(request_process, "can_fork", lambda: kind == "process")
    return kind


def _stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        prompts = conn.execute("select count(*) from prompts").fetchone()[0]
        distinct = conn.execute("select count(distinct cache_key) from prompts").fetchone()[0]
    return prompts, distinct


def test_retries_then_every_answer_stored_once(producer_kind: str, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cycle = ["ok", "429", "ok", "500", "badjson", "ok", "timeout", "ok"]
    with serve_stub(plan=lambda n: cycle[n % len(cycle)], hang=1.0) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url, timeout=0.3)
        config = RunConfig(model="openai:stub", db=str(db), retries=8, backoff=0.01,
                           concurrency=8, **GRID)  # fmt: skip
        summary = run_model(config, backend=backend)
        assert {"429", "500", "badjson", "timeout"} <= set(stub.outcomes)
    assert (summary.asked, summary.failed, summary.scored) == (112, 0, 112)
    assert _stored(db) == (112, 112)


def test_a_refused_key_stops_the_run(producer_kind: str, tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with serve_stub(plan=lambda n: "401" if n > 10 else "ok", delay=0.01) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        with pytest.raises(FatalBackendError, match="refused the credentials"):
            run_model(RunConfig(model="openai:stub", db=db, concurrency=2, **GRID), backend)
        time.sleep(0.3)
        asked = stub.count
        time.sleep(0.3)
        assert stub.count == asked < 112  # nothing more is sent once the run stopped


def test_a_dead_request_process_is_an_error_and_the_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_process, "can_fork", lambda: True)
    db = tmp_path / "s.db"
    config = RunConfig(model="openai:stub", db=str(db), concurrency=2, **GRID)
    started: list[ProcessProducer] = []
    real = ProcessProducer._start  # every way of making one forks its child here

    def remember(self: ProcessProducer, *args: object, **kwargs: object) -> None:
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(ProcessProducer, "_start", remember)
    with serve_stub(delay=0.02) as stub:
        # the child dies (as if the OOM killer took it) once it has sent a few requests
        original = stub.next_action

        def action() -> str:
            if stub.count == 6 and started:
                os.kill(started[-1]._proc.pid, signal.SIGKILL)
            return original()

        stub.next_action = action  # type: ignore[method-assign]
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        with pytest.raises(RequestProcessError, match=r"ended unexpectedly \(killed by signal 9\)"):
            run_model(config, backend=backend)
        kept = _stored(db)[0]
        assert 0 < kept < 112
        stub.next_action = original  # type: ignore[method-assign]
        resumed = run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
    assert (resumed.skipped, resumed.asked) == (kept, 112 - kept)
    assert _stored(db) == (112, 112)


def test_stop_ends_the_request_process_with_requests_in_flight(tmp_path: Path) -> None:
    with serve_stub(delay=5.0) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        config = RunConfig(model="openai:stub", db=str(tmp_path / "s.db"), **GRID)
        from valuecompass.instrument import load_instrument
        from valuecompass.prompts import load_prompts

        form = load_instrument(None)
        jobs, _ = plan(config, form, load_prompts(None, form), backend)
        out: queue.Queue[object] = queue.Queue()
        producer = ProcessProducer(backend, jobs, 4, 0, 0.0, out, lambda j, o: o)
        deadline = time.monotonic() + 10
        while stub.in_flight < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stub.in_flight == 4  # four requests held by the server
        start = time.perf_counter()
        producer.stop()
        assert time.perf_counter() - start < 2.0 and not producer._proc.is_alive()
        assert out.empty()  # nothing came back: nothing half-done is stored


def test_the_request_process_goes_when_its_parent_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    exe = Path(sys.executable).parent / "valuecompass"
    with serve_stub(delay=0.2) as stub:
        args = [str(exe), "run", "--model", "openai:stub", "-M", f"base_url={stub.base_url}",
                "--countries", "India", "--scenarios", "healthcare", "--db", str(db),
                "--concurrency", "2", "--no-progress"]  # fmt: skip
        run = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while stub.count < 6 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        assert run.poll() is None, run.stderr.read() if run.stderr else ""
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        time.sleep(1.0)  # the child finds the pipe closed at its next answer and exits
        asked = stub.count
        time.sleep(1.0)
        assert stub.count == asked < 448


def test_the_hook_picks_the_request_process_only_where_fork_is_safe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from valuecompass.runner._async import AsyncProducer

    backend = OpenAIBackend("stub", base_url="http://127.0.0.1:9/v1")
    out: queue.Queue[object] = queue.Queue()
    for safe, kind in ((True, ProcessProducer), (False, AsyncProducer)):
        monkeypatch.setattr(request_process, "can_fork", lambda safe=safe: safe)
        producer = start_producer(backend, [], 1, 0, 0.0, out, lambda j, o: o)
        assert isinstance(producer, kind)
        producer.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_command_run_through_the_request_process_on_both_stores(
    kind: str, tmp_path: Path
) -> None:
    """The command forks its request process (nothing else runs in it); the store's
    connections, inherited by the child, stay the parent's alone."""
    from contextlib import AbstractContextManager, nullcontext

    from valuecompass.store import open_store
    from valuecompass.store import runs as store
    from valuecompass.testing.survey_load import fresh_postgres

    exe = Path(sys.executable).parent / "valuecompass"
    where: AbstractContextManager[str | None] = nullcontext(None)
    if kind == "postgresql":
        from _survey_support import postgres_url

        where = fresh_postgres(postgres_url())
    with where as url, serve_stub(delay=0.01) as stub:
        db = url or str(tmp_path / "s.db")
        args = [str(exe), "run", "--model", "openai:stub", "-M", f"base_url={stub.base_url}",
                "--countries", "India", "--scenarios", "healthcare", "--variants", "0,1",
                "--db", db, "--run", "p", "--concurrency", "8", "--no-progress"]  # fmt: skip
        first = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert "112 asked, 0 failed; 112/112 answers scored" in first.stdout
        again = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert "112 already stored, 0 from cache, 0 asked" in again.stdout, again.stderr
        assert stub.count == 112
        engine = open_store(db)
        [run] = store.list_runs(engine)
        assert run.status == "finished" and store.prompt_counts(engine, run.id)["prompts"] == 112
        engine.dispose()


def test_an_error_that_cannot_be_pickled_still_reaches_the_parent() -> None:
    import multiprocessing

    class Odd(RuntimeError):
        def __init__(self) -> None:
            super().__init__("odd failure")
            self.callback = lambda: None  # no pickle for this

    recv, send = multiprocessing.Pipe(duplex=False)
    request_process._Pipe(send).put(Odd())
    got = recv.recv()
    assert isinstance(got, RequestProcessError) and "Odd: odd failure" in str(got)
