"""Distributions, not only means: how far people's answers and the model's are spread apart.

Per cell (context × value), people's answers form a distribution over the points of their
scale and the model's over the points of its scale, from its variants and samples, or from each
answer's token probabilities when the answer table has them (a ``probs`` column holding a mapping
``position → probability`` per answer). Each side's positions are normalised on its own scale
(0 agree end .. 1 the other, :mod:`valuecompass.answers`), so both live on one common support:
the union of the two scales' normalised points (for the Value Form 0, 1/3, 1/2, 2/3, 1: people's
five points, of which the model uses four). Two distances compare them:

* the Wasserstein (earth mover's) distance divided by the support's range (1 when both scales
  reach both ends), so 0 is the same distribution and 1 all mass at opposite ends, as
  ``scipy.stats.wasserstein_distance / range``;
* the Jensen-Shannon distance with base-2 logarithms (0..1), as
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass.answers import reference_scale
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import RatingScale
from valuecompass.metrics import Alignment
from valuecompass.stats._groups import Layout
from valuecompass.stats._units import FloatArray


def __getattr__(name: str) -> object:
    """``SUPPORT`` (deprecated): the bundled Value Form people scale's raw positions, read from
    its YAML when asked for (nothing is loaded at import)."""
    if name == "SUPPORT":
        return _raw_support()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _raw_support() -> tuple[float, ...]:
    from valuecompass.instrument import load_instrument

    return load_instrument().people_scale.raw_support


def common_support(*scales: RatingScale) -> tuple[float, ...]:
    """The sorted union of the SCALES' normalised points (equal points counted once)."""
    points: list[float] = []
    for value in sorted(p for s in scales for p in s.support):
        if not points or not np.isclose(points[-1], value):
            points.append(value)
    return tuple(points)


class DistributionError(ValueCompassError, ValueError):
    """An answer whose position or probabilities do not fit the support."""


def answer_distributions(
    answers: pd.DataFrame,
    layout: Layout,
    support: tuple[float, ...] | None = None,
    probs: str = "probs",
    scale: RatingScale | None = None,
) -> FloatArray:
    """Each cell's distribution of answers over SUPPORT, ``(C, K, S)``; ``NaN`` if no answer.

    Each scored answer counts once: as a point mass at its position, or, when the column named
    PROBS exists and holds a mapping for it, as that distribution (renormalised). With SCALE,
    positions (and the mappings' keys) are first normalised on it, and SUPPORT (default: the
    scale's normalised points) is on [0, 1]; without it SUPPORT (default: the bundled Value
    Form people scale's raw positions) holds raw positions.
    """
    if support is None:
        support = scale.support if scale is not None else _raw_support()
    if scale is not None:
        answers = _normalised(answers, scale, probs)
    ctx = {key: i for i, key in enumerate(layout.contexts)}
    val = {v: i for i, v in enumerate(layout.values)}
    df = answers[answers["position"].notna()]
    keys = zip(*(df[str(n)] for n in layout.contexts.names), strict=True)
    c = np.array([ctx.get(k, -1) for k in keys], int)
    k = df["value"].map(val).fillna(-1).to_numpy(int)
    keep = (c >= 0) & (k >= 0)
    rows = _row_masses(df, support, probs)[keep]
    sums = np.zeros((len(layout.contexts), len(layout.values), len(support)))
    np.add.at(sums, (c[keep], k[keep]), rows)
    total = sums.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(total > 0, sums / np.where(total > 0, total, 1.0), np.nan)
    return out


def _normalised(answers: pd.DataFrame, scale: RatingScale, probs: str) -> pd.DataFrame:
    """ANSWERS with positions, and the keys of their PROBS mappings, normalised on SCALE."""
    out = answers.copy()
    out["position"] = [scale.normalise(float(p)) for p in out["position"]]
    if probs in out.columns:
        out[probs] = [
            {scale.normalise(float(str(k))): v for k, v in m.items()}
            if isinstance(m, Mapping)
            else m
            for m in out[probs]
        ]
    return out


def _row_masses(df: pd.DataFrame, support: tuple[float, ...], probs: str) -> FloatArray:
    points = np.asarray(support)
    pos = df["position"].to_numpy(float)
    at = np.isclose(pos[:, None], points[None, :])
    rows = at.astype(float)
    spread = np.zeros(len(df), bool)  # answers that carry their own distribution
    if probs in df.columns:
        for i, mapping in enumerate(df[probs].to_numpy()):
            if isinstance(mapping, Mapping) and mapping:
                rows[i] = _mass_of(mapping, points)
                spread[i] = True
    off = ~at.any(axis=1) & ~spread
    if off.any():
        bad = sorted(set(pos[off].tolist()))
        raise DistributionError(f"positions {bad} are not on the support {list(support)}")
    out: FloatArray = rows
    return out


def _mass_of(mapping: Mapping[object, object], points: FloatArray) -> FloatArray:
    row = np.zeros(len(points))
    for key, p in mapping.items():
        hit = np.isclose(points, float(str(key)))
        if not hit.any():
            raise DistributionError(f"probability for position {key!r} is off the support")
        row[hit] += float(str(p))
    total = row.sum()
    if total <= 0 or (row < 0).any():
        raise DistributionError(f"probabilities {dict(mapping)} do not form a distribution")
    out: FloatArray = row / total
    return out


def scaled_wasserstein(
    p: FloatArray, q: FloatArray, support: tuple[float, ...] | None = None
) -> FloatArray:
    """Wasserstein-1 distance over the last axis divided by the support's range.

    On a line it is the area between the two CDFs: ``Σ |P_i - Q_i| (x_{i+1} - x_i)``.
    Inputs are renormalised as scipy does; ``NaN`` where either distribution is. SUPPORT
    defaults to the deprecated raw ``SUPPORT``.
    """
    if support is None:
        support = _raw_support()
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    x = np.asarray(support, dtype=float)
    gaps = np.diff(x)
    cdf_gap = np.abs(np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1))[..., :-1]
    out: FloatArray = (cdf_gap * gaps).sum(axis=-1) / (x[-1] - x[0])
    return np.where(np.isnan(out), np.nan, out)


def jensen_shannon(p: FloatArray, q: FloatArray) -> FloatArray:
    """Jensen-Shannon distance (square root of the divergence), base 2, over the last axis.

    Inputs are renormalised as scipy does; ``0 · log 0`` counts 0.
    """
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    js = np.sqrt(np.maximum((kl_p + kl_q) / 2.0, 0.0))
    nan = np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)
    out: FloatArray = np.where(nan, np.nan, js)
    return out


@dataclass(frozen=True)
class Distributions:
    """Per-cell distribution distances; :meth:`by` averages them over a grouping."""

    cells: pd.DataFrame  # context columns, value, groupings, wasserstein, jensen_shannon, n_*
    layout: Layout | None = None  # the groupings (None: the Value Form's, by column name)

    def by(self, group: str) -> pd.DataFrame:
        """Mean distances (over cells with both sides) per any grouping the layout offers
        (``context``: a level of every context axis; an axis; ``value``; an item grouping), or
        ``overall``."""
        cols = ["wasserstein", "jensen_shannon"]
        if group == "overall":
            return self.cells[cols].mean().to_frame().T
        if self.layout is None:  # the cells' columns before ``value`` key a context
            before = list(self.cells.columns[: list(self.cells.columns).index("value")])
            keys = before if group == "context" else [group]
        else:
            rule = self.layout.rule(group)
            keys = list(map(str, self.layout.contexts.names)) if rule.kind == "context" else []
            keys = keys or [rule.column]
        return self.cells.groupby(keys, sort=False)[cols].mean().reset_index()


def distribution_distances(
    alignment: Alignment, human_answers: pd.DataFrame, model_answers: pd.DataFrame
) -> Distributions:
    """Wasserstein and Jensen-Shannon distances between people's and the model's answers."""
    layout = Layout.of(alignment)
    people_scale = reference_scale(alignment.instrument, "humans")
    model_scale = reference_scale(alignment.instrument, "llm")
    support = common_support(people_scale, model_scale)
    people = answer_distributions(human_answers, layout, support, scale=people_scale)
    model = answer_distributions(model_answers, layout, support, scale=model_scale)
    cells = alignment.human.index.to_frame(index=False).merge(layout.value_table(), how="cross")
    cells["wasserstein"] = scaled_wasserstein(people, model, support).ravel()
    cells["jensen_shannon"] = jensen_shannon(people, model).ravel()
    cells["n_people"] = _answer_counts(human_answers, layout).ravel()
    cells["n_model"] = _answer_counts(model_answers, layout).ravel()
    return Distributions(cells, layout)


def _answer_counts(answers: pd.DataFrame, layout: Layout) -> FloatArray:
    scored = answers[answers["position"].notna()]
    keys = [str(n) for n in layout.contexts.names]
    counts = scored.groupby([*keys, "value"]).size().unstack("value")
    table = counts.reindex(index=layout.contexts, columns=list(layout.values)).fillna(0)
    out: FloatArray = table.to_numpy(float)
    return out
