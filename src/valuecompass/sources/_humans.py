"""People's answers from files: the paper's released CSVs and survey-platform exports alike.

A file holds one scenario; each row is a participant with a country of residence and one
column per value. The country (``location``) is the level of the instrument's first context
axis and the file's scenario that of its second (the Value Form's ``country`` and
``scenario``). Bad input (a missing column, an unknown value name, a rating off the scale)
raises :class:`HumanDataError` naming the file, row and column.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from valuecompass import answers as ans
from valuecompass.answers import Missing, Parsed, parse_option
from valuecompass.common import read_frame
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, UnknownNameError, context_columns

#: Columns that are not values.
META_COLUMNS = ("PID", "location", "age", "gender")
REQUIRED = ("PID", "location")


class HumanDataError(ValueCompassError, ValueError):
    """A human response file that cannot be read as it stands."""


def topic_from_filename(path: Path, instrument: Instrument) -> str:
    """Scenario id from a file name like ``human_S1_Collaborative_Writing.csv``."""
    stem = re.sub(r"^human_", "", path.stem, flags=re.IGNORECASE)
    candidates = [re.sub(r"^S\d+_", "", stem), stem, *stem.split("_")]
    for candidate in candidates:
        try:
            return instrument.level("scenario", candidate).id
        except UnknownNameError:
            continue
    names = ", ".join(s.name for s in instrument.axis("scenario").levels)
    raise HumanDataError(f"{path}: cannot tell the scenario from the file name (known: {names})")


def read_human_csv(
    path: Path, instrument: Instrument, topic: str | None = None
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Read one scenario's participants into the tidy answer table."""
    topic = topic or topic_from_filename(path, instrument)
    df = _read(path)
    value_cols = _value_columns(path, df, instrument)
    report = ans.ImportReport(source=str(path), files=1, rows=len(df))
    rows = []
    for i, record in enumerate(df.to_dict("records")):
        line = i + 2  # the header is line 1
        try:
            country = instrument.level("country", record["location"]).id
        except UnknownNameError:
            report.skipped[f"country {record['location']!r}"] += 1
            continue
        pid = str(record["PID"]).strip()
        if not pid:
            raise HumanDataError(f"{path} line {line}: column PID is empty")
        report.respondents += 1
        for column, value_id in value_cols.items():
            rows.append(
                _answer(
                    path, line, column, record[column], pid, (country, topic), value_id, instrument
                )
            )
    table = ans.frame(rows, context_columns(instrument))
    report.answers = len(table)
    report.missing.update(m for m in table["missing"] if m)
    return table, report


def _read(path: Path) -> pd.DataFrame:
    df = read_frame(path, HumanDataError)
    absent = [c for c in REQUIRED if c not in df.columns]
    if absent:
        raise HumanDataError(f"{path}: missing column(s) {', '.join(absent)}")
    if df.empty:
        raise HumanDataError(f"{path}: no participant rows under the header")
    return df


def _value_columns(path: Path, df: pd.DataFrame, instrument: Instrument) -> dict[str, str]:
    mapping: dict[str, str] = {}
    unknown = []
    for column in df.columns:
        if column in META_COLUMNS:
            continue
        try:
            mapping[column] = instrument.item(column).id
        except UnknownNameError:
            unknown.append(column)
    if unknown:
        raise HumanDataError(f"{path}: unknown value column(s): {', '.join(map(repr, unknown))}")
    if not mapping:
        raise HumanDataError(f"{path}: no value columns (expected columns named after values)")
    return mapping


def _answer(
    path: Path,
    line: int,
    column: str,
    raw: str,
    pid: str,
    context: tuple[str, str],
    value_id: str,
    instrument: Instrument,
) -> dict[str, object]:
    scale = instrument.people_scale
    parsed = parse_option(raw, scale)
    if parsed.missing not in (None, Missing.EMPTY, Missing.IRRELEVANT):
        valid = ", ".join([*scale.codes, *scale.missing_codes])
        raise HumanDataError(
            f"{path} line {line}, column {column!r}: rating {raw!r} is not on the scale ({valid})"
        )
    return {
        "source": "humans",
        **dict(zip(context_columns(instrument), context, strict=True)),
        "value": value_id,
        "respondent": pid,
        "raw": raw,
        "code": parsed.code or "",
        "position": parsed.position,
        "missing": _reason(parsed, scale.missing_codes),
    }


def _reason(parsed: Parsed, codes: list[str]) -> str:
    """PARSED's missing reason: the missing code's own id where it is one of CODES."""
    if parsed.missing == Missing.IRRELEVANT and parsed.code in codes:
        return str(parsed.code)
    return parsed.missing.value if parsed.missing else ""


def read_human_folder(
    folder: Path, instrument: Instrument
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Every ``*.csv`` in a folder, one scenario per file."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise HumanDataError(f"{folder}: no CSV files of human responses")
    tables, total = [], ans.ImportReport(source=str(folder))
    for f in files:
        table, report = read_human_csv(f, instrument)
        tables.append(table)
        total.files += 1
        total.rows += report.rows
        total.respondents += report.respondents
        total.answers += report.answers
        total.missing.update(report.missing)
        total.skipped.update(report.skipped)
    return pd.concat(tables, ignore_index=True), total
