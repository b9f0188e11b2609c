"""Steerability: does telling the model the country bring it closer to that country's people?

For one level ``a`` of a context axis (a country), within each level of the other axis (a
topic), let ``D[a, b]`` be the mean cell distance between the model asked as ``a`` and the
people of ``b``. The steerability of ``a`` is the *swap contrast*

    S(a) = mean over b ≠ a of ½ (D[a, b] + D[b, a] - D[a, a] - D[b, b]),

averaged over topics: how much farther the swapped pairings (model as ``a`` with ``b``'s
people, and as ``b`` with ``a``'s) are than the matched ones. Its first half, ``D[a, b] -
D[a, a]``, is the model's distance to the other countries' people against its distance to
``a``'s; the second half asks the same of the other countries' prompts, which removes what is
only a difference between the peoples. Hence:

* a model whose answers do not depend on the country (``D[a, b] = D[b, b]`` for all ``a``)
  scores exactly 0, and so does any model when all peoples answer alike;
* ``S > 0``: the country named in the prompt moves the model toward that country's people;
  ``S < 0``: away from them. Units: the alignment distance (normalised scale, ``[-1, 1]``).

Edge cases: a topic where ``a`` or every other level is missing is skipped for ``a``; ``NaN``
when no topic is left. The p-value permutes which prompt level is matched with which people
(independently per topic, one-sided for ``S > 0``); the interval resamples people and prompt
sets within each context, as :func:`valuecompass.stats.bootstrap` does (centred interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecompass._grouping import group_rule
from valuecompass._normalise import side_scale
from valuecompass.compare import Alignment
from valuecompass.errors import ValueCompassError
from valuecompass.stats._intervals import centred_interval
from valuecompass.stats._resample import resample_weights
from valuecompass.stats._units import FloatArray, Units, arrange, cell_means


class SteerError(ValueCompassError, ValueError):
    """Steerability asked of contexts that cannot show it (fewer than two levels)."""


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
    """``(..., T, A, A)`` distances → ``(..., A)`` steerability, averaged over topics."""
    diag = np.diagonal(grid, axis1=-2, axis2=-1)  # (..., T, A)
    # (D[a, b] - D[b, b]) + (D[b, a] - D[a, a]), in this order: exactly 0 when rows agree.
    swapped = (grid - diag[..., None, :]) + (np.swapaxes(grid, -1, -2) - diag[..., :, None])
    a = grid.shape[-1]
    off = ~np.eye(a, dtype=bool)
    ok = ~np.isnan(swapped) & off
    with np.errstate(divide="ignore", invalid="ignore"):
        per_topic = np.where(ok, swapped, 0.0).sum(axis=-1) / ok.sum(axis=-1) / 2.0
        per_topic = np.where(ok.sum(axis=-1) > 0, per_topic, np.nan)
        defined = ~np.isnan(per_topic)
        total = np.where(defined, per_topic, 0.0).sum(axis=-2)
        out: FloatArray = np.where(defined.any(axis=-2), total / defined.sum(axis=-2), np.nan)
    return out


def _grid_index(alignment: Alignment, axis: str, within: str) -> tuple[list[str], list[str]]:
    ctx = alignment.contexts
    inst = alignment.instrument
    order = {name: list(group_rule(inst, name).order) for name in ("country", "topic")}
    present = {name: set(ctx.get_level_values(name)) for name in ("country", "topic")}
    levels = [x for x in order[axis] if x in present[axis]]
    blocks = [x for x in order[within] if x in present[within]]
    return levels, blocks


def _to_grid(
    matrices: FloatArray, units: Units, axis: str, levels: list[str], blocks: list[str]
) -> FloatArray:
    """``(..., C, K)`` over the alignment's contexts → ``(..., T, A, K)`` (NaN where absent)."""
    shape = (*matrices.shape[:-2], len(blocks), len(levels), matrices.shape[-1])
    out: FloatArray = np.full(shape, np.nan)
    for c, key in enumerate(units.contexts):
        country, topic = key
        level, block = (country, topic) if axis == "country" else (topic, country)
        out[..., blocks.index(block), levels.index(level), :] = matrices[..., c, :]
    return out


def steerability(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    *,
    axis: str = "country",
    permutations: int = 2000,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Steerability per level of AXIS (``country`` or ``topic``; the other axis is held fixed).

    Columns: the axis, ``steer`` with ``steer_low``/``steer_high``, ``p_value``,
    ``own_distance`` (mean ``D[a, a]``), ``other_distance`` (mean ``D[a, b]``, b ≠ a), and a
    last row ``overall`` (the mean over levels; its p-value from the same permutations).
    """
    if axis not in ("country", "topic"):
        raise SteerError(f"steerability is along 'country' or 'topic', not {axis!r}")
    within = "topic" if axis == "country" else "country"
    levels, blocks = _grid_index(alignment, axis, within)
    if len(levels) < 2:
        raise SteerError(
            f"steerability by {axis} needs at least two {axis} levels that the people and the "
            f"model share; they share {', '.join(levels) or 'none'}"
        )
    values = list(alignment.human.columns)
    inst = alignment.instrument
    h_units = arrange(human_answers, alignment.contexts, values, scale=side_scale(inst, "humans"))
    m_units = arrange(model_answers, alignment.contexts, values, scale=side_scale(inst, "llm"))
    h = _to_grid(h_units.cell_means(), h_units, axis, levels, blocks)
    m = _to_grid(m_units.cell_means(), m_units, axis, levels, blocks)
    grid = distance_grid(m, h)
    observed = swap_contrast(grid)
    rng = np.random.default_rng(seed)
    p = _permutation_p(grid, observed, permutations, rng)
    low, high = _interval(h_units, m_units, (axis, levels, blocks), observed, resamples, level, rng)
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
    where: tuple[str, list[str], list[str]],
    observed: FloatArray,
    resamples: int,
    level: float,
    rng: np.random.Generator,
    chunk: int = 200,
) -> tuple[FloatArray, FloatArray]:
    axis, levels, blocks = where
    reps = []
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        h = cell_means(resample_weights(rng, h_units.counts, h_units.width, b), h_units)
        m = cell_means(resample_weights(rng, m_units.counts, m_units.width, b), m_units)
        grid = distance_grid(
            _to_grid(m, m_units, axis, levels, blocks), _to_grid(h, h_units, axis, levels, blocks)
        )
        with np.errstate(invalid="ignore"):
            reps.append(_with_mean(swap_contrast(grid)))
        done += b
    return centred_interval(np.concatenate(reps), _with_mean(observed[None])[0], level)
