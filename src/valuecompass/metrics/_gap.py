"""Stated against acted: the value–action gap, with the alignment metrics of :func:`align`.

A model *states* its values (ratings, the tidy answer table) and *acts* on them (forced
choices between an item's expressing and opposing action, the tidy choice table). Per cell
(context × item):

* stated: the normalised mean rating, as :func:`align` takes it (0 the agree end, 1 the other);
* acted: the share of the cell's choices (variants × samples) that chose the opposing action,
  so 0 is "always expresses", 1 "always opposes", and a cell at or above 0.5 disagrees.

A choice is put on the model's scale at one of its two ends (expresses at the agree end,
opposes at the other), so the acted cell mean *is* that share and everything :func:`align`
computes (F1 per context with disagree positive, a group the mean of its contexts, distance,
rankings, the bootstrap) applies unchanged, stated in the truth's place, acted in the
prediction's (F1 and kappa are symmetric in the two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass import answers as ans
from valuecompass.answers import INCLINATIONS, reference_scale, row_scales, scale_ends
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import GroupRule, Instrument, context_columns, group_rule
from valuecompass.metrics._alignment import Alignment, NoOverlapError, align

FloatArray = NDArray[np.float64]
#: The gap's columns beside align's: the two kinds of misaligned cell and the cell count.
GAP_COLUMNS = ("agree_disagree", "disagree_agree", "n_cells")


class GapError(ValueCompassError, ValueError):
    """Choices or ratings that the gap cannot be taken between."""


def misaligned_shares(stated: FloatArray, acted: FloatArray) -> dict[str, FloatArray]:
    """Shares of (agree, disagree) and (disagree, agree) cells over the last axis.

    STATED and ACTED are 0/1 labels (agree 0, disagree 1; ``NaN`` missing), stated first in
    each pair's name: ``agree_disagree`` is the share of cells stated agreed with and acted
    against. Edge cases: only cells labelled on both sides count (``n_cells``); with none,
    both shares are ``NaN``.
    """
    s = np.asarray(stated, dtype=float)
    a = np.asarray(acted, dtype=float)
    both = ~(np.isnan(s) | np.isnan(a))
    n = both.sum(axis=-1).astype(float)
    ad = (both & (s == 0) & (a == 1)).sum(axis=-1)
    da = (both & (s == 1) & (a == 0)).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "agree_disagree": np.where(n > 0, ad / np.where(n > 0, n, 1), np.nan),
            "disagree_agree": np.where(n > 0, da / np.where(n > 0, n, 1), np.nan),
            "n_cells": n,
        }


def acted_scores(choices: pd.DataFrame) -> FloatArray:
    """Each choice as a normalised score: 0 expresses, 1 opposes, ``NaN`` with no inclination."""
    incl = choices["inclination"].astype(str)
    out = np.full(len(choices), np.nan)
    out[(incl == INCLINATIONS[0]).to_numpy()] = 0.0
    out[(incl == INCLINATIONS[1]).to_numpy()] = 1.0
    return out


def choice_answers(
    choices: pd.DataFrame, instrument: Instrument, by_probs: bool = False
) -> pd.DataFrame:
    """CHOICES as a tidy answer table on the model's reference scale: an expressing choice at
    its agree end, an opposing one at its other end, one without inclination unscored (its
    missing reason kept). A ``scale`` column names the scale.

    BY_PROBS: each choice is placed by the probability the backend gave the opposing action
    (``p_opposes``, kept by choice runs of backends with option probabilities) instead, one
    without it unscored (``no_probs``)."""
    axes = context_columns(instrument)
    _check_axes(choices, axes)
    scale = reference_scale(instrument, "llm")
    agree, other = scale_ends(scale)
    score = acted_scores(choices)
    if by_probs:
        if "p_opposes" not in choices.columns or choices["p_opposes"].isna().all():
            raise GapError(
                "the choices carry no probabilities to score by (a choice run whose design "
                "asks for the option's number, with the local or transformers backend, keeps "
                "them)"
            )
        score = choices["p_opposes"].to_numpy(dtype=float)
        choices = choices.assign(missing=np.where(np.isnan(score), "no_probs", ""))
    out = pd.DataFrame({c: choices[c].to_numpy() for c in ("source", *axes, "value")})
    out["respondent"] = choices["respondent"].to_numpy()
    out["variant"] = choices["variant"].array
    out["sample"] = choices["sample"].to_numpy()
    out["raw"] = choices["inclination"].to_numpy()
    out["code"] = choices["inclination"].to_numpy()
    out["position"] = agree + score * (other - agree)
    out["missing"] = np.where(np.isnan(score), choices["missing"].replace("", "no_choice"), "")
    out["scale"] = scale.id
    return out[[*ans.columns(axes), "scale"]]


def _check_axes(choices: pd.DataFrame, axes: list[str]) -> None:
    if not ans.is_choice_table(choices):
        raise GapError("the acted side is not a choice table (no 'inclination' column)")
    absent = [a for a in axes if a not in choices.columns]
    if absent:
        raise GapError(f"the choices have no column {', '.join(map(repr, absent))}")


def with_model_scales(stated: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """STATED (a model's ratings) with a ``scale`` column saying each row's scale: its own,
    else the scale of the model's wordings (so they are never read on the people scale)."""
    return stated.assign(scale=row_scales(stated, instrument, "llm").to_numpy())


@dataclass(frozen=True)
class Gap:
    """Stated against acted: :class:`Alignment` with stated as ``human``, acted as ``model``.

    ``by``, ``overall`` and ``ranking`` are align's, with the gap's shares and cell count
    (:data:`GAP_COLUMNS`) added; ``cells`` names the two sides ``stated`` and ``acted``.
    """

    alignment: Alignment

    @property
    def instrument(self) -> Instrument:
        return self.alignment.instrument

    def cells(self) -> pd.DataFrame:
        """One row per (context, item): scores, labels and distance of both sides."""
        names = {"human": "stated", "model": "acted", "human_label": "stated_label",
                 "model_label": "acted_label"}  # fmt: skip
        return self.alignment.cells().rename(columns=names)

    def by(self, group: str | None = None) -> pd.DataFrame:
        """align's rows for GROUP (any context axis, ``context``, ``value`` or a grouping;
        ``None``: the first context axis) with ``agree_disagree``, ``disagree_agree`` and
        ``n_cells`` of the group's cells (pooled: a share is of all the group's cells)."""
        rule = group_rule(self.instrument, group)
        rows = self.alignment.by(rule.id)
        keys = self._keys(rule)
        shares = self._shares(keys)
        return rows.merge(shares, on=keys, how="left", validate="one_to_one")

    def overall(self) -> dict[str, float | int]:
        """align's overall figures with the shares and ``n_cells`` over every cell."""
        out = dict(self.alignment.overall())
        shares = self._shares([])
        out["agree_disagree"] = float(shares["agree_disagree"].iloc[0])
        out["disagree_agree"] = float(shares["disagree_agree"].iloc[0])
        out["n_cells"] = int(shares["n_cells"].iloc[0])
        return out

    def ranking(self, group: str | None = None) -> pd.DataFrame:
        """Items by distance, largest first, overall or within each level of GROUP (a context
        axis or ``context``); ties keep the instrument's order (:meth:`Alignment.ranking`)."""
        return self.alignment.ranking(group)

    def _keys(self, rule: GroupRule) -> list[str]:
        if rule.kind == "context":
            return context_columns(self.instrument)
        return [rule.column]

    def _shares(self, keys: list[str]) -> pd.DataFrame:
        """:func:`misaligned_shares` of each group of cells by KEYS (none: all cells), from
        the pooled counts of each group."""
        cells = self.alignment.cells()
        s, a = cells["human_label"].to_numpy(), cells["model_label"].to_numpy()
        both = ~(np.isnan(s) | np.isnan(a))
        flags = pd.DataFrame(
            {"ad": both & (s == 0) & (a == 1), "da": both & (s == 1) & (a == 0), "n": both}
        )
        by = [cells[k] for k in keys] if keys else [np.zeros(len(cells), dtype=int)]
        sums = flags.groupby(by, sort=False).sum()
        n = sums["n"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = pd.DataFrame(
                {"agree_disagree": np.where(n > 0, sums["ad"].to_numpy() / n, np.nan),
                 "disagree_agree": np.where(n > 0, sums["da"].to_numpy() / n, np.nan),
                 "n_cells": sums["n"].to_numpy(dtype=int)},
                index=sums.index,
            )  # fmt: skip
        return out.reset_index(drop=not keys)


def gap(
    stated: pd.DataFrame, choices: pd.DataFrame, instrument: Instrument, by_probs: bool = False
) -> Gap:
    """The gap between STATED (a tidy answer table of a model's ratings) and CHOICES (a tidy
    choice table) over the contexts both score.

    Edge cases: a stated row without a ``scale`` column is on its wordings' scale (never the
    people's); a choice with no inclination is left out of its cell; a cell with no choice, or
    no rating, is missing on that side (left out of rates, distances and shares); contexts
    either side lacks altogether are left out; none shared raises ``NoOverlapError``.
    BY_PROBS places each choice by the backend's probability of the opposing action (see
    :func:`choice_answers`).
    """
    if ans.is_choice_table(stated):
        raise GapError("the stated side is a choice table; stated values are ratings")
    acted = choice_answers(choices, instrument, by_probs)
    try:
        return Gap(align(with_model_scales(stated, instrument), acted, instrument))
    except NoOverlapError as exc:
        said = str(exc).replace("the people's and the model's answers", "stated and acted")
        said = said.replace("; people: ", "; stated: ").replace("; model: ", "; acted: ")
        raise NoOverlapError(said) from exc
