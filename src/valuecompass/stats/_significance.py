"""Which values' gaps are real: a permutation test per value, with Benjamini-Hochberg control.

For each value the statistic is its alignment distance, the mean over contexts of
``|model mean - people mean|`` (or, with the alignment's ``group_distance="means"``, the
distance between its mean scores over contexts). Under the null hypothesis people's and the
model's answers to the value are exchangeable within each context, so the test shuffles the
labels "person" and "model" among each context's answering units (people and prompt
variant × sample answers, keeping the group sizes) and recomputes the distance; each answer
is pooled as its position normalised on its own side's scale (0 agree), so people and a model
answering on scales that run opposite ways are compared alike. The p-value is
``(1 + #{permuted >= observed}) / (1 + permutations)``; q-values control the false discovery
rate across values (Benjamini and Hochberg, 1995).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecompass.answers import normalise
from valuecompass.instrument import Point, RatingScale
from valuecompass.metrics import Alignment
from valuecompass.stats._groups import Layout
from valuecompass.stats._resample import random_ranks
from valuecompass.stats._units import FloatArray, IntArray, Units, arrange, cell_means


def benjamini_hochberg(p_values: FloatArray) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values); ``NaN`` entries are left out of m.

    ``q_(i) = min over j >= i of p_(j) · m / j``, capped at 1; the same as
    ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(q, 1.0)
    out[ok] = adjusted
    return out


#: The scale pooled units are on: positions already normalised (0 agree .. 1 the other end).
NORMALISED = RatingScale(
    id="normalised",
    agree="first",
    points=(
        Point(code="0", label="agree end", position=0.0),
        Point(code="1", label="other end", position=1.0),
    ),
)


def _pool(people: Units, model: Units) -> tuple[Units, IntArray]:
    """Both sides' units in one array per context: people first, then the model's.

    Each side's positions are normalised on its own scale first (0 its agree end, 1 the
    other), so scales that run opposite ways, or have other lengths, pool alike; the pooled
    units are on :data:`NORMALISED`.
    """
    n_h, n_m = people.counts, model.counts
    width = int((n_h + n_m).max(initial=1))
    c_dim, k = people.positions.shape[0], people.positions.shape[2]
    pooled = np.full((c_dim, max(width, 1), k), np.nan)
    ph, pm = normalise(people.positions, people.scale), normalise(model.positions, model.scale)
    for c in range(c_dim):
        pooled[c, : n_h[c]] = ph[c, : n_h[c]]
        pooled[c, n_h[c] : n_h[c] + n_m[c]] = pm[c, : n_m[c]]
    return Units(pooled, n_h + n_m, people.contexts, people.values, NORMALISED), n_h


def value_distance(human: FloatArray, model: FloatArray, how: str = "cells") -> FloatArray:
    """Mean over contexts of ``|model - human|`` per value, ``(..., C, K)`` → ``(..., K)``;
    with ``how="means"``, ``|mean over contexts of (model - human)|`` (the authors' way)."""
    diff = model - human
    ok = ~np.isnan(diff)
    count = ok.sum(axis=-2)
    total = np.where(ok, diff if how == "means" else np.abs(diff), 0.0).sum(axis=-2)
    total = np.abs(total) if how == "means" else total
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return out


def permutation_test(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    *,
    permutations: int = 2000,
    seed: int | np.random.Generator = 0,
    alpha: float = 0.05,
    chunk: int = 500,
) -> pd.DataFrame:
    """Per value: ``distance``, ``p_value``, ``q_value`` (BH) and ``significant`` (q < alpha).

    A value with no cell scored by both sides gets ``NaN`` p and q and is not counted in the
    correction. ``seed`` is an integer or a ``numpy.random.Generator``.
    """
    if permutations < 1:
        from valuecompass.stats._bootstrap import StatsError

        raise StatsError(f"permutations must be at least 1, got {permutations}")
    layout = Layout.of(alignment)
    people = arrange(
        human_answers, layout.contexts, list(layout.values), scale=layout.scale("humans")
    )
    model = arrange(model_answers, layout.contexts, list(layout.values), scale=layout.scale("llm"))
    pooled, n_h = _pool(people, model)
    how = layout.group_distance
    observed = value_distance(people.cell_means(), model.cell_means(), how)
    rng = np.random.default_rng(seed)
    exceed = np.zeros(len(layout.values))
    done = 0
    while done < permutations:
        b = min(chunk, permutations - done)
        ranks = random_ranks(rng, pooled.counts, pooled.width, b)
        first = (ranks < n_h[None, :, None]).astype(float)
        second = ((ranks >= n_h[None, :, None]) & (ranks < pooled.counts[None, :, None])).astype(
            float
        )
        permuted = value_distance(cell_means(first, pooled), cell_means(second, pooled), how)
        exceed += (permuted >= observed - 1e-12).sum(axis=0)
        done += b
    p = np.where(np.isnan(observed), np.nan, (1.0 + exceed) / (1.0 + permutations))
    q = benjamini_hochberg(p)
    return layout.value_table().assign(
        **{
            "distance": observed,
            "p_value": p,
            "q_value": q,
            "significant": np.where(np.isnan(q), False, q < alpha),
        }
    )
