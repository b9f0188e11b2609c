"""Bootstrap throughput on the paper's released data: 10,000 resamples, rate and distance.

The vectorised bootstrap (valuecompass.stats) resamples the 4 people and the 8 prompt answers
of each of the 28 contexts (56 values each) and computes the alignment rate (F1 and its
companions) and distance per context, country, topic and overall for every resample. The
reference does the same resampling in a plain loop and calls scikit-learn's ``f1_score`` per
context and resample; it runs a smaller count and is scaled up. Prints seconds and the speed
ratio. Run: ``.venv/bin/python benchmarks/bench_bootstrap.py [--data DIR] [--model NAME]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from valuecompass import align, load_instrument, load_source
from valuecompass.metrics import binarise
from valuecompass.stats import Layout, Plan, arrange
from valuecompass.stats._bootstrap import bootstrap_units

RESAMPLES, REFERENCE = 10_000, 50
HEADLINE = ("context", "country", "topic", "overall")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"


def _vectorised(people, model, layout, groups, ranks) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall-clock and CPU seconds of five runs (the machine may be shared)."""
    plan = Plan(resamples=RESAMPLES, chunk=1000, groups=groups, rank_groups=ranks)
    wall, cpu = float("inf"), float("inf")
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        bootstrap_units(people, model, layout, plan, np.random.default_rng(0))
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def _sklearn_loop(people, model, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """N resamples: per context draw units with replacement, average, score with sklearn.
    Returns wall-clock and CPU seconds."""
    rng = np.random.default_rng(0)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        f1s, dists = [], []
        for c in range(len(people.counts)):
            h_rows = people.positions[c, rng.integers(0, people.counts[c], people.counts[c])]
            m_rows = model.positions[c, rng.integers(0, model.counts[c], model.counts[c])]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a cell nobody drawn scored
                h = (np.nanmean(h_rows, axis=0) - 1) / 3
                m = (np.nanmean(m_rows, axis=0) - 1) / 3
            keep = ~np.isnan(h) & ~np.isnan(m)
            f1s.append(f1_score(binarise(h[keep]), binarise(m[keep]), zero_division=0))
            dists.append(np.abs(h[keep] - m[keep]).mean())
        np.mean(f1s), np.mean(dists)
    return time.perf_counter() - start, time.process_time() - start_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()
    form = load_instrument()
    humans, _ = load_source(args.data, form, "humans")
    answers, _ = load_source(args.data / "llm_outputs" / args.model, form, "llm")
    alignment = align(humans, answers, form)
    layout = Layout.of(alignment)
    people = arrange(humans, layout.contexts, list(layout.values))
    model = arrange(answers, layout.contexts, list(layout.values))
    shape = f"{len(layout.contexts)} contexts x {len(layout.values)} values"
    print(f"{args.model}: {shape}, {int(people.counts.sum())} people, "
          f"{int(model.counts.sum())} prompt answers")  # fmt: skip
    fast, fast_cpu = _vectorised(people, model, layout, HEADLINE, ())
    print(f"vectorised, rate + distance (context, country, topic, overall): "
          f"{RESAMPLES:,} resamples in {fast:.2f} s (CPU {fast_cpu:.2f} s)")  # fmt: skip
    everything = ("context", "country", "topic", "value", "type", "overall")
    full, full_cpu = _vectorised(people, model, layout, everything, ("overall", "country", "topic"))
    print(f"vectorised, every grouping + rank intervals: {RESAMPLES:,} resamples in {full:.2f} s "
          f"(CPU {full_cpu:.2f} s)")  # fmt: skip
    slow, slow_cpu = _sklearn_loop(people, model, REFERENCE)
    scale = RESAMPLES / REFERENCE
    wall_all, cpu_all = slow * scale, slow_cpu * scale
    print(f"scikit-learn loop: {REFERENCE} resamples in {slow:.2f} s (CPU {slow_cpu:.2f} s) → "
          f"{RESAMPLES:,} would take {wall_all:.0f} s (CPU {cpu_all:.0f} s)")  # fmt: skip
    print(f"speed ratio (scikit-learn loop / vectorised): {wall_all / fast:.0f}x wall-clock, "
          f"{cpu_all / fast_cpu:.0f}x CPU")  # fmt: skip


if __name__ == "__main__":
    main()
