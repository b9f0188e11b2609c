"""Alignment-rate throughput: the vectorised metrics against a per-context scikit-learn loop.

Both compute the F1 of every context of many random (H, L) matrix pairs shaped like the paper's
(28 contexts x 56 values, some cells missing). Prints the time of each and the speed ratio.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import f1_score

from valuecompass.metrics import binarise, rate_metrics

CONTEXTS, VALUES, PAIRS = 28, 56, 200


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = (PAIRS, CONTEXTS, VALUES)
    human = rng.uniform(0, 1, shape)
    model = rng.uniform(0, 1, shape)
    human[rng.uniform(size=shape) < 0.1] = np.nan
    return human, model


def _sklearn_loop(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    out = np.zeros(human.shape[:2])
    for p in range(human.shape[0]):
        for c in range(human.shape[1]):
            keep = ~np.isnan(human[p, c]) & ~np.isnan(model[p, c])
            out[p, c] = f1_score(
                binarise(human[p, c, keep]), binarise(model[p, c, keep]), zero_division=0
            )
    return out


def main() -> None:
    human, model = _data(np.random.default_rng(7))
    start = time.perf_counter()
    ours = rate_metrics(human, model)["f1"]
    fast = time.perf_counter() - start
    start = time.perf_counter()
    reference = _sklearn_loop(human, model)
    slow = time.perf_counter() - start
    assert np.allclose(ours, reference), "vectorised F1 differs from scikit-learn"
    n = PAIRS * CONTEXTS
    print(f"F1 over {n} contexts: vectorised {fast * 1e3:.1f} ms, scikit-learn loop {slow:.2f} s")
    print(f"speed ratio (scikit-learn loop / vectorised): {slow / fast:.0f}x")


if __name__ == "__main__":
    main()
