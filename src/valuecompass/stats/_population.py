"""The population target: rates and distances of the true cell means, bias-corrected.

A study's cell means are means of a few people (4 a context in the paper) and a few prompts
(8). Rates and distances computed from them are biased for the same statistics of the true
cell means (every person of the population, every prompt): the noise pushes a cell mean
across the agree/disagree threshold, and it always adds to a distance (``E|x̄ - ȳ| > |μ - λ|``).
The design target (:mod:`._bootstrap`) says where this design would land again; this module
estimates the population's figures instead, with an empirical-Bayes model of the cell means.

For each side (people, model) separately, on normalised scores:

1. **Noise of a cell mean**: ``v_ck = s²_k / n_ck``, ``s²_k`` the within-cell variance of
   value ``k`` pooled over contexts (units who scored the cell; a person's response style is
   part of it, as it is part of drawing another person), ``n_ck`` the units who scored it.
2. **Prior of the true means**: each value's true means across contexts are normal around the
   value's mean ``m_k`` (mean of its cell means), with a spread ``τ²`` common to all values:
   the variance of cell means around their value's mean less the mean noise ``v`` (at least
   a hundredth of it, so that a prior is never a point).
3. **Posterior of each true mean**: normal, mean ``m_k + w (x̄_ck - m_k)``, variance
   ``w v_ck``, ``w = τ² / (τ² + v_ck)``.
4. **Expected statistics**: a cell's expected confusion counts from the two sides' posterior
   probabilities of lying past the threshold (independent sides), and its expected distance
   ``E|λ - μ|`` from the normal posterior of the difference (a folded normal's mean). Rates are
   those of the pooled expected counts; distances are means of the expected cell distances
   (with ``group_distance="means"``, ``|Σ E(λ - μ)|``). A true mean is never exactly on the
   threshold, so the tie rule does not enter.

Intervals resample people and prompts (Rao and Wu, as the design target does), repeat steps
2-4 on each resample (step 1's noise is the study's, scaled by how the resample's pooled
within-cell variance compares with the resamples' mean of it, so that it is as uncertain as a
study's estimate) and take the centred interval around the estimate.
``benchmarks/bench_coverage.py`` measures its coverage of the true cell means' F1 and distance
on a simulation calibrated to the released data (see docs/rigor.md for the figures).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from valuecompass.answers import normalise
from valuecompass.metrics import THRESHOLD
from valuecompass.stats._groups import CODES, Layout, Sums, statistics_of_sums
from valuecompass.stats._units import FloatArray, Units, cell_means

#: What an interval is about: ``design`` (this design run again: today's intervals) or
#: ``population`` (the true cell means' figures, bias-corrected).
IntervalTarget = Literal["design", "population"]
TARGETS: tuple[IntervalTarget, ...] = ("design", "population")

#: How each target is named in tables and reports.
TARGET_WORDS: dict[str, str] = {
    "design": "this design again",
    "population": "population, bias-corrected",
}

#: The prior's spread is at least this share of the mean noise.
_FLOOR = 0.01


def noise_variances(units: Units) -> FloatArray:
    """``v_ck``: the noise variance of each cell mean on normalised scores, ``(C, K)``.

    The within-cell variance is pooled per value over the contexts' units (ddof 1 in each
    cell); a value no cell of which has two units gets the mean of the others' (0 if none).
    ``inf`` where no unit scored the cell.
    """
    x = normalise(units.positions, units.scale)
    present = ~np.isnan(x)
    n = present.sum(axis=1).astype(float)  # (C, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(present, x, 0.0).sum(axis=1) / np.maximum(n, 1), 0.0)
    squares = np.where(present, (np.nan_to_num(x) - mean[:, None, :]) ** 2, 0.0).sum(axis=(0, 1))
    dof = np.maximum(n - 1.0, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(dof > 0, squares / np.maximum(dof, 1.0), np.nan)
    fill = float(np.nanmean(pooled)) if np.isfinite(pooled).any() else 0.0
    pooled = np.where(np.isfinite(pooled), pooled, fill)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(n > 0, pooled[None, :] / np.maximum(n, 1.0), np.inf)
    return out


def resampled_noise(weights: FloatArray, units: Units, noise: FloatArray) -> FloatArray:
    """NOISE ``(C, K)`` as resamples WEIGHTS ``(B, C, U)`` of UNITS would estimate it: each
    value's noise times the resample's pooled within-cell variance over the resamples' mean
    of it, ``(B, C, K)``. The resamples' noise is then as uncertain as a study's estimate of
    it (pooled over a few people a cell), and its mean is the study's."""
    x = normalise(units.positions, units.scale)
    present = ~np.isnan(x)
    x0 = np.where(present, x, 0.0)
    n = np.einsum("bcu,cuk->bck", weights, present.astype(float))
    s1 = np.einsum("bcu,cuk->bck", weights, x0)
    s2 = np.einsum("bcu,cuk->bck", weights, x0 * x0)
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.where(n > 1, s2 - s1 * s1 / np.maximum(n, 1.0), 0.0).sum(axis=1)
        pooled = squares / np.maximum(n - 1.0, 0.0).sum(axis=1)  # (B, K)
        ratio = pooled / np.nanmean(pooled, axis=0, keepdims=True)
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    out: FloatArray = noise[None, :, :] * ratio[:, None, :]
    return out


def _centred(
    means: FloatArray, noise: FloatArray
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Each value's mean over contexts ``(..., 1, K)``, deviations from it (0 where the cell
    is missing) and the mask of cells with a mean."""
    ok = ~np.isnan(means) & np.isfinite(noise)
    count = ok.sum(axis=-2, keepdims=True)
    centre = np.where(ok, means, 0.0).sum(axis=-2, keepdims=True) / np.maximum(count, 1)
    return centre, np.where(ok, means - centre, 0.0), ok


def prior(
    human: FloatArray, model: FloatArray, noise: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Step 2: each value's means ``(..., 1, K)`` per side and the spread of true means around
    them, ``τ²_h``, ``τ²_m`` and their covariance ``τ_hm`` ``(..., 1, 1)``: moments of the
    deviations (divided by their degrees of freedom) less the mean noise; the spreads are at
    least a hundredth of the noise and the correlation is kept within ±0.95."""
    ch, dh, okh = _centred(human, noise[0])
    cm, dm, okm = _centred(model, noise[1])
    both = okh & okm
    axes = (-2, -1)

    def dof(ok: NDArray[np.bool_]) -> FloatArray:
        n = ok.sum(axis=-2, keepdims=True)
        total: FloatArray = np.maximum(n - 1, 0).sum(axis=-1, keepdims=True).astype(float)
        return np.maximum(total, 1.0)

    def mean_noise(v: FloatArray, ok: NDArray[np.bool_]) -> FloatArray:
        total = np.where(ok, v, 0.0).sum(axis=axes, keepdims=True)
        out: FloatArray = total / np.maximum(ok.sum(axis=axes, keepdims=True), 1)
        return out

    nh, nm = mean_noise(noise[0], okh), mean_noise(noise[1], okm)
    # (and never 0, so that a side with neither noise nor spread still has a posterior)
    th = np.maximum((dh**2).sum(axis=axes, keepdims=True) / dof(okh) - nh, _FLOOR * nh + 1e-12)
    tm = np.maximum((dm**2).sum(axis=axes, keepdims=True) / dof(okm) - nm, _FLOOR * nm + 1e-12)
    thm = np.where(both, dh * dm, 0.0).sum(axis=axes, keepdims=True) / dof(both)
    limit = 0.95 * np.sqrt(th * tm)
    return ch, cm, th, tm, np.clip(thm, -limit, limit)


def posterior(
    human: FloatArray, model: FloatArray, noise: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Step 3: the joint normal posterior of each cell's true means: means ``(μ, λ)`` and the
    variances and covariance ``(..., C, K)``; ``NaN`` where either side's cell mean is."""
    ch, cm, th, tm, thm = prior(human, model, noise)
    vh = np.where(np.isnan(human), np.nan, noise[0])
    vm = np.where(np.isnan(model), np.nan, noise[1])
    # posterior covariance (T⁻¹ + V⁻¹)⁻¹ = T - T (T + V)⁻¹ T, with 2 × 2 matrices per cell
    a, b, d = th + vh, thm, tm + vm
    det = a * d - b * b
    ia, ib, id_ = d / det, -b / det, a / det  # (T + V)⁻¹
    # K = T (T + V)⁻¹
    k11, k12 = th * ia + thm * ib, th * ib + thm * id_
    k21, k22 = thm * ia + tm * ib, thm * ib + tm * id_
    eh, em = human - ch, model - cm
    mean_h, mean_m = ch + k11 * eh + k12 * em, cm + k21 * eh + k22 * em
    var_h = th - (k11 * th + k12 * thm)
    var_m = tm - (k21 * thm + k22 * tm)
    cov = thm - (k11 * thm + k12 * tm)
    return mean_h, mean_m, var_h, var_m, cov


def _both_past(a: FloatArray, b: FloatArray, rho: FloatArray) -> FloatArray:
    """``P(X > -a, Y > -b)`` for standard normals with correlation RHO: the tetrachoric
    series ``Φ(a)Φ(b) + φ(a)φ(b) Σ ρⁿ/n! He_{n-1}(a) He_{n-1}(b)`` to its fifth term (error
    under 0.002 for |ρ| ≤ 0.6), kept within its bounds."""
    from scipy.special import ndtr

    pa, pb = ndtr(a), ndtr(b)
    dens = np.exp(-0.5 * (a * a + b * b)) / (2.0 * np.pi)
    he = [(np.ones_like(a), np.ones_like(b)), (a, b)]
    for n in range(2, 5):
        he.append((a * he[-1][0] - (n - 1) * he[-2][0], b * he[-1][1] - (n - 1) * he[-2][1]))
    series = np.zeros_like(a)
    factorial = 1.0
    for n in range(1, 6):
        factorial *= n
        series = series + rho**n / factorial * he[n - 1][0] * he[n - 1][1]
    out: FloatArray = np.clip(
        pa * pb + dens * series, np.maximum(pa + pb - 1, 0), np.minimum(pa, pb)
    )
    return out


def expected_sums(
    post: tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray], axis: int
) -> Sums:
    """Expected cell-code counts and distances, pooled along AXIS (``-1`` per context, ``-2``
    per value), from the cells' joint posterior (:func:`posterior`)."""
    from scipy.special import ndtr

    mh, mm, vh, vm, cov = post
    present = ~(np.isnan(mh) | np.isnan(mm))
    # a side with no noise (a model answering every prompt alike) has a posterior variance
    # of 0, or a rounding error either side of it: such a true mean is known exactly
    vh, vm = np.maximum(np.nan_to_num(vh), 0.0), np.maximum(np.nan_to_num(vm), 0.0)
    sh, sm = np.sqrt(vh), np.sqrt(vm)
    exact_h, exact_m = sh <= 1e-12, sm <= 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        zh = np.where(exact_h, 0.0, (mh - THRESHOLD) / np.where(exact_h, 1.0, sh))
        zm = np.where(exact_m, 0.0, (mm - THRESHOLD) / np.where(exact_m, 1.0, sm))
        rho = np.where(exact_h | exact_m, 0.0, cov / np.where(exact_h | exact_m, 1.0, sh * sm))
    # P(true mean past the threshold); a known mean exactly on it counts half
    ph = np.where(exact_h, np.sign(mh - THRESHOLD) * 0.5 + 0.5, ndtr(zh))
    pm = np.where(exact_m, np.sign(mm - THRESHOLD) * 0.5 + 0.5, ndtr(zm))
    ph, pm = np.nan_to_num(ph, nan=0.5), np.nan_to_num(pm, nan=0.5)
    zh, zm = np.clip(np.nan_to_num(zh), -40, 40), np.clip(np.nan_to_num(zm), -40, 40)
    joint = _both_past(zh, zm, np.clip(np.nan_to_num(rho), -0.99, 0.99))
    # with one side known exactly, the two are independent
    both = np.where(exact_h | exact_m, ph * pm, joint)
    d, sd = mm - mh, np.sqrt(np.maximum(vh + vm - 2 * cov, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = d / np.where(sd > 0, sd, 1.0)
        folded = d * (1.0 - 2.0 * ndtr(-z)) + sd * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * z * z)
    folded = np.where(sd > 1e-12, folded, np.abs(d))
    parts = {
        0: 1.0 - ph - pm + both,  # both agree
        1: pm - both,  # the model disagrees
        3: ph - both,  # people disagree
        4: both,  # both disagree
    }
    shape = np.sum(mh, axis=axis).shape
    counts = np.zeros((*shape, CODES))
    for code, part in parts.items():
        counts[..., code] = np.where(present, part, 0.0).sum(axis=axis)
    distance = np.where(present, folded, 0.0).sum(axis=axis)
    signed = np.where(present, d, 0.0).sum(axis=axis)
    return Sums(counts, distance, signed)


def population_statistics(
    human: FloatArray,
    model: FloatArray,
    noise: tuple[FloatArray, FloatArray],
    layout: Layout,
    groups: tuple[str, ...],
) -> dict[str, dict[str, FloatArray]]:
    """Population estimates of every statistic at every grouping, ``group → stat → (..., G)``,
    from normalised cell means ``(..., C, K)`` and each side's noise variances ``(C, K)``."""
    post = posterior(human, model, noise)
    kinds = {g: "overall" if g == "overall" else layout.rule(g).kind for g in groups}
    per_value = expected_sums(post, -2) if {"item", "items"} & set(kinds.values()) else None
    return statistics_of_sums(expected_sums(post, -1), per_value, layout, groups)


def matched(
    people: Units, model: Units, noise: tuple[FloatArray, FloatArray]
) -> tuple[Units, Units]:
    """PEOPLE and MODEL with each cell's units shifted together so that the cell means spread
    around their value's mean as the true means do: ``m_k + sqrt(w) (x̄_ck - m_k)``,
    ``w = τ² / (τ² + v_ck)`` (the prior of step 2).

    Resampling the study's own units adds the noise a second time (a resample's means spread
    by ``τ² + 2v``), which would inflate the prior of every resample; resampling these units
    gives studies that spread as new ones would (``τ² + v``) around a population like the
    estimated one."""
    from valuecompass.answers import scale_ends
    from valuecompass.instrument import load_instrument

    h, m = people.cell_means(), model.cell_means()
    ch, cm, th, tm, _ = prior(h, m, noise)
    out = []
    for units, means, centre, tau2, v in (
        (people, h, ch, th, noise[0]),
        (model, m, cm, tm, noise[1]),
    ):
        with np.errstate(invalid="ignore"):
            shift = (np.sqrt(tau2 / (tau2 + v)) - 1.0) * (means - centre)
        agree, other = scale_ends(units.scale or load_instrument().people_scale)
        raw = np.nan_to_num(shift) * (other - agree)
        out.append(replace(units, positions=units.positions + raw[:, None, :]))
    return out[0], out[1]


def resampled_population(
    weights: tuple[FloatArray, FloatArray],
    sides: tuple[Units, Units],
    noise: tuple[FloatArray, FloatArray],
    layout: Layout,
    groups: tuple[str, ...],
) -> dict[str, dict[str, FloatArray]]:
    """:func:`population_statistics` of resampled studies: WEIGHTS ``(B, C, U)`` per side."""
    h = cell_means(weights[0], sides[0])
    m = cell_means(weights[1], sides[1])
    h, m = np.broadcast_arrays(h, m)
    return population_statistics(h, m, noise, layout, groups)
