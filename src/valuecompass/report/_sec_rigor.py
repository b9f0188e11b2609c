"""How far to trust the numbers: intervals, the human ceiling, prompt sensitivity, significance,
people's missing codes and (when codes are given) the themes of people's open-ended answers.

Every number comes from :func:`valuecompass.stats.rigor` (and
:func:`valuecompass.coding.theme_counts`), but the missing codes' shares, counted here code by
code; this section only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuecompass import answers as ans
from valuecompass.coding import Codebook, load_codebook, theme_counts
from valuecompass.report import _tables as tb
from valuecompass.report._htmltable import Shade
from valuecompass.report._inputs import ReportData
from valuecompass.report._section import Assets, TableAsset
from valuecompass.stats import (
    FACTORS,
    TARGET_WORDS,
    Method,
    Rigor,
    answers_factors,
    bootstrap,
    rigor,
)


@dataclass(frozen=True)
class RigorSection:
    """Intervals and ceilings per model, sensitivity, significance, missing codes, themes.

    ``resamples``, ``permutations`` and ``splits`` trade time for precision; ``seed`` makes
    the section reproducible. ``codes`` (a codes table, see :mod:`valuecompass.coding`) adds
    the theme counts of ``coder``'s codes.
    """

    id: str = "rigor"
    title: str = "How far to trust these numbers"
    template: str = "sections/rigor.html.j2"
    resamples: int = 1000
    permutations: int = 1000
    splits: int = 100
    level: float = 0.95
    seed: int = 0
    method: Method = "shifted"  # rates keep their nominal coverage (stats._calibrate)
    codes: pd.DataFrame | None = None
    coder: str | None = None
    codebook: Codebook | None = None

    def applies(self, data: ReportData) -> bool:
        return data.people is not None and bool(data.aligned)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        assert data.people is not None
        people = data.people.answers
        results = {
            m.name: rigor(a, people, m.source.answers, seed=self.seed, resamples=self.resamples,
                          level=self.level, splits=self.splits, permutations=self.permutations,
                          factors=answers_factors(m.source.answers,
                                                  m.source.report.variant_levels),
                          method=self.method)
            for m, a in data.aligned
        }  # fmt: skip
        population = {
            m.name: bootstrap(a, people, m.source.answers, seed=self.seed, level=self.level,
                              resamples=self.resamples, groups=("overall",), rank_groups=(),
                              target="population").overall()
            for m, a in data.aligned
        }  # fmt: skip
        names = tb.display_names(data.instrument)
        tables = [
            self._headline(results, assets, population),
            self._by_country(results, assets, names, design_counts(data)[0], data),
            self._sensitivity(results, assets, names, data),
            self._significance(results, assets, names, data),
            _missing_codes(data, assets, names),
        ]
        if self.codes is not None:
            tables.append(self._themes(assets, names))
        people_n, prompts_n = design_counts(data)
        return {
            "tables": tables,
            "level": round(self.level * 100),
            "people": people_n,
            "prompts": prompts_n,
        }

    def _headline(
        self, results: dict[str, Rigor], assets: Assets, population: dict[str, dict[str, float]]
    ) -> TableAsset:
        rows = []
        for name, r in results.items():
            head = r.headline(_first_axis(r))
            row = head.iloc[-1]
            rows.append({"model": name} | {k: float(row[k]) for k in row.index[1:]})
            pop = population[name]
            for stat in ("f1", "distance"):
                rows[-1][f"population_{stat}"] = (
                    f"{pop[stat]:.3f} [{pop[f'{stat}_low']:.3f}, {pop[f'{stat}_high']:.3f}]"
                )
        return assets.table(
            "rigor-overall",
            "Overall rate and distance with intervals, beside the human ceiling",
            f"{round(self.level * 100)}% bootstrap intervals: {TARGET_WORDS['design']} (people "
            "and prompt answers resampled within each context; they cover what a study of this "
            "size would find again, not the figures of the true cell means). population_f1 and "
            f"population_distance: {TARGET_WORDS['population']} (an empirical-Bayes estimate "
            "of the F1 and distance of every person's and every prompt's mean, with its "
            "interval). ceiling: two halves of each context's people "
            "against each other; model half: the model against one half, the fair comparison "
            "with the ceiling.",
            pd.DataFrame(rows),
            shade=Shade("high", ("f1", "ceiling_f1", "model_half_f1")),
        )

    def _by_country(
        self,
        results: dict[str, Rigor],
        assets: Assets,
        names: dict[str, str],
        people: int,
        data: ReportData,
    ) -> TableAsset:
        wide = {}
        for name, r in results.items():
            head = r.headline(_first_axis(r))
            wide[name] = {
                str(c): f"{f:.3f} [{lo:.3f}, {hi:.3f}]"
                for c, f, lo, hi in zip(head.iloc[:, 0], head["f1"], head["f1_low"],
                                        head["f1_high"], strict=True)
            }  # fmt: skip
        frame = pd.DataFrame(wide).T.rename_axis("model").reset_index()
        return assets.table(
            "rigor-country",
            "Alignment rate (F1) per "
            f"{tb.axis_word(data.instrument, _first_axis(next(iter(results.values()))))} "
            "with its interval",
            f"The paper's Table 2 with {round(self.level * 100)}% intervals, "
            f"{TARGET_WORDS['design']} (what a study of this size would find again; the "
            f"overall table gives the population's figures): with {people} people per "
            "context, gaps smaller than the intervals are not evidence of a difference.",
            frame,
            labels=names | {"overall": "Overall"},
        )

    def _sensitivity(
        self, results: dict[str, Rigor], assets: Assets, names: dict[str, str], data: ReportData
    ) -> TableAsset:
        noun, nouns = data.instrument.item_noun, tb.item_words(data.instrument)
        rows = []
        present = {f for r in results.values() if r.sensitivity is not None
                   for f in r.sensitivity.variance["factor"]}  # fmt: skip
        factors = [f for f in FACTORS if f in present]
        for name, r in results.items():
            if r.sensitivity is None:
                continue
            shares = r.sensitivity.variance.set_index("factor")["share"]
            flips = r.sensitivity.flips.sort_values("flip_rate", ascending=False)
            top = ", ".join(names.get(v, v) for v in flips["value"].head(3))
            rows.append({"model": name, **{f: shares.get(f) for f in (*factors, "other")},
                         "mean_flip_rate": float(flips["flip_rate"].mean()),
                         "most_flipping": top})  # fmt: skip
        return assets.table(
            "rigor-sensitivity",
            "Prompt sensitivity",
            "Share of the variance of each model's answers within a cell due to each factor "
            "its prompt design varied (main effects; framing, statement style, requirement, "
            f"order of the lists, layout: {nouns} or options first; blank where a model's "
            "design kept it fixed or does not say; 'other' is the rest), the mean share of "
            f"contexts in which a {noun}'s agree/disagree call changes across "
            f"{_variants(data)}, and the {nouns} that change most often.",
            pd.DataFrame(rows),
            percent=(*factors, "other", "mean_flip_rate"),
        )

    def _significance(
        self, results: dict[str, Rigor], assets: Assets, names: dict[str, str], data: ReportData
    ) -> TableAsset:
        nouns = tb.item_words(data.instrument)
        rows = []
        for name, r in results.items():
            sig = r.significance
            ranks = r.bootstrap.ranking("overall", k=10)
            sure = ranks[ranks["p_top_k"] >= 0.9]["value"].map(lambda v: names.get(v, v))
            rows.append(
                {
                    "model": name,
                    "values_differing": int(sig["significant"].sum()),
                    "values": int(sig["p_value"].notna().sum()),
                    "surely_top_10": ", ".join(sure) or "none",
                }
            )
        return assets.table(
            "rigor-significance",
            "Which gaps are real",
            f"{nouns} differing: {nouns} whose distance a permutation test finds larger than "
            "exchangeable answers would give (Benjamini-Hochberg, false discovery rate 5%). "
            f"surely top 10: {nouns} among the ten most misaligned in at least 90% of "
            "resamples.",
            pd.DataFrame(rows),
            labels={"values_differing": f"{nouns} differing", "values": nouns},
        )

    def _themes(self, assets: Assets, names: dict[str, str]) -> TableAsset:
        assert self.codes is not None
        book = self.codebook or load_codebook()
        counts = theme_counts(self.codes, book, self.coder).drop(columns=["theme"])
        return assets.table(
            "rigor-themes",
            "What people expect of AI: themes of their open-ended answers",
            "Respondents whose answers express each theme, per scenario and in all.",
            counts,
            labels=names,
        )


def _variants(data: ReportData) -> str:
    """The models' prompt variants as counted in their answers ("the 4 variants")."""
    counts = {int(m.source.answers["variant"].dropna().nunique()) for m in data.models}
    return f"the {counts.pop()} variants" if len(counts) == 1 else "each model's variants"


def missing_code_table(data: ReportData) -> pd.DataFrame:
    """Per item, the share of people's answers giving each of the people scale's missing codes
    (a column per code id), people's answers that chose something (a point or a code), and each
    model's share of answers giving any missing code; the most missing first."""
    assert data.people is not None
    inst = data.instrument
    codes = inst.people_scale.missing_codes
    people = data.people.answers
    chosen = ans.missing_codes(people, inst)
    chose = people["position"].notna() | (chosen != "")
    frame = pd.DataFrame({"value": people["value"], "code": chosen})[chose]
    n = frame.groupby("value").size()
    table = pd.DataFrame(index=[i for i in inst.item_ids if i in n.index])
    for code in codes:
        table[code] = (frame["code"] == code).groupby(frame["value"]).mean()
    table["people_n"] = n
    for model in data.models:
        answers = model.source.answers
        got = ans.missing_codes(answers, inst)
        picked = answers["position"].notna() | (got != "")
        table[model.name] = (got[picked] != "").groupby(answers.loc[picked, "value"]).mean()
    table["_all"] = table[list(codes)].sum(axis=1)
    table = table.sort_values("_all", ascending=False, kind="stable").drop(columns="_all")
    return table.rename_axis("value").reset_index()


def _missing_codes(data: ReportData, assets: Assets, names: dict[str, str]) -> TableAsset:
    """People's missing codes per item, each code its own column under its label."""
    inst = data.instrument
    scale = inst.people_scale
    nouns = tb.item_words(inst)
    said = tb.missing_words(inst)
    labels = {m.code: m.label for m in scale.missing}
    models = [m.name for m in data.models]
    return assets.table(
        "rigor-irrelevant",
        f"{nouns[:1].upper()}{nouns[1:]} people answered {said} most often",
        f"Share of people's answers giving each of {said} (of those that chose a point or "
        f"a code; people n counts them), and each model's share of answers giving any such "
        "code (a model asked without the option never does; see `valuecompass rigor "
        "irrelevant-prompts`).",
        missing_code_table(data).head(12),
        labels=names | labels | {"value": inst.item_noun, "people_n": "people n"},
        percent=(*labels, *models),
    )


def _first_axis(rigor: Rigor) -> str:
    """The column of the instrument's first context axis (the Value Form: country)."""
    layout = rigor.bootstrap.layout
    return next(layout.rule(g).column for g in layout.group_ids() if layout.rule(g).kind == "axis")


def design_counts(data: ReportData) -> tuple[int, int]:
    """The median number of people per shared context, and of the first model's answers per
    cell (prompt variants × samples, and languages where the instrument has them)."""
    assert data.people is not None and data.aligned
    model, alignment = data.aligned[0]
    keys = alignment.context_columns
    shared = set(map(tuple, alignment.contexts))

    def inside(answers: pd.DataFrame) -> pd.DataFrame:
        key = pd.Series(list(zip(*(answers[k] for k in keys), strict=True)), index=answers.index)
        return answers[key.isin(shared)]

    people = inside(data.people.answers).groupby(keys)["respondent"].nunique()
    cells = inside(model.source.answers).groupby([*keys, "value"]).size()
    return int(people.median()) if len(people) else 0, int(cells.median()) if len(cells) else 0
