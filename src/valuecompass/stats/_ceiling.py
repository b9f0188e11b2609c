"""The human ceiling: how well people agree with other people, beside how well the model does.

Each context's people are split at random into two halves of ``floor(n/2)``; the halves' cell
means are compared with the same rate and distance as the model (half A as the truth). With 4
people a context that is 2 against 2, so the model is also scored against one half (2 people),
which is the fair comparison: ``model_half`` is at the same sample size as ``ceiling``, while
the headline number compares the model with all 4. Every number is averaged over the splits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass.metrics import Alignment
from valuecompass.stats._groups import STATISTICS, Layout, default_groups, group_statistics
from valuecompass.stats._resample import split_weights
from valuecompass.stats._units import FloatArray, arrange, cell_means

Stats = dict[str, dict[str, FloatArray]]


@dataclass(frozen=True)
class Ceiling:
    """People against people (``ceiling``), the model against half the people
    (``model_half``) and against all of them (``model``), per grouping and statistic."""

    layout: Layout
    splits: int
    ceiling: Stats
    model_half: Stats
    model: Stats

    def table(self, group: str, statistics: tuple[str, ...] = STATISTICS) -> pd.DataFrame:
        """Keys, then per statistic: the model's, ``ceiling_<stat>`` and ``model_half_<stat>``."""
        out = self.layout.keys(group)
        for stat in statistics:
            out[stat] = self.model[group][stat]
            out[f"ceiling_{stat}"] = self.ceiling[group][stat]
            out[f"model_half_{stat}"] = self.model_half[group][stat]
        return out.reset_index(drop=True)

    def overall(self) -> dict[str, float]:
        row = self.table("overall").iloc[0]
        return {str(k): float(v) for k, v in row.items()}


def human_ceiling(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    *,
    splits: int = 200,
    seed: int | np.random.Generator = 0,
    groups: tuple[str, ...] | None = None,
) -> Ceiling:
    """Split-half people-against-people rates and distances, averaged over SPLITS random splits.

    Contexts with fewer than two people have no ceiling (``NaN``), and with an odd number one
    person sits out of each split. ``seed`` is an integer or a ``numpy.random.Generator``.
    """
    if splits < 1:
        from valuecompass.stats._bootstrap import StatsError

        raise StatsError(f"splits must be at least 1, got {splits}")
    layout = Layout.of(alignment)
    groups = default_groups(layout) if groups is None else groups
    people = arrange(
        human_answers, layout.contexts, list(layout.values), scale=layout.scale("humans")
    )
    rng = np.random.default_rng(seed)
    first, second = split_weights(rng, people.counts, people.width, splits)
    half_a, half_b = cell_means(first, people), cell_means(second, people)
    model = alignment.model.to_numpy()[None]
    ceiling = _mean(group_statistics(half_a, half_b, layout, groups))
    against_a = group_statistics(half_a, np.broadcast_to(model, half_a.shape), layout, groups)
    against_b = group_statistics(half_b, np.broadcast_to(model, half_b.shape), layout, groups)
    model_half = _mean(
        {
            g: {s: np.concatenate([against_a[g][s], against_b[g][s]]) for s in against_a[g]}
            for g in against_a
        }
    )
    full = group_statistics(alignment.human.to_numpy()[None], model, layout, groups)
    return Ceiling(
        layout,
        splits,
        ceiling,
        model_half,
        {g: {s: a[0] for s, a in d.items()} for g, d in full.items()},
    )


def _mean(stats: Stats) -> Stats:
    """Mean over the leading (split) axis, ignoring splits where a statistic is undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group undefined in every split
        return {g: {s: np.nanmean(a, axis=0) for s, a in d.items()} for g, d in stats.items()}
