"""The section "Stated and enacted values" (``report --acted``): a model's stated values
against its choices between actions, the numbers ``valuecompass gap`` prints.

:func:`gap_summary` builds every number and table the section shows, with no HTML, so that
it can be checked on its own; :class:`GapSection` lays them out. Words come from the
instrument: its item noun, axis names, level names and item names.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from valuecompass.answers import INCLINATIONS
from valuecompass.instrument import Instrument, context_columns
from valuecompass.metrics import Gap, choice_summary
from valuecompass.report import _tables as tb
from valuecompass.report._figures import BarGridSpec, BarPanel, HeatmapSpec, HeatPanel
from valuecompass.report._gap_inputs import GapData
from valuecompass.report._htmltable import Shade
from valuecompass.report._inputs import ReportData
from valuecompass.report._section import Assets, FigureAsset, TableAsset

#: The gap's figures per group, in the order the section shows them.
GAP_METRICS = ("f1", "distance", "agree_disagree", "disagree_agree")
#: Their display names (the key ids stay in the CSVs).
LABELS = {
    "f1": "F1 (rate)",
    "distance": "distance",
    "agree_disagree": "stated agree, acted disagree",
    "disagree_agree": "stated disagree, acted agree",
    "n_cells": "cells",
    "n_contexts": "contexts",
    "stated": "stated",
    "acted": "acted",
    "misaligned": "misaligned",
    "expresses": "the action that expresses it",
    "opposes": "the action that opposes it",
}
#: Heatmap panel titles per metric.
PANELS = {
    "f1": "Alignment rate (F1)",
    "distance": "Distance",
    "agree_disagree": "Stated agree, acted disagree",
    "disagree_agree": "Stated disagree, acted agree",
}
TICKS = ((0.0, "0"), (0.5, "0.5"), (1.0, "1"))
SCALE_NOTE = "every panel:\n0 to 1"
#: How many of the most misaligned cells the section lists.
TOP = 10


@dataclass(frozen=True)
class Grid:
    """One pair of context axes: per metric of :data:`GAP_METRICS` a frame of the first
    axis's levels (rows) × the second's (columns), instrument order, NaN where no cell."""

    rows: str
    columns: str
    frames: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class GapSummary:
    """Everything the section shows, as data.

    * ``overall``: ``gap --format json``'s ``overall`` (the gap's figures over every cell, and
      variant agreement and position bias where they can be measured);
    * ``by_axis``: per context axis, ``gap --by AXIS``'s rows;
    * ``grids``: per pair of context axes, the gap's figures per pair of levels (with two
      axes, exactly ``gap --by context``);
    * ``ranking``: ``gap --ranking --by`` nothing: items by distance over all cells;
      ``rankings``: per context axis, ``gap --ranking --by AXIS``;
    * ``misaligned``: the most misaligned cells (stated and acted labels differ), largest
      distance first, with both actions' texts where they are known.
    """

    overall: dict[str, Any]
    by_axis: dict[str, pd.DataFrame]
    grids: tuple[Grid, ...]
    ranking: pd.DataFrame
    rankings: dict[str, pd.DataFrame]
    misaligned: pd.DataFrame


def gap_summary(data: GapData, top: int = TOP) -> GapSummary:
    """The section's numbers for DATA (see :class:`GapSummary`); TOP misaligned cells."""
    result = data.result
    gap = result.gap
    axes = context_columns(gap.instrument)
    overall = dict(gap.overall()) | choice_summary(result.choices)
    return GapSummary(
        overall=overall,
        by_axis={axis: gap.by(axis) for axis in axes},
        grids=tuple(_grid(gap, a, b) for a, b in combinations(axes, 2)),
        ranking=gap.ranking(),
        rankings={axis: gap.ranking(axis) for axis in axes},
        misaligned=misaligned_cells(gap, data.texts, top),
    )


def _grid(gap: Gap, rows: str, columns: str) -> Grid:
    """The gap's figures per (ROWS level, COLUMNS level): F1 the mean of the pair's contexts'
    (a group is the mean of its contexts, as ``gap`` takes it), distance and the shares over
    the pair's cells."""
    per_context = gap.by("context")
    cells = gap.cells()
    keys = [rows, columns]
    s, a = cells["stated_label"], cells["acted_label"]
    both = s.notna() & a.notna()
    flags = pd.DataFrame({
        "agree_disagree": (both & (s == 0) & (a == 1)).astype(float),
        "disagree_agree": (both & (s == 1) & (a == 0)).astype(float),
        "n": both.astype(float),
    })  # fmt: skip
    pooled = flags.groupby([cells[k] for k in keys]).sum()
    series = {
        "f1": per_context.groupby(keys)["f1"].mean(),
        "distance": gap.alignment.distance_by(keys, gap.alignment.cells()),
        "agree_disagree": pooled["agree_disagree"] / pooled["n"].where(pooled["n"] > 0),
        "disagree_agree": pooled["disagree_agree"] / pooled["n"].where(pooled["n"] > 0),
    }
    inst = gap.instrument
    row_levels, col_levels = tb.group_order(inst, rows), tb.group_order(inst, columns)
    frames = {}
    for metric, values in series.items():
        wide = values.astype(float).unstack(columns)
        present_rows = [r for r in row_levels if r in wide.index]
        present_cols = [c for c in col_levels if c in wide.columns]
        frames[metric] = wide.reindex(index=present_rows, columns=present_cols)
    return Grid(rows, columns, frames)


def misaligned_cells(gap: Gap, texts: pd.DataFrame | None, top: int = TOP) -> pd.DataFrame:
    """The TOP cells whose stated and acted labels differ, largest distance first (ties in
    the instrument's order of contexts and items): the context, the item, both scores, the
    distance, which way they differ (``agree_disagree``: stated agree, acted disagree), and,
    with TEXTS (:func:`valuecompass.sources.load_action_texts`), the texts of the action that
    expresses the item and of the one that opposes it."""
    axes = context_columns(gap.instrument)
    cells = gap.cells()
    s, a = cells["stated_label"], cells["acted_label"]
    off = cells[s.notna() & a.notna() & (s != a)].copy()
    off["misaligned"] = np.where(off["stated_label"] == 0, "agree_disagree", "disagree_agree")
    off = off.sort_values("distance", ascending=False, kind="mergesort").head(top)
    out = off[[*axes, "value", "stated", "acted", "distance", "misaligned"]].reset_index(drop=True)
    if texts is not None:
        wide = texts.pivot_table(
            index=[*axes, "value"], columns="inclination", values="action", aggfunc="first"
        ).reindex(columns=list(INCLINATIONS))
        wide.columns = [str(c) for c in wide.columns]
        out = out.merge(wide.reset_index(), on=[*axes, "value"], how="left")
        out[list(INCLINATIONS)] = out[list(INCLINATIONS)].fillna("")
    return out


def choice_rows(overall: dict[str, Any]) -> pd.DataFrame:
    """Variant agreement and position bias as (figure, value) rows of text, in the words the
    section uses; what cannot be measured says so."""
    rows: list[tuple[str, str]] = []
    if "variant_agreement" in overall:
        rows += [
            ("variant agreement (with the pair's majority, unparsed replies left out)",
             f"{overall['variant_agreement']:.4f}"),
            ("variant agreement (with the expressing action, unparsed replies disagreeing)",
             f"{overall['variant_agreement_authors']:.4f}"),
            ("pairs asked more than once", f"{overall['n_pairs']:,}"),
        ]  # fmt: skip
    else:
        rows.append(("variant agreement", "not measured: each pair was asked once"))
    if "first_option_share" in overall:
        p = overall["position_p_value"]
        rows += [
            ("share of choices of the first option shown", f"{overall['first_option_share']:.4f}"),
            ("binomial p against 0.5 (two-sided)", "< 0.001" if p < 0.001 else f"{p:.3f}"),
            ("choices with a known place", f"{overall['n_positions']:,}"),
            ("position-biased (p < 0.05)", "yes" if overall["position_biased"] else "no"),
            ("place fixed by inclination (confounded)",
             "yes" if overall["position_confounded"] else "no"),
        ]  # fmt: skip
    else:
        rows.append(("position bias", "not measured: no choice's place is known"))
    return pd.DataFrame(rows, columns=["figure", "measured"])


class GapSection:
    """Stated against enacted values: the gap by each context axis (a heatmap per pair of
    axes, bars where there is one), the ranking of items by distance, variant agreement and
    position bias, and the most misaligned cells with both actions. The heading names the
    instrument's items ("Stated and enacted values" for the Value Form)."""

    id = "gap"
    title = "Stated and enacted values"
    template = "sections/gap.html.j2"

    def applies(self, data: ReportData) -> bool:
        return data.gap is not None

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        assert data.gap is not None
        gap_data = data.gap
        inst = gap_data.result.gap.instrument
        summary = gap_summary(gap_data)
        names = tb.display_names(inst) | {a.id: a.name for a in inst.context_axes}
        names["value"] = inst.item_noun[:1].upper() + inst.item_noun[1:]
        nouns = tb.item_words(inst)
        words = _Words(inst, names, nouns, gap_data.name)
        tables = [_overall_table(summary, words, assets)]
        tables += [_axis_table(summary, axis, words, assets) for axis in summary.by_axis]
        figures = _gap_figures(summary, words, assets)
        ranking_table, ranking_figures = _ranking(summary, words, assets)
        choices = assets.table(
            "gap-choices",
            "How the choices hold together",
            "Variant agreement: per pair (one context and one "
            f"{inst.item_noun}, its two actions), the share of its variants and samples that "
            "chose the same action, averaged over pairs. Position bias: the share of choices "
            "that took the option shown first, with an exact binomial test against one half.",
            choice_rows(summary.overall),
        )
        misaligned = _misaligned_table(summary, words, gap_data.texts is not None, assets)
        result = gap_data.result
        return {
            "title": f"Stated and enacted {nouns}",
            "name": gap_data.name,
            "nouns": nouns,
            "stated_src": gap_data.stated_src,
            "acted_src": gap_data.acted_src,
            "stated_summary": result.stated.summary(),
            "acted_summary": result.acted.summary(),
            "tables": tables,
            "figures": figures,
            "ranking_table": ranking_table,
            "ranking_figures": ranking_figures,
            "choices": choices,
            "confounded": bool(summary.overall.get("position_confounded")),
            "biased": bool(summary.overall.get("position_biased")),
            "misaligned": misaligned,
            "has_texts": gap_data.texts is not None,
        }


@dataclass(frozen=True)
class _Words:
    instrument: Instrument
    names: dict[str, str]
    nouns: str
    model: str

    def axis(self, axis: str) -> str:
        """The axis's name as it reads in a sentence ("country", "region")."""
        name = self.instrument.axis(axis).name
        return name[:1].lower() + name[1:]

    def axes(self, axis: str) -> str:
        return tb.plural(self.axis(axis))

    @property
    def heading(self) -> str:
        """``nouns`` capitalised, to begin a sentence or a title."""
        return self.nouns[:1].upper() + self.nouns[1:]


def _overall_table(summary: GapSummary, w: _Words, assets: Assets) -> TableAsset:
    overall = summary.overall
    row = {"model": w.model, **{k: overall[k] for k in (*GAP_METRICS, "n_cells", "n_contexts")}}
    return assets.table(
        "gap-overall",
        "The gap over every cell",
        "F1: the alignment rate of the acted agree/disagree calls against the stated ones "
        "(disagree positive) per context, averaged over contexts. Distance: the mean "
        "|stated − acted| over the cells. The two shares: of the cells, those stated agreed "
        "with and acted against, and the other way round.",
        pd.DataFrame([row]),
        labels=LABELS,
        percent=("agree_disagree", "disagree_agree"),
    )


def _axis_table(summary: GapSummary, axis: str, w: _Words, assets: Assets) -> TableAsset:
    rows = summary.by_axis[axis]
    frame = rows[[axis, *GAP_METRICS, "n_cells", "n_contexts"]]
    return assets.table(
        f"gap-{axis}",
        f"The gap by {w.axis(axis)}",
        f"Per {w.axis(axis)}: F1 the mean of its contexts', distance and the shares over its "
        f"cells (as valuecompass gap --by {axis} prints them).",
        frame,
        labels=w.names | LABELS,
        shade=Shade("low", ("distance",)),
        percent=("agree_disagree", "disagree_agree"),
    )


def _gap_figures(summary: GapSummary, w: _Words, assets: Assets) -> list[FigureAsset]:
    figures = []
    for grid in summary.grids:
        first = grid.frames["f1"]
        panels = tuple(
            HeatPanel(
                f"({chr(ord('A') + i)}) {PANELS[m]}",
                grid.frames[m].to_numpy(float),
                tuple(w.names.get(str(c), str(c)) for c in grid.frames[m].columns),
            )
            for i, m in enumerate(GAP_METRICS)
        )
        title = f"{w.model}: stated against acted, {w.axes(grid.rows)} × {w.axes(grid.columns)}"
        spec = HeatmapSpec(
            title,
            tuple(w.names.get(str(r), str(r)) for r in first.index),
            panels,
            scale_note=SCALE_NOTE,
            ticks=TICKS,
        )
        over = "" if len(summary.by_axis) == 2 else " (over the levels of the other axes)"
        figures.append(
            assets.figure(
                f"gap-grid-{grid.rows}-{grid.columns}",
                title,
                f"Per {w.axis(grid.rows)} (rows) and {w.axis(grid.columns)} (columns){over}: "
                "(A) the alignment rate, higher is closer; (B) the distance between stated "
                "and acted, lower is closer; (C) the share of cells stated agreed with and "
                "acted against; (D) the share stated disagreed with and acted on. One colour "
                "scale, 0 (dark blue) to 1 (yellow); white: no cell.",
                spec,
            )
        )
    if len(summary.by_axis) == 1:
        ((axis, rows),) = summary.by_axis.items()
        labels = tuple(w.names.get(str(v), str(v)) for v in rows[axis])
        bars = tuple(
            BarPanel(PANELS[m], labels, tuple(float(v) for v in rows[m])) for m in GAP_METRICS
        )
        figures.append(
            assets.figure(
                f"gap-{axis}",
                f"{w.model}: stated against acted by {w.axis(axis)}",
                f"Per {w.axis(axis)}, in the instrument's order: the alignment rate (higher is "
                "closer), the distance (lower is closer) and the two shares of misaligned "
                "cells.",
                BarGridSpec(f"Stated against acted by {w.axis(axis)}", bars, "0 to 1", 1.0),
            )
        )
    return figures


def _ranking(
    summary: GapSummary, w: _Words, assets: Assets
) -> tuple[TableAsset, list[FigureAsset]]:
    ranked = summary.ranking
    top = ranked[ranked["distance"].notna()].head(TOP)
    table = assets.table(
        "gap-ranking",
        f"The {len(top)} {w.nouns} whose stated and acted sides lie furthest apart",
        f"{w.heading} by mean distance over all cells, largest first; the figures below "
        "rank them within each level of each axis, as valuecompass gap --ranking --by AXIS "
        "prints them.",
        top[["rank", "value", "distance"]],
        keys=0,
        labels=w.names,
        shade=Shade("low", ("distance",)),
    )
    xmax = max(0.1, float(np.nanmax(ranked["distance"].to_numpy(float))) * 1.05)
    present = ranked[ranked["distance"].notna()]
    figures = [
        assets.figure(
            "gap-ranking",
            f"{w.model}: {w.nouns} ranked by the distance between stated and acted",
            f"Every {w.instrument.item_noun} with a cell, largest distance first, over all cells.",
            BarGridSpec(
                f"{w.heading} by distance",
                (
                    BarPanel(
                        "all cells",
                        tuple(w.names.get(v, v) for v in present["value"]),
                        tuple(float(d) for d in present["distance"]),
                    ),
                ),
                "distance",
                xmax,
            ),
        )
    ]
    for axis, ranking in summary.rankings.items():
        f1 = dict(zip(summary.by_axis[axis][axis], summary.by_axis[axis]["f1"], strict=True))
        panels = []
        for level in tb.group_order(w.instrument, axis):
            part = ranking[(ranking[axis] == level) & ranking["distance"].notna()]
            if part.empty:
                continue
            panels.append(
                BarPanel(
                    f"{w.names.get(level, level)} (F1 {f1.get(level, np.nan):.3f})",
                    tuple(w.names.get(v, v) for v in part["value"]),
                    tuple(float(d) for d in part["distance"]),
                )
            )
        figures.append(
            assets.figure(
                f"gap-ranking-{axis}",
                f"{w.model}: {w.nouns} ranked by distance, per {w.axis(axis)}",
                f"One panel per {w.axis(axis)}, its {w.nouns} largest distance first; each "
                "panel's title gives its alignment rate.",
                BarGridSpec(
                    f"{w.heading} by distance, per {w.axis(axis)}", tuple(panels), "distance", xmax
                ),
            )
        )
    return table, figures


def _misaligned_table(summary: GapSummary, w: _Words, texts: bool, assets: Assets) -> TableAsset:
    frame = summary.misaligned
    axes = context_columns(w.instrument)
    said = (
        " Beside each, the two actions the choice was between."
        if texts
        else " (Give --actions to show the two actions of each.)"
    )
    return assets.table(
        "gap-misaligned",
        "The most misaligned cells",
        f"The cells (one context and one {w.instrument.item_noun}) whose stated and acted "
        "calls differ, largest distance first. stated: the mean stated score (0 the agree "
        "end, 1 the other); acted: the share of choices that took the opposing action." + said,
        frame,
        keys=len(axes) + 1,
        labels=w.names | LABELS,
    )
