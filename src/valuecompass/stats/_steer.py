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
when no block is left. The p-value permutes which prompt level is matched with which people
(independently per block, one-sided for ``S > 0``); the interval resamples people and prompt
sets within each context, as :func:`valuecompass.stats.bootstrap` does (centred interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecompass.answers import reference_scale
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import GroupingError, GroupRule, group_rule
from valuecompass.metrics import Alignment
from valuecompass.stats._intervals import centred_interval
from valuecompass.stats._resample import resample_weights
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
) -> pd.DataFrame:
    """Steerability per level of AXIS, any of the instrument's context axes (the Value Form:
    ``country`` or ``scenario``); every other axis is held fixed: a block is one combination of
    their levels, so an instrument with three axes compares levels of AXIS only within
    contexts alike in both others.

    AXIS defaults to the instrument's first context axis. Columns: the axis (by id), ``steer``
    with ``steer_low``/``steer_high``, ``p_value``, ``own_distance`` (mean ``D[a, a]``),
    ``other_distance`` (mean ``D[a, b]``, b ≠ a), and a last row ``overall`` (the mean over
    levels; its p-value from the same permutations).
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
    p = _permutation_p(grid, observed, permutations, rng)
    low, high = _interval(h_units, m_units, where, observed, resamples, level, rng)
    a = len(levels)
    off = ~np.eye(a, dtype=bool)
    own = np.nanmean(np.diagonal(grid, axis1=-2, axis2=-1), axis=0)
    other = np.nanmean(np.where(off, grid, np.nan), axis=(0, 2))
    out = pd.DataFrame({axis: levels, "steer": observed, "steer_low": low[:a],
                        "steer_high": high[:a], "p_value": p[:a], "own_distance": own,
                        "other_distance": other})  # fmt: skip
    overall = {axis: "overall", "steer": float(np.nanmean(observed)), "steer_low": low[a],
               "steer_high": high[a], "p_value": p[a], "own_distance": float(np.nanmean(own)),
               "other_distance": float(np.nanmean(other))}  # fmt: skip
    return pd.concat([out, pd.DataFrame([overall])], ignore_index=True)


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


def _interval(
    h_units: Units,
    m_units: Units,
    where: Where,
    observed: FloatArray,
    resamples: int,
    level: float,
    rng: np.random.Generator,
    chunk: int = 200,
) -> tuple[FloatArray, FloatArray]:
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
    return centred_interval(np.concatenate(reps), _with_mean(observed[None])[0], level)
