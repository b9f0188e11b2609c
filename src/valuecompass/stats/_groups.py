"""Headline numbers at every grouping, for stacks of resampled matrices at once.

The point estimates of :class:`valuecompass.Alignment` are reproduced exactly: rates of a
context are over its values; the rates of a level of a context axis (a country, a scenario) are
the mean of its contexts' rates (ignoring undefined ones); rates of a value or of a level of
an item grouping (a motivational type, a higher-order value) pool its cells; distance is
the mean of the group's cells (or, with the layout's ``group_distance="means"``, the distance
between the group's mean scores, as the authors' notebook takes it). Here each cell is
binarised once and the confusion counts are pooled every way, so B resamples of all groups
cost a few array passes. A cell's code keeps each side's label as agree, disagree or *on the
threshold*, so the layout's tie rule (:data:`valuecompass.metrics.TieRule`) turns pooled codes
into confusion counts with one small matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass import metrics as al
from valuecompass.answers import Side, reference_scale
from valuecompass.instrument import (
    AXIS_ALIASES,
    GroupingError,
    GroupRule,
    Instrument,
    RatingScale,
    group_rules,
    load_instrument,
)
from valuecompass.metrics import Alignment
from valuecompass.stats._units import FloatArray

#: Deprecated: the Value Form's groupings with intervals (any grouping the instrument declares
#: works; see :meth:`Layout.group_ids`), and ``overall``.
GROUPINGS = ("context", "country", "scenario", "value", "type", "overall")
#: The metrics every grouping reports.
STATISTICS = (*al.METRICS, "distance")


@dataclass(frozen=True)
class Layout:
    """Which contexts and values the matrices hold, and how they group.

    The groupings are the instrument's (:mod:`valuecompass.instrument`): RULES, with each item
    grouping's level per value in ITEM_LEVELS. A layout made by hand without rules (the older
    fields only) offers the Value Form's: context, country, scenario, value and type.
    """

    contexts: pd.MultiIndex
    values: tuple[str, ...]
    types: tuple[str, ...] = ()  # deprecated: each value's level in the ``type`` grouping
    type_order: tuple[str, ...] = ()
    country_order: tuple[str, ...] = ()  # deprecated: the country axis's levels present
    scenario_order: tuple[str, ...] = ()
    group_distance: str = "cells"  # "cells" (Eq. 2) or "means" (|mean(l) - mean(h)|)
    instrument: Instrument | None = None  # whose scales the answers are on (None: Value Form)
    rules: tuple[GroupRule, ...] = ()
    item_levels: tuple[tuple[str, tuple[str, ...]], ...] = ()  # grouping id → level per value
    ties: al.TieRule = "disagree"  # how a cell mean exactly on the threshold is labelled

    @classmethod
    def of(cls, alignment: Alignment) -> Layout:
        inst = alignment.instrument
        values = tuple(str(v) for v in alignment.human.columns)
        ctx = alignment.contexts
        rules, levels = [], []
        for rule in group_rules(inst).values():
            order = rule.order
            if rule.kind == "axis":
                present = set(ctx.get_level_values(rule.column))
                order = tuple(x for x in rule.order if x in present)
            elif rule.kind == "item":
                order = values
            elif rule.kind == "items":
                members = inst.group_of(rule.id)
                of_values = tuple(members[v] for v in values)
                order = tuple(x for x in rule.order if x in set(of_values))
                levels.append((rule.id, of_values))
            rules.append(replace(rule, order=order))
        by_id = {r.id: r for r in rules}
        return cls(
            contexts=ctx,
            values=values,
            types=dict(levels).get("type", ()),
            type_order=by_id["type"].order if "type" in by_id else (),
            country_order=by_id["country"].order if "country" in by_id else (),
            scenario_order=by_id["scenario"].order if "scenario" in by_id else (),
            group_distance=alignment.group_distance,
            instrument=inst,
            rules=tuple(rules),
            item_levels=tuple(levels),
            ties=alignment.ties,
        )

    def scale(self, side: Side) -> RatingScale:
        """The scale SIDE's raw positions are on: its reference scale, which the kept answer
        tables are put on (:func:`valuecompass.answers.on_reference_scale`)."""
        return reference_scale(self.instrument or load_instrument(), side)

    def _rules(self) -> dict[str, GroupRule]:
        if self.rules:
            return {r.id: r for r in self.rules}
        old = [
            GroupRule("context", "context", "context"),
            GroupRule("country", "axis", "country", self.country_order),
            GroupRule("scenario", "axis", "scenario", self.scenario_order),
            GroupRule("value", "item", "value", self.values),
            GroupRule("type", "items", "type", self.type_order),
        ]
        return {r.id: r for r in old}

    def group_ids(self) -> tuple[str, ...]:
        """Every grouping this layout offers (ids; deprecated aliases also work)."""
        return tuple(self._rules())

    def rule(self, group: str) -> GroupRule:
        """The rule GROUP names (an id or alias); :class:`GroupingError` (a ``ValueError``)
        naming the valid ones."""
        rules = self._rules()
        key = AXIS_ALIASES.get(group, group) if group not in rules else group
        if key not in rules and key in ("item", "value"):
            key = "value" if "value" in rules else "item"
        if key not in rules:
            valid = ", ".join([*rules, "overall"])
            raise GroupingError(f"unknown grouping {group!r}; valid: {valid}")
        return rules[key]

    def levels_of(self, rule: GroupRule) -> tuple[str, ...]:
        """Each value's level in item grouping RULE."""
        if not self.rules and rule.id == "type":
            return self.types
        return dict(self.item_levels)[rule.id]

    def keys(self, group: str) -> pd.DataFrame:
        """The group's key columns, one row per group, in the order results come."""
        if group == "overall":
            return pd.DataFrame(index=[0])
        rule = self.rule(group)
        if rule.kind == "context":
            return self.contexts.to_frame(index=False)
        if rule.kind == "item":
            return pd.DataFrame({"value": list(self.values)})
        return pd.DataFrame({rule.column: list(rule.order)})

    def context_members(self, group: str) -> FloatArray:
        """0/1 matrix (contexts × groups) of a context grouping (``overall`` is one group)."""
        if group == "overall":
            return np.ones((len(self.contexts), 1))
        rule = self.rule(group)
        if rule.kind == "context":
            return np.eye(len(self.contexts))
        if rule.kind != "axis":
            raise GroupingError(f"{group!r} groups values, not contexts")
        level = self.contexts.get_level_values(rule.column)
        members: FloatArray = (
            np.asarray(level)[:, None] == np.asarray(rule.order)[None, :]
        ).astype(float)
        return members

    def item_members(self, group: str) -> FloatArray:
        """0/1 matrix (values × groups) of an item grouping."""
        rule = self.rule(group)
        levels, order = np.asarray(self.levels_of(rule)), np.asarray(rule.order)
        members: FloatArray = (levels[:, None] == order[None, :]).astype(float)
        return members

    def value_table(self) -> pd.DataFrame:
        """One row per value: ``value``, then its level in each item grouping (by column)."""
        out = pd.DataFrame({"value": list(self.values)})
        for rule in self._rules().values():
            if rule.kind == "items" and (self.rules or self.types):
                out[rule.column] = list(self.levels_of(rule))
        return out

    def type_members(self) -> FloatArray:
        """0/1 matrix (values × types): :meth:`item_members` of ``type`` (deprecated)."""
        return self.item_members("type")


def default_groups(layout: Layout) -> tuple[str, ...]:
    """The groupings computed when none are named: the Value Form's :data:`GROUPINGS` where
    the layout offers them all, else every grouping it offers and ``overall``."""
    if all(offers(layout, g) for g in GROUPINGS):
        return GROUPINGS
    return (*layout.group_ids(), "overall")


def default_rank_groups(layout: Layout) -> tuple[str, ...]:
    """``overall`` and each context axis (the Value Form: overall, country, scenario)."""
    axes = [g for g in layout.group_ids() if layout.rule(g).kind == "axis"]
    return ("overall", *axes)


def offers(layout: Layout, group: str) -> bool:
    """Whether LAYOUT offers GROUP (``overall`` always)."""
    if group == "overall":
        return True
    try:
        layout.rule(group)
    except ValueError:
        return False
    return True


#: A side's label in a cell code: agree, disagree, or exactly on the threshold.
AGREE, DISAGREE, TIED = 0, 1, 2
#: Cell codes: 3·(people's label) + (the model's label), or MISSING.
CODES, MISSING = 9, 9
#: Confusion count columns, in :class:`Sums` order.
TN, FP, FN, TP = 0, 1, 2, 3


def tie_matrix(ties: al.TieRule) -> FloatArray:
    """(9, 4) weights turning counts of cell codes into tn, fp, fn, tp under rule TIES: each
    side's disagree weight is 0, 1 or the rule's for a tie; the cell's weight on (people d,
    model e) is the product of the two sides' weights."""
    tie = al.TIE_WEIGHT[al.check_ties(ties)]
    weight = {AGREE: 0.0, DISAGREE: 1.0, TIED: tie}
    out = np.zeros((CODES, 4))
    for h in (AGREE, DISAGREE, TIED):
        for m in (AGREE, DISAGREE, TIED):
            dh, dm = weight[h], weight[m]
            out[3 * h + m] = ((1 - dh) * (1 - dm), (1 - dh) * dm, dh * (1 - dm), dh * dm)
    return out


@dataclass(frozen=True)
class Sums:
    """Cell-code counts and distance totals of cells pooled into N groups, ``(..., N)``."""

    counts: FloatArray  # (..., N, 9): cells of each code (see CODES)
    distance: FloatArray  # (..., N): summed cell distances
    signed: FloatArray  # (..., N): summed signed differences l - h

    def project(self, members: FloatArray) -> Sums:
        """Pool the N groups further into G with a 0/1 (N, G) matrix."""
        counts = np.moveaxis(np.moveaxis(self.counts, -1, -2) @ members, -2, -1)
        return Sums(counts, self.distance @ members, self.signed @ members)

    def confusion(self, ties: al.TieRule = "disagree") -> FloatArray:
        """``(..., N, 4)`` confusion counts (tn, fp, fn, tp) under tie rule TIES."""
        out: FloatArray = self.counts @ tie_matrix(ties)
        return out

    def metrics(
        self, group_distance: str = "cells", ties: al.TieRule = "disagree"
    ) -> dict[str, FloatArray]:
        """Rates under tie rule TIES, and the distance taken as GROUP_DISTANCE says
        (``cells`` or ``means``)."""
        c = self.confusion(ties)
        out = al.confusion_metrics(al.Confusion(c[..., TP], c[..., FP], c[..., FN], c[..., TN]))
        n = out.pop("n")
        for name in al.CHANCE_METRICS:  # the resampled statistics are :data:`STATISTICS`
            out.pop(name)
        total = np.abs(self.signed) if group_distance == "means" else self.distance
        with np.errstate(divide="ignore", invalid="ignore"):
            out["distance"] = np.where(n > 0, total / np.where(n > 0, n, 1.0), np.nan)
        return out


@dataclass(frozen=True)
class Cells:
    """Stacked matrices reduced to what every statistic needs: a code and a distance per cell."""

    code: NDArray[np.uint8]  # (..., C, K): 3·people's label + model's label, or MISSING
    distance: FloatArray  # (..., C, K), 0 where missing
    signed: FloatArray  # (..., C, K): l - h, 0 where missing

    @classmethod
    def of(cls, human: FloatArray, model: FloatArray) -> Cells:
        """Label once: agree (``< 0.5``), disagree (``> 0.5``) or on the threshold, per side;
        the tie rule applies when codes are pooled (see :func:`valuecompass.metrics.binarise`)."""
        diff = np.asarray(model, dtype=float) - np.asarray(human, dtype=float)
        missing = np.isnan(diff)
        code = 3 * _side_label(human) + _side_label(model)
        code[missing] = MISSING
        signed = np.where(missing, 0.0, diff)
        return cls(code, np.abs(signed), signed)

    def pool(self, axis: int) -> Sums:
        """Pool over values (``axis=-1``: per context) or contexts (``axis=-2``: per value)."""
        code = np.moveaxis(self.code, axis, -1)
        rows = int(np.prod(code.shape[:-1]))
        width = CODES + 1
        index = np.arange(rows, dtype=np.int64)[:, None] * width + code.reshape(rows, -1)
        counts = np.bincount(index.ravel(), minlength=rows * width)
        counts = counts.reshape(*code.shape[:-1], width)
        sums = (self.distance.sum(axis=axis), self.signed.sum(axis=axis))
        return Sums(counts[..., :CODES].astype(float), *sums)

    def value_distances(self, members: FloatArray, group_distance: str = "cells") -> FloatArray:
        """Distance per (group, value), ``(..., G, K)``, pooling contexts by MEMBERS: the mean
        of the cells' distances, or with ``group_distance="means"`` ``|mean(l) - mean(h)|``."""
        present = (self.code != MISSING).astype(float)
        what = self.signed if group_distance == "means" else self.distance
        total = np.moveaxis(np.tensordot(what, members, axes=([-2], [0])), -1, -2)
        total = np.abs(total) if group_distance == "means" else total
        count = np.moveaxis(np.tensordot(present, members, axes=([-2], [0])), -1, -2)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
        return out


def _side_label(scores: FloatArray) -> NDArray[np.uint8]:
    """AGREE, DISAGREE or TIED per score (``NaN``: AGREE; such cells are MISSING anyway)."""
    s = np.asarray(scores, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(s == al.THRESHOLD, TIED, np.where(s > al.THRESHOLD, DISAGREE, AGREE))
    return out.astype(np.uint8)


def group_statistics(
    human: FloatArray, model: FloatArray, layout: Layout, groups: tuple[str, ...] = GROUPINGS
) -> dict[str, dict[str, FloatArray]]:
    """Every statistic at every grouping: ``group → statistic → (..., G)``.

    ``human`` and ``model`` are normalised matrices with any leading axes, ``(..., C, K)``.
    """
    return statistics_of(Cells.of(human, model), layout, groups)


def statistics_of(
    cells: Cells, layout: Layout, groups: tuple[str, ...]
) -> dict[str, dict[str, FloatArray]]:
    """:func:`group_statistics` from cells already coded."""
    kinds = {g: "overall" if g == "overall" else layout.rule(g).kind for g in groups}
    per_value = cells.pool(-2) if {"item", "items"} & set(kinds.values()) else None
    return statistics_of_sums(cells.pool(-1), per_value, layout, groups)


def statistics_of_sums(
    per_context: Sums, per_value: Sums | None, layout: Layout, groups: tuple[str, ...]
) -> dict[str, dict[str, FloatArray]]:
    """:func:`group_statistics` from cells already pooled per context (``(..., C)``) and per
    value (``(..., K)``; ``None`` when no item grouping is asked for). The counts may be
    expected ones (fractions of a cell), as the population target's are."""
    how, ties = layout.group_distance, layout.ties
    context_metrics = per_context.metrics(how, ties)
    kinds = {g: "overall" if g == "overall" else layout.rule(g).kind for g in groups}
    out: dict[str, dict[str, FloatArray]] = {}
    for group, kind in kinds.items():
        if kind == "context":
            out[group] = context_metrics
        elif kind in ("axis", "overall"):
            out[group] = _mean_of_contexts(context_metrics, per_context, layout, group)
        elif per_value is not None and kind == "item":
            out[group] = per_value.metrics(how, ties)
        elif per_value is not None:
            out[group] = per_value.project(layout.item_members(group)).metrics(how, ties)
    return out


def _mean_of_contexts(
    context_metrics: dict[str, FloatArray], per_context: Sums, layout: Layout, group: str
) -> dict[str, FloatArray]:
    """Rates: mean of the member contexts' defined rates. Distance: mean of member cells."""
    members = layout.context_members(group)
    out = {}
    for name in al.METRICS:
        rate = context_metrics[name]
        ok = ~np.isnan(rate)
        total, count = np.where(ok, rate, 0.0) @ members, ok.astype(float) @ members
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    out["distance"] = per_context.project(members).metrics(layout.group_distance)["distance"]
    return out


def value_distances(human: FloatArray, model: FloatArray, layout: Layout, group: str) -> FloatArray:
    """Mean distance per (group, value), ``(..., G, K)``, for rankings within a grouping."""
    members = layout.context_members(group)
    return Cells.of(human, model).value_distances(members, layout.group_distance)
