"""Alignment between people's and a model's values: pure, vectorised metrics.

Conventions shared by every function here:

* Scores are *normalised* on the scale each answer was given on (``RatingScale.normalise``):
  0 is the agree end, 1 the other. Missing cells are ``NaN``.
* Arrays have shape ``(..., K)``: the last axis holds the K values of one context (or the cells
  of one group); any leading axes (contexts, bootstrap resamples) are carried through, so the
  uncertainty code can pass ``(B, C, K)`` arrays and get ``(B, C)`` answers in one call.
* Labels: agree = 0, disagree = 1; disagree is the positive class. People's labels are the
  truth, the model's the prediction.
* Ties: a score exactly on the threshold (0.5: a neutral mean) is labelled by a *tie rule*
  (:data:`TieRule`): ``disagree`` (the paper's, the default), ``agree``, or ``split``: the cell
  counts half as agree and half as disagree (label 0.5), so a tied cell adds 0.5 to each of
  the two classes it could fall in; a cell tied on both sides adds 0.25 to each of the four
  confusion counts. Confusion counts are sums of products of the labels (``tp = Σ t·p``,
  ``fp = Σ (1 - t)·p``, ...), which for 0/1 labels are the usual counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from valuecompass.answers import normalise as normalise
from valuecompass.answers import scale_ends as scale_ends
from valuecompass.instrument import THRESHOLD as THRESHOLD

if TYPE_CHECKING:
    pass

FloatArray = NDArray[np.float64]

METRICS = ("f1", "accuracy", "precision", "recall", "kappa")
#: F1 read against chance (see :func:`confusion_metrics`): what shuffling the model's labels
#: within a context gives on average, and F1 rescaled so that chance is 0 and perfect is 1.
CHANCE_METRICS = ("f1_chance", "f1_corrected")

#: How a score exactly on the threshold is labelled: ``disagree`` (the paper's rule, the
#: default), ``agree``, or ``split`` (half each: label 0.5).
TieRule = Literal["disagree", "agree", "split"]
TIE_RULES: tuple[TieRule, ...] = ("disagree", "agree", "split")
#: The disagree weight a tied score gets under each rule.
TIE_WEIGHT: dict[str, float] = {"disagree": 1.0, "agree": 0.0, "split": 0.5}


def check_ties(ties: str) -> TieRule:
    """TIES if it is a tie rule; a ``ValueError`` naming the valid ones otherwise."""
    if ties not in TIE_WEIGHT:
        raise ValueError(f"unknown tie rule {ties!r}; choose one of {', '.join(TIE_RULES)}")
    return ties  # type: ignore[return-value]


def binarise(scores: FloatArray, ties: TieRule = "disagree") -> FloatArray:
    """Normalised scores → labels: ``< 0.5`` → 0 (agree), ``> 0.5`` → 1 (disagree).

    A score exactly at 0.5 (a neutral average) is labelled by TIES: 1 (``disagree``, the
    paper's rule and the default), 0 (``agree``) or 0.5 (``split``). ``NaN`` stays ``NaN``.
    """
    s = np.asarray(scores, dtype=float)
    tie = TIE_WEIGHT[check_ties(ties)]
    with np.errstate(invalid="ignore"):
        labels = np.where(s == THRESHOLD, tie, (s > THRESHOLD).astype(float))
    return np.where(np.isnan(s), np.nan, labels)


def on_threshold(scores: FloatArray) -> NDArray[np.bool_]:
    """Whether each score sits exactly on the threshold (a tie the rule decides)."""
    with np.errstate(invalid="ignore"):
        out: NDArray[np.bool_] = np.asarray(scores, dtype=float) == THRESHOLD
    return out


def ties_share(human: FloatArray, model: FloatArray) -> FloatArray:
    """Over the last axis, the share of cells present on both sides where either side sits
    exactly on the threshold: the cells whose labels the tie rule decides (``NaN`` if none)."""
    h, m = np.asarray(human, dtype=float), np.asarray(model, dtype=float)
    both = ~(np.isnan(h) | np.isnan(m))
    tied = both & (on_threshold(h) | on_threshold(m))
    count = both.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(count > 0, tied.sum(axis=-1) / np.where(count, count, 1), np.nan)
    return out


@dataclass(frozen=True)
class Confusion:
    """Counts over the last axis, using only cells present on both sides."""

    tp: FloatArray
    fp: FloatArray
    fn: FloatArray
    tn: FloatArray

    @property
    def n(self) -> FloatArray:
        return self.tp + self.fp + self.fn + self.tn


def confusion(truth: FloatArray, predicted: FloatArray) -> Confusion:
    """Confusion counts of label arrays (``NaN`` = missing) over the last axis.

    Labels are 0, 1, or 0.5 for a tie split half and half: each cell present on both sides
    adds ``t·p`` to tp, ``(1 - t)·p`` to fp, ``t·(1 - p)`` to fn and ``(1 - t)(1 - p)`` to tn.
    """
    t = np.asarray(truth, dtype=float)
    p = np.asarray(predicted, dtype=float)
    both = ~(np.isnan(t) | np.isnan(p))
    t = np.where(both, t, 0.0)
    p = np.where(both, p, 0.0)
    on = both.astype(float)
    return Confusion(
        tp=(t * p).sum(axis=-1),
        fp=((on - t) * p).sum(axis=-1),
        fn=(t * (on - p)).sum(axis=-1),
        tn=((on - t) * (on - p)).sum(axis=-1),
    )


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den with 0 where num is 0 (no true positive) and NaN where den is 0 otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.where(num == 0, 0.0, out)


def rate_metrics(
    human: FloatArray, model: FloatArray, ties: TieRule = "disagree"
) -> dict[str, FloatArray]:
    """Alignment rate (F1) and companions from normalised scores, over the last axis; a
    score exactly on the threshold is labelled by TIES (:data:`TieRule`).

    Edge cases:

    * Only cells where both sides have a score count; ``n`` says how many did.
    * ``f1``, ``precision`` and ``recall`` are 0 when there is no true positive (this includes
      the case where neither side disagrees with anything, and ``n == 0``).
    * ``accuracy`` is ``NaN`` when ``n == 0``.
    * ``kappa`` is Cohen's kappa; ``NaN`` when chance agreement is 1 (both sides give one and
      the same label throughout) or ``n == 0``, as in scikit-learn.
    * ``f1_chance`` and ``f1_corrected``: see :func:`confusion_metrics`.
    """
    return confusion_metrics(confusion(binarise(human, ties), binarise(model, ties)))


def confusion_metrics(c: Confusion) -> dict[str, FloatArray]:
    """The rate metrics of :func:`rate_metrics` from confusion counts (same edge cases).

    Useful when one set of cell labels is pooled several ways (by context, by value, by
    resample) without binarising again.

    Chance F1, exact (no permutations drawn): with the people's ``P = tp + fn`` and the
    model's ``Q = tp + fp`` disagree labels among the ``n`` cells, shuffling the model's labels
    over the cells makes ``tp`` hypergeometric with mean ``P·Q/n``, and since
    ``2tp + fp + fn = P + Q`` whatever the shuffle, F1 is linear in ``tp``: its expectation is
    ``f1_chance = 2·P·Q / (n·(P + Q))`` exactly (0 when ``P + Q = 0``, ``NaN`` when
    ``n = 0``). Split ties (labels 0.5) keep both facts, so it holds for every tie rule.
    ``f1_corrected = (f1 - f1_chance) / (1 - f1_chance)``: 0 at chance, 1 for perfect
    agreement; ``NaN`` when chance is 1 (every cell disagree on both sides) or neither side
    disagrees anywhere. It is Cohen's kappa under another name: both reduce to
    ``2(tp·tn - fp·fn) / ((tp + fp)(fp + tn) + (tp + fn)(fn + tn))``, and they are undefined
    in the same cases, so a context's corrected F1 and its kappa are equal (and the same
    shuffle leaves kappa's expected value at exactly 0).
    """
    n = c.n
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (c.tp + c.tn) / n
        chance = ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n)
        kappa = np.where((n > 0) & (chance < 1), (observed - chance) / (1 - chance), np.nan)
    f1 = _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)
    f1_chance = chance_f1(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (f1_chance < 1) & (c.tp + c.fp + c.fn > 0)
        corrected = np.where(defined, (f1 - f1_chance) / (1 - f1_chance), np.nan)
    return {
        "f1": f1,
        "f1_chance": f1_chance,
        "f1_corrected": corrected,
        "accuracy": np.where(n > 0, observed, np.nan),
        "precision": _ratio(c.tp, c.tp + c.fp),
        "recall": _ratio(c.tp, c.tp + c.fn),
        "kappa": kappa,
        "n": n,
    }


def chance_f1(c: Confusion) -> FloatArray:
    """The exact expected F1 when the model's labels are shuffled over the cells of C (see
    :func:`confusion_metrics`): ``2·P·Q / (n·(P + Q))``."""
    n = c.n
    people, model = c.tp + c.fn, c.tp + c.fp
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(people + model > 0, 2 * people * model / (n * (people + model)), 0.0)
    out: FloatArray = np.where(n > 0, expected, np.nan)
    return out


def cell_distance(human: FloatArray, model: FloatArray) -> FloatArray:
    """Alignment distance per cell: ``|l - h|`` on normalised scores; ``NaN`` if either is."""
    diff: FloatArray = np.asarray(model, dtype=float) - np.asarray(human, dtype=float)
    return np.abs(diff)


def mean_distance(human: FloatArray, model: FloatArray) -> FloatArray:
    """Mean cell distance over the last axis, ignoring missing cells (``NaN`` if none)."""
    d = cell_distance(human, model)
    present = ~np.isnan(d)
    count = present.sum(axis=-1)
    total = np.where(present, d, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def means_distance(human: FloatArray, model: FloatArray) -> FloatArray:
    """Distance between the mean scores over the last axis: ``|mean(l) - mean(h)|``.

    The authors' released notebook takes a group's distance this way; Eq. 2 of the paper (and
    :func:`mean_distance`, our default) takes the mean of the cells' distances. Both use only
    cells present on both sides, so ``|mean(l) - mean(h)| = |mean(l - h)|``. Edge cases: equal
    to :func:`mean_distance` for one cell, or whenever ``l - h`` has one sign throughout; never
    larger (the triangle inequality), smaller whenever signs mix; ``NaN`` if no cell is present
    on both sides.
    """
    diff = np.asarray(model, dtype=float) - np.asarray(human, dtype=float)
    present = ~np.isnan(diff)
    count = present.sum(axis=-1)
    total = np.where(present, diff, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, np.abs(total) / np.where(count > 0, count, 1), np.nan)


def rank_descending(distances: FloatArray) -> NDArray[np.int64]:
    """Ranks (1 = largest distance) over the last axis.

    Ties keep the instrument's value order (a stable sort); missing cells rank last.
    """
    d = np.asarray(distances, dtype=float)
    key = np.where(np.isnan(d), np.inf, -d)
    order = np.argsort(key, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, d.shape[-1] + 1), axis=-1)
    return ranks
