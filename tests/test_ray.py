"""The ray executor: a local two-worker cluster yields exactly the local executor's store, and a
worker killed mid-run is replaced with nothing lost or stored twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from click.testing import CliRunner

from valuecompass.models import ConfigError
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._ray import RayPool, _placement, work_units

#: One context, two variants, item mode: two work units of 56 prompts.
GRID: dict[str, Any] = {
    "countries": ["India"],
    "scenarios": ["healthcare"],
    "variants": [0, 3],
    "mode": "item",
    "temperature": 0.0,
    "progress": False,
}
ANSWER_COLUMNS = "country, scenario, value, variant, sample, raw, code, position, missing, probs, "
ANSWER_COLUMNS += "option_mass, expected"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray head on loopback with two CPUs (room for two single-CPU workers); its address."""
    with pytest.MonkeyPatch.context() as patch:
        # Ray binds to the machine's address unless told it is not forming a cluster: by this
        # variable, which it reads when imported (hence the constant as well).
        patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        patch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=100 * 1024**2,
            log_to_driver=False,
            namespace="valuecompass-tests",
        )
        try:
            address = ray.get_runtime_context().gcs_address
            assert address.startswith("127.0.0.1:"), address
            yield address
        finally:
            ray.shutdown()


def _contents(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(prompt rows, answer rows) of a store's only run, in a fixed order, without timings."""
    with sqlite3.connect(db) as conn:
        prompts = conn.execute(
            "select cache_key, country, scenario, item, variant, sample, raw, error, prompt_tokens,"
            " completion_tokens from prompts order by cache_key"
        ).fetchall()
        answers = conn.execute(
            f"select {ANSWER_COLUMNS} from answers "
            "order by country, scenario, value, variant, sample"
        ).fetchall()
    return prompts, answers


def _assert_same_store(local: Path, distributed: Path, tolerance: float) -> None:
    """Same prompts and answers; probabilities, their mass and expectations within TOLERANCE."""
    prompts_a, answers_a = _contents(local)
    prompts_b, answers_b = _contents(distributed)
    assert prompts_a == prompts_b
    assert len(answers_a) == len(answers_b) == len(prompts_a)
    for a, b in zip(answers_a, answers_b, strict=True):
        assert a[:9] == b[:9]  # context, value, variant, sample, text, code, position, reason
        probs_a, probs_b = json.loads(a[9]), json.loads(b[9])
        assert probs_a.keys() == probs_b.keys()
        assert probs_a == pytest.approx(probs_b, abs=tolerance)
        assert a[10:] == pytest.approx(b[10:], abs=tolerance)


def test_work_units_are_blocks_halved_until_every_worker_has_one() -> None:
    class P:
        def __init__(self, variant: int) -> None:
            self.context = (("country", "india"), ("scenario", "healthcare"))
            self.variant = variant

    class J:
        def __init__(self, variant: int, i: int) -> None:
            self.prompt, self.key = P(variant), f"{variant}-{i}"

    jobs = [J(v, i) for v in (0, 3) for i in range(5)]
    assert [len(u) for u in work_units(jobs, 2)] == [5, 5]
    # 4 workers: the first largest block (variant 0) is halved, then the next largest.
    units = work_units(jobs, 4)
    assert [[j.key for j in u] for u in units] == [
        ["0-0", "0-1"],
        ["0-2", "0-3", "0-4"],
        ["3-0", "3-1"],
        ["3-2", "3-3", "3-4"],
    ]
    assert [len(u) for u in work_units(jobs[:1], 3)] == [1]


def test_actors_reserve_their_threads_and_gpus_and_must_fit() -> None:
    cpus = {"CPU": 4.0}
    assert _placement(RunConfig(model="mock"), cpus) == ({"num_cpus": 1, "num_gpus": 0}, 4)
    local = RunConfig(model="local", backend_options={"threads": 2})
    assert _placement(local, cpus) == ({"num_cpus": 2, "num_gpus": 0}, 2)
    gpus = {"CPU": 16.0, "GPU": 2.0}
    model = RunConfig(model="transformers:/models/x")
    assert _placement(model, gpus) == ({"num_cpus": 1, "num_gpus": 1}, 2)
    assert _placement(model, cpus) == ({"num_cpus": 1, "num_gpus": 0}, 4)  # no GPU: on CPUs
    with pytest.raises(
        ConfigError, match=r"3 ray workers need 3 GPUs \(1 each\); the cluster has 2"
    ):
        _placement(model.model_copy(update={"ray_workers": 3}), gpus)


def test_mock_grid_same_store_under_both_executors(cluster: str, tmp_path: Path) -> None:
    config = RunConfig(model="mock", db=str(tmp_path / "local.db"), **GRID)
    local = run_model(config)
    config = config.model_copy(update={"db": str(tmp_path / "ray.db"), "executor": "ray"})
    distributed = run_model(config.model_copy(update={"ray_workers": 2}))
    assert local.total == distributed.total == distributed.asked == 112
    assert distributed.run.status == "finished" and distributed.run.model == "mock:answer=hash"
    _assert_same_store(tmp_path / "local.db", tmp_path / "ray.db", 1e-12)
    again = run_model(config)  # resume: nothing left to ask
    assert (again.skipped, again.asked) == (112, 0)


@pytest.mark.slow
def test_bundled_model_same_store_under_both_executors(cluster: str, tmp_path: Path) -> None:
    # 6 values x 2 variants; one thread per model, as each of the two actors has one CPU.
    values = ["ambitious", "wealth", "humble", "creativity", "honest", "equality"]
    grid = {**GRID, "items": values}
    config = RunConfig(model="local", backend_options={"threads": 1}, **grid)
    local = run_model(config.model_copy(update={"db": str(tmp_path / "local.db")}))
    distributed = run_model(
        config.model_copy(update={"db": str(tmp_path / "ray.db"), "executor": "ray"})
    )
    assert local.asked == distributed.asked == 12 and distributed.failed == 0
    assert local.run.model == distributed.run.model
    # Each actor starts its unit from an empty context while the local executor carries the
    # first unit's context into the second; llama.cpp then evaluates the same prompt in other
    # chunks, which changes probabilities only in the last float digits.
    _assert_same_store(tmp_path / "local.db", tmp_path / "ray.db", 1e-6)


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("select count(*) from prompts").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _pids_once_back(pool: RayPool) -> list[int]:
    """The actors' pids, waiting while one restarts (the run may finish before it is back)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return pool.pids()
        except ray.exceptions.RayActorError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_killed_worker_is_replaced_and_nothing_lost_or_doubled(
    cluster: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Each unit takes about 56 x 0.04 s; one worker is killed after a few answers are stored.
    config = RunConfig(model="mock:delay=0.04", db=str(tmp_path / "ray.db"), ray_workers=2, **GRID)
    pool = RayPool.start(config.model_copy(update={"executor": "ray"}))
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while _stored(tmp_path / "ray.db") < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        pid = pool.pids()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    try:
        killer.start()
        summary = run_model(config.model_copy(update={"executor": "ray"}), backend=pool)
        killer.join()
        assert killed and killed[0] not in _pids_once_back(pool)  # the worker was replaced
    finally:
        pool.close()
    assert (summary.total, summary.asked, summary.failed) == (112, 112, 0)
    assert summary.answers == 112
    resent = [r.getMessage() for r in caplog.records if "go out again" in r.getMessage()]
    assert len(resent) == 1, resent  # the killed worker's unit, less what it had delivered
    with sqlite3.connect(tmp_path / "ray.db") as conn:
        keys = [r[0] for r in conn.execute("select cache_key from prompts")]
        answers = conn.execute("select count(*) from answers").fetchone()[0]
    assert len(keys) == len(set(keys)) == answers == 112
    local = RunConfig(model="mock:delay=0.04", db=str(tmp_path / "local.db"), **GRID)
    run_model(local)
    _assert_same_store(tmp_path / "local.db", tmp_path / "ray.db", 1e-12)


def test_cli_joins_a_cluster_by_address(cluster: str, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    args = ["run", "--executor", "ray", "--ray-address", cluster, "--ray-workers", "2"]
    args += ["--model", "mock", "--countries", "India", "--scenarios", "healthcare"]
    args += ["--variants", "0", "--db", str(db), "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-m", "valuecompass.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "56 asked" in done.stdout
    assert _stored(db) == 56


def test_without_ray_the_extra_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    config = RunConfig(model="mock", db=str(tmp_path / "s.db"), executor="ray", **GRID)
    with pytest.raises(ConfigError, match=r"pip install 'valuecompass\[ray\]'"):
        run_model(config)
    from valuecompass.cli import main

    result = CliRunner().invoke(main, ["run", "--executor", "ray", "--model", "mock",
                                       "--db", str(tmp_path / "c.db")])  # fmt: skip
    assert result.exit_code == 2
    assert "the ray executor needs: pip install 'valuecompass[ray]'" in result.output
