"""Resolve ``gap``'s two sides: ``--stated`` (ratings) and ``--acted`` (choices).

* Stated: the value–action study's task-1 file (``<model>_t1.csv``), or any source a model's
  side of ``align`` reads (a run store, a tidy answer CSV, a released model folder).
* Acted: the study's task-2 log (``eval_log_*.jsonl``, with its actions file), or a
  ``task2_results_<model>.csv`` file.

A source given to the wrong side is refused with one line saying which side it belongs to.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from valuecompass import answers as ans
from valuecompass.common import header_of
from valuecompass.instrument import Instrument
from valuecompass.sources._gap_choices import (
    Reading,
    is_results_header,
    read_choice_log,
    read_choice_results,
)
from valuecompass.sources._gap_release import (
    GapFileError,
    is_stated_header,
    read_actions_file,
    read_stated_file,
)
from valuecompass.sources._load import Scoring, is_store, load_source
from valuecompass.sources._people import (
    is_choice_csv,
    is_people_store,
    people_choices,
    people_stated,
    read_choice_csv,
)

LOG_SUFFIX = ".jsonl"
AS_ACTED = "give it as --acted"


def load_stated(
    src: str | Path, instrument: Instrument, score: Scoring = "answer"
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Stated values from SRC (a task-1 file, or any model source of ``align``), scored as
    SCORE says (a task-1 file has answers only); or people's ratings, from a survey store
    given without ``#RUN`` (see :func:`is_people_store`)."""
    path = Path(src)
    if is_people_store(src):
        if score == "probs":
            raise GapFileError(f"{src}: people's ratings have no probabilities to score by")
        return people_stated(src, instrument)
    if not is_store(str(src)) and path.is_file():
        if path.suffix.lower() == LOG_SUFFIX:
            raise GapFileError(f"{path}: a task-2 log of choices, not stated values; {AS_ACTED}")
        if path.suffix.lower() == ".csv":
            header = header_of(path, GapFileError)
            if is_results_header(header):
                said = "a task2_results file of choices, not stated values"
                raise GapFileError(f"{path}: {said}; {AS_ACTED}")
            if is_stated_header(header):
                if score == "probs":
                    raise GapFileError(f"{path}: a task-1 file holds answers, no probabilities")
                return read_stated_file(path, instrument)
    table, report = load_source(src, instrument, "llm", score, choices=True)
    if ans.is_choice_table(table):
        raise GapFileError(f"{report.source}: a choice run, not stated values; {AS_ACTED}")
    return table, report


def load_choices(
    src: str | Path,
    instrument: Instrument,
    actions: str | Path | None = None,
    reading: Reading = "action",
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Choices from SRC as the tidy choice table: a model's, or people's (a survey store of a
    choice study given without ``#RUN``, or a tidy choice CSV of ``survey export --choices``).

    A task-2 log needs ACTIONS, the actions file its indices point into. READING says how a
    ``task2_results`` reply is read (see :mod:`valuecompass.sources`). Edge cases: a ratings
    source (a task-1 file, a tidy answer CSV, a store or a folder) is refused, as is a log
    without its actions file.
    """
    text = str(src)
    path = Path(src)
    ratings = (
        f"{src}: holds ratings, not choices; give it as --stated (choices: a choice run "
        "STORE#RUN, a task-2 log with --actions, or a task2_results_<model>.csv)"
    )
    if is_people_store(src):
        return people_choices(src, instrument)
    if is_store(text):
        table, report = load_source(src, instrument, "llm", choices=True)
        if not ans.is_choice_table(table):
            raise GapFileError(ratings.replace(f"{src}:", f"{report.source}: a rating run;", 1))
        return table, report
    if path.is_dir():
        raise GapFileError(ratings)
    if not path.is_file():
        raise GapFileError(f"{path}: no such file")
    if path.suffix.lower() == LOG_SUFFIX:
        if actions is None:
            raise GapFileError(
                f"{path}: a task-2 log names actions by their row in the actions file; "
                "give that file with --actions (value_action_gap_full_data_generation.csv)"
            )
        return read_choice_log(path, read_actions_file(Path(actions), instrument), instrument)
    header = header_of(path, GapFileError) if path.suffix.lower() == ".csv" else []
    if is_results_header(header):
        return read_choice_results(path, instrument, reading)
    if is_choice_csv(header):
        return read_choice_csv(path, instrument)
    if is_stated_header(header) or {"source", "value", "position"} <= set(header):
        raise GapFileError(f"{path}: ratings (stated values), not choices; give it as --stated")
    raise GapFileError(
        f"{path}: not a choice source (a task-2 log eval_log_*.jsonl with --actions, or a "
        "task2_results_<model>.csv)"
    )
