"""Reading the survey back: the tidy answer table, per-cell counts, participants and texts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, func, select

from valuecompass import answers as ans
from valuecompass._grouping import context_columns
from valuecompass.instrument import Instrument
from valuecompass.parsing import Missing
from valuecompass.store._survey_tables import answers, participants, texts

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
    engine: Engine, instrument: Instrument, include_excluded: bool = False
) -> pd.DataFrame:
    """Finished participants' ratings as the tidy answer table (``source="humans"``).

    One row per participant and value, in the instrument's value order; attention checks are
    left out. Positions follow the instrument's human scale (2 → 1, 1 → 2, 0 → 2.5, -1 → 3,
    -2 → 4); "irrelevant" has no position and ``missing="irrelevant"``. Participants who have
    not finished are never included; those excluded (a failed attention check, a country
    outside the instrument's) only with INCLUDE_EXCLUDED.
    """
    query = (
        select(
            participants.c.id,
            participants.c.country,
            participants.c.scenario,
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
    # The store's physical participant columns (country, scenario) hold the levels of the
    # instrument's first and second context axes.
    axes = context_columns(instrument)
    return ans.frame(
        (
            {
                "source": "humans",
                **dict(zip(axes, (r.country, r.scenario), strict=False)),
                "value": r.item,
                "respondent": respondent(r.id),
                "sample": 0,
                "raw": r.code,
                "code": r.code if r.code in positions else "",
                "position": positions.get(r.code),
                "missing": _missing(r.code, positions),
            }
            for r in kept
        ),
        axes,
    )


def _missing(code: str, positions: dict[str, float | None]) -> str:
    if code not in positions:
        return Missing.UNRECOGNISED.value
    return Missing.IRRELEVANT.value if positions[code] is None else ""


@dataclass(frozen=True)
class CellCount:
    """How many participants a (scenario, country) cell has, by where they are."""

    scenario: str | None
    country: str | None
    in_progress: int
    completed: int
    excluded: int
    turned_away: int


def cell_counts(engine: Engine) -> list[CellCount]:
    """Counts per (scenario, country); turned-away arrivals have no scenario."""
    query = select(
        participants.c.scenario,
        participants.c.country,
        participants.c.step,
        participants.c.excluded,
        func.count(),
    ).group_by(
        participants.c.scenario,
        participants.c.country,
        participants.c.step,
        participants.c.excluded,
    )
    cells: dict[tuple[str | None, str | None], list[int]] = {}
    with engine.connect() as conn:
        for scenario, country, step, excluded, n in conn.execute(query):
            counts = cells.setdefault((scenario, country), [0, 0, 0, 0])
            if step == "done":
                counts[1] += n
                counts[2] += n if excluded else 0
            elif step == "full":
                counts[3] += n
            else:
                counts[0] += n
    return [CellCount(s, c, *v) for (s, c), v in sorted(cells.items(), key=lambda i: str(i[0]))]


def participants_frame(engine: Engine, *, spreadsheet_safe: bool = False) -> pd.DataFrame:
    """Every participant with their path, flags and open answers (for the researchers).

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
    return _defuse(table) if spreadsheet_safe else table


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
