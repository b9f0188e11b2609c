"""One-call entry points: what the CLI runs, for use from Python."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from valuecompass.answers import ImportReport, is_choice_table, on_reference_scale
from valuecompass.instrument import Instrument
from valuecompass.metrics import (
    Alignment,
    Gap,
    GapError,
    GroupDistance,
    TieRule,
    align,
    choice_answers,
    gap,
    with_model_scales,
)
from valuecompass.sources import (
    Exclusions,
    Reading,
    Scoring,
    Side,
    apply_exclusions,
    choose_instrument,
    is_people_store,
    load_choices,
    load_source,
    load_stated,
    people_choices,
    read_exclusions,
)


@dataclass(frozen=True)
class AlignResult:
    """An :class:`Alignment` with the import reports of both sides, and their answer tables
    (what :mod:`valuecompass.stats` resamples)."""

    alignment: Alignment
    humans: ImportReport
    llm: ImportReport
    human_answers: pd.DataFrame | None = None
    model_answers: pd.DataFrame | None = None
    centred: bool = False  # person-centred scores (see valuecompass.stats.centre_answers)


def align_sources(
    humans: str | Path,
    llm: str | Path,
    instrument: Instrument | None = None,
    score: Scoring = "answer",
    exclude: str | Path | Exclusions | None = None,
    group_distance: GroupDistance = "cells",
    centre: bool = False,
    ties: TieRule = "disagree",
) -> AlignResult:
    """Read both sources and align them; ``score="probs"`` scores the model by its option
    probabilities (see :func:`valuecompass.sources.load_source`); ``centre=True`` aligns
    person-centred scores, the model centred over the values the people rated (see
    :func:`valuecompass.stats.centre_answers`), and adds each F1's chance level and the
    chance-corrected F1 to the tables (:attr:`valuecompass.metrics.Alignment.chance`).

    EXCLUDE (an exclusion CSV, see :mod:`valuecompass.sources`) leaves its respondents out
    of the people's answers; GROUP_DISTANCE says how grouped distances are taken
    (``cells``: Eq. 2, the default; ``means``: the authors' notebook); TIES how a cell mean
    exactly on the threshold is labelled (``disagree``: the paper's, the default; ``agree``;
    ``split``: half each; see :data:`valuecompass.metrics.TieRule`).

    >>> result = align_sources("shared/datasets/valuecompass-2025",
    ...                        "shared/datasets/valuecompass-2025/llm_outputs/gpt-4o-mini")
    >>> result.alignment.by("country")  # doctest: +SKIP

    INSTRUMENT, when given, must be comparable with the instruments the sources' stores kept;
    with none, the run's (or the survey's) own is read (see
    :func:`valuecompass.sources.choose_instrument`), else the Value Form.
    """
    form = choose_instrument(instrument, [(llm, "llm"), (humans, "humans")])
    h, h_report = load_source(humans, form, "humans", choices=True)
    if exclude is not None:
        h = exclude_people(h, h_report, exclude, form)
    m, m_report = load_source(llm, form, "llm", score, choices=True)
    if is_choice_table(m) and not is_choice_table(h) and is_people_store(humans):
        h, h_report = people_choices(humans, form)  # a choice study's people, as choices
        if exclude is not None:
            h = exclude_people(h, h_report, exclude, form)
    if is_choice_table(h) != is_choice_table(m):
        said = "choices" if is_choice_table(m) else "ratings"
        raise GapError(
            f"{m_report.source} holds {said} and {h_report.source} does not: align sets "
            "ratings against ratings and choices against choices (stated against acted: "
            "valuecompass gap)"
        )
    if is_choice_table(m):  # actions set against actions: each choice at a scale's end
        h, m = choice_answers(h, form), choice_answers(m, form, by_probs=score == "probs")
    if centre:
        from valuecompass.stats import centre_answers

        h, m = centre_answers(h, form), centre_answers(m, form, over=h)  # the same values
    return AlignResult(
        alignment=align(h, m, form, group_distance, ties, chance=centre),
        humans=h_report,
        llm=m_report,
        human_answers=on_reference_scale(h, form, "humans"),
        model_answers=on_reference_scale(m, form, "llm"),
        centred=centre,
    )


def exclude_people(
    people: pd.DataFrame,
    report: ImportReport,
    exclude: str | Path | Exclusions,
    instrument: Instrument,
) -> pd.DataFrame:
    """PEOPLE without the respondents EXCLUDE names; REPORT notes how many were left out."""
    exclusions = (
        exclude if isinstance(exclude, Exclusions) else read_exclusions(exclude, instrument)
    )
    kept = apply_exclusions(people, exclusions)
    report.excluded = len(exclusions.entries)
    report.exclusions = exclusions.path
    return kept


#: The instrument ``gap`` reads with when none is given: the value–action study's grid.
GAP_INSTRUMENT = "value_actions"


@dataclass(frozen=True)
class GapResult:
    """A :class:`~valuecompass.metrics.Gap` with both sides' import reports and tables."""

    gap: Gap
    stated: ImportReport
    acted: ImportReport
    stated_answers: pd.DataFrame
    choices: pd.DataFrame
    by_probs: bool = False  # choices placed by their probabilities (``score="probs"``)

    def as_alignment(self) -> AlignResult:
        """The gap as an :class:`AlignResult` (stated as people, acted as the model), with
        answer tables on the reference scales, for the bootstrap of ``--ci``."""
        inst = self.gap.instrument
        stated = with_model_scales(self.stated_answers, inst)
        acted = choice_answers(self.choices, inst, self.by_probs)
        return AlignResult(
            alignment=self.gap.alignment,
            humans=self.stated,
            llm=self.acted,
            human_answers=on_reference_scale(stated, inst, "humans"),
            model_answers=on_reference_scale(acted, inst, "llm"),
        )


def gap_instrument(given: Instrument | None, stated: str | Path, acted: str | Path) -> Instrument:
    """The instrument ``gap`` reads with: GIVEN (checked against what the sources' stores
    kept), else the one a choice or rating run kept, else the study's grid
    (:data:`GAP_INSTRUMENT`)."""
    sides: list[tuple[str | Path, Side]] = [
        (src, "humans" if is_people_store(src) else "llm") for src in (acted, stated)
    ]
    return choose_instrument(given, sides, fallback=GAP_INSTRUMENT)


def gap_sources(
    stated: str | Path,
    acted: str | Path,
    instrument: Instrument | None = None,
    actions: str | Path | None = None,
    reading: Reading = "action",
    score: Scoring = "answer",
) -> GapResult:
    """Read stated values and choices (a model's or people's) and take the gap between them.

    STATED is a ratings source (the value–action study's task-1 file, any model source of
    :func:`align_sources`, or a survey store: people's ratings); ACTED a choice source (a
    choice study's survey store or its ``survey export --choices`` CSV: people's choices; a
    choice run; the study's task-2 log, which needs its ACTIONS file; or a
    ``task2_results_<model>.csv``, its replies read as READING says).
    ``score="probs"`` scores both sides by the backend's option probabilities: the ratings as
    ``align`` does, each choice by the probability of the opposing action.
    INSTRUMENT defaults to the one a run kept, else the study's grid (``value_actions``).

    >>> R = "shared/datasets/value-action-gap-2025/"
    >>> result = gap_sources(  # doctest: +SKIP
    ...     R + "outputs/evaluation/gpt-4o-mini_t1.csv",
    ...     R + "src/outputs/task2_results_gpt_4o_mini.csv")
    >>> result.gap.by("topic")  # doctest: +SKIP
    """
    form = gap_instrument(instrument, stated, acted)
    answers, stated_report = load_stated(stated, form, score)
    choices, acted_report = load_choices(acted, form, actions, reading)
    probs = score == "probs"
    found = gap(answers, choices, form, probs)
    return GapResult(found, stated_report, acted_report, answers, choices, probs)
