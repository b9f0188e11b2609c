"""Interval methods on resampled statistics: centred, percentile, basic and BCa.

All take replicates shaped ``(B, G)`` (one column per group) and ignore replicates where the
statistic is undefined (``NaN``). The last three follow Efron and Tibshirani (1993), ch. 13-14,
and the conventions of ``scipy.stats.bootstrap``:

* ``centred`` (the default): the percentile interval shifted so that the replicates' median
  sits on the estimate: ``estimate + (q_low - median)``, ``estimate + (q_high - median)``.
  Rates and distances of cell *means* are biased by the noise in those means, and a resample
  (a mean of resampled units) adds that bias a second time; the shift removes the second
  helping and keeps the interval's shape. It targets what the study's design measures: the
  expected rate or distance with this many people per context and these prompt variants. In
  the coverage simulation of tests/test_stats.py (600 studies, Rao-Wu draws) it covers the
  distance 95% of the time and F1 and kappa about 91% (their bootstrap spread is about 9%
  too narrow; ``shifted`` corrects this); the percentile, basic and BCa intervals cover the
  distance 0-1% of the time.
* ``percentile``: the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicates.
* ``basic`` (reverse percentile): ``2·estimate - q_high``, ``2·estimate - q_low``; it moves
  the interval back by the bootstrap's own bias, so it aims below the estimate, at what an
  infinitely large panel would give; with 4 people a context it gets there only partly (in
  the simulation it covered that value about 3 times in 4).
* ``shifted``: for the rates, the centred interval of threshold-corrected replicates; for the
  distance, the centred interval. The F1 interval's simulated coverage is then within 1.5
  points of nominal at 90% and 95% (see :mod:`._calibrate`).
* ``calibrated``: ``shifted`` widened by a double-bootstrap factor: never below nominal in the
  simulation, up to 2.4 points above it.
* ``bca``: percentile levels moved by the median bias ``z0`` (share of replicates below the
  estimate, ties counted half) and the acceleration ``a`` from a jackknife over units.

Every interval is clipped to its statistic's range (:data:`BOUNDS`, :func:`clip_interval`):
the centred, basic, shifted and calibrated intervals move quantiles by the estimate and can
pass an end (an F1 upper bound of 1.2, a distance of 1.01); a clipped end says the interval
reaches the end of the range. Percentile and BCa ends are replicates, always inside.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from valuecompass.stats._units import FloatArray, IntArray

Method = Literal["centred", "percentile", "basic", "bca", "calibrated", "shifted"]
METHODS: tuple[Method, ...] = ("centred", "percentile", "basic", "bca", "calibrated", "shifted")


#: The range of each bounded statistic: rates and the distance in [0, 1], kappa in [-1, 1].
BOUNDS: dict[str, tuple[float, float]] = {
    "f1": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "kappa": (-1.0, 1.0),
    "distance": (0.0, 1.0),
}


def clip_interval(
    statistic: str, low: FloatArray, high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``(low, high)`` clipped to STATISTIC's range in :data:`BOUNDS` (unchanged for a
    statistic not listed); ``NaN`` stays ``NaN``."""
    if statistic not in BOUNDS:
        return low, high
    lo, hi = BOUNDS[statistic]
    return np.clip(low, lo, hi), np.clip(high, lo, hi)


def column_quantiles(replicates: FloatArray, q: FloatArray) -> FloatArray:
    """Quantile ``q[g]`` of column ``g``, NaN ignored, linear interpolation (NumPy's default).

    ``q`` broadcasts against the columns; a column with no defined replicate gives ``NaN``.
    """
    reps = np.sort(replicates, axis=0)  # NaN sorts last
    n = (~np.isnan(replicates)).sum(axis=0)
    q = np.broadcast_to(np.asarray(q, dtype=float), n.shape)
    pos = np.clip(q, 0.0, 1.0) * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    cols = np.arange(reps.shape[1])
    below, above = reps[lo, cols], reps[hi, cols]
    out: FloatArray = np.where(n > 0, below + (pos - lo) * (above - below), np.nan)
    return out


def percentile_interval(replicates: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    alpha = (1.0 - level) / 2.0
    g = replicates.shape[1]
    low = column_quantiles(replicates, np.full(g, alpha))
    high = column_quantiles(replicates, np.full(g, 1.0 - alpha))
    return low, high


def centred_interval(
    replicates: FloatArray, estimate: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    low, high = percentile_interval(replicates, level)
    shift = estimate - column_quantiles(replicates, np.full(replicates.shape[1], 0.5))
    return low + shift, high + shift


def scaled_centred_interval(
    replicates: FloatArray, estimate: FloatArray, scale: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """The centred interval with its distances from the estimate multiplied by ``scale``."""
    low, high = percentile_interval(replicates, level)
    median = column_quantiles(replicates, np.full(replicates.shape[1], 0.5))
    return estimate + scale * (low - median), estimate + scale * (high - median)


def basic_interval(
    replicates: FloatArray, estimate: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    low, high = percentile_interval(replicates, level)
    return 2.0 * estimate - high, 2.0 * estimate - low


def bias_z0(replicates: FloatArray, estimate: FloatArray) -> FloatArray:
    """``Φ⁻¹`` of the share of replicates below the estimate (ties half), kept finite.

    The share is clipped to ``[1/(2B), 1 - 1/(2B)]``: when every replicate lies on one side of
    the estimate the bias is as large as B replicates can show, not infinite.
    """
    ok = ~np.isnan(replicates)
    n = np.maximum(ok.sum(axis=0), 1)
    below = ((replicates < estimate) & ok).sum(axis=0) + ((replicates <= estimate) & ok).sum(axis=0)
    share = np.clip(below / (2.0 * n), 0.5 / n, 1.0 - 0.5 / n)
    from scipy.special import ndtri  # scipy on demand: importing valuecompass stays light

    z0: FloatArray = ndtri(share)
    return z0


def bca_interval(
    replicates: FloatArray, estimate: FloatArray, acceleration: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    from scipy.special import ndtr, ndtri

    z0 = bias_z0(replicates, estimate)
    z = float(ndtri((1.0 - level) / 2.0))
    a = np.nan_to_num(acceleration)
    levels = []
    for zq in (z, -z):
        num = z0 + zq
        levels.append(ndtr(z0 + num / (1.0 - a * num)))
    return column_quantiles(replicates, levels[0]), column_quantiles(replicates, levels[1])


def acceleration(theta: FloatArray, strata: IntArray, sizes: FloatArray) -> FloatArray:
    """BCa acceleration from jackknife replicates, one stratum (sample) at a time.

    ``theta`` is ``(J, G)``: the statistic with one unit left out; ``strata[j]`` names the
    stratum (side and context) replicate ``j`` leaves a unit of, and ``sizes[j]`` its unit
    count. As scipy does for several samples: ``U = (n - 1)(mean_s - theta)``,
    ``a = Σ U³/n³ / (6 (Σ U²/n²)^1.5)`` summed over all strata and units.
    """
    ok = ~np.isnan(theta)
    ids = np.unique(strata, return_inverse=True)[1]
    onehot = (ids[:, None] == np.arange(ids.max(initial=-1) + 1)[None, :]).astype(float)
    total = onehot.T @ np.where(ok, theta, 0.0)
    count = onehot.T @ ok.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
    u = (sizes[:, None] - 1.0) * (onehot @ np.nan_to_num(mean) - theta)
    u = np.where(ok, u, 0.0)
    n = sizes[:, None]
    num = (u**3 / n**3).sum(axis=0)
    den = (u**2 / n**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a: FloatArray = np.where(den > 0, num / (6.0 * den**1.5), 0.0)
    return a
