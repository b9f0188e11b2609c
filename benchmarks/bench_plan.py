"""The planner's draws: multinomial counts per respondent against gathering drawn indices.

One simulated design of N people per context on the released data's 28 contexts × 56 values,
R = 400 studies: the planner's way (``valuecompass.stats._plan._draw_means``: a count per pilot
respondent, cost independent of N) against the direct way (draw N indices per context and
study, gather the N rows, average them). The printed ratio is planner time over direct time
at each N (below 1: the planner is faster); both give the same distribution of cell means.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from valuecompass.api import align_sources
from valuecompass.stats._plan import _draw_means, make_pilot

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"
REPS = 400


def _direct(rng: np.random.Generator, scores: np.ndarray, counts: np.ndarray, n: int) -> None:
    for g in range(len(counts)):
        idx = rng.integers(0, int(counts[g]), size=(REPS, n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cell nobody scored
            np.nanmean(scores[g][idx], axis=1)


def _time(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    root = DATA if DATA.is_dir() else Path("/work/shared/datasets/valuecompass-2025")
    result = align_sources(root, root / "llm_outputs" / "gpt-4o-mini")
    pilot = make_pilot(result.alignment, result.human_answers, result.model_answers)
    for n in (4, 64, 512):
        rng = np.random.default_rng(0)
        planner = _time(_draw_means, rng, pilot.people, pilot.n_people, n, REPS)
        direct = _time(_direct, rng, pilot.people, pilot.n_people, n)
        print(f"N={n:4d}: planner {planner:.3f} s, direct {direct:.3f} s, "
              f"ratio {planner / direct:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
