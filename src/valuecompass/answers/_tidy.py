"""A tidy answer CSV from a user (``runs export``, ``survey export``, or made by hand), checked.

A row that would change a result without a word is refused, naming the file, line and column:
a position that is not a number or lies off its scale (the row's ``scale`` column, else the
people scale for ``source`` ``humans``, else the scale of the side the file is given as: the
people scale for ``--humans``, the model scale for ``--llm`` or no side), a country,
scenario or value the instrument does not have, an answer given twice (the same source,
context, language where the file has the instrument's language column, value, respondent or
variant, and sample), a row with both a position and a missing reason, a row whose ``code``
is another point of its scale than its ``position`` (or a missing code beside a position), and
a file with a header and no rows. The report counts as scored exactly the rows that have a
position.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from valuecompass.answers import _table as ans
from valuecompass.answers._scales import HUMANS, Side, model_scale, side_scale
from valuecompass.common import Rows, read_rows
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import (
    AXIS_ALIASES,
    Instrument,
    RatingScale,
    UnknownNameError,
    context_columns,
)

REQUIRED = ("source", "value", "position")  # and one column per context axis
#: The columns that say which answer a row is, with the context axes' columns after ``source``;
#: two rows alike in all of them are one answer twice.
KEY = ("source", "value", "respondent", "variant", "sample")
#: Deprecated: the column a file written before the axes were named has for an axis (``topic``
#: for ``scenario``); read as the axis, with a note; never written.
OLD_COLUMNS = {axis: alias for alias, axis in AXIS_ALIASES.items()}


class AnswerFileError(ValueCompassError, ValueError):
    """A tidy answer file that cannot be used as it stands."""


def read_tidy(
    path: Path, instrument: Instrument, side: Side | None = None
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """The checked answers of the tidy CSV at PATH, and what was read; SIDE, the side the
    file is given as, names the scale of rows that say neither theirs nor ``humans``."""
    rows = read_rows(path, AnswerFileError)
    axes = _axis_columns(rows.header, instrument)
    absent = [c for c in REQUIRED if c not in rows.header]
    absent += [axis for axis, found in axes.items() if found is None]
    if absent:
        raise AnswerFileError(
            f"{path}: not a tidy answer file; missing column(s): {', '.join(absent)}"
        )
    language = _language_column(rows.header, instrument)
    if not rows.rows:
        raise AnswerFileError(f"{path}: no answers: the file has a header and no rows")
    records = _checked(rows, instrument, {a: str(c) for a, c in axes.items()}, language, side)
    table = ans.frame(records, [*context_columns(instrument), *language])
    if "expected" in rows.header:  # a model's option probabilities, from ``runs export``
        expected = pd.Series([r["expected"] for _, r in rows], dtype=object)
        table["expected"] = pd.to_numeric(expected.replace("", np.nan), errors="coerce").to_numpy()
    if "probs" in rows.header:
        table["probs"] = [r["probs"] or None for _, r in rows]
    if "scale" in rows.header:  # the scale each position is on, when the file says
        table["scale"] = [r["scale"].strip() for _, r in rows]
    report = ans.ImportReport(source=str(path), files=1, rows=len(table), answers=len(table))
    old = {a: str(c) for a, c in axes.items() if c != a}
    if old:
        report.notes.append(_old_note(old))
    unscored = table["position"].isna()
    report.missing.update(m or "no_position" for m in table.loc[unscored, "missing"])
    return table, report


def _axis_columns(header: list[str], instrument: Instrument) -> dict[str, str | None]:
    """Context axis id → the file's column for it: the axis id, or (deprecated) the column a
    file written before the axes were named has for it (``topic`` for ``scenario``)."""
    out: dict[str, str | None] = {}
    for axis in instrument.context_axes:
        names = (axis.id, OLD_COLUMNS.get(axis.id, axis.id))
        out[axis.id] = next((n for n in names if n in header), None)
    return out


def _language_column(header: list[str], instrument: Instrument) -> list[str]:
    """``[the language axis id]`` where the file has that column (``runs export`` of a run in
    several languages), else ``[]``: one cell may then hold an answer per language."""
    axis = instrument.language_axis
    return [axis.id] if axis is not None and axis.id in header else []


def _old_note(old: dict[str, str]) -> str:
    said = ", ".join(f"{c!r} as the {a!r} axis" for a, c in old.items())
    return f"deprecated column name(s): read {said}; write the axis id instead"


def _checked(
    rows: Rows,
    instrument: Instrument,
    axes: dict[str, str],
    language: list[str],
    side: Side | None = None,
) -> list[dict[str, object]]:
    """Each row with its ids made canonical and its position read; errors name the line.

    AXES maps each context axis to the file's column; the row keeps it under the axis id.
    LANGUAGE is ``[the language axis's column]`` or ``[]``: part of which answer a row is."""
    seen: dict[tuple[str, ...], int] = {}
    out = []
    scales = {s.id: s for s in instrument.rating_scales}
    keys = (KEY[0], *axes, *language, *KEY[1:])
    every = {**axes, **{lang: lang for lang in language}}
    for line, row in rows:
        record: dict[str, object] = dict(row)
        where = f"{rows.path} line {line}"
        for axis_id, column in every.items():
            find = instrument.axis(axis_id).level
            record.pop(column, None)
            record[axis_id] = _known(find, row[column], where, column)
        record["value"] = _known(instrument.item, row["value"], where, "value")
        scale = _row_scale(row, instrument, scales, where, side)
        position = _position(row["position"], where, scale)
        _consistent(row, position, where, scale)
        record["position"] = position
        record["missing"] = _reason(row, position, scale)
        for column in ("variant", "sample"):
            if column in row:
                text = row[column].strip()
                record[column] = _whole(text, where, column) if text else None
        key = tuple(str(record.get(c, "")).strip() for c in keys)
        if key in seen:
            said = [c for c in (KEY[0], *every.values(), *KEY[1:]) if c in rows.header]
            raise AnswerFileError(
                f"{where}: the same answer as line {seen[key]} (same "
                f"{', '.join(said)}); each answer may appear once"
            )
        seen[key] = line
        out.append(record)
    return out


def _known(find: object, text: str, where: str, column: str) -> str:
    try:
        return str(find(text.strip()).id)  # type: ignore[operator]
    except UnknownNameError as exc:
        raise AnswerFileError(f"{where}, column {column!r}: {exc}") from exc


def _row_scale(
    row: dict[str, str],
    instrument: Instrument,
    scales: dict[str, RatingScale],
    where: str,
    side: Side | None = None,
) -> RatingScale:
    named = row.get("scale", "").strip()
    if not named and row["source"] == HUMANS:
        return instrument.people_scale
    if not named:
        return side_scale(instrument, side) if side is not None else model_scale(instrument)
    if named not in scales:
        raise AnswerFileError(
            f"{where}, column 'scale': unknown scale {named!r}; valid: {', '.join(scales)}"
        )
    return scales[named]


def _position(text: str, where: str, scale: RatingScale) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise AnswerFileError(f"{where}, column 'position': {text!r} is not a number")
    low, high = scale.raw_support[0], scale.raw_support[-1]
    if not low <= value <= high:
        ends = {p: pt.label.lower() for p, pt in zip(scale.positions, scale.points, strict=True)}
        raise AnswerFileError(
            f"{where}, column 'position': {text!r} is off the scale "
            f"({low:g} {ends[low]} .. {high:g} {ends[high]}; scale {scale.id!r})"
        )
    return value


def _consistent(
    row: dict[str, str], position: float | None, where: str, scale: RatingScale
) -> None:
    """A row says one thing: a position or a missing reason, and a code that is its position's
    point (or a missing code, without a position)."""
    missing = row.get("missing", "").strip()
    if position is not None and missing:
        raise AnswerFileError(
            f"{where}, column 'missing': {missing!r} beside position {position:g}; an answer has "
            "a position or a missing reason, not both"
        )
    code = row.get("code", "").strip()
    if not code or position is None:
        return
    points = dict(zip((p.code for p in scale.points), scale.positions, strict=True))
    if code in points and points[code] != position:
        raise AnswerFileError(
            f"{where}, column 'code': {code!r} is position {points[code]:g} of scale "
            f"{scale.id!r}, but column 'position' says {position:g}"
        )
    if code in {m.code for m in scale.missing}:
        raise AnswerFileError(
            f"{where}, column 'code': {code!r} is a missing code of scale {scale.id!r}, but "
            f"column 'position' says {position:g}"
        )


def _reason(row: dict[str, str], position: float | None, scale: RatingScale) -> str:
    """A row's missing reason: a missing code of its scale keeps its own id (``dk``, ``na``),
    also where the file says only ``irrelevant`` or nothing beside the code."""
    missing = row.get("missing", "").strip()
    code = row.get("code", "").strip()
    if position is None and missing in ("", "irrelevant") and code in scale.missing_codes:
        return code
    return missing


def _whole(text: str, where: str, column: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise AnswerFileError(
            f"{where}, column {column!r}: {text!r} is not a whole number"
        ) from exc
