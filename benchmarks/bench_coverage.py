"""Simulated coverage of the F1 and distance intervals: centred (baseline) and calibrated.

    PYTHONPATH=src python benchmarks/bench_coverage.py [STUDIES [SEED]]

Prints each interval's coverage at 90% and 95% over STUDIES simulated studies (default 1000;
the binomial sd is then 0.7 points at 95%), and the calibrated method's time against the
centred one's, both measured in this run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_stats import _draw, _simulation, coverage
from valuecompass.stats import Plan, Units
from valuecompass.stats._bootstrap import bootstrap_units


def timing(method: str, runs: int = 20) -> float:
    rng = np.random.default_rng(0)
    layout, ph, pm = _simulation(rng)
    h = _draw(rng, ph, np.array([1, 2, 2.5, 3, 4.0]), 4, 1)[0]
    m = _draw(rng, pm, np.array([1, 2, 3, 4.0]), 8, 1)[0]
    uh = Units(h, np.full(28, 4), layout.contexts, layout.values)
    um = Units(m, np.full(28, 8), layout.contexts, layout.values)
    plan = Plan(resamples=300, method=method, groups=("overall",), rank_groups=())  # type: ignore[arg-type]
    start = time.perf_counter()
    for _ in range(runs):
        bootstrap_units(uh, um, layout, plan, rng)
    return (time.perf_counter() - start) / runs


def main() -> None:
    studies = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2025
    shares = coverage(studies, seed)
    for (stat, method, level), share in sorted(shares.items()):
        print(f"{stat:9s} {method:11s} nominal {level:.2f}  covered {share:.3f}")
    base = timing("centred")
    for method in ("shifted", "calibrated"):
        t = timing(method)
        print(
            f"time per bootstrap: centred {base:.3f} s, {method} {t:.3f} s (ratio {t / base:.1f})"
        )


if __name__ == "__main__":
    main()
