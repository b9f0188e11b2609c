"""What each export holds: a model run, a survey's answers, an instrument."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine

from valuecompass.export._folder import Config, Dataset, write_dataset
from valuecompass.instrument import Instrument
from valuecompass.store import runs as run_store
from valuecompass.store import survey as survey_store
from valuecompass.store.runs import RunRecord

#: Study settings never exported: they let someone claim a participant's pay or act as admin.
PRIVATE_SETTINGS = ("completion_code", "admin_token", "instrument_spec")


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def run_dataset(engine: Engine, record: RunRecord) -> Dataset:
    """Run RECORD as a dataset: its answers and its prompts (text, tries, tokens), with the
    instrument and prompt design it stored and its manifest."""
    spec = record.instrument_spec
    inst = Instrument.model_validate(spec) if spec is not None else None
    noun = inst.item_noun if inst is not None else "item"
    choice = record.task == "choice"
    answers = (
        run_store.run_choices(engine, record) if choice else run_store.run_answers(engine, record)
    )
    row = (
        f"one row per choice: the action (expressing or opposing a {noun}) the model chose in "
        "one context, prompt variant and sample, and the place it was shown in"
        if choice
        else f"one row per answer: the model's rating of one {noun} in one context, prompt "
        "variant and sample, its position on the scale, or why it is missing"
    )
    what = (
        f"the instrument {inst.id} ({inst.title}, version {inst.version})"
        if inst is not None
        else f"an instrument of digest {record.instrument}"
    )
    files = {"manifest.json": json.dumps(record.summary(), indent=2, ensure_ascii=False) + "\n"}
    if spec is not None:
        files["instrument.yaml"] = _yaml(spec)
    if record.prompt_design is not None:
        files["design.yaml"] = _yaml(record.prompt_design)
    summary = [
        f"The answers of the ValueCompass run `{record.name}`: the model `{record.model}` "
        f"(`{record.spec}`) asked {what}"
        + (
            f", choosing between the actions of set `{record.action_set}`."
            if choice
            else f" in {record.mode} mode."
        ),
        "",
        "`manifest.json` is the run's manifest (model, parameters, grid, digests, version); "
        "`instrument.yaml` and `design.yaml` are the instrument and prompt design it used, "
        "whole (absent for a run made before the store kept them).",
    ]
    configs = [
        Config("answers", answers, row[0].upper() + row[1:] + "."),
        Config(
            "prompts",
            run_store.run_prompts(engine, record),
            "One row per prompt sent: its context, the item asked (empty when all were), the "
            "model's text, why it failed (empty when it did not), seconds, attempts, and the "
            "tokens in and out as the backend counted them.",
        ),
    ]
    return Dataset("run", record.name, f"ValueCompass run {record.name}", summary, configs, files)


def survey_dataset(
    engine: Engine,
    instrument: Instrument,
    include_excluded: bool = False,
    axes: tuple[str, str] | None = None,
) -> Dataset:
    """The survey in ENGINE as a dataset: finished participants' answers (those excluded too if
    INCLUDE_EXCLUDED), with the instrument and the studies' settings. Participants appear by
    their respondent id only: no Prolific ids, demographics or open answers."""
    answers = survey_store.human_answers(engine, instrument, include_excluded, axes=axes)
    studies = [
        {"study_id": s.study_id, "instrument": s.instrument, "items_per_page": s.items_per_page,
         "settings": {k: v for k, v in s.settings.items() if k not in PRIVATE_SETTINGS}}
        for s in survey_store.stored_studies(engine)
    ]  # fmt: skip
    people = answers["respondent"].nunique() if len(answers) else 0
    summary = [
        f"People's answers from a ValueCompass survey of {instrument.title} (instrument "
        f"{instrument.id}, version {instrument.version}): {people} participants"
        + ("" if include_excluded else ", those excluded by an attention check left out")
        + ".",
        "",
        "Participants appear by their respondent id only: no Prolific ids, demographics or open "
        "answers. `instrument.yaml` is the instrument whole; `studies.json` the settings each "
        "study was served with.",
    ]
    configs = [
        Config(
            "answers",
            answers,
            f"One row per participant and {instrument.item_noun}: their rating, its position "
            "on the scale or why it is missing, and their level of every context axis.",
        )
    ]
    files = {
        "instrument.yaml": _yaml(instrument.to_data()),
        "studies.json": json.dumps(studies, indent=2, ensure_ascii=False) + "\n",
    }
    title = f"ValueCompass survey of {instrument.title}"
    return Dataset("survey", instrument.id, title, summary, configs, files)


def instrument_dataset(instrument: Instrument) -> Dataset:
    """INSTRUMENT as a dataset: its items, scale points and axis levels as tables, and the
    instrument whole."""
    noun = instrument.item_noun
    items = pd.DataFrame(
        [
            {
                "id": item.id,
                "name": item.name,
                "definition": item.definition,
                **{f"group_{g.id}": item.groups.get(g.id, "") for g in instrument.groupings},
                **{f"wording_{k}": v for k, v in sorted(item.wordings.items())},
            }
            for item in instrument.items
        ]
    ).fillna("")
    points = pd.DataFrame(
        [
            {"scale": s.id, "code": p.code, "label": p.label, "position": p.position,
             "neutral": p.neutral, "missing": False}
            for s in instrument.rating_scales
            for p in s.points
        ]
        + [
            {"scale": s.id, "code": m.code, "label": m.label, "position": None,
             "neutral": False, "missing": True}
            for s in instrument.rating_scales
            for m in s.missing
        ],
        columns=["scale", "code", "label", "position", "neutral", "missing"],
    )  # fmt: skip
    points["position"] = points["position"].astype(float)
    levels = pd.DataFrame(
        [
            {"axis": a.id, "role": a.role, "level": level.id, "name": level.name,
             "text": level.text or ""}
            for a in instrument.axes
            for level in a.levels
        ],
        columns=["axis", "role", "level", "name", "text"],
    )  # fmt: skip
    summary = [
        f"The ValueCompass instrument {instrument.id}: {instrument.title} (version "
        f"{instrument.version}, in {instrument.language}), {len(instrument.items)} {noun}s on "
        f"{len(instrument.rating_scales)} rating scale(s) over {len(instrument.axes)} context "
        "axis (axes). `instrument.yaml` is the instrument whole, as ValueCompass reads it.",
    ]
    configs = [
        Config(
            "items",
            items,
            f"One row per {noun}: its id, name, definition, its group in each grouping "
            "(`group_*`) and its wording in each style (`wording_*`).",
        ),
        Config(
            "scale_points",
            points,
            "One row per point of each rating scale (its code, label and position), then each "
            "scale's missing codes (`missing` true, no position).",
        ),
        Config("axis_levels", levels, "One row per level of each context axis."),
    ]
    files = {"instrument.yaml": _yaml(instrument.to_data())}
    title = f"ValueCompass instrument {instrument.id}"
    return Dataset("instrument", instrument.id, title, summary, configs, files)


def export_run(engine: Engine, record: RunRecord, out: Path) -> list[Path]:
    """Write run RECORD as a dataset folder at OUT (see :func:`write_dataset`)."""
    return write_dataset(run_dataset(engine, record), out)


def export_survey(
    engine: Engine,
    instrument: Instrument,
    out: Path,
    include_excluded: bool = False,
    axes: tuple[str, str] | None = None,
) -> list[Path]:
    """Write the survey's answers as a dataset folder at OUT."""
    return write_dataset(survey_dataset(engine, instrument, include_excluded, axes), out)


def export_instrument(instrument: Instrument, out: Path) -> list[Path]:
    """Write INSTRUMENT as a dataset folder at OUT."""
    return write_dataset(instrument_dataset(instrument), out)
