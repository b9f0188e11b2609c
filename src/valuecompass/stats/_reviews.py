"""What reviews of an action set say: per criterion the share judged yes with a bootstrap
interval, agreement between reviewers, and the actions most often judged wrong.

The unit is the action (its context, item and inclination). A criterion's share is its yes
judgements over all its judgements (a review that did not judge it does not count). Its
interval is the percentile interval of that share over resamples of the reviewed actions
(drawn with replacement, each with all its reviews). Agreement (:mod:`._agreement`) is per
criterion over the actions it was judged on: Krippendorff's alpha (nominal) uses every action
judged by two reviewers or more; Fleiss' kappa needs the same number of judgements for every
action, so it is computed over the actions with the most common number (two or more: the
number that holds the most judgements, ties to the larger), and the rest are counted as left
out. An action's wrong judgements are its *no* judgements over all four criteria; the actions
with the most (then the largest share of no, then in place order) are listed first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuecompass.stats._agreement import fleiss_kappa, krippendorff_alpha
from valuecompass.store.reviews import CRITERIA


@dataclass(frozen=True)
class CriterionSummary:
    """One criterion: judgements and actions judged, share yes and its interval, agreement."""

    criterion: str
    judgements: int
    actions: int
    yes: int
    share: float
    low: float
    high: float
    alpha: float
    alpha_actions: int
    kappa: float
    kappa_actions: int
    kappa_raters: int
    kappa_left_out: int


@dataclass(frozen=True)
class ReviewSummary:
    """A set's reviews summed up (see the module)."""

    reviews: int
    reviewers: int
    actions: int
    level: float
    resamples: int
    seed: int
    criteria: list[CriterionSummary]
    worst: list[dict[str, Any]] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        """JSON-ready fields (``NaN`` as ``None``)."""
        return {
            "reviews": self.reviews,
            "reviewers": self.reviewers,
            "actions": self.actions,
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "criteria": [{k: _json(v) for k, v in vars(c).items()} for c in self.criteria],
            "worst": self.worst,
        }


def _json(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def review_summary(
    reviewed: pd.DataFrame,
    axes: Sequence[str],
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    worst: int = 10,
) -> ReviewSummary:
    """REVIEWED (:func:`valuecompass.store.reviews.set_reviews`) summed up: per criterion the
    share of yes with its LEVEL bootstrap interval over RESAMPLES resamples of actions (SEED),
    alpha and kappa; the WORST actions most often judged wrong (see the module)."""
    keys = [*axes, "value", "inclination"]
    if reviewed.empty:
        empty = [_criterion(c, np.zeros((0, 2)), np.zeros((0, resamples)), level) for c in CRITERIA]
        return ReviewSummary(0, 0, 0, level, resamples, seed, empty)
    groups = reviewed.groupby(keys, sort=False)
    first = groups.first().reset_index()
    tables = {c: _table(groups, c) for c in CRITERIA}
    units = len(first)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, units, size=(resamples, units))
    criteria = []
    for c in CRITERIA:
        counts = tables[c]
        yes, judged = counts[:, 1][draws].sum(axis=1), counts.sum(axis=1)[draws].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(judged > 0, yes / np.where(judged > 0, judged, 1), np.nan)
        criteria.append(_criterion(c, counts, shares[None, :], level))
    return ReviewSummary(
        reviews=len(reviewed),
        reviewers=int(reviewed["reviewer"].nunique()),
        actions=units,
        level=level,
        resamples=resamples,
        seed=seed,
        criteria=criteria,
        worst=_worst(first, tables, keys, worst),
    )


def _table(groups: Any, criterion: str) -> np.ndarray:
    """Per action, its (no, yes) judgements on CRITERION, in the groups' order."""
    marks = groups[criterion]
    no = marks.agg(lambda s: int((s == False).sum()))  # noqa: E712 (None is not False)
    yes = marks.agg(lambda s: int((s == True).sum()))  # noqa: E712
    return np.column_stack([no.to_numpy(dtype=float), yes.to_numpy(dtype=float)])


def _criterion(name: str, counts: np.ndarray, shares: np.ndarray, level: float) -> CriterionSummary:
    judged = counts.sum(axis=1)
    total, yes = int(judged.sum()), int(counts[:, 1].sum())
    defined = shares[~np.isnan(shares)]
    if total and len(defined):
        low, high = (float(q) for q in np.quantile(defined, [(1 - level) / 2, (1 + level) / 2]))
    else:
        low = high = float("nan")
    rated = counts[judged > 0]
    sizes = Counter(int(n) for n in judged if n >= 2)
    if sizes:
        raters = max(sizes, key=lambda n: (n * sizes[n], n))
        kept = counts[judged == raters]
        kappa = fleiss_kappa(kept)
    else:
        raters, kept, kappa = 0, counts[:0], float("nan")
    return CriterionSummary(
        criterion=name,
        judgements=total,
        actions=len(rated),
        yes=yes,
        share=yes / total if total else float("nan"),
        low=low,
        high=high,
        alpha=krippendorff_alpha(rated) if len(rated) else float("nan"),
        alpha_actions=int((judged >= 2).sum()),
        kappa=kappa,
        kappa_actions=len(kept),
        kappa_raters=raters,
        kappa_left_out=int((judged >= 1).sum()) - len(kept),
    )


def _worst(
    first: pd.DataFrame, tables: dict[str, np.ndarray], keys: list[str], top: int
) -> list[dict[str, Any]]:
    no = {c: tables[c][:, 0] for c in CRITERIA}
    wrong = sum(no.values(), np.zeros(len(first)))
    judged = sum((tables[c].sum(axis=1) for c in CRITERIA), np.zeros(len(first)))
    order = sorted(
        (i for i in range(len(first)) if wrong[i] > 0),
        key=lambda i: (
            -wrong[i],
            -wrong[i] / judged[i],
            tuple(str(first.iloc[i][k]) for k in keys),
        ),
    )
    out = []
    for i in order[:top]:
        row = first.iloc[i]
        out.append({**{k: str(row[k]) for k in keys}, "action": str(row["action"]),
                    "wrong": int(wrong[i]), "judgements": int(judged[i]),
                    "no": {c: int(no[c][i]) for c in CRITERIA}})  # fmt: skip
    return out
