"""Beyond the paper: the main findings with and without the scale-use correction, the
measurement's reliability and structure, and whether naming the level of the first context axis
(the Value Form's country) steers the model.

Every number comes from :mod:`valuecompass.stats` (``centre_answers``, ``reliability``,
``circle_structure``, ``steerability``); this section lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuecompass.common import p_text
from valuecompass.instrument import context_columns
from valuecompass.metrics import Alignment, align, binarise
from valuecompass.report import _tables as tb
from valuecompass.report._fig_science import PlanePanel, PlaneSpec, SteerPanel, SteerSpec
from valuecompass.report._htmltable import Shade
from valuecompass.report._inputs import ReportData
from valuecompass.report._section import Assets, FigureAsset, TableAsset
from valuecompass.stats import (
    ICCS,
    centre_answers,
    circle_structure,
    reliability,
    steerability,
    value_grouping,
)


@dataclass(frozen=True)
class ScienceSection:
    """Findings both ways, reliability, structure and steerability (people and every model).

    ``focus`` is the value whose gap the paper singles out (National Security); ``grouping``
    any grouping of the items the instrument declares (``None``: its first, the Value Form's
    motivational types); steerability is along the instrument's first context axis;
    ``permutations``, ``resamples`` and ``seed`` as in :func:`valuecompass.stats.steerability`.
    """

    id: str = "science"
    title: str = "Beyond the paper: response style, reliability, structure, steerability"
    template: str = "sections/science.html.j2"
    focus: str = "national_security"
    grouping: str | None = None
    permutations: int = 1000
    resamples: int = 500
    seed: int = 0

    def applies(self, data: ReportData) -> bool:
        return data.people is not None and bool(data.aligned)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        assert data.people is not None
        names = tb.display_names(data.instrument)
        both = self._both_ways(data)
        tables = [self._headline(both, assets, names, data), self._gaps(both, assets, names, data)]
        tables.append(self._reliability(data, assets, names))
        structure, figure = self._structure(data, assets)
        tables.append(structure)
        figures = [figure]
        if self._steerable(data):
            steer, steer_figure = self._steer(data, assets, names)
            tables.append(steer)
            figures.append(steer_figure)
        axis = tb.axis_word(data.instrument, context_columns(data.instrument)[0])
        return {"tables": tables, "figures": figures, "centred": data.centred,
                "noun": data.instrument.item_noun, "nouns": tb.item_words(data.instrument),
                "axis": axis, "axes": tb.plural(axis)}  # fmt: skip

    @staticmethod
    def _steerable(data: ReportData) -> bool:
        """Steerability (along the first context axis, the Value Form's countries) needs two of
        its levels that the people and every model share."""
        axis = context_columns(data.instrument)[0]
        return all(len(set(a.contexts.get_level_values(axis))) >= 2 for _, a in data.aligned)

    def _both_ways(self, data: ReportData) -> dict[str, dict[str, Alignment]]:
        assert data.people is not None
        people = data.people.raw_answers
        centred_people = centre_answers(people, data.instrument)
        out = {}
        for m, _ in data.aligned:
            raw = m.source.raw_answers
            out[m.name] = {
                "raw": align(people, raw, data.instrument, chance=True),
                "centred": align(
                    centred_people,
                    centre_answers(raw, data.instrument, over=people),
                    data.instrument,
                    chance=True,
                ),
            }
        return out

    def _headline(
        self,
        both: dict[str, dict[str, Alignment]],
        assets: Assets,
        names: dict[str, str],
        data: ReportData,
    ) -> TableAsset:
        nouns = tb.item_words(data.instrument)
        rows = []
        for name, ways in both.items():
            row: dict[str, Any] = {"model": name}
            for way, a in ways.items():
                suffix = "" if way == "raw" else "_centred"
                overall = a.overall()
                for stat in ("f1_corrected", "f1", "f1_chance", "distance"):
                    row[f"{stat}{suffix}"] = overall[stat]
                row.update(self._focus(a, suffix))
            rows.append(row)
        frame = pd.DataFrame(rows)
        lead = ["model", "f1_corrected", "f1_corrected_centred"]
        frame = frame[[*lead, *(c for c in frame.columns if c not in lead)]]
        for col in ("f1_corrected", "f1_corrected_centred"):
            rank = frame[col].rank(ascending=False, method="min").astype("Int64")
            frame.insert(frame.columns.get_loc(col) + 1, f"{col}_rank", rank)
        focus = names.get(self.focus, self.focus)
        about = (
            f" {focus} gap: the model's mean score minus the people's (> 0: the model rejects "
            f"it more than people do); its rank: among the {nouns} by distance (1 = the largest "
            "people-model gap)."
            if self.focus in data.instrument.item_ids
            else ""
        )
        shares = self._disagree_shares(both)
        return assets.table(
            "science-both-ways",
            "The main findings with and without the scale-use correction",
            "First the chance-corrected alignment rate, (F1 - chance) / (1 - chance), which "
            "equals Cohen's kappa, on raw scores and on person-centred scores (each "
            f"respondent's, and each prompt set's, mean over the {nouns} subtracted, the model "
            f"over the {nouns} each respondent rated; agree means 'more than its own average'); "
            "rank: the models' order by it. Then the plain F1 and its chance level (the exact "
            "mean F1 when the model's calls are shuffled within each context) both ways: "
            f"centring raises the share of people's disagree calls ({shares}), and with it "
            "the F1 chance alone gives, so a centred F1 is not comparable with a raw one; the "
            "corrected rate is. Centred distances range over 0 to 2."
            f"{about}",
            frame,
            shade=Shade("high", ("f1_corrected", "f1_corrected_centred")),
            labels={"f1_corrected": "F1 corrected", "f1_corrected_centred": "F1 corrected, centred",
                    "f1_chance": "F1 chance", "f1_chance_centred": "F1 chance, centred"},
        )  # fmt: skip

    @staticmethod
    def _disagree_shares(both: dict[str, dict[str, Alignment]]) -> str:
        """The share of people's cells called disagree, raw and centred (the first model's
        contexts), as words for the caption."""
        ways = next(iter(both.values()))
        share = {
            way: float(np.nanmean(binarise(a.human.to_numpy(), a.ties))) for way, a in ways.items()
        }
        return f"{share['raw']:.3f} raw, {share['centred']:.3f} centred"

    def _focus(self, a: Alignment, suffix: str) -> dict[str, float]:
        """The focus value's signed gap (model minus people, > 0: the model rejects it more)
        and its rank among the values by distance."""
        ranking = a.ranking().set_index("value")
        if self.focus not in ranking.index:
            return {}
        cells = a.cells()
        cells = cells[cells["value"] == self.focus]
        return {
            f"{self.focus}_gap{suffix}": float((cells["model"] - cells["human"]).mean()),
            f"{self.focus}_rank{suffix}": int(ranking.loc[self.focus, "rank"]),
        }

    def _gaps(
        self,
        both: dict[str, dict[str, Alignment]],
        assets: Assets,
        names: dict[str, str],
        data: ReportData,
    ) -> TableAsset:
        noun, nouns = data.instrument.item_noun, tb.item_words(data.instrument)
        parts = {}
        for way in ("raw", "centred"):
            per_model = [
                ways[way].ranking().set_index("value")["distance"] for ways in both.values()
            ]
            mean = pd.concat(per_model, axis=1).mean(axis=1).sort_values(ascending=False)
            parts[way] = mean.head(10)
        frame = pd.DataFrame({
            "rank": np.arange(1, len(parts["raw"]) + 1),  # ten, or fewer items
            "value": [names.get(v, v) for v in parts["raw"].index],
            "distance": parts["raw"].to_numpy(),
            "value_centred": [names.get(v, v) for v in parts["centred"].index],
            "distance_centred": parts["centred"].to_numpy(),
        })  # fmt: skip
        return assets.table(
            "science-gaps",
            f"The {nouns} with the largest people-model gaps, both ways",
            f"The {_count(len(frame))} {nouns} with the largest distance between people and "
            f"models (the mean over the models of each {noun}'s mean cell distance), on raw "
            "and on person-centred scores.",
            frame,
            labels={"value": noun, "value_centred": f"{noun} centred"},
        )

    def _sources(self, data: ReportData) -> list[tuple[str, pd.DataFrame]]:
        assert data.people is not None
        return [("people", data.people.answers)] + [
            (m.name, m.source.answers) for m, _ in data.aligned
        ]

    def _words(self, data: ReportData) -> tuple[str, str, str, str]:
        """(item noun, its plural, the grouping's word, its plural) for captions."""
        ids = [g.id for g in data.instrument.groupings]
        gid = self.grouping if self.grouping in ids else None
        kind, kinds = tb.group_words(data.instrument, gid)
        return data.instrument.item_noun, tb.item_words(data.instrument), kind, kinds

    def _level_names(self, data: ReportData) -> dict[str, str]:
        """The shown grouping's level id → its name (the legend's words)."""
        ids = [g.id for g in data.instrument.groupings]
        found = data.instrument.grouping(self.grouping if self.grouping in ids else ids[0])
        return {lv.id: lv.name for lv in found.levels}

    def _reliability(self, data: ReportData, assets: Assets, names: dict[str, str]) -> TableAsset:
        groups, order = value_grouping(data.instrument, self.grouping)
        _, nouns, kind, _ = self._words(data)
        rows = []
        for name, answers in self._sources(data):
            table = reliability(
                answers, groups, order, contexts=context_columns(data.instrument)
            ).set_index("group")
            median = float(table.drop(index="all")["alpha"].median())
            row = {"source": name, "alpha": table.loc["all", "alpha"],
                   "omega": table.loc["all", "omega"], "median_group_alpha": median}  # fmt: skip
            if "icc2_1" in table:
                row |= {k: table.loc["all", k] for k in ICCS}
            rows.append(row)
        return assets.table(
            "science-reliability",
            "Reliability: internal consistency and agreement across prompt variants",
            "alpha, omega: Cronbach's alpha and McDonald's omega (one factor, least squares) "
            f"over all {nouns} with a {kind}; median group alpha: the median of each "
            f"{kind}'s alpha (units: respondents, or prompt sets, within a context). "
            "icc2_1, icc2_k: absolute agreement of one prompt variant, and of the mean of the "
            "variants, with the cells' true scores; icc3_1, icc3_k: consistency of one variant, "
            "and of the mean of the variants (cells as targets, variants as raters; "
            "Shrout and Fleiss). `valuecompass "
            f"rigor reliability` gives every {kind}.",
            pd.DataFrame(rows),
            shade=Shade("high", ("alpha", "omega", *ICCS)),
        )

    def _structure(self, data: ReportData, assets: Assets) -> tuple[TableAsset, FigureAsset]:
        groups, order = value_grouping(data.instrument, self.grouping)
        noun, nouns, kind, kinds = self._words(data)
        rows, panels = [], []
        for name, answers in self._sources(data):
            found = circle_structure(answers, groups, order,
                                     contexts=context_columns(data.instrument),
                                     permutations=self.permutations, seed=self.seed)  # fmt: skip
            weaker = circle_structure(answers, groups, order,
                                      contexts=context_columns(data.instrument),
                                      permutations=self.permutations, seed=self.seed,
                                      null="items")  # fmt: skip
            summary = found.summary()
            del summary["null"]
            at = list(summary).index("p_value") + 1
            items = list(summary.items())
            items.insert(at, ("p_value_items", weaker.p_value))
            rows.append({"source": name, **dict(items)})
            index = {g: i for i, g in enumerate(order)}
            coords = found.coords
            panels.append(PlanePanel(
                f"{name}: R = {found.fit:.2f}, p {_p_clause(found.p_value, found.permutations)}",
                coords["x"].to_numpy(float), coords["y"].to_numpy(float),
                np.array([index.get(str(g), -1) for g in coords["group"]]),
            ))  # fmt: skip
        table = assets.table(
            "science-structure",
            f"Structure: how closely the answers follow the circle of {kinds}",
            f"Classical MDS of the {nouns}' correlations (d = sqrt(2(1 - r))). fit: the mean "
            f"resultant length of each {noun}'s angle minus its {kind}'s place on the theory's "
            "circle (1: exact, up to rotation and reflection); p: the share of random "
            f"arrangements of the {kinds} on the circle (each {noun} kept in its {kind}) "
            f"fitting as well, which asks whether the {kinds} sit in the theory's order; "
            f"p items: the older, weaker test, the share of random relabellings of the "
            f"{nouns} fitting as well, which any clustering of {nouns} within their {kinds} "
            f"passes whatever their order; adjacent pairs: of the theory's neighbouring "
            f"{kinds}, how many are neighbours in the data.",
            pd.DataFrame(rows),
            labels={"p_value": "p", "p_value_items": "p items"},
        )
        legend = self._level_names(data)
        figure = assets.figure(
            "science-mds",
            f"The {nouns} on the MDS plane, coloured by {kind}",
            f"Each point is a {noun}; hues follow the theory's circle (grey: no {kind}).",
            PlaneSpec("MDS", tuple(legend.get(g, g) for g in order), tuple(panels)),
        )
        return table, figure

    def _steer(
        self, data: ReportData, assets: Assets, names: dict[str, str]
    ) -> tuple[TableAsset, FigureAsset]:
        assert data.people is not None
        wide, bodies = {}, []
        ceiling: dict[str, str] = {}
        axis = context_columns(data.instrument)[0]
        for m, a in data.aligned:
            t = steerability(
                a, data.people.answers, m.source.answers, axis=axis,
                permutations=self.permutations, resamples=self.resamples, seed=self.seed,
            )  # fmt: skip
            wide[m.name] = {
                str(c): f"{s:+.3f} [{lo:+.3f}, {hi:+.3f}]" + (" *" if p < 0.05 else "")
                for c, s, lo, hi, p in zip(
                    t[axis], t["steer"], t["steer_low"], t["steer_high"], t["p_adj"],
                    strict=True,
                )
            }  # fmt: skip
            ceiling = ceiling or {
                str(c): f"{s:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for c, s, lo, hi in zip(t[axis], t["ceiling"], t["ceiling_low"],
                                        t["ceiling_high"], strict=True)
            }  # fmt: skip
            bodies.append((m.name, t[t[axis] != "overall"].set_index(axis)))
        # Models may share different levels with the people: one row per level any of them has,
        # in the axis's order, a model's missing levels left empty in its panel.
        present = {str(c) for _, body in bodies for c in body.index}
        ids = [lv.id for lv in data.instrument.axis(axis).levels if lv.id in present]
        levels = tuple(names.get(c, c) for c in ids)
        panels = [
            SteerPanel(name, *(body[k].reindex(ids).to_numpy(float)
                               for k in ("steer", "steer_low", "steer_high")))
            for name, body in bodies
        ]  # fmt: skip
        wide["people against people (ceiling)"] = ceiling
        frame = pd.DataFrame(wide).T
        frame = frame[[c for c in [*ids, "overall"] if c in frame.columns]]
        frame = frame.rename_axis("model").reset_index()
        word = tb.axis_word(data.instrument, axis)
        words = tb.plural(word)
        table = assets.table(
            "science-steer",
            f"Steerability: how much closer the model gets to the people of the {word} it is told",
            f"Swap contrast per {word} (distance units): how much farther the model is from "
            f"the people when prompt and people's {words} are swapped than when they match; "
            f"0 for a model that ignores the {word}. 95% bootstrap interval (people and prompt "
            "sets resampled within each context); * one-sided bootstrap p from the same "
            f"resamples below 0.05 after Benjamini-Hochberg across the {words} (the overall "
            "column unadjusted). The ceiling row: one random half of each context's people "
            f"against the other half, as if a model copied each {word}'s people (mean over "
            "random halvings; the middle 95% of them): what this many people can show.",
            frame,
            labels=names | {"overall": "Overall"},
        )
        figure = assets.figure(
            "science-steer",
            f"Steerability by {word}",
            "Dots: the swap contrast; lines: its 95% interval; the rule at 0 is a model that "
            f"ignores the {word}.",
            SteerSpec("Steerability", levels, tuple(panels), word),
        )
        return table, figure


def _p_clause(p: float, permutations: int) -> str:
    """``= 0.022``, ``< 0.001`` or ``≤ 0.005``: a panel title's p-value, never ``0.000``."""
    text = p_text(p, permutations)
    return text if text.startswith(("<", "≤")) else f"= {text}"


def _count(n: int) -> str:
    """N as a word in a caption ("ten"), as a figure past twelve."""
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if n < len(words) else str(n)
