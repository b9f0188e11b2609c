"""People against a model, as DataFrames: the one call behind ``valuecompass align``.

:func:`align` turns two answer tables into matrices H and L (contexts × values), then the pure
functions of :mod:`valuecompass.metrics` give rates, distances and rankings at any grouping.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from valuecompass.answers import Side, row_scales, scores
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import GROUPS as GROUPS
from valuecompass.instrument import GroupBy as GroupBy
from valuecompass.instrument import GroupRule, Instrument, context_columns, group_rule, group_rules
from valuecompass.metrics import _rates as al

#: How a group's distance is taken: Eq. 2's mean of the cells' distances (``cells``, the
#: default), or the authors' released notebook's distance between the group's mean scores
#: (``means``: ``|mean(l) - mean(h)|``; see :func:`valuecompass.metrics.means_distance`).
GroupDistance = Literal["cells", "means"]
GROUP_DISTANCES: tuple[GroupDistance, ...] = ("cells", "means")


class NoOverlapError(ValueCompassError, ValueError):
    """The two sources share no context."""


def cell_matrix(
    answers: pd.DataFrame, contexts: pd.MultiIndex, values: list[str], column: str = "position"
) -> pd.DataFrame:
    """Mean of COLUMN (the raw position, or a normalised ``score``) per (context, value),
    ignoring missing answers.

    Rows follow ``contexts`` (their level names are the answer table's context columns, e.g.
    country, scenario), columns follow ``values``; a cell with no scored answer is ``NaN``.
    """
    scored = answers[answers["position"].notna()]
    keys = [str(n) for n in contexts.names]
    means = scored.groupby([*keys, "value"])[column].mean().unstack("value")
    return means.reindex(index=contexts, columns=values).astype(float)


def normalised_matrix(
    answers: pd.DataFrame,
    instrument: Instrument,
    side: Side | None,
    contexts: pd.MultiIndex,
    values: list[str],
) -> pd.DataFrame:
    """The normalised cell means of one side (rows CONTEXTS, columns VALUES).

    Answers all on one scale: the mean position of each cell, normalised on that scale (as
    exact as the raw positions: a neutral mean lands on 0.5 exactly). Answers on several
    scales (e.g. a model asked in two wordings with different scales): the mean of the
    answers' normalised scores, each on its own scale.
    """
    ids = row_scales(answers, instrument, side)
    scored = ids[answers["position"].notna()]
    if scored.nunique() <= 1:
        scale = instrument.scale(scored.iloc[0]) if len(scored) else None
        raw = cell_matrix(answers, contexts, values)
        if scale is None:
            return raw
        return pd.DataFrame(al.normalise(raw.to_numpy(), scale), raw.index, raw.columns)
    with_scores = answers.assign(score=scores(answers, instrument, side))
    return cell_matrix(with_scores, contexts, values, "score")


def _contexts_with_scores(answers: pd.DataFrame, columns: list[str]) -> set[tuple[str, ...]]:
    scored = answers[answers["position"].notna()]
    absent = [c for c in columns if c not in scored.columns]
    if absent:
        raise ValueCompassError(
            f"the answers have no column {', '.join(map(repr, absent))} for the instrument's "
            "context axes"
        )
    return set(zip(*(scored[c] for c in columns), strict=True))


@dataclass(frozen=True)
class Alignment:
    """The normalised matrices H (people) and L (model) over the shared contexts."""

    instrument: Instrument
    human: pd.DataFrame
    model: pd.DataFrame
    group_distance: GroupDistance = "cells"
    ties: al.TieRule = "disagree"  # how a score exactly on the threshold is labelled
    #: add each F1's chance level and the chance-corrected F1 (:data:`CHANCE_METRICS`) to
    #: every table, beside kappa (``align --centre`` does)
    chance: bool = False

    @property
    def metrics(self) -> tuple[str, ...]:
        """The rate metrics the tables carry: :data:`METRICS`, with ``f1_chance`` and
        ``f1_corrected`` after ``f1`` when ``chance`` is set."""
        if not self.chance:
            return al.METRICS
        return ("f1", *al.CHANCE_METRICS, *al.METRICS[1:])

    @property
    def contexts(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_frame(self.human.index.to_frame(index=False))

    @property
    def context_columns(self) -> list[str]:
        """The columns that key a context (one per context axis)."""
        return [str(n) for n in self.human.index.names]

    def cells(self) -> pd.DataFrame:
        """One row per (context, value): the context's columns, the value, its level in each of
        the instrument's groupings, both scores, both labels and the distance."""
        h = self.human.stack(future_stack=True).rename("human")
        m = self.model.stack(future_stack=True).rename("model")
        df = pd.concat([h, m], axis=1).reset_index()
        df.columns = [*self.context_columns, "value", "human", "model"]
        at = len(self.context_columns) + 1
        for rule in group_rules(self.instrument).values():
            if rule.kind == "items":
                members = self.instrument.group_of(rule.id)
                df.insert(at, rule.column, df["value"].map(members))
                at += 1
        df["human_label"] = al.binarise(df["human"].to_numpy(), self.ties)
        df["model_label"] = al.binarise(df["model"].to_numpy(), self.ties)
        df["distance"] = al.cell_distance(df["human"].to_numpy(), df["model"].to_numpy())
        return df

    def by_context(self) -> pd.DataFrame:
        """Rate metrics and mean distance per context; ``ties_share``: the share of its cells
        on the threshold (on either side), which the tie rule labels."""
        h, m = self.human.to_numpy(), self.model.to_numpy()
        metrics = al.rate_metrics(h, m, self.ties)
        out = self.human.index.to_frame(index=False)
        for name in self.metrics:
            out[name] = metrics[name]
        group_distance = al.means_distance if self.group_distance == "means" else al.mean_distance
        out["distance"] = group_distance(h, m)
        out["ties_share"] = al.ties_share(h, m)
        out["n_values"] = metrics["n"].astype(int)
        out["n_contexts"] = 1
        return out

    def by(self, group: GroupBy) -> pd.DataFrame:
        """Metrics per group: ``context``, a context axis, ``value`` or any of the instrument's
        groupings (see :mod:`valuecompass.instrument`; the key column is the rule's column).

        ``context`` and a context axis: each rate is the mean of its contexts' rates (kappa
        and the corrected F1 ignore contexts where they are undefined); distance is the mean
        of the group's cells.
        ``value`` and an item grouping: a value has one cell per context, so its rates are
        computed over the pooled cells of the group; distance is again the mean of the group's
        cells. With ``group_distance="means"`` every group's distance is ``|mean(l) - mean(h)|``
        over its cells present on both sides instead. ``ties_share`` is over the group's cells
        present on both sides: the share on the threshold on either side.
        """
        rule = group_rule(self.instrument, group)
        if rule.kind == "context":
            return self.by_context()
        if rule.kind == "axis":
            return self._by_context_group(rule)
        return self._by_pooled_cells(rule)

    def _by_context_group(self, rule: GroupRule) -> pd.DataFrame:
        group = rule.column
        per_context = self.by_context()
        rates = per_context.groupby(group, sort=False)[list(self.metrics)].mean()
        cells = self.cells()
        distance = self.distance_by([group], cells)
        ties = _ties_by(cells, [group])
        n = per_context.groupby(group, sort=False).size().rename("n_contexts")
        out = rates.join(distance).join(ties).join(n).reset_index()
        return _order(out, rule)

    def _by_pooled_cells(self, rule: GroupRule) -> pd.DataFrame:
        group = rule.column
        cells = self.cells()
        rows = []
        for key, part in cells.groupby(group, sort=False):
            h, m = part["human"].to_numpy(), part["model"].to_numpy()
            metrics = al.rate_metrics(h, m, self.ties)
            row: dict[str, object] = {group: key}
            row.update({name: float(metrics[name]) for name in self.metrics})
            both = part[["human", "model"]].notna().all(axis=1)
            row["distance"] = float(self.distance_by([group], part).iloc[0])
            row["ties_share"] = float(al.ties_share(h, m))
            contexts = part.loc[both, self.context_columns].drop_duplicates()
            row["n_contexts"] = int(contexts.shape[0])
            rows.append(row)
        return _order(pd.DataFrame(rows), rule)

    def distance_by(self, keys: list[str], cells: pd.DataFrame | None = None) -> pd.Series:
        """The distance of each group of cells by KEYS (columns of :meth:`cells`, e.g.
        ``["type", "country"]``), taken as ``group_distance`` says; CELLS defaults to all."""
        cells = self.cells() if cells is None else cells
        if self.group_distance == "cells":
            return cells.groupby(keys, sort=False)["distance"].mean()
        signed = (cells["model"] - cells["human"]).where(cells["distance"].notna())
        return signed.groupby([cells[k] for k in keys], sort=False).mean().abs().rename("distance")

    def overall(self) -> dict[str, float | int]:
        """Rates (and chance F1) averaged over all shared contexts; distance over all cells (the
        mean of their distances, or with ``group_distance="means"`` ``|mean(l) - mean(h)|``
        over them); ``ties_share`` the share of all shared cells on the threshold (either side)."""
        per_context = self.by_context()
        out: dict[str, float | int] = {
            name: float(np.nanmean(per_context[name]))
            if per_context[name].notna().any()
            else float("nan")
            for name in self.metrics
        }
        cells = self.cells()
        out["distance"] = float(self.distance_by(["all"], cells.assign(all=0)).iloc[0])
        out["ties_share"] = float(
            al.ties_share(cells["human"].to_numpy(), cells["model"].to_numpy())
        )
        out["n_contexts"] = len(per_context)
        return out

    def ranking(self, group: GroupBy | None = None) -> pd.DataFrame:
        """Values by mean distance, largest first, overall or within each context group.

        Columns: the group's key columns (none for overall), ``rank``, ``value``, ``distance``.
        Ties keep the instrument's order; values with no shared cell come last. GROUP is
        ``context`` or a context axis; a grouping of values is refused.
        """
        cells = self.cells()
        keys: list[str] = []
        if group is not None:
            rule = group_rule(self.instrument, group)
            if not rule.over_contexts:
                raise ValueCompassError(
                    f"rankings are of values within contexts or a context axis, not {group!r}"
                )
            keys = self.context_columns if rule.kind == "context" else [rule.column]
        if keys:
            table = self.distance_by([*keys, "value"], cells).unstack("value")
        else:
            table = self.distance_by(["value"], cells).to_frame().T
        table = table.reindex(columns=[str(v) for v in self.human.columns])
        ranks = al.rank_descending(table.to_numpy())
        long = []
        for i, idx in enumerate(table.index):
            key = idx if isinstance(idx, tuple) else (idx,)
            for j, value in enumerate(table.columns):
                row = dict(zip(keys, key, strict=False))
                row.update(rank=int(ranks[i, j]), value=value, distance=table.iat[i, j])
                long.append(row)
        return pd.DataFrame(long).sort_values([*keys, "rank"], kind="stable").reset_index(drop=True)


def _ties_by(cells: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of CELLS by KEYS, the share of cells present on both sides with either side
    exactly on the threshold."""
    both = cells[["human", "model"]].notna().all(axis=1)
    tied = both & (al.on_threshold(cells["human"]) | al.on_threshold(cells["model"]))
    frame = cells[keys].assign(tied=tied.astype(float), both=both.astype(float))
    sums = frame.groupby(keys, sort=False)[["tied", "both"]].sum()
    return (sums["tied"] / sums["both"].where(sums["both"] > 0)).rename("ties_share")


def _order(df: pd.DataFrame, rule: GroupRule) -> pd.DataFrame:
    """Sort rows in the instrument's order of the rule's levels."""
    rank = {k: i for i, k in enumerate(rule.order)}
    column = rule.column
    return df.sort_values(column, key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)


def align(
    humans: pd.DataFrame,
    model: pd.DataFrame,
    instrument: Instrument,
    group_distance: GroupDistance = "cells",
    ties: al.TieRule = "disagree",
    chance: bool = False,
) -> Alignment:
    """Build H and L (normalised) over the contexts both answer tables score.

    Each answer is normalised on the scale it was given on (:mod:`valuecompass.answers`):
    people's on the people scale, the model's on its wording's scale, then averaged per cell.

    GROUP_DISTANCE says how grouped distances are taken (:data:`GroupDistance`); TIES how a
    score exactly on the threshold is labelled (:data:`valuecompass.metrics.TieRule`);
    CHANCE adds each F1's chance level and the corrected F1 (:attr:`Alignment.chance`).
    Raises :class:`NoOverlapError` when they share none.
    """
    if group_distance not in GROUP_DISTANCES:
        raise ValueCompassError(
            f"unknown group distance {group_distance!r}; choose one of {', '.join(GROUP_DISTANCES)}"
        )
    try:
        al.check_ties(ties)
    except ValueError as exc:
        raise ValueCompassError(str(exc)) from None
    columns = context_columns(instrument)
    shared = _contexts_with_scores(humans, columns) & _contexts_with_scores(model, columns)
    axes = instrument.context_axes
    known = itertools.product(*(a.level_ids for a in axes))
    ordered = [ctx for ctx in known if ctx in shared]
    if not ordered:
        names = " × ".join(a.id for a in axes)
        raise NoOverlapError(
            f"the people's and the model's answers share no context ({names}); "
            f"people: {_describe(humans, columns)}; model: {_describe(model, columns)}"
        )
    index = pd.MultiIndex.from_tuples(ordered, names=columns)
    values = instrument.item_ids
    h = normalised_matrix(humans, instrument, "humans", index, values)
    m = normalised_matrix(model, instrument, "llm", index, values)
    return Alignment(
        instrument=instrument,
        human=h,
        model=m,
        group_distance=group_distance,
        ties=ties,
        chance=chance,
    )


def _describe(answers: pd.DataFrame, columns: list[str]) -> str:
    ctx = sorted(_contexts_with_scores(answers, columns))
    if not ctx:
        return "no scored answers"
    shown = ", ".join("/".join(c) for c in ctx[:6])
    return f"{len(ctx)} contexts ({shown}{', ...' if len(ctx) > 6 else ''})"
