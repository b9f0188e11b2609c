"""``run --batch``: a run's prompts as the provider's batches (OpenAI's Batch API, Anthropic's
Message Batches), against the stubs' batch endpoints: results out of order, 2% errored, one
batch expired. Every answer is stored once, exactly as an online run stores it; a run killed
(SIGKILL) while sending, polling or storing resumes with the same command, sending nothing twice
and losing nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.models import Request, get_backend
from valuecompass.store import batches as book
from valuecompass.testing import BatchBook, serve_anthropic_stub, serve_stub
from valuecompass.testing.anthropic_stub import DEFAULT_KEY

SRC = Path(__file__).resolve().parents[1] / "src"
#: One context of the Value Form: 56 items x 8 variants = 448 prompts.
GRID = ["--countries", "India", "--scenarios", "healthcare", "--no-progress"]
PROMPTS = 448


@contextlib.contextmanager
def _stub(provider: str, book_: BatchBook, **settings: Any) -> Iterator[list[str]]:
    """The provider's stub with BOOK_'s batches; the run's model options."""
    if provider == "openai":
        with serve_stub(batches=book_) as stub:
            yield ["--model", "openai:gpt-test", "-M", f"base_url={stub.base_url}",
                   "-M", "logprobs=true"]  # fmt: skip
    else:
        with serve_anthropic_stub(batches=book_, **settings) as astub:
            yield ["--model", "anthropic:claude-test", "-M", f"base_url={astub.base_url}",
                   "-M", f"api_key={DEFAULT_KEY}"]  # fmt: skip


def _args(model: list[str], db: Path, *more: str) -> list[str]:
    return ["run", *model, *GRID, "--db", str(db), "--run", "r", "--batch-poll", "0.05", *more]


def _stored(db: Path) -> tuple[int, int, int]:
    """Prompts stored, distinct keys among them, and failed ones."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "select count(*), count(distinct cache_key), coalesce(sum(error is not null), 0) "
            "from prompts"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _sent_once(stub_book: BatchBook) -> dict[str, list[str]]:
    """Custom id -> what each batch that held it made of it, in the order sent. A request is
    sent again only after its batch gave it back errored or expired, and it ends answered."""
    runs: dict[str, list[str]] = {}
    for b in sorted(stub_book.batches.values(), key=lambda b: b.number):
        kinds = {cid: kind for cid, kind, _ in b.outcomes or []}
        for cid, _ in b.requests:
            runs.setdefault(cid, []).append(kinds.get(cid, "never read"))
    for cid, kinds in runs.items():
        assert kinds[-1] == "ok", (cid, kinds)
        assert all(k in ("errored", "expired") for k in kinds[:-1]), (cid, kinds)
    return runs


def _store_matches_stub(db: Path, stub_book: BatchBook) -> None:
    """Each batch the store holds a provider id for is the stub's, with the same requests."""
    from valuecompass.store import open_store

    engine = open_store(db, create=False)
    try:
        records = book.list_batches(engine, 1)
        sent = [r for r in records if r.provider_id is not None]
        assert sorted(r.provider_id for r in sent) == sorted(stub_book.batches)
        for r in sent:
            ids = {book.custom_id("r", k) for k in book.members(engine, r.id)}
            assert ids == {cid for cid, _ in stub_book.batches[str(r.provider_id)].requests}
    finally:
        engine.dispose()


def _answers(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select country, scenario, value, variant, sample, raw, code, position, missing, "
            "probs, option_mass from answers order by value, variant"
        ).fetchall()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_batch_run_stores_every_answer_once_as_an_online_run_does(
    provider: str, tmp_path: Path
) -> None:
    stub_book = BatchBook(expire={2})  # batch 2 expires: its second half never runs
    db, online = tmp_path / "batch.db", tmp_path / "online.db"
    with _stub(provider, stub_book) as model:
        cli = CliRunner()
        result = cli.invoke(main, _args(model, db, "--batch", "--batch-size", "100"))
        assert result.exit_code == 0, result.output
        same = cli.invoke(main, _args(model, online))
        assert same.exit_code == 0, same.output
    assert _stored(db) == (PROMPTS, PROMPTS, 0)
    runs = _sent_once(stub_book)
    assert len(runs) == PROMPTS
    # Every 50th request the stub meets for the first time comes back errored (2%: 8 of 448),
    # and batch 2's second half (50 requests) expires: those 57 go in batch 6, where one of
    # the 50 expired, met for the first time, is the 400th and errs, and goes in batch 7.
    paths = Counter(tuple(kinds) for kinds in runs.values())
    assert paths == {("ok",): PROMPTS - 57, ("errored", "ok"): 7, ("expired", "ok"): 49,
                     ("expired", "errored", "ok"): 1}  # fmt: skip
    assert stub_book.met == PROMPTS
    assert [len(b.requests) for b in stub_book.batches.values()] == [100] * 4 + [48, 57, 1]
    # the results came back out of order (matched by custom id), yet stored as asked online
    first = stub_book.batches["batch_stub0001" if provider == "openai" else "msgbatch_stub0001"]
    assert [c for c, _, _ in first.outcomes or []] != [c for c, _ in first.requests]
    assert _answers(db) == _answers(online)
    if provider == "openai":  # the top log-probabilities read into option probabilities
        probs = [json.loads(a[9]) for a in _answers(db)]
        assert all(max(p.values()) == pytest.approx(0.5 / 0.8) for p in probs)
    _store_matches_stub(db, stub_book)
    assert "448 asked in 7 new batch(es), 0 failed" in result.output


def test_runs_show_lists_a_runs_batches(tmp_path: Path) -> None:
    stub_book = BatchBook(expire={2})
    db = tmp_path / "s.db"
    with _stub("anthropic", stub_book) as model:
        cli = CliRunner()
        assert cli.invoke(main, _args(model, db, "--batch", "--batch-size", "200")).exit_code == 0
    shown = cli.invoke(main, ["runs", "show", "r", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    # 200, 200 (half expired: 100 sent again), 48; then the 100 + 8 errored in one batch
    # Of the requests met for the first time every 50th errs. 200: 4 err; 200: 100 expire,
    # 2 of the other 100 err; 48: none; the 106 sent again (100 met now): 2 err; those 2.
    assert "batches: 5" in shown.output
    lines = [line.strip() for line in shown.output.splitlines() if line.startswith("  batch ")]
    said = [line.split(", ", 1)[1] for line in lines]
    assert [line.split(":")[0] for line in lines] == [f"batch {n}" for n in range(1, 6)]
    assert said == [
        "ingested (ended), 200 requests: 196 succeeded, 0 errored, 4 retried",
        "ingested (ended), 200 requests: 98 succeeded, 0 errored, 102 retried",
        "ingested (ended), 48 requests: 48 succeeded, 0 errored, 0 retried",
        "ingested (ended), 106 requests: 104 succeeded, 0 errored, 2 retried",
        "ingested (ended), 2 requests: 2 succeeded, 0 errored, 0 retried",
    ]
    assert lines[0].startswith("batch 1: anthropic msgbatch_stub0001, ")
    data = json.loads(cli.invoke(main, ["runs", "show", "r", "--db", str(db),
                                        "--format", "json"]).output)  # fmt: skip
    assert [b["requests"] for b in data["batches"]] == [200, 200, 48, 106, 2]
    assert sum(b["counts"]["succeeded"] for b in data["batches"]) == PROMPTS


def test_a_backend_without_batches_is_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cli = CliRunner()
    result = cli.invoke(main, ["run", "--model", "mock", "--batch", *GRID, "--db", str(db)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --batch: the mock backend has no batch API; batch runs work with openai and "
        "anthropic"
    ]
    assert not db.exists()  # nothing planned, nothing stored
    ray = cli.invoke(main, ["run", "--model", "openai:m", "-M", "base_url=http://127.0.0.1:9/v1",
                            "--batch", "--executor", "ray", *GRID, "--db", str(db)])  # fmt: skip
    assert ray.exit_code == 2 and "leave out --executor ray" in ray.output
    assert len(ray.output.strip().splitlines()) == 1 and not db.exists()


# SIGKILL at each step: the command in a process of its own, killed by the stub's hook.


def _command(model: list[str], db: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "valuecompass", *_args(model, db, "--batch", *more)]


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _killed_then_resumed(
    args: list[str], pid: list[int], when: Any = None, timeout: float = 90.0
) -> str:
    """Run ARGS until it is killed (by a hook that reads PID, or by WHEN, polled), then run it
    again to its end; the second run's output."""
    first = _start(args)
    pid.append(first.pid)
    deadline = time.monotonic() + timeout
    while first.poll() is None and time.monotonic() < deadline:
        if when is not None and when():
            os.kill(first.pid, signal.SIGKILL)
        time.sleep(0.01)
    out = first.stdout.read().decode() if first.stdout else ""
    assert first.returncode == -signal.SIGKILL, out
    again = _start(args)
    said, _ = again.communicate(timeout=timeout)
    assert again.returncode == 0, said.decode()
    return said.decode()


def _killer(pid: list[int], event: str, nth: int) -> Any:
    """A hook that kills the command the NTH time the stub meets EVENT."""
    seen = [0]

    def hook(what: str, batch_id: str) -> None:
        if what == event:
            seen[0] += 1
            if seen[0] == nth:
                os.kill(pid[0], signal.SIGKILL)
                time.sleep(0.2)  # the reply goes to a process that is gone

    return hook


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_killed_while_sending_a_batch_it_finds_that_batch_and_sends_nothing_twice(
    provider: str, tmp_path: Path
) -> None:
    """Killed after the provider made batch 2 and before its id was recorded: the run takes
    that batch up (OpenAI: by the tag in its metadata; Anthropic: by its size and time)."""
    pid: list[int] = []
    stub_book = BatchBook(expire=(), hook=_killer(pid, "create", 2))
    db = tmp_path / "s.db"
    with _stub(provider, stub_book) as model:
        said = _killed_then_resumed(_command(model, db, "--batch-size", "150"), pid)
    assert _stored(db) == (PROMPTS, PROMPTS, 0)
    runs = _sent_once(stub_book)
    assert len(runs) == PROMPTS
    # 150, 150 (made as the run died, taken up), 148; then the 8 errored, sent again
    assert [len(b.requests) for b in stub_book.batches.values()] == [150, 150, 148, 8]
    _store_matches_stub(db, stub_book)
    assert "2 sent before" in said


def test_killed_while_polling_it_polls_the_same_batches_again(tmp_path: Path) -> None:
    pid: list[int] = []
    stub_book = BatchBook(seconds=1.0, expire={1}, hook=_killer(pid, "poll", 3))
    db = tmp_path / "s.db"
    with _stub("openai", stub_book) as model:
        said = _killed_then_resumed(_command(model, db, "--batch-size", "200"), pid)
    assert _stored(db) == (PROMPTS, PROMPTS, 0)
    runs = _sent_once(stub_book)
    # 200 (half expired, 2 of the rest err), 200 (4 err), 48: all sent before the kill; then
    # the 106, of which 2 of the 100 met for the first time err, and those 2
    assert [len(b.requests) for b in stub_book.batches.values()] == [200, 200, 48, 106, 2]
    assert Counter(len(k) for k in runs.values()) == {1: PROMPTS - 106, 2: 104, 3: 2}
    _store_matches_stub(db, stub_book)
    assert "asked in 2 new batch(es) and 3 sent before" in said


def test_killed_while_storing_results_it_stores_only_the_rest(tmp_path: Path) -> None:
    """One batch of 896 results, sent 50 lines every 0.1 s: the run is killed once it has
    stored a first group of them; run again, it reads the results again and stores the rest."""
    pid: list[int] = []
    stub_book = BatchBook(expire=(), chunk=50, pause=0.1)
    db = tmp_path / "s.db"
    grid = ["--countries", "India,Germany"]

    def partly_stored() -> bool:
        with contextlib.suppress(sqlite3.Error):
            return 0 < _stored(db)[0] < 896 - 17
        return False

    with _stub("anthropic", stub_book) as model:
        args = _command(model, db, *grid)
        said = _killed_then_resumed(args, pid, when=partly_stored)
    assert _stored(db) == (896, 896, 0)
    runs = _sent_once(stub_book)
    assert [len(b.requests) for b in stub_book.batches.values()] == [896, 17]  # 2% errored
    assert len(runs) == 896
    _store_matches_stub(db, stub_book)
    assert "1 sent before" in said


def test_the_bundled_model_answers_a_batch(tmp_path: Path) -> None:
    """SmolLM2 (llama.cpp) behind the Message Batches stub: its greedy replies are stored
    word for word."""
    local = get_backend("local")
    asked: list[tuple[list[dict[str, str]], str]] = []

    def real(body: dict[str, Any]) -> str:
        messages = [{"role": "system", "content": body["system"]}, *body["messages"]]
        text = local.complete(Request(messages=messages, temperature=body["temperature"],
                                      max_tokens=body["max_tokens"], seed=0)).text  # fmt: skip
        asked.append((messages, text))
        return text

    db = tmp_path / "s.db"
    items = ["--items", "Ambitious,Capable,Honest", "--variants", "0", "--temperature", "0",
             "--max-tokens", "2", "--batch"]  # fmt: skip
    try:
        with _stub("anthropic", BatchBook(expire=()), answerer=real) as model:
            result = CliRunner().invoke(main, _args(model, db, *items))
            assert result.exit_code == 0 and "3 asked in 1 new batch(es)" in result.output, (
                result.output
            )
    finally:
        local.close()
    with sqlite3.connect(db) as conn:
        stored = sorted(r[0] for r in conn.execute("select raw from prompts"))
    assert len(stored) == 3 and stored == sorted(text for _, text in asked)
