"""The value–action gap study's released choices (task 2) as the tidy choice table.

* ``outputs/evaluation/eval_log_*.jsonl``: one JSON line per action shown, ``index`` its row
  in the actions file (0-based), ``model_choice`` true for the action chosen, ``prompt_index``
  the variant. The two actions of a pair become one choice. The released run showed the
  opposing (``negative``) action as Option 1 in every prompt, so the place of the chosen
  action is known: option 1 when it opposes, 2 when it expresses.
* ``src/outputs/task2_results_<model>.csv``: one row per pair asked in 8 variants,
  ``option1`` and ``option2`` the two actions in order 0 (option 1 opposing, option 2
  expressing, as the release sorted them), ``evaluation_K`` variant K's reply. Variants 2, 3,
  6 and 7 showed the two options reversed.

Replies are read in one of two ways (:data:`READINGS`): ``action`` (the default) reads the
reply's ``action`` field (``Option 2``, ``2``); ``authors`` reads the whole reply text the way
the authors' notebook evidently did (the first of ``Option 1``, ``Option 2``, then a quoted
bare ``'1'`` or ``'2'``, found anywhere in it, an explanation included), which reproduces
their published variant agreement (see :func:`valuecompass.metrics.variant_agreement`).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from valuecompass import answers as ans
from valuecompass.answers import Inclination, Missing
from valuecompass.common import read_rows, read_text
from valuecompass.instrument import Instrument
from valuecompass.sources._gap_release import (
    Actions,
    GapFileError,
    Places,
    axis_columns,
    require,
)

Reading = Literal["action", "authors"]
READINGS: tuple[Reading, ...] = ("action", "authors")
#: The released full run's Option 1 (the first action shown): always the opposing one.
LOG_FIRST: Inclination = "opposes"
LOG_KEYS = ("index", "model_choice", "prompt_index")
RESULTS_COLUMNS = ("value", "option1", "option2")
#: The variants of ``task2_results_*.csv`` that showed option 2 of order 0 first.
REVERSED = frozenset({2, 3, 6, 7})
#: Order 0's option 1 and option 2: the release sorted each pair by polarity, negative first.
ORDER0: tuple[Inclination, Inclination] = ("opposes", "expresses")
_EVALUATION = re.compile(r"evaluation_(\d+)")
_AUTHORS = (("Option 1", 1), ("Option 2", 2), ("'1'", 1), ("'2'", 2))


def _other(inclination: Inclination) -> Inclination:
    return "expresses" if inclination == "opposes" else "opposes"


# -- the task-2 log ---------------------------------------------------------------------------


def read_choice_log(
    path: Path, actions: Actions, instrument: Instrument
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """The task-2 log at PATH, with ACTIONS (its actions file), as the tidy choice table.

    A pair's choice is the action its lines mark ``model_choice: true``. Edge cases: none
    marked is missing (``absent``), both marked is missing (``ambiguous``); a pair asked again
    in the same variant (an index's second line) is a second sample. Refused with file, line
    and key: a line that is not a JSON object, a missing key, an ``index`` that is not a row of
    the actions file, a ``model_choice`` that is not true or false.
    """
    groups: dict[tuple[Any, ...], list[tuple[int, str, bool]]] = defaultdict(list)
    seen: Counter[tuple[int, int]] = Counter()
    source = path.stem
    lines = _log_lines(path)
    places = actions.places()
    for line, record in lines:
        index, chosen, variant = _log_entry(path, line, record, len(places))
        source = str(record.get("model") or source)
        sample = seen[(index, variant)]
        seen[(index, variant)] += 1
        *pair, inclination = places[index]
        groups[(*pair, variant, sample)].append((index, inclination, chosen))
    axes = actions.axes
    rows = [_log_choice(source, axes, key, entries) for key, entries in groups.items()]
    table = ans.choice_frame(rows, axes)
    report = ans.ImportReport(source=str(path), files=1, rows=len(lines), answers=len(table))
    report.missing.update(m for m in table["missing"] if m)
    report.notes.append(f"actions from {actions.path}; option 1 was the opposing action")
    return table, report


def _log_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for number, text in enumerate(read_text(path, GapFileError).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GapFileError(f"{path} line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise GapFileError(f"{path} line {number}: not a JSON object")
        out.append((number, record))
    return out


def _log_entry(
    path: Path, line: int, record: dict[str, Any], n_actions: int
) -> tuple[int, bool, int]:
    where = f"{path} line {line}"
    absent = [k for k in LOG_KEYS if k not in record]
    if absent:
        raise GapFileError(f"{where}: missing key(s) {', '.join(absent)}")
    index = _integer(record["index"], where, "index")
    if not 0 <= index < n_actions:
        raise GapFileError(
            f"{where}, key 'index': {record['index']!r} is out of range; the actions file "
            f"has {n_actions} rows (0 .. {n_actions - 1})"
        )
    chosen = record["model_choice"]
    if not isinstance(chosen, bool):
        raise GapFileError(f"{where}, key 'model_choice': {chosen!r} is not true or false")
    return index, chosen, _integer(record["prompt_index"], where, "prompt_index")


def _integer(value: object, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GapFileError(f"{where}, key {key!r}: {value!r} is not a whole number")
    try:
        return int(value)
    except ValueError as exc:
        raise GapFileError(f"{where}, key {key!r}: {value!r} is not a whole number") from exc


def _log_choice(
    source: str, axes: list[str], key: tuple[Any, ...], entries: list[tuple[int, str, bool]]
) -> dict[str, object]:
    *context, value, variant, sample = key
    chosen = [inclination for _, inclination, picked in entries if picked]
    raw = " ".join(f"{index}:{'true' if picked else 'false'}" for index, _, picked in entries)
    row: dict[str, object] = {
        "source": source, **dict(zip(axes, context, strict=True)), "value": value,
        "variant": variant, "sample": sample, "raw": raw,
    }  # fmt: skip
    if len(chosen) == 1:
        row["inclination"] = chosen[0]
        row["option"] = 1 if chosen[0] == LOG_FIRST else 2
    else:
        row["missing"] = Missing.ABSENT.value if not chosen else Missing.AMBIGUOUS.value
    return row


# -- task2_results_<model>.csv -----------------------------------------------------------


def read_choice_results(
    path: Path, instrument: Instrument, reading: Reading = "action"
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """A ``task2_results_<model>.csv`` file as the tidy choice table: one choice per row and
    variant (``evaluation_K``), its inclination from the option its reply names, read as
    READING says (:data:`READINGS`), and the place that option was shown in.

    Edge cases: a reply that names neither option, or both, is missing (``unrecognised``,
    ``ambiguous``; an empty one ``empty``); it never raises. Refused with file, line and
    column: missing columns, a country, topic or value the instrument lacks.
    """
    if reading not in READINGS:
        raise GapFileError(f"unknown reading {reading!r}; choose one of {', '.join(READINGS)}")
    rows = read_rows(path, GapFileError)
    require(path, rows.header, RESULTS_COLUMNS, "a task2_results file of choices")
    variants = _variant_columns(path, rows.header)
    columns = axis_columns(path, rows.header, instrument)
    source = path.stem.removeprefix("task2_results_")
    records = []
    places = Places(instrument, columns)
    for line, row in rows:
        where = f"{path} line {line}"
        context = dict(zip(columns, places.context(row, where), strict=True))
        item = places.item(row, where)
        for variant, column in variants.items():
            base = {"source": source, **context, "value": item, "variant": variant}
            records.append({**base, **_result_choice(row[column], variant, reading)})
    table = ans.choice_frame(records, list(columns))
    report = ans.ImportReport(source=str(path), files=1, rows=len(rows.rows), answers=len(table))
    report.missing.update(m for m in table["missing"] if m)
    if reading == "authors":
        report.notes.append("replies read the authors' way (option names anywhere in the text)")
    return table, report


def _variant_columns(path: Path, header: list[str]) -> dict[int, str]:
    found = {int(m.group(1)): c for c in header if (m := _EVALUATION.fullmatch(c))}
    if not found:
        raise GapFileError(f"{path}: not a task2_results file; no evaluation_0 .. columns")
    return dict(sorted(found.items()))


def _result_choice(text: str, variant: int, reading: Reading) -> dict[str, object]:
    shown, missing = _authors_option(text) if reading == "authors" else ans.parse_choice(text)
    if shown is None:
        return {"raw": text, "missing": missing}
    order0 = 3 - shown if variant in REVERSED else shown
    return {"raw": text, "option": shown, "inclination": ORDER0[order0 - 1]}


def _authors_option(text: str) -> tuple[int | None, str]:
    """The option the authors' notebook read in a reply: the first of "Option 1",
    "Option 2", "'1'", "'2'" found anywhere in the text."""
    for token, option in _AUTHORS:
        if token in text:
            return option, ""
    return None, (Missing.EMPTY if not text.strip() else Missing.UNRECOGNISED).value


def is_results_header(header: list[str]) -> bool:
    """Whether a CSV header is meant as a ``task2_results`` file's (it has ``option1`` or
    ``option2``; reading it then says what else it lacks)."""
    return bool({"option1", "option2"} & set(header))
