"""Answers arranged for resampling: a positions array of contexts × units × values per side.

A *unit* is what the bootstrap draws: a person (people's answers) or one prompt variant's
answer in one sample, in one language where the table has a language column (a model's
answers: a cell (context, item) holds one answer per language, the language axis not being a
context axis). A unit answers every value of its context at once, so
drawing whole units keeps the correlation between a person's (or a prompt's) answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass.answers import normalise
from valuecompass.instrument import RatingScale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Units:
    """Scale positions per unit.

    ``positions[c, u, k]`` is unit ``u``'s raw position on SCALE for value ``k`` in context
    ``c``; ``NaN`` where the unit gave no score or where context ``c`` has fewer than ``u + 1``
    units (padding). ``counts[c]`` is how many units context ``c`` has. ``scale`` is the
    scale the positions are on (``None``: the bundled Value Form's people scale).
    """

    positions: FloatArray
    counts: IntArray
    contexts: pd.MultiIndex
    values: tuple[str, ...]
    scale: RatingScale | None = None

    @property
    def width(self) -> int:
        """The largest number of units in a context (the padded unit axis)."""
        return int(self.positions.shape[1])

    def cell_means(self) -> FloatArray:
        """Normalised cell means over all units, shape ``(C, K)``: the matrix H or L."""
        means: FloatArray = cell_means(np.ones((1, *self.positions.shape[:2])), self)[0]
        return means


#: The answer table's column for an instrument's language axis (its id in every bundled one).
LANGUAGE = "language"


def unit_columns(answers: pd.DataFrame, language: str = LANGUAGE) -> list[str]:
    """``["respondent"]`` for people's answers, ``["variant", "sample"]`` for a model's, and
    the LANGUAGE column after them where the table has one: a model asked in two languages
    answers each cell twice per variant and sample, two units (never one overwriting the other).
    """
    if len(answers) and (answers["respondent"].astype(str).str.len() > 0).all():
        return ["respondent"]
    return ["variant", "sample", *([language] if language in answers.columns else [])]


def arrange(
    answers: pd.DataFrame,
    contexts: pd.MultiIndex,
    values: list[str] | tuple[str, ...],
    unit_cols: list[str] | None = None,
    scale: RatingScale | None = None,
) -> Units:
    """Arrange a tidy answer table as :class:`Units` over CONTEXTS and VALUES.

    Rows of other contexts or values are ignored. A unit with rows but no score (a person who
    marked everything irrelevant) still counts as a unit: drawing it leaves cells empty.
    """
    cols = unit_cols or unit_columns(answers)
    ctx_index = {key: i for i, key in enumerate(contexts)}
    val_index = {v: i for i, v in enumerate(values)}
    keys = [str(n) for n in contexts.names]
    df = answers[[*keys, "value", "position", *cols]].copy()
    df["c"] = [ctx_index.get(k, -1) for k in zip(*(df[k] for k in keys), strict=True)]
    df["k"] = df["value"].map(val_index).fillna(-1).astype(int)
    df = df[(df["c"] >= 0) & (df["k"] >= 0)]
    unit_keys = [df[c].astype(str) for c in cols]
    group = df.groupby([df["c"], *unit_keys], sort=True).ngroup().to_numpy()
    first = pd.Series(group).groupby(df["c"].to_numpy()).transform("min").to_numpy()
    u = group - first
    counts = np.zeros(len(contexts), dtype=np.int64)
    if len(df):
        np.maximum.at(counts, df["c"].to_numpy(), u + 1)
    positions = np.full((len(contexts), max(int(counts.max(initial=0)), 1), len(values)), np.nan)
    positions[df["c"].to_numpy(), u, df["k"].to_numpy()] = df["position"].to_numpy(float)
    return Units(positions, counts, contexts, tuple(values), scale)


def cell_means(weights: FloatArray, units: Units) -> FloatArray:
    """Normalised weighted cell means, ``(B, C, U)`` weights → ``(B, C, K)`` scores.

    ``weights[b, c, u]`` is how many times resample ``b`` drew unit ``u`` of context ``c``. A
    cell is ``NaN`` when no drawn unit scored it. One contraction gives the weighted sums of the
    positions and of their presence together, so B resamples cost one call.
    """
    x = units.positions
    present = ~np.isnan(x)
    k = x.shape[-1]
    stacked = np.concatenate([np.where(present, x, 0.0), present.astype(float)], axis=-1)
    # (C, B, 2K): sums, then counts. einsum's own loop, not a BLAS call: multithreaded BLAS
    # on these many small products is no faster when idle and many times slower on a busy
    # machine (its threads spin while waiting for a core).
    both = np.einsum("bcu,cuk->cbk", weights, stacked)
    sums, counts = both[..., :k], both[..., k:]
    means = np.full(sums.shape, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    out: FloatArray = np.moveaxis(normalise(means, units.scale), 0, 1)
    return out
