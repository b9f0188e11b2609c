"""Reading the survey back: the tidy answer table, per-cell counts, participants and texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from valuecompass import answers as ans
from valuecompass.answers import Missing
from valuecompass.instrument import Instrument, context_columns
from valuecompass.store._survey_tables import (
    answers,
    context_pairs,
    default_axes,
    participants,
    texts,
)

#: Columns of the participants export, in order (the open answers follow as ``open_<id>``).
PARTICIPANT_COLUMNS = (
    "respondent",
    "prolific_pid",
    "study_id",
    "session_id",
    "scenario",
    "country",
    "age_band",
    "gender",
    "step",
    "created_at",
    "completed_at",
    "form_seconds",
    "attention_failed",
    "straightlined",
    "too_fast",
    "excluded",
    "exclusion",
    "completion_code",
    "seed",
    "item_order",
    "items_per_page",
    "language",
)


def respondent(participant_id: int) -> str:
    """The respondent id a participant has in exports: never the session key."""
    return f"survey-{participant_id}"


def human_answers(
    engine: Engine,
    instrument: Instrument,
    include_excluded: bool = False,
    *,
    axes: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Finished participants' ratings as the tidy answer table (``source="humans"``).

    One row per participant and item, in the instrument's item order; attention checks are
    left out. Positions follow the instrument's people scale; a missing code (the Value
    Form's ``irrelevant``, another scale's ``dk`` or ``na``) has no position and the code's own
    id as its ``missing`` reason. Each row carries the participant's level of
    every context axis, in a column named by the axis id. AXES names the
    (asked, scenario) axes the survey was served with; :func:`default_axes` when omitted.
    Participants who have not finished are never included; those excluded (a failed
    attention check, a country outside the instrument's) only with INCLUDE_EXCLUDED.
    """
    query = (
        select(
            participants.c.id,
            participants.c.country,
            participants.c.scenario,
            participants.c.context,
            answers.c.item,
            answers.c.code,
        )
        .join(answers, answers.c.participant_id == participants.c.id)
        .where(participants.c.step == "done")
    )
    if not include_excluded:
        query = query.where(participants.c.excluded.is_(False))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    order = {v: i for i, v in enumerate(instrument.item_ids)}
    scale = instrument.people_scale
    positions: dict[str, float | None] = dict(zip(scale.codes, scale.positions, strict=True))
    positions.update(dict.fromkeys(scale.missing_codes))
    kept = sorted((r for r in rows if r.item in order), key=lambda r: (r.id, order[r.item]))
    asked, scenario = axes or default_axes(instrument)
    columns = context_columns(instrument)
    levels = [_levels(r, asked, scenario) for r in kept]
    return ans.frame(
        (
            {
                "source": "humans",
                **{axis: lv.get(axis, "") for axis in columns},
                "value": r.item,
                "respondent": respondent(r.id),
                "sample": 0,
                "raw": r.code,
                "code": r.code if r.code in positions else "",
                "position": positions.get(r.code),
                "missing": _missing(r.code, positions),
            }
            for r, lv in zip(kept, levels, strict=True)
        ),
        columns,
    )


def _levels(row: Any, asked: str, scenario: str) -> dict[str, str]:
    """A participant's level of each axis, by axis id: the asked one (``country``), the
    scenario axis (``scenario``) and the further assigned ones (``context``)."""
    found = {asked: row.country or "", scenario: row.scenario or ""}
    found.update(context_pairs(row.context))
    return found


levels_of = _levels


def _missing(code: str, positions: dict[str, float | None]) -> str:
    """An answer's missing reason: a missing code's own id, or none for a scale point."""
    if code not in positions:
        return Missing.UNRECOGNISED.value
    return code if positions[code] is None else ""


@dataclass(frozen=True)
class CellCount:
    """How many participants a full cell (scenario, country and the further assigned axes'
    levels, ``context``) has, by where they are."""

    scenario: str | None
    country: str | None
    in_progress: int
    completed: int
    excluded: int
    turned_away: int
    context: str = ""


def cell_counts(engine: Engine) -> list[CellCount]:
    """Counts per (scenario, country, context); turned-away arrivals have no scenario."""
    columns = (
        participants.c.scenario,
        participants.c.country,
        participants.c.context,
        participants.c.step,
        participants.c.excluded,
    )
    query = select(*columns, func.count()).group_by(*columns)
    cells: dict[tuple[str | None, str | None, str], list[int]] = {}
    with engine.connect() as conn:
        for scenario, country, context, step, excluded, n in conn.execute(query):
            counts = cells.setdefault((scenario, country, context or ""), [0, 0, 0, 0])
            if step == "done":
                counts[1] += n
                counts[2] += n if excluded else 0
            elif step == "full":
                counts[3] += n
            else:
                counts[0] += n
    ordered = sorted(cells.items(), key=lambda i: str(i[0]))
    return [CellCount(s, c, v[0], v[1], v[2], v[3], context=x) for (s, c, x), v in ordered]


def participants_frame(
    engine: Engine, *, spreadsheet_safe: bool = False, axes: Sequence[str] = ()
) -> pd.DataFrame:
    """Every participant with their path, flags and open answers (for the researchers).

    AXES names the survey's axes: the asked one, the scenario axis, then the further assigned
    ones. A column per axis id that is not ``country`` or ``scenario`` follows ``country``
    (none for the Value Form, whose columns are the same as ever).

    Unlike the answer table this holds Prolific ids: it is for approving submissions, not
    for publication. The session key is never included. With SPREADSHEET_SAFE, typed text
    that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) gets a
    leading apostrophe.
    """
    with engine.connect() as conn:
        people = conn.execute(select(participants).order_by(participants.c.id)).all()
        written = conn.execute(select(texts)).all()
    table = pd.DataFrame(
        [{**r._mapping, "respondent": respondent(r.id)} for r in people],
        columns=[*PARTICIPANT_COLUMNS, "id"],
    )
    questions = sorted({t.question for t in written})
    by_person = {(t.participant_id, t.question): t.text for t in written}
    for q in questions:
        table[f"open_{q}"] = [by_person.get((pid, q), "") for pid in table["id"]]
    table = table.drop(columns=["id"])
    _axis_columns(table, people, axes)
    return _defuse(table) if spreadsheet_safe else table


def _axis_columns(table: pd.DataFrame, people: Sequence[Any], axes: Sequence[str]) -> None:
    """Add to TABLE (after ``country``) a column per axis id in AXES it lacks."""
    if len(axes) < 2:
        return
    levels = [_levels(r, axes[0], axes[1]) for r in people]
    at = list(table.columns).index("country") + 1
    for axis in axes:
        if axis not in table.columns:
            table.insert(at, axis, [lv.get(axis, "") for lv in levels])
            at += 1


def open_answers(
    engine: Engine, include_excluded: bool = False, *, spreadsheet_safe: bool = False
) -> pd.DataFrame:
    """Finished participants' open answers, one row each: ``respondent``, ``scenario`` (the
    participant's scenario), ``question`` and ``text``, the columns ``code`` reads.

    Empty answers are left out; so are excluded participants unless INCLUDE_EXCLUDED. With
    SPREADSHEET_SAFE, text a spreadsheet would run as a formula gets a leading apostrophe
    (``code`` takes it off again).
    """
    query = (
        select(participants.c.id, participants.c.scenario, texts.c.question, texts.c.text)
        .join(texts, texts.c.participant_id == participants.c.id)
        .where(participants.c.step == "done", texts.c.text != "")
        .order_by(participants.c.id, texts.c.question)
    )
    if not include_excluded:
        query = query.where(participants.c.excluded.is_(False))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    table = pd.DataFrame(
        [(respondent(r.id), r.scenario, r.question, r.text) for r in rows],
        columns=["respondent", "scenario", "question", "text"],
    )
    return _defuse(table, ["text"]) if spreadsheet_safe else table


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(table: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    typed = [c for c in table.columns if c == "gender" or c.startswith("open_")]
    for column in typed if columns is None else columns:
        table[column] = [
            "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            for v in table[column]
        ]
    return table


@dataclass(frozen=True)
class OpenText:
    respondent: str
    question: str
    text: str


def latest_texts(engine: Engine, limit: int = 20) -> list[OpenText]:
    """The most recent open answers, newest participant first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(texts.c.participant_id, texts.c.question, texts.c.text)
            .order_by(texts.c.participant_id.desc(), texts.c.question)
            .limit(limit)
        ).all()
    return [OpenText(respondent(r.participant_id), r.question, r.text) for r in rows]
