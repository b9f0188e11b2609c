"""Headline numbers at every grouping, for stacks of resampled matrices at once.

The point estimates of :class:`valuecompass.Alignment` are reproduced exactly: rates of a
context are over its values; a country's or topic's rates are the mean of its contexts' rates
(ignoring undefined ones); rates of a value or a motivational type pool its cells; distance is
the mean of the group's cells (or, with the layout's ``group_distance="means"``, the distance
between the group's mean scores, as the authors' notebook takes it). Here each cell is
binarised once and the confusion counts are pooled every way, so B resamples of all groups
cost a few array passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass import alignment as al
from valuecompass._normalise import Side, side_scale
from valuecompass.compare import Alignment
from valuecompass.instrument import Instrument, RatingScale, load_instrument
from valuecompass.stats._units import FloatArray

#: Groupings with intervals: the five of ``Alignment.by`` and ``overall``.
GROUPINGS = ("context", "country", "topic", "value", "type", "overall")
#: The metrics every grouping reports.
STATISTICS = (*al.METRICS, "distance")


@dataclass(frozen=True)
class Layout:
    """Which contexts and values the matrices hold, and how they group."""

    contexts: pd.MultiIndex
    values: tuple[str, ...]
    types: tuple[str, ...]  # motivational type of each value
    type_order: tuple[str, ...]
    country_order: tuple[str, ...]  # the instrument's order, restricted to those present
    topic_order: tuple[str, ...]
    group_distance: str = "cells"  # "cells" (Eq. 2) or "means" (|mean(l) - mean(h)|)
    instrument: Instrument | None = None  # whose scales the answers are on (None: Value Form)

    @classmethod
    def of(cls, alignment: Alignment) -> Layout:
        inst = alignment.instrument
        types = {v.id: v.type.value for v in inst.values}
        values = tuple(str(v) for v in alignment.human.columns)
        ctx = alignment.contexts
        present = {g: set(ctx.get_level_values(g)) for g in ("country", "topic")}
        return cls(
            contexts=ctx,
            values=values,
            types=tuple(types[v] for v in values),
            type_order=tuple(dict.fromkeys(types[v] for v in inst.value_ids if v in values)),
            country_order=tuple(c.id for c in inst.countries if c.id in present["country"]),
            topic_order=tuple(s.id for s in inst.scenarios if s.id in present["topic"]),
            group_distance=alignment.group_distance,
            instrument=inst,
        )

    def scale(self, side: Side) -> RatingScale:
        """The scale SIDE's raw positions are on (:func:`valuecompass._normalise.side_scale`)."""
        return side_scale(self.instrument or load_instrument(), side)

    def _names(self, group: str) -> list[str]:
        if group == "country":
            return list(self.country_order)
        if group == "topic":
            return list(self.topic_order)
        return list(dict.fromkeys(self.contexts.get_level_values(group)))

    def keys(self, group: str) -> pd.DataFrame:
        """The group's key columns, one row per group, in the order results come."""
        if group == "context":
            return self.contexts.to_frame(index=False)
        if group in ("country", "topic"):
            return pd.DataFrame({group: self._names(group)})
        if group == "value":
            return pd.DataFrame({"value": list(self.values)})
        if group == "type":
            return pd.DataFrame({"type": list(self.type_order)})
        if group == "overall":
            return pd.DataFrame(index=[0])
        raise ValueError(f"unknown grouping {group!r}; valid: {', '.join(GROUPINGS)}")

    def context_members(self, group: str) -> FloatArray:
        """0/1 matrix (contexts × groups) of a context grouping (``overall`` is one group)."""
        if group == "overall":
            return np.ones((len(self.contexts), 1))
        if group == "context":
            return np.eye(len(self.contexts))
        level = self.contexts.get_level_values(group)
        names = self._names(group)
        members: FloatArray = (np.asarray(level)[:, None] == np.asarray(names)[None, :]).astype(
            float
        )
        return members

    def type_members(self) -> FloatArray:
        """0/1 matrix (values × types)."""
        types, order = np.asarray(self.types), np.asarray(self.type_order)
        members: FloatArray = (types[:, None] == order[None, :]).astype(float)
        return members


#: Cell codes: 2·(people disagree) + (model disagrees), or MISSING.
TN, FP, FN, TP, MISSING = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Sums:
    """Confusion counts and distance totals of cells pooled into N groups, ``(..., N)``."""

    counts: FloatArray  # (..., N, 4): tn, fp, fn, tp
    distance: FloatArray  # (..., N): summed cell distances
    signed: FloatArray  # (..., N): summed signed differences l - h

    def project(self, members: FloatArray) -> Sums:
        """Pool the N groups further into G with a 0/1 (N, G) matrix."""
        counts = np.moveaxis(np.moveaxis(self.counts, -1, -2) @ members, -2, -1)
        return Sums(counts, self.distance @ members, self.signed @ members)

    def metrics(self, group_distance: str = "cells") -> dict[str, FloatArray]:
        """Rates, and the distance taken as GROUP_DISTANCE says (``cells`` or ``means``)."""
        c = self.counts
        out = al.confusion_metrics(al.Confusion(c[..., TP], c[..., FP], c[..., FN], c[..., TN]))
        n = out.pop("n")
        total = np.abs(self.signed) if group_distance == "means" else self.distance
        with np.errstate(divide="ignore", invalid="ignore"):
            out["distance"] = np.where(n > 0, total / np.where(n > 0, n, 1.0), np.nan)
        return out


@dataclass(frozen=True)
class Cells:
    """Stacked matrices reduced to what every statistic needs: a code and a distance per cell."""

    code: NDArray[np.uint8]  # (..., C, K)
    distance: FloatArray  # (..., C, K), 0 where missing
    signed: FloatArray  # (..., C, K): l - h, 0 where missing

    @classmethod
    def of(cls, human: FloatArray, model: FloatArray) -> Cells:
        """Binarise once: disagree is ``>= 0.5`` (see :func:`valuecompass.alignment.binarise`)."""
        diff = np.asarray(model, dtype=float) - np.asarray(human, dtype=float)
        missing = np.isnan(diff)
        with np.errstate(invalid="ignore"):
            code = 2 * (human >= al.THRESHOLD).astype(np.uint8) + (model >= al.THRESHOLD)
        code[missing] = MISSING
        signed = np.where(missing, 0.0, diff)
        return cls(code, np.abs(signed), signed)

    def pool(self, axis: int) -> Sums:
        """Pool over values (``axis=-1``: per context) or contexts (``axis=-2``: per value)."""
        code = np.moveaxis(self.code, axis, -1)
        rows = int(np.prod(code.shape[:-1]))
        index = np.arange(rows, dtype=np.int64)[:, None] * 5 + code.reshape(rows, -1)
        counts = np.bincount(index.ravel(), minlength=rows * 5).reshape(*code.shape[:-1], 5)
        sums = (self.distance.sum(axis=axis), self.signed.sum(axis=axis))
        return Sums(counts[..., :4].astype(float), *sums)

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
    how = layout.group_distance
    per_context = cells.pool(-1)  # (..., C)
    context_metrics = per_context.metrics(how)
    per_value = cells.pool(-2) if {"value", "type"} & set(groups) else None
    out: dict[str, dict[str, FloatArray]] = {}
    for group in groups:
        if group == "context":
            out[group] = context_metrics
        elif group in ("country", "topic", "overall"):
            out[group] = _mean_of_contexts(context_metrics, per_context, layout, group)
        elif group == "value" and per_value is not None:
            out[group] = per_value.metrics(how)
        elif group == "type" and per_value is not None:
            out[group] = per_value.project(layout.type_members()).metrics(how)
        else:
            layout.keys(group)  # raises the unknown-grouping error
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
