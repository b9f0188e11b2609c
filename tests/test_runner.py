"""The runner: every answer stored once, resumed after crashes, cached across runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from _store_support import default_sigint
from valuecompass.api import align_sources
from valuecompass.cli import main
from valuecompass.models import FatalBackendError
from valuecompass.models.mock import MockBackend
from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import RunAborted, RunConfig, run_model
from valuecompass.store import StoreError, open_store
from valuecompass.store import runs as store
from valuecompass.testing import serve_stub

SMALL = {"countries": ["India", "France"], "scenarios": ["healthcare"], "progress": False}


def _counts(db: Path) -> tuple[int, int, int]:
    """(prompts, answers, distinct answer keys) in a store."""
    with sqlite3.connect(db) as conn:
        prompts = conn.execute("select count(*) from prompts").fetchone()[0]
        answers = conn.execute("select count(*) from answers").fetchone()[0]
        distinct = conn.execute(
            "select count(*) from (select distinct run_id, country, scenario, value, variant, "
            "sample from answers)"
        ).fetchone()[0]
    return prompts, answers, distinct


def test_all_mode_run_stores_every_answer_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    config = RunConfig(model="mock", db=str(db), mode="all", **SMALL)
    first = run_model(config)
    assert (first.total, first.asked, first.failed) == (2 * 8, 16, 0)
    assert first.answers == first.scored == 16 * 56
    again = run_model(config)
    assert (again.skipped, again.asked, again.cached) == (16, 0, 0)
    assert _counts(db) == (16, 16 * 56, 16 * 56)
    assert again.run.status == "finished" and again.run.version


def test_cache_serves_another_run_with_the_same_requests(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    backend = MockBackend()
    run_model(RunConfig(model="mock", db=db, run="a", **SMALL), backend=backend)
    calls = backend.calls
    second = run_model(RunConfig(model="mock", db=db, run="b", **SMALL), backend=backend)
    assert backend.calls == calls and second.cached == second.total == 2 * 8 * 56
    # More samples: sample 0 comes from the cache, sample 1 is asked.
    third = run_model(RunConfig(model="mock", db=db, run="c", samples=2, **SMALL), backend=backend)
    assert (third.cached, third.asked) == (2 * 8 * 56, 2 * 8 * 56)


def test_the_cache_copies_in_bulk_exactly_what_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 23, item 9: prompts copied one at a time (8 ms each). Copied in chunks (7 here,
    so chunks end mid-run), run b holds every prompt and answer of run a, row for row, and a
    resumed copy skips what it holds."""
    monkeypatch.setattr(store, "COPY_CHUNK", 7)
    db = tmp_path / "s.db"
    run_model(RunConfig(model="mock", db=str(db), run="a", mode="all", **SMALL))
    second = run_model(RunConfig(model="mock", db=str(db), run="b", mode="all", **SMALL))
    assert (second.cached, second.asked) == (16, 0)
    engine = open_store(str(db))
    runs = {r.name: r for r in store.list_runs(engine)}
    key = ["country", "scenario", "value", "variant", "sample"]
    a, b = (
        store.run_answers(engine, runs[n]).drop(columns="source").sort_values(key) for n in "ab"
    )
    assert len(b) == 16 * 56 and a.reset_index(drop=True).equals(b.reset_index(drop=True))
    with sqlite3.connect(db) as conn:
        raw = "select cache_key, raw, latency from prompts where run_id = ? order by cache_key"
        assert (
            conn.execute(raw, (runs["a"].id,)).fetchall()
            == conn.execute(raw, (runs["b"].id,)).fetchall()
        )
    assert store.copy_prompts(engine, [1, 2, 3], runs["b"].id) == 0  # b has them already


def test_same_name_with_other_settings_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    run_model(RunConfig(model="mock", db=db, run="r", **SMALL))
    with pytest.raises(StoreError, match="different params"):
        run_model(RunConfig(model="mock", db=db, run="r", temperature=0.7, **SMALL))


def test_api_failures_are_retried_and_answers_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cycle = ["ok", "429", "ok", "500", "badjson", "ok", "timeout", "ok"]
    with serve_stub(plan=lambda n: cycle[n % len(cycle)], hang=1.0) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url, timeout=0.3)
        config = RunConfig(model="openai:stub", db=str(db), mode="all", retries=8, backoff=0.01,
                           concurrency=16, **SMALL)  # fmt: skip
        summary = run_model(config, backend=backend)
        assert {"429", "500", "badjson", "timeout"} <= set(stub.outcomes)
        assert stub.count > summary.total
    assert summary.failed == 0 and summary.scored == 16 * 56
    assert _counts(db) == (16, 16 * 56, 16 * 56)


def test_failed_prompts_are_kept_as_missing_then_asked_again(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    config = RunConfig(model="openai:stub", db=str(db), mode="all", retries=0, **SMALL)
    with serve_stub(plan=lambda n: "500" if n % 3 == 0 else "ok") as stub:
        summary = run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
        port = stub.server_address[1]
    assert summary.failed == 5  # requests 3, 6, 9, 12 and 15 of 16
    engine = open_store(db)
    table = store.run_answers(engine, store.list_runs(engine)[0])
    assert (table["missing"] == "error").sum() == 5 * 56
    with serve_stub(port=port) as stub:
        resumed = run_model(config, backend=OpenAIBackend("stub", base_url=stub.base_url))
        assert stub.count == 5
    assert (resumed.skipped, resumed.asked, resumed.failed) == (11, 5, 0)
    assert _counts(db) == (16, 16 * 56, 16 * 56)


def test_bad_credentials_stop_the_run(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with serve_stub(plan=lambda n: "401") as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        with pytest.raises(FatalBackendError, match="credentials"):
            run_model(RunConfig(model="openai:stub", db=db, **SMALL), backend=backend)
    engine = open_store(db)
    [run] = store.list_runs(engine)
    assert run.status == "failed" and "credentials" in (run.note or "")


def test_unreachable_endpoint_stops_after_a_streak(tmp_path: Path) -> None:
    config = RunConfig(model="openai:x", db=str(tmp_path / "s.db"), retries=0, max_failures=5,
                       concurrency=1, backend_options={"base_url": "http://127.0.0.1:9/v1"},
                       **SMALL)  # fmt: skip
    with pytest.raises(RunAborted, match=r"\d+ prompts in a row failed.*cannot reach"):
        run_model(config)


def test_store_is_an_llm_source_and_exports(tmp_path: Path, released: Path) -> None:
    db = tmp_path / "s.db"
    run_model(RunConfig(model="mock", db=str(db), mode="all", scenarios=["healthcare"],
                        progress=False))  # fmt: skip
    result = align_sources(released, db)
    by_country = result.alignment.by("country")
    assert len(by_country) == 7 and set(by_country["n_contexts"]) == {1}
    assert result.llm.manifest is not None and result.llm.manifest["mode"] == "all"
    out = tmp_path / "answers.csv"
    name = result.llm.manifest["name"]
    cli = CliRunner().invoke(main, ["runs", "export", name, "--db", str(db), "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["source", "country", "scenario", "value"] and "expected" in header
    assert len(out.read_text().splitlines()) == 1 + 7 * 8 * 56


def test_cli_run_list_show_and_bad_input(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    cli = CliRunner()
    ok = cli.invoke(main, ["run", "--model", "mock", "--countries", "India", "--scenarios",
                           "education", "--variants", "0,2", "--db", db, "--run", "t"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "112 asked" in ok.output  # 2 variants x 56 values, item mode
    listed = json.loads(cli.invoke(main, ["runs", "list", "--db", db, "--format", "json"]).output)
    assert [r["name"] for r in listed] == ["t"] and listed[0]["prompts"] == 112
    show = ["runs", "show", "t", "--db", db, "--format", "json"]
    shown = json.loads(cli.invoke(main, show).output)
    assert shown["scored"] == 112 and shown["grid"]["variants"] == [0, 2]
    for args, message in [
        (["run", "--model", "gpt9", "--db", db], "known backends"),
        (["run", "--model", "mock", "--scenarios", "cooking", "--db", db], "valid: collaborative"),
        (["run", "--model", "mock", "--variants", "x", "--db", db], "whole numbers"),
        (["runs", "show", "nope", "--db", db], "runs there: t"),
        (["runs", "list", "--db", str(tmp_path / "absent.db")], "no such store"),
    ]:
        bad = cli.invoke(main, args)
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)


def test_sigkill_mid_run_then_resume_finds_every_answer_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    exe = Path(sys.executable).parent / "valuecompass"
    args = [str(exe), "run", "--model", "mock:delay=0.01", "--countries", "India",
            "--scenarios", "healthcare", "--db", str(db), "--run", "k", "--concurrency", "2",
            "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            try:
                stored = _counts(db)[0]
            except sqlite3.OperationalError:
                continue
            if stored >= 60:
                break
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    prompts, answers, distinct = _counts(db)
    assert 60 <= prompts < 448 and prompts == answers == distinct  # no half-written prompt
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert f"{prompts} already stored" in done.stdout and f"{448 - prompts} asked" in done.stdout
    assert _counts(db) == (448, 448, 448)


def test_ctrl_c_marks_the_run_interrupted_and_keeps_what_was_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    exe = Path(sys.executable).parent / "valuecompass"
    args = [str(exe), "run", "--model", "mock:delay=0.02", "--countries", "India",
            "--scenarios", "education", "--db", str(db), "--run", "c", "--concurrency", "1",
            "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            if db.exists() and _counts(db)[0] >= 20:
                break
        except sqlite3.OperationalError:
            continue
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command to resume" in err
    with sqlite3.connect(db) as conn:
        status = conn.execute("select status from runs where name = 'c'").fetchone()[0]
    prompts, answers, distinct = _counts(db)
    assert status == "interrupted" and 20 <= prompts == answers == distinct < 448
