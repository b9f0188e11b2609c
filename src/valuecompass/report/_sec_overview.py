"""The overview: what went in, what was kept, and what each number means."""

from __future__ import annotations

from typing import Any

from valuecompass.instrument import Instrument
from valuecompass.report import _tables as tb
from valuecompass.report._inputs import ReportData
from valuecompass.report._section import Assets, TableAsset


def glossary(instrument: Instrument) -> dict[str, str]:
    """Term → one sentence, in INSTRUMENT's words. Sections that add metrics can add terms."""
    nouns = tb.item_words(instrument)
    return {
        "Score": "Each answer placed on 0 (strongly agree) to 1 (strongly disagree), then "
        f"averaged per context (one level of each context axis: {tb.axes_words(instrument)}) "
        f"and {instrument.item_noun}; a score below 0.5 counts as agree.",
        "Alignment rate (F1)": "How well the model's agree/disagree calls match people's on the "
        f"{nouns} people disagree with (the harmonic mean of precision and recall); 1 is "
        "perfect.",
        "Accuracy": f"The share of {nouns} on which the model and people give the same "
        "agree/disagree call.",
        "Precision": f"Of the {nouns} the model disagrees with, the share people also disagree "
        "with.",
        "Recall": f"Of the {nouns} people disagree with, the share the model also disagrees with.",
        "Kappa": "Cohen's kappa: agreement on the calls beyond what chance would give "
        "(0 = chance, 1 = perfect).",
        "Chance F1": "The F1 a model would get on average if its agree/disagree calls were "
        "shuffled within each context (exact, not sampled); it grows with the share of "
        "disagree calls on both sides.",
        "Chance-corrected F1": "(F1 − chance F1) / (1 − chance F1): 0 at chance, 1 perfect; it "
        "equals Cohen's kappa.",
        "Alignment distance": "The mean absolute gap |model − people| between scores, from 0 "
        "(the same answer) to 1 (opposite ends of the scale); lower is better.",
        "Ranking": f"The {nouns} ordered by alignment distance, the largest gap first.",
        "Parse rate": "The share of a model's answers that could be read as a point on the "
        "scale; the rest are missing, with a reason.",
    }


class OverviewSection:
    """Models, contexts, respondents and exclusions, parse rates, and the glossary."""

    id = "overview"
    title = "Overview"
    template = "sections/overview.html.j2"

    def applies(self, data: ReportData) -> bool:
        return True

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        tables = [_sources(data, assets), *_people(data, assets), *_answers(data, assets)]
        return {
            "tables": tables,
            "glossary": glossary(data.instrument),
            "n_models": len(data.models),
            "axes": _axes(data.instrument),
            "n_items": len(data.instrument.items),
            "nouns": tb.item_words(data.instrument),
            "has_people": data.people is not None,
        }


def _axes(instrument: Instrument) -> list[dict[str, Any]]:
    """Each context axis as its plural name and its levels' names, in axis order."""
    return [
        {"name": tb.plural(a.name.lower()), "levels": [lvl.name for lvl in a.levels]}
        for a in instrument.context_axes
    ]


def _sources(data: ReportData, assets: Assets) -> TableAsset:
    return assets.table(
        "sources",
        "Sources",
        "What was read from each source. Contexts are combinations of one level of each context "
        f"axis ({tb.axes_words(data.instrument)}) with at least one "
        "scored answer; shared contexts are those the model has in common with people, the "
        "only ones compared.",
        tb.sources_table(data),
        percent=("parse_rate",),
    )


def _people(data: ReportData, assets: Assets) -> list[TableAsset]:
    tables = []
    if data.people is not None:
        tables.append(
            assets.table(
                "respondents",
                "People per context",
                "Respondents kept, by {} (rows) and {} (columns).".format(
                    *(a.name.lower() for a in data.instrument.context_axes[:2])
                ),
                tb.respondents_table(data.people, data.instrument),
                labels=tb.display_names(data.instrument) | {"total": "Total"},
            )
        )
    tables.append(
        assets.table(
            "exclusions",
            "Exclusions",
            "Rows and answers left out, and why. An answer without a score (such as "
            f"{tb.missing_words(data.instrument)}) is missing, not zero.",
            tb.exclusions_table(data),
            keys=2,
        )
    )
    return tables


def _answers(data: ReportData, assets: Assets) -> list[TableAsset]:
    parsing = tb.parsing_table(data)
    rates = [c for c in parsing.columns if c.startswith("variant_") or c == "all"]
    return [
        assets.table(
            "parsing",
            "Answers scored per prompt variant",
            "The share of each model's answers that were scored, per prompt variant and over "
            "all; 'missing' counts those without a score.",
            parsing,
            percent=rates,
        ),
        assets.table(
            "missing",
            "Missing model answers by reason",
            "Counts of model answers without a score, by the reason the parser gave.",
            tb.missing_table(data),
        ),
    ]
