"""The value–action gap study's released files: stated values (task 1) and the actions.

The study (ValueActionLens, the ValueCompass authors' follow-up) asked models over 12
countries × 11 topics (the bundled ``value_actions`` instrument). Its files name a context
by a ``country`` and a ``topic`` column; each is matched to the instrument's context axis of
that id (or, for an instrument whose axis is ``scenario``, to that axis through its old
spelling), level by id, name or alias, and each value by id, name or alias.

* ``outputs/evaluation/<model>_t1.csv`` (stated values): one row per country × topic ×
  prompt variant, ``response`` a JSON object from each value name to ``"1"`` .. ``"4"``
  (1 strongly agree … 4 strongly disagree: the options of the instrument's first wording's
  scale, the Value Form's ``agreement``). A reply with no readable JSON object is kept, each of
  its items missing (``no_json``), and counted in the import report, never an error.
* ``outputs/data_release/value_action_gap_full_data_generation.csv`` (the actions): one row
  per country × topic × value × polarity (``positive``: the action expresses the value,
  ``negative``: it opposes it).

Rows the instrument cannot place (a country, topic or value it lacks), missing columns and
an incomplete pair are refused with :class:`GapFileError`, naming the file, line and column.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from valuecompass import answers as ans
from valuecompass.answers import Inclination, parse_all
from valuecompass.common import read_rows
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import AXIS_ALIASES, Instrument, UnknownNameError, context_columns

#: The release's polarity of an action → its inclination toward its value.
POLARITIES: dict[str, Inclination] = {"positive": "expresses", "negative": "opposes"}
STATED_COLUMNS = ("response", "prompt_index")
ACTION_COLUMNS = ("value", "polarity")


class GapFileError(ValueCompassError, ValueError):
    """A file of the value–action study's layout that cannot be used as it stands."""


def axis_columns(path: Path, header: list[str], instrument: Instrument) -> dict[str, str]:
    """Context axis id → the file's column for it: the axis id, or the old spelling of it
    (``topic`` for an instrument whose axis is ``scenario``). Missing columns are refused."""
    old = {axis: alias for alias, axis in AXIS_ALIASES.items()}
    out: dict[str, str] = {}
    for axis in context_columns(instrument):
        found = next((c for c in (axis, old.get(axis, axis)) if c in header), None)
        if found is None:
            raise GapFileError(
                f"{path}: no column for the instrument's {axis!r} axis (instrument "
                f"{instrument.id!r}; the file's columns: {', '.join(header)})"
            )
        out[axis] = found
    return out


def require(path: Path, header: list[str], names: tuple[str, ...], what: str) -> None:
    """Refuse a file whose header lacks any of NAMES, saying what the file was taken for."""
    absent = [n for n in names if n not in header]
    if absent:
        raise GapFileError(f"{path}: not {what}; missing column(s): {', '.join(absent)}")


class Places:
    """Matches a file's context and value texts to INSTRUMENT's ids, each text once.

    COLUMNS maps each context axis id to the file's column (:func:`axis_columns`). A text the
    instrument cannot place is refused naming the row's WHERE and the column.
    """

    def __init__(self, instrument: Instrument, columns: dict[str, str]) -> None:
        self.instrument = instrument
        self.columns = columns
        self._known: dict[tuple[str, str], str] = {}

    def context(self, row: dict[str, str], where: str) -> tuple[str, ...]:
        """The row's context as level ids, in axis order."""
        pairs = self.columns.items()
        return tuple(self._id(axis, row[column], where, column) for axis, column in pairs)

    def item(self, row: dict[str, str], where: str) -> str:
        """The row's item id (column ``value``)."""
        return self._id("", row["value"], where, "value")

    def _id(self, axis: str, text: str, where: str, column: str) -> str:
        found = self._known.get((axis, text))
        if found is None:
            try:
                key = text.strip()
                place = self.instrument.level(axis, key) if axis else self.instrument.item(key)
            except UnknownNameError as exc:
                raise GapFileError(
                    f"{where}, column {column!r}: {exc} (instrument {self.instrument.id!r})"
                ) from exc
            found = self._known[(axis, text)] = place.id
        return found


def whole(text: str, where: str, column: str) -> int:
    """TEXT as a whole number; refused naming WHERE and COLUMN."""
    try:
        return int(text.strip())
    except ValueError as exc:
        raise GapFileError(f"{where}, column {column!r}: {text!r} is not a whole number") from exc


# -- task 1: stated values ---------------------------------------------------------------


def read_stated_file(path: Path, instrument: Instrument) -> tuple[pd.DataFrame, ans.ImportReport]:
    """A task-1 file (``<model>_t1.csv``) as the tidy answer table, with its import report.

    Each row's ``prompt_index`` is its variant; a context asked twice in one variant is a
    second sample. Answers are read on the scale of the instrument's first wording (the
    Value Form's ``agreement``: "1" strongly agree … "4" strongly disagree), named in a
    ``scale`` column; labels of the other model scales are read too. Edge cases: a reply with
    no readable JSON object leaves all its items missing (``no_json``) and is counted in the
    report's notes; keys that name no item are counted as unknown keys; an item the reply
    leaves out is missing (``absent``).
    """
    rows = read_rows(path, GapFileError)
    require(path, rows.header, STATED_COLUMNS, "a task-1 file of stated values")
    columns = axis_columns(path, rows.header, instrument)
    scale = instrument.scale_for(instrument.wording_ids[0])
    others = [instrument.scale(s) for s in dict.fromkeys(instrument.roles.wordings.values())]
    others = [s for s in others if s.id != scale.id]
    model = path.name.removesuffix(".csv").removesuffix("_t1")
    report = ans.ImportReport(source=str(path), files=1, rows=len(rows.rows))
    samples: Counter[tuple[object, ...]] = Counter()
    records: list[dict[str, object]] = []
    unreadable = 0
    places = Places(instrument, columns)
    for line, row in rows:
        where = f"{path} line {line}"
        context = places.context(row, where)
        variant = whole(row["prompt_index"], where, "prompt_index")
        sample = samples[(*context, variant)]
        samples[(*context, variant)] += 1
        parsed = parse_all(row["response"], instrument, scale, others)
        report.unknown_keys.update(parsed.unknown_keys)
        unreadable += any(p.missing == ans.Missing.NO_JSON for p in parsed.answers.values())
        where_ctx = dict(zip(columns, context, strict=True))
        for item, answer in parsed.answers.items():
            records.append(
                {"source": model, **where_ctx, "value": item, "variant": variant,
                 "sample": sample, "raw": answer.raw, "code": answer.code or "",
                 "position": answer.position,
                 "missing": answer.missing.value if answer.missing else ""}
            )  # fmt: skip
    table = ans.frame(records, list(columns))
    table["scale"] = scale.id
    report.answers = len(table)
    report.missing.update(m for m in table["missing"] if m)
    if unreadable:
        report.notes.append(
            f"{unreadable} of {len(rows.rows)} replies have no readable JSON object "
            "(their answers are missing: no_json)"
        )
    return table, report


def is_stated_header(header: list[str]) -> bool:
    """Whether a CSV header is meant as a task-1 file's (it has ``response`` or
    ``prompt_index``; reading it then says which of the two it lacks)."""
    return any(c in header for c in STATED_COLUMNS)


# -- the actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    """The release's actions as the instrument places them: per row of the file (0-based, the
    index the task-2 log uses) its context, item and inclination.

    ``table`` has the columns ``row``, ``line``, one per context axis, ``value`` and
    ``inclination``; ``path`` is the file.
    """

    path: Path
    table: pd.DataFrame

    def __len__(self) -> int:
        return len(self.table)

    @property
    def axes(self) -> list[str]:
        """The context axis ids of the table, in axis order."""
        return [c for c in self.table.columns if c not in ("row", "line", "value", "inclination")]

    def places(self) -> list[tuple[str, ...]]:
        """Per row: its context's level ids, its item and its inclination."""
        names = [*self.axes, "value", "inclination"]
        return list(zip(*(self.table[c].astype(str) for c in names), strict=True))


def read_actions_file(path: Path, instrument: Instrument) -> Actions:
    """The actions file, each row placed by INSTRUMENT.

    Edge cases, each refused with file, line and column: a polarity other than ``positive``
    or ``negative`` (an empty one included); a country, topic or value the instrument lacks;
    a pair (context × value) given one inclination twice, or only one of its two.
    """
    rows = read_rows(path, GapFileError)
    require(path, rows.header, ACTION_COLUMNS, "an actions file")
    columns = axis_columns(path, rows.header, instrument)
    records: list[tuple[object, ...]] = []
    seen: dict[tuple[str, ...], dict[str, int]] = {}
    places = Places(instrument, columns)
    for index, (line, row) in enumerate(rows):
        where = f"{path} line {line}"
        context = places.context(row, where)
        item = places.item(row, where)
        inclination = _inclination(row["polarity"], where)
        sides = seen.setdefault((*context, item), {})
        if inclination in sides:
            raise GapFileError(
                f"{where}, column 'polarity': a second {row['polarity'].strip()!r} action for "
                f"{'/'.join(context)}/{item} (the first is on line {sides[inclination]})"
            )
        sides[inclination] = line
        records.append((index, line, *context, item, inclination))
    _check_pairs(path, seen)
    names = ["row", "line", *columns, "value", "inclination"]
    return Actions(path, pd.DataFrame.from_records(records, columns=names))


def _inclination(text: str, where: str) -> Inclination:
    key = text.strip().lower()
    if key not in POLARITIES:
        valid = ", ".join(POLARITIES)
        raise GapFileError(f"{where}, column 'polarity': {text!r} is not one of {valid}")
    return POLARITIES[key]


def _check_pairs(path: Path, seen: dict[tuple[str, ...], dict[str, int]]) -> None:
    """Every pair has both inclinations; the first that lacks one is refused."""
    wanted = set(POLARITIES.values())
    for key, sides in seen.items():
        if set(sides) != wanted:
            lacking = next(p for p, i in POLARITIES.items() if i not in sides)
            line = min(sides.values())
            raise GapFileError(
                f"{path} line {line}, column 'polarity': the pair {'/'.join(key)} has no "
                f"{lacking!r} action (each pair needs one positive and one negative)"
            )
