"""How an API run starts: the request process is forked first and fed each request as it is
planned; a store yet to be made gets its requests while it is made, an existing store is read
(what to skip, what to copy) before anything is sent. Real stub on loopback, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import valuecompass.runner._request_process as request_process
import valuecompass.runner._run as run_module
from valuecompass.instrument import load_instrument
from valuecompass.models.openai import OpenAIBackend
from valuecompass.prompts import iter_grid, load_prompts, render_grid
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._execute import feed_all
from valuecompass.runner._request_process import ProcessProducer
from valuecompass.store import holds_nothing, open_store
from valuecompass.store._leases import RunBusyError
from valuecompass.testing import StubServer, serve_stub

GRID = {"countries": ["India"], "scenarios": ["healthcare"], "variants": [0, 1], "progress": False}


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[ProcessProducer]:
    """Fork the request process even though the stub's thread runs here; the producers made."""
    monkeypatch.setattr(request_process, "can_fork", lambda: True)
    made: list[ProcessProducer] = []
    real = ProcessProducer._start

    def remember(self: ProcessProducer, *args: Any) -> None:
        real(self, *args)
        made.append(self)

    monkeypatch.setattr(ProcessProducer, "_start", remember)
    return made


def _watch_open(monkeypatch: pytest.MonkeyPatch, stub: StubServer, db: Path) -> dict[str, Any]:
    """Record, when the next run opens its store, how many jobs were fed and whether the file
    was there; for a new store, wait there (up to 10 s) for the first request to reach the stub;
    ``fed`` counts every job fed from then on."""
    seen: dict[str, Any] = {"fed": 0}
    real_feed, real_open = ProcessProducer.feed, run_module.open_store

    def feed(self: ProcessProducer, jobs: Any) -> None:
        seen["fed"] += len(jobs)
        real_feed(self, jobs)

    def opening(where: str) -> Any:
        if "fed_at_open" not in seen:  # the first run opening its store
            seen["fed_at_open"], seen["existed"] = seen["fed"], db.exists()
            deadline = time.monotonic() + 10
            while seen["fed"] and stub.count == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["asked_at_open"], seen["existed_after"] = stub.count, db.exists()
        return real_open(where)

    monkeypatch.setattr(ProcessProducer, "feed", feed)
    monkeypatch.setattr(run_module, "open_store", opening)
    return seen


def test_a_new_store_gets_its_requests_before_it_is_made(
    forked: list[ProcessProducer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "new.db"
    with serve_stub(delay=0.05) as stub:
        seen = _watch_open(monkeypatch, stub, db)
        config = RunConfig(model="openai:stub", db=str(db), concurrency=8, **GRID)
        summary = run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
        assert stub.count == 112
    # every job (1 context x 2 variants x 56 items) was planned and fed before the store was
    # opened, and requests were answered by the stub while the file did not exist yet
    assert seen["fed_at_open"] == 112 and not seen["existed"]
    assert seen["asked_at_open"] > 0 and not seen["existed_after"]
    assert (summary.asked, summary.failed, summary.scored) == (112, 0, 112)
    assert len(forked) == 1 and not forked[0]._proc.is_alive()
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(distinct cache_key) from prompts").fetchone()[0] == 112


def test_an_existing_store_is_read_before_anything_is_sent(
    forked: list[ProcessProducer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    with serve_stub(delay=0.01) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        half = RunConfig(model="openai:stub", db=str(db), run="r", concurrency=8,
                         **{**GRID, "variants": [0]})  # fmt: skip
        assert run_model(half, backend=backend).asked == 56
        seen = _watch_open(monkeypatch, stub, db)
        # another run over both variants: variant 0's answers are copied from run r (the
        # same requests), only variant 1 is asked
        whole = half.model_copy(update={"variants": [0, 1], "run": "r2"})
        summary = run_model(whole, backend=OpenAIBackend("stub", base_url=stub.base_url))
        assert stub.count == 112
        resumed = run_model(whole, backend=OpenAIBackend("stub", base_url=stub.base_url))
        assert stub.count == 112
    assert seen["existed"] and seen["fed_at_open"] == 0 and seen["asked_at_open"] == 56
    assert (summary.cached, summary.asked, summary.scored) == (56, 56, 56)
    assert (resumed.skipped, resumed.asked) == (112, 0)
    assert seen["fed"] == 56 and len(forked) == 3  # the resumed run fed nothing


def test_a_run_refused_on_a_new_store_stops_its_requests_and_stores_nothing(
    forked: list[ProcessProducer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two runs racing to make the same new store: the one that loses the run's lease stops
    its request process at once (what it was told is dropped) and stores no answer."""
    db = tmp_path / "raced.db"

    def busy(*args: object, **kwargs: object) -> None:
        raise RunBusyError(f"{db}: the run is being written by another live process")

    monkeypatch.setattr(run_module.store, "start_run", busy)
    with serve_stub(delay=0.5) as stub:
        config = RunConfig(model="openai:stub", db=str(db), concurrency=4, **GRID)
        with pytest.raises(RunBusyError, match="another live process"):
            run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
        assert not forked[0]._proc.is_alive()
        time.sleep(0.8)  # what was in flight when it stopped would have been answered by now
        asked = stub.count
        time.sleep(0.6)
        assert stub.count == asked <= 4  # one round at most, and nothing after the stop
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from prompts").fetchone()[0] == 0


def test_answers_back_before_the_store_is_open_never_block_the_run(
    forked: list[ProcessProducer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every one of 448 item prompts answered while the new store is still being made: their
    outcomes (about 260 bytes each pickled, over a 64 KiB pipe) are drained and kept until the
    run can store them, so neither the child nor this process waits on a full pipe."""
    db = tmp_path / "slow.db"
    seen: dict[str, int] = {}
    real_open = run_module.open_store

    def slow_open(where: str) -> Any:
        deadline = time.monotonic() + 30
        while stub.count < 448 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the last answers' way back to this process
        seen["answered"] = stub.count
        return real_open(where)

    def hung(*args: object) -> None:
        raise TimeoutError("the run hung (a full pipe between the processes?)")

    monkeypatch.setattr(run_module, "open_store", slow_open)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        with serve_stub() as stub:
            config = RunConfig(model="openai:stub", db=str(db), concurrency=8,
                               **{**GRID, "variants": []})  # fmt: skip
            summary = run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert seen["answered"] == 448  # all answered before the store was opened
    assert (summary.asked, summary.failed, summary.scored) == (448, 0, 448)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(distinct cache_key) from prompts").fetchone()[0] == 448


def test_holds_nothing_only_for_a_sqlite_file_yet_to_be_made(tmp_path: Path) -> None:
    assert holds_nothing(tmp_path / "absent.db")
    (tmp_path / "empty.db").write_bytes(b"")
    assert holds_nothing(tmp_path / "empty.db")  # 0 bytes: `run` makes its store there
    open_store(tmp_path / "made.db").dispose()
    assert not holds_nothing(tmp_path / "made.db")
    (tmp_path / "other.txt").write_text("not a store")
    assert not holds_nothing(tmp_path / "other.txt")
    assert not holds_nothing(tmp_path / "no-such-folder" / "s.db")  # opening it fails first
    assert not holds_nothing(tmp_path)  # a folder
    assert not holds_nothing("postgresql://u:p@127.0.0.1:1/db")  # a server is never assumed
    assert not holds_nothing("sqlite://")  # in memory
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert not holds_nothing(locked / "s.db")


class _Fake:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []
        self.ended = False

    def feed(self, jobs: list[int]) -> None:
        assert not self.ended
        if jobs:
            self.sent.append(list(jobs))

    def end(self) -> None:
        self.ended = True


def test_feed_all_sends_the_first_job_alone_then_doubling_chunks() -> None:
    fake = _Fake()
    jobs = feed_all(fake, iter(range(100)), most=16)  # type: ignore[arg-type]
    assert jobs == list(range(100)) and fake.ended
    # 1 + 2 + 4 + 8 + 16 * 5 = 95, then the 5 left
    assert [len(c) for c in fake.sent] == [1, 2, 4, 8, 16, 16, 16, 16, 16, 5]
    assert [j for c in fake.sent for j in c] == list(range(100))
    empty = _Fake()
    assert feed_all(empty, iter([])) == [] and empty.ended and not empty.sent  # type: ignore[arg-type]


def test_iter_grid_yields_render_grid_in_order() -> None:
    instrument = load_instrument(None)
    prompts = load_prompts(None, instrument)
    contexts = [{"country": "India", "scenario": "healthcare"}]
    for mode in ("all", "item"):
        lazy = iter_grid(instrument, prompts, contexts, mode, [0, 3])
        assert list(lazy) == render_grid(instrument, prompts, contexts, mode, [0, 3])
