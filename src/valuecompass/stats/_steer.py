"""Steerability: does telling the model the country bring it closer to that country's people?

For one level ``a`` of a context axis (a country), within each block of the other axes (a
scenario; with more axes, each combination of their levels), let ``D[a, b]`` be the mean
cell distance between the model asked as ``a`` and the people of ``b``. The steerability of
``a`` is the *swap contrast*

    S(a) = mean over b ≠ a of ½ (D[a, b] + D[b, a] - D[a, a] - D[b, b]),

averaged over blocks: how much farther the swapped pairings (model as ``a`` with ``b``'s
people, and as ``b`` with ``a``'s) are than the matched ones. Its first half, ``D[a, b] -
D[a, a]``, is the model's distance to the other countries' people against its distance to
``a``'s; the second half asks the same of the other countries' prompts, which removes what is
only a difference between the peoples. Hence:

* a model whose answers do not depend on the country (``D[a, b] = D[b, b]`` for all ``a``)
  scores exactly 0, and so does any model when all peoples answer alike;
* ``S > 0``: the country named in the prompt moves the model toward that country's people;
  ``S < 0``: away from them. Units: the alignment distance (normalised scale, ``[-1, 1]``).

Edge cases: a block where ``a`` or every other level is missing is skipped for ``a``; ``NaN``
when no block is left.

What to read it against, and how sure it is:

* ``ceiling``: people against people. Each context's people are split into random halves; one
  half stands in for the model (a "model" that answers exactly as that level's people do) and
  the steerability of one half against the other is taken, averaged over many splits
  (``ceiling_low``/``ceiling_high``: the middle ``level`` of the splits' values). With 4 people
  a context it is what two people score against two others, the most a model can be expected
  to show at this design's size.
* ``steer_low``/``steer_high`` and ``p_value`` come from one resampling scheme: people and
  prompt sets resampled within each context, as :func:`valuecompass.stats.bootstrap` does.
  The interval is the centred one (the replicates' quantiles moved by the estimate minus
  their median); the one-sided p-value for ``S > 0`` is ``(1 + #{S*_b - median(S*) + S <= 0})
  / (1 + B)``: the share of the centred replicates at or below 0, so the lower end of the
  ``1 - 2p`` interval sits at 0, and a two-sided 95% interval excludes 0 when ``p < 0.025``.
* ``p_adj``: Benjamini-Hochberg across the levels' p-values (the overall row is its own test).
* ``permutation_p``: the permutation test kept beside them (people fixed; which prompt level is
  matched with which people permuted within each block, one-sided). It asks another question
  (is the matching better than a random one, these people given), so it can disagree with
  the interval.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from valuecompass.answers import reference_scale
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import GroupingError, GroupRule, group_rule
from valuecompass.metrics import Alignment
from valuecompass.stats._intervals import centred_interval, column_quantiles
from valuecompass.stats._resample import resample_weights, split_weights
from valuecompass.stats._significance import benjamini_hochberg
from valuecompass.stats._units import FloatArray, Units, arrange, cell_means

#: Where the steered axis sits: its position among the context columns, its levels, the blocks.
Where = tuple[int, list[str], list[tuple[str, ...]]]


class SteerError(ValueCompassError, ValueError):
    """Steerability asked of contexts that cannot show it (fewer than two levels)."""


def _axis_rule(alignment: Alignment, axis: str) -> GroupRule:
    """The context axis AXIS names (an id or a deprecated alias); :class:`SteerError` else."""
    inst = alignment.instrument
    axes = [a.id for a in inst.context_axes]
    try:
        rule = group_rule(inst, axis)
    except GroupingError:
        rule = None
    if rule is None or rule.kind != "axis":
        raise SteerError(f"steerability is along a context axis ({', '.join(axes)}), not {axis!r}")
    return rule


def distance_grid(model: FloatArray, human: FloatArray) -> FloatArray:
    """``(..., T, A, K)`` model and people matrices → ``(..., T, A, A)`` mean cell distances
    ``D[..., t, a, b]`` (model as level a, people of level b), missing cells ignored."""
    d = np.abs(model[..., :, :, None, :] - human[..., :, None, :, :])
    present = ~np.isnan(d)
    count = present.sum(axis=-1)
    total = np.where(present, d, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return out


def swap_contrast(grid: FloatArray) -> FloatArray:
    """``(..., T, A, A)`` distances → ``(..., A)`` steerability, averaged over the T blocks."""
    diag = np.diagonal(grid, axis1=-2, axis2=-1)  # (..., T, A)
    # (D[a, b] - D[b, b]) + (D[b, a] - D[a, a]), in this order: exactly 0 when rows agree.
    swapped = (grid - diag[..., None, :]) + (np.swapaxes(grid, -1, -2) - diag[..., :, None])
    a = grid.shape[-1]
    off = ~np.eye(a, dtype=bool)
    ok = ~np.isnan(swapped) & off
    with np.errstate(divide="ignore", invalid="ignore"):
        per_block = np.where(ok, swapped, 0.0).sum(axis=-1) / ok.sum(axis=-1) / 2.0
        per_block = np.where(ok.sum(axis=-1) > 0, per_block, np.nan)
        defined = ~np.isnan(per_block)
        total = np.where(defined, per_block, 0.0).sum(axis=-2)
        out: FloatArray = np.where(defined.any(axis=-2), total / defined.sum(axis=-2), np.nan)
    return out


def _grid_index(alignment: Alignment, axis: str) -> tuple[int, list[str], list[tuple[str, ...]]]:
    """AXIS's position among the context columns, its levels present (in the instrument's
    order) and the blocks held fixed: each combination present of every other axis's levels."""
    ctx = alignment.contexts
    names = [str(n) for n in ctx.names]
    at = names.index(axis)
    present = set(ctx.get_level_values(axis))
    levels = [x for x in group_rule(alignment.instrument, axis).order if x in present]
    blocks = list(dict.fromkeys(_block(tuple(key), at) for key in ctx))
    return at, levels, blocks


def _block(key: tuple[str, ...], at: int) -> tuple[str, ...]:
    return key[:at] + key[at + 1 :]


def _to_grid(matrices: FloatArray, units: Units, where: Where) -> FloatArray:
    """``(..., C, K)`` over the alignment's contexts → ``(..., T, A, K)`` (NaN where absent):
    T blocks (levels of the other axes), A levels of the axis at position ``where[0]``."""
    at, levels, blocks = where
    shape = (*matrices.shape[:-2], len(blocks), len(levels), matrices.shape[-1])
    out: FloatArray = np.full(shape, np.nan)
    level_of = {x: i for i, x in enumerate(levels)}
    block_of = {x: i for i, x in enumerate(blocks)}
    for c, key in enumerate(units.contexts):
        key = tuple(key)
        if key[at] in level_of:
            out[..., block_of[_block(key, at)], level_of[key[at]], :] = matrices[..., c, :]
    return out


def steerability(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    *,
    axis: str | None = None,
    permutations: int = 2000,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
    splits: int = 200,
) -> pd.DataFrame:
    """Steerability per level of AXIS, any of the instrument's context axes (the Value Form:
    ``country`` or ``scenario``); every other axis is held fixed: a block is one combination of
    their levels, so an instrument with three axes compares levels of AXIS only within
    contexts alike in both others.

    AXIS defaults to the instrument's first context axis. Columns: the axis (by id), ``steer``
    with ``steer_low``/``steer_high``, ``p_value`` (bootstrap, one-sided), ``p_adj``
    (Benjamini-Hochberg over the levels), ``ceiling`` with ``ceiling_low``/``ceiling_high``
    (people against people, over SPLITS random halvings), ``permutation_p``, ``own_distance``
    (mean ``D[a, a]``), ``other_distance`` (mean ``D[a, b]``, b ≠ a), and a last row
    ``overall`` (the mean over levels; its p-values from the same draws). See the module
    docstring for each.
    """
    inst = alignment.instrument
    rule = _axis_rule(alignment, axis or alignment.context_columns[0])
    axis = rule.id
    where = _grid_index(alignment, axis)
    levels = where[1]
    if len(levels) < 2:
        raise SteerError(
            f"steerability by {axis} needs at least two {axis} levels that the people and the "
            f"model share; they share {', '.join(levels) or 'none'}"
        )
    values = list(alignment.human.columns)
    h_units = arrange(
        human_answers, alignment.contexts, values, scale=reference_scale(inst, "humans")
    )
    m_units = arrange(model_answers, alignment.contexts, values, scale=reference_scale(inst, "llm"))
    h = _to_grid(h_units.cell_means(), h_units, where)
    m = _to_grid(m_units.cell_means(), m_units, where)
    grid = distance_grid(m, h)
    observed = swap_contrast(grid)
    rng = np.random.default_rng(seed)
    perm = _permutation_p(grid, observed, permutations, rng)
    reps = _replicates(h_units, m_units, where, resamples, rng)
    estimate = _with_mean(observed[None])[0]
    low, high = centred_interval(reps, estimate, level)
    p = _bootstrap_p(reps, estimate)
    ceiling = _ceiling(h_units, where, splits, rng)
    c_low, c_high = _spread(ceiling, level)
    a = len(levels)
    off = ~np.eye(a, dtype=bool)
    own = np.nanmean(np.diagonal(grid, axis1=-2, axis2=-1), axis=0)
    other = np.nanmean(np.where(off, grid, np.nan), axis=(0, 2))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a level no split can show
        ceiling_mean = np.nanmean(ceiling, axis=0)
    adjusted = np.append(benjamini_hochberg(p[:a]), p[a])
    table = pd.DataFrame({axis: [*levels, "overall"], "steer": estimate, "steer_low": low,
                          "steer_high": high, "p_value": p, "p_adj": adjusted,
                          "ceiling": ceiling_mean, "ceiling_low": c_low, "ceiling_high": c_high,
                          "permutation_p": perm,
                          "own_distance": np.append(own, np.nanmean(own)),
                          "other_distance": np.append(other, np.nanmean(other))})  # fmt: skip
    return table


def _with_mean(s: FloatArray) -> FloatArray:
    mean = np.nanmean(s, axis=-1, keepdims=True) if s.shape[-1] else s[..., :0]
    return np.concatenate([s, mean], axis=-1)


def _permutation_p(
    grid: FloatArray, observed: FloatArray, permutations: int, rng: np.random.Generator
) -> FloatArray:
    """One-sided p-values (levels, then overall) from re-matching prompt levels to peoples."""
    t, a, _ = grid.shape
    target = _with_mean(observed[None])[0]
    hits = np.zeros(a + 1)
    for _ in range(permutations):
        rows = np.stack([grid[i][rng.permutation(a)] for i in range(t)])
        with np.errstate(invalid="ignore"):
            hits += _with_mean(swap_contrast(rows)[None])[0] >= target - 1e-12
    return np.where(np.isnan(target), np.nan, (1.0 + hits) / (1.0 + permutations))


def _bootstrap_p(reps: FloatArray, estimate: FloatArray) -> FloatArray:
    """One-sided p for S > 0 from the centred replicates ``S*_b - median(S*) + S``: the share
    at or below 0, as ``(1 + hits) / (1 + B)``; ``NaN`` where the estimate is."""
    median = column_quantiles(reps, np.full(reps.shape[1], 0.5))
    with np.errstate(invalid="ignore"):
        hits = (reps - median + estimate <= 1e-12).sum(axis=0)
    drawn = (~np.isnan(reps)).sum(axis=0)
    p: FloatArray = np.where(np.isnan(estimate), np.nan, (1.0 + hits) / (1.0 + drawn))
    return p


def _ceiling(h_units: Units, where: Where, splits: int, rng: np.random.Generator) -> FloatArray:
    """``(splits, A + 1)`` steerability of one random half of each context's people (as the
    model) against the other half: levels, then their mean."""
    first, second = split_weights(rng, h_units.counts, h_units.width, splits)
    half_a = _to_grid(cell_means(first, h_units), h_units, where)
    half_b = _to_grid(cell_means(second, h_units), h_units, where)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = _with_mean(swap_contrast(distance_grid(half_a, half_b)))
    return out


def _spread(values: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """The middle LEVEL of each column's defined values (``NaN`` for a column with none)."""
    tail = (1.0 - level) / 2.0
    low, high = np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        col = values[:, j][~np.isnan(values[:, j])]
        if col.size:
            low[j], high[j] = np.quantile(col, [tail, 1.0 - tail])
    return low, high


def _replicates(
    h_units: Units,
    m_units: Units,
    where: Where,
    resamples: int,
    rng: np.random.Generator,
    chunk: int = 200,
) -> FloatArray:
    """``(resamples, A + 1)`` steerability with people and prompt sets resampled within each
    context: levels, then their mean."""
    reps = []
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        h = cell_means(resample_weights(rng, h_units.counts, h_units.width, b), h_units)
        m = cell_means(resample_weights(rng, m_units.counts, m_units.width, b), m_units)
        grid = distance_grid(_to_grid(m, m_units, where), _to_grid(h, h_units, where))
        with np.errstate(invalid="ignore"):
            reps.append(_with_mean(swap_contrast(grid)))
        done += b
    return np.concatenate(reps)
