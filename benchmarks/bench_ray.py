"""The ray executor: the bundled model in item mode on 1 and on 2 Ray workers.

One context x 2 variants x 56 values (112 prompts), two work units, through the real runner and
store on a local Ray cluster of two CPUs; every actor runs llama.cpp on one thread. Prints the
best of two interleaved runs of each setting (actors started and models loaded before the
clock starts, as a long run amortises them) and the speed-up of 2 workers over 1, with the local
executor on one thread for reference. The load average is printed too: on a machine shared
with other work a speed-up needs two idle cores, and single runs vary severalfold.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ray

from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._ray import RayPool

GRID = {"countries": ["India"], "topics": ["healthcare"], "variants": [0, 3], "mode": "item"}
BASE = RunConfig(model="local", backend_options={"threads": 1}, temperature=0.0,
                 max_tokens=2, progress=False, **GRID)  # fmt: skip
REPEATS = 2


def _timed(config: RunConfig) -> float:
    """Seconds for the grid; a ray run's actors are started and their models loaded before
    the clock starts, as a long run amortises them."""
    pool = RayPool.start(config) if config.executor == "ray" else None
    try:
        summary = run_model(config, backend=pool)
    finally:
        if pool is not None:
            pool.close()
    assert summary.asked == summary.total == 112 and summary.failed == 0, summary.text()
    return summary.wall


def _settings(root: Path, i: int) -> dict[str, RunConfig]:
    ray_run = BASE.model_copy(update={"executor": "ray"})
    return {
        "ray1": ray_run.model_copy(update={"db": str(root / f"r1-{i}.db"), "ray_workers": 1}),
        "ray2": ray_run.model_copy(update={"db": str(root / f"r2-{i}.db"), "ray_workers": 2}),
        "local1": BASE.model_copy(update={"db": str(root / f"l1-{i}.db")}),
    }


def _measure(root: Path) -> dict[str, list[float]]:
    """Each setting REPEATS times, interleaved, so a burst of other work hits all alike."""
    times: dict[str, list[float]] = {}
    for i in range(REPEATS):
        for key, config in _settings(root, i).items():
            times.setdefault(key, []).append(_timed(config))
            load = os.getloadavg()[0]
            print(f"  {key}: {times[key][-1]:.1f} s (load average {load:.1f})", flush=True)
    return times


def main() -> None:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=100 * 1024**2)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            load = os.getloadavg()[0]
            times = _measure(Path(tmp))
            after = os.getloadavg()[0]
    finally:
        ray.shutdown()
    best = {k: min(v) for k, v in times.items()}
    print(f"112 prompts, bundled model, item mode; best of {REPEATS} "
          f"(load average {load:.1f} -> {after:.1f})")  # fmt: skip
    for key, label in (("ray1", "ray, 1 worker x 1 thread "), ("ray2", "ray, 2 workers x 1 thread"),
                       ("local1", "local executor, 1 thread "),):  # fmt: skip
        print(f"{label}: {best[key]:6.1f} s  {112 / best[key]:5.1f} prompts/s")
    print(f"speed-up of 2 ray workers over 1: {best['ray1'] / best['ray2']:.2f}x")


if __name__ == "__main__":
    main()
