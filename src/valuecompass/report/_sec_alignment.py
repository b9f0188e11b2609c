"""Sections comparing each model with people: rates, heatmaps, rankings, motivational types."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from valuecompass.instrument import Instrument
from valuecompass.metrics import Alignment, GroupBy
from valuecompass.report import _tables as tb
from valuecompass.report._figures import BarGridSpec, BarPanel, HeatmapSpec, HeatPanel
from valuecompass.report._htmltable import Shade
from valuecompass.report._inputs import ModelData, ReportData
from valuecompass.report._section import Assets

#: Deprecated: the Value Form's context groups (sections read ``tb.context_groups``).
GROUPS: tuple[GroupBy, GroupBy] = ("country", "scenario")
#: (metric, which way is better, its name) for the rate tables.
METRIC_ROWS: tuple[tuple[str, Literal["high", "low"], str], ...] = (
    ("f1", "high", "Alignment rate (F1)"),
    ("distance", "low", "Alignment distance"),
)
#: Captions' plural of a grouping where :func:`valuecompass.report._tables.plural` of its id
#: is not the word (the rest: ``country`` → ``countries``, ...).
PLURAL = {"type": "motivational types"}


def plural(group: str) -> str:
    """GROUP's plural for captions."""
    return PLURAL.get(group) or tb.plural(group)


SCALE_NOTE = (
    "One colour scale for every heatmap (cividis, safe for colour-blind readers): "
    "0 = strongly agree (dark blue) to 1 = strongly disagree (yellow); for distance, "
    "0 = the same answer and 1 = opposite ends of the scale. White = no answer."
)


def _with_people(data: ReportData) -> bool:
    return data.people is not None and bool(data.aligned)


def type_breaks(instrument: Instrument) -> tuple[int, ...]:
    """Row indices where the displayed group changes, in instrument order (the Value Form's
    ``display_type``, else the instrument's first grouping)."""
    ids = [g.id for g in instrument.groupings]
    shown = instrument.group_of("display_type" if "display_type" in ids else ids[0])
    kinds = [shown[i] for i in instrument.item_ids]
    return tuple(i for i in range(1, len(kinds)) if kinds[i] != kinds[i - 1])


PANELS = (("human", "People"), ("model", "Model"), ("distance", "Distance"))


def triple(
    frames: dict[str, pd.DataFrame], names: dict[str, str], group: str = "", first: str = "A"
) -> tuple[HeatPanel, ...]:
    """People, model and distance panels over the same rows and columns, lettered from FIRST."""
    columns = tuple(names.get(str(c), str(c)) for c in frames["human"].columns)
    return tuple(
        HeatPanel(f"({chr(ord(first) + i)}) {label}", frames[key].to_numpy(float), columns, group)
        for i, (key, label) in enumerate(PANELS)
    )


def row_names(frame: pd.DataFrame, names: dict[str, str]) -> tuple[str, ...]:
    return tuple(names.get(str(r), str(r)) for r in frame.index)


class RatesSection:
    """The paper's Table 2 (models × countries, F1) and the same by every other context axis
    (the Value Form: scenario), with distances."""

    id = "rates"
    title = "Alignment rates"
    template = "sections/rates.html.j2"

    def applies(self, data: ReportData) -> bool:
        return _with_people(data)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        names = tb.display_names(data.instrument) | {"average": "Average"}
        overall = assets.table(
            "overall",
            "Every metric over all shared contexts",
            "Rates are averaged over contexts; distance over all cells."
            + (
                " On centred scores every F1 comes with its chance level (f1 chance: the "
                "exact mean F1 when the model's calls are shuffled within each context) and "
                "the chance-corrected F1 ((F1 - chance) / (1 - chance), which equals kappa): "
                "centring raises the share of disagree calls, and with it the F1 chance gives."
                if data.centred
                else ""
            ),
            tb.overall_table(data),
            labels={
                "f1": "F1 (rate)",
                "n_contexts": "contexts",
                "f1_chance": "F1 chance",
                "f1_corrected": "F1 corrected",
            },
            shade=Shade("high", ("f1",)),
        )
        ties = assets.table(
            "ties",
            "The overall F1 under each rule for a cell mean exactly on the threshold",
            "A cell whose mean sits exactly on the agree/disagree threshold (a neutral mean) is "
            "a disagreement under the paper's rule (disagree, used everywhere else in this "
            "report); agree counts it as agreement; split counts it half each. ties share: the "
            "share of cells with either side on the threshold; change: F1 under that rule "
            "minus the paper's; rank: the models' order by F1 under each rule.",
            tb.ties_table(data),
            labels={"f1_disagree": "F1 (paper: disagree)"},
        )
        tables = [overall, ties]
        for group in tb.context_groups(data.instrument):
            for metric, better, what in METRIC_ROWS:
                tables.append(
                    assets.table(
                        f"{metric}-{group}",
                        f"{what} by {tb.axis_word(data.instrument, group)}",
                        f"Models × {plural(tb.axis_word(data.instrument, group))}; "
                        "the average is the mean of the row. "
                        f"Cells shade from worst (light) to best (blue): "
                        f"{'higher' if better == 'high' else 'lower'} is better.",
                        tb.wide_metric(data, group, metric),
                        labels=names,
                        shade=Shade(better),
                    )
                )
        return {"tables": tables}


class HeatmapsSection:
    """People's, the model's and the distance heatmaps per model (Figures 3 and 6–10)."""

    id = "heatmaps"
    title = "Heatmaps of values"
    template = "sections/heatmaps.html.j2"

    def applies(self, data: ReportData) -> bool:
        return _with_people(data)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        names = tb.display_names(data.instrument)
        breaks = type_breaks(data.instrument)
        nouns, kinds = tb.item_words(data.instrument), tb.group_words(data.instrument)[1]
        models = []
        for model, _ in data.aligned:
            figures = []
            for group in tb.context_groups(data.instrument):
                axis = tb.axis_word(data.instrument, group)
                frames = tb.value_scores(model, group)
                spec = HeatmapSpec(
                    f"{model.name}: {nouns} × {plural(axis)}",
                    row_names(frames["human"], names),
                    triple(frames, names),
                    breaks,
                )
                figures.append(
                    assets.figure(
                        f"heatmap-{group}-{model.slug}",
                        f"{model.name}: {nouns} × {plural(axis)}",
                        f"(A) People's mean score, (B) {model.name}'s, (C) the alignment "
                        f"distance, each averaged over the contexts of each {axis}. "
                        f"White rules separate {kinds}. " + SCALE_NOTE,
                        spec,
                    )
                )
            models.append({"name": model.name, "figures": figures})
        return {"models": models, "title": f"Heatmaps of {nouns}"}


def ranking_spec(
    model: ModelData,
    alignment: Alignment,
    group: GroupBy,
    ranking: pd.DataFrame,
    names: dict[str, str],
    xmax: float,
) -> BarGridSpec:
    """One panel per level of GROUP (instrument order), its items ranked by distance."""
    by = alignment.by(group)
    f1 = dict(zip(by[group], by["f1"], strict=True))
    panels = []
    for level in tb.group_order(alignment.instrument, group):
        part = ranking[ranking[group] == level]
        if part.empty:
            continue
        panels.append(
            BarPanel(
                f"{names.get(level, level)} (F1 {f1.get(level, np.nan):.3f})",
                tuple(names.get(v, v) for v in part["value"]),
                tuple(float(d) for d in part["distance"]),
            )
        )
    return BarGridSpec(
        f"{model.name}: {tb.item_words(alignment.instrument)} ranked by alignment distance, "
        f"per {tb.axis_word(alignment.instrument, group)}",
        tuple(panels),
        "alignment distance",
        xmax,
    )


class RankingsSection:
    """Values ranked by distance per level of each context axis (Figures 4, 11, 12), and the
    top 10."""

    id = "rankings"
    title = "Rankings of values by alignment distance"
    template = "sections/rankings.html.j2"

    def applies(self, data: ReportData) -> bool:
        return _with_people(data)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        names = tb.display_names(data.instrument)
        nouns = tb.item_words(data.instrument)
        long = tb.top_misaligned(data)
        top_table = assets.table(
            "top-misaligned",
            f"The ten most misaligned {nouns}",
            f"Each model's {nouns} with the largest mean distance over all shared contexts; "
            "the CSV holds them in long form.",
            long,
            keys=2,
            labels=names | {"value": data.instrument.item_noun},
            shade=Shade("low", ("distance",)),
        )
        top_figure = assets.figure(
            "top-misaligned",
            f"The ten most misaligned {nouns} per model",
            "Mean alignment distance over all shared contexts, largest first.",
            _top_spec(long, names, nouns),
        )
        models = []
        for model, alignment in data.aligned:
            rankings = {g: alignment.ranking(g) for g in tb.context_groups(data.instrument)}
            top = max(float(np.nanmax(r["distance"].to_numpy())) for r in rankings.values())
            xmax = max(0.1, top * 1.05)
            figures = [
                assets.figure(
                    f"ranking-{group}-{model.slug}",
                    f"{model.name}: {nouns} ranked by distance, per {axis}",
                    f"All {len(data.instrument.items)} {nouns}, largest distance first, "
                    f"one panel per {axis}; each panel's title gives its alignment rate.",
                    ranking_spec(model, alignment, group, rankings[group], names, xmax),
                )
                for group in tb.context_groups(data.instrument)
                for axis in [tb.axis_word(data.instrument, group)]
            ]
            models.append({"name": model.name, "figures": figures})
        title = f"Rankings of {nouns} by alignment distance"
        return {"top_table": top_table, "top_figure": top_figure, "models": models,
                "title": title, "nouns": nouns}  # fmt: skip


def _top_spec(long: pd.DataFrame, names: dict[str, str], nouns: str) -> BarGridSpec:
    panels = tuple(
        BarPanel(
            str(model),
            tuple(names.get(v, v) for v in part["value"]),
            tuple(float(d) for d in part["distance"]),
        )
        for model, part in long.groupby("model", sort=False)
    )
    xmax = max(0.05, float(long["distance"].max()) * 1.05)
    return BarGridSpec(f"Ten most misaligned {nouns}", panels, "alignment distance", xmax, 3)


class TypesSection:
    """The same numbers by the instrument's first grouping of its items (the Value Form:
    Schwartz's motivational types). The heading names the grouping (its ``title``)."""

    id = "types"
    title = "By motivational type"
    template = "sections/types.html.j2"

    def applies(self, data: ReportData) -> bool:
        return _with_people(data)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        names = tb.display_names(data.instrument) | {"average": "Average"}
        what, nouns = grouping_words(data.instrument)
        tables = [
            assets.table(
                f"{metric}-type",
                f"{label} by {what}",
                f"Models × levels of {what}; each level's rate is computed over the pooled "
                f"cells of its {nouns} in every shared context.",
                tb.wide_metric(data, tb.primary(data.instrument).id, metric, average=False),
                labels=names,
                shade=Shade(better),
            )
            for metric, better, label in METRIC_ROWS
        ]
        figures = [
            assets.figure(
                f"types-{model.slug}",
                f"{model.name}: {what} by {' and by '.join(_two(data))}",
                f"Mean over each level's {nouns} of people's score (A, D), the model's (B, E) "
                "and the distance (C, F), by {} (A–C) and by {} (D–F). ".format(*_two(data))
                + SCALE_NOTE,
                _types_spec(model, names),
            )
            for model, _ in data.aligned
        ]
        title = f"By {what}"
        return {"tables": tables, "figures": figures, "title": title, "note": _note(data)}


def grouping_words(instrument: Instrument) -> tuple[str, str]:
    """The first grouping's name as it reads in a sentence ("moral foundation"), and the
    instrument's items in the plural ("values", "foundations")."""
    name = instrument.grouping(tb.primary(instrument).id).name
    return name[:1].lower() + name[1:], f"{instrument.item_noun}s"


def _note(data: ReportData) -> str:
    grouping = data.instrument.grouping(tb.primary(data.instrument).id)
    what, nouns = grouping_words(data.instrument)
    note = f"The same comparisons with the {nouns} grouped by {what}"
    if grouping.description:
        note += f": {grouping.description.rstrip('.')}"
    if "unassigned" in grouping.level_ids:
        note += f" ('unassigned' holds the {nouns} that it leaves out of every level)"
    return note + "."


def _types_spec(model: ModelData, names: dict[str, str]) -> HeatmapSpec:
    first, last = tb.context_groups(model.profile.instrument)[:2]
    by_first = tb.type_scores(model, first)
    by_last = tb.type_scores(model, last)
    inst = model.profile.instrument
    by = [f"By {tb.axis_word(inst, a)}" for a in (first, last)]
    panels = triple(by_first, names, by[0]) + triple(by_last, names, by[1], "D")
    kinds = tb.group_words(model.profile.instrument)[1]
    return HeatmapSpec(f"{model.name}: {kinds}", row_names(by_first["human"], names), panels)


def _two(data: ReportData) -> list[str]:
    """The first two context axes' names, lower case (the Value Form: country, scenario)."""
    return [a.name.lower() for a in data.instrument.context_axes[:2]]
