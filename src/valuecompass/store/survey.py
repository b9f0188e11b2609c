"""The survey in the store: participants, their answers page by page, quota slots.

Every page a participant submits is written in one transaction, and a page sent twice (a reload,
a retry after a lost connection) overwrites its own answers instead of adding rows: answers are
keyed by ``(participant, item)``. Quotas are race-free on SQLite and PostgreSQL alike because a
place in a cell is a row with a unique ``(scenario, country, slot)`` key, slot numbers running
from 0 to the quota: two arrivals that race for the last place cannot both insert it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, case, func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from valuecompass.store._survey_choices import (
    SHOWN_FIRST,
    ChoiceCount,
    Dealt,
    choice_counts,
    choices_of,
    deal_choices,
    has_choices,
    has_people,
    human_choices,
    save_choices,
    slot_of,
    withdraw_choices,
)
from valuecompass.store._survey_quota import AddressFull, Holds, assign
from valuecompass.store._survey_read import (
    cell_counts,
    human_answers,
    latest_texts,
    open_answers,
    participants_frame,
    respondent,
)
from valuecompass.store._survey_reviews import (
    REVIEW_COLUMNS,
    Assigned,
    Deal,
    deal_reviews,
    dealt_reviews,
    review_counts,
    reviews_of,
    save_reviews,
    survey_reviews,
)
from valuecompass.store._survey_study import (
    IN_PROGRESS,
    InProgress,
    Study,
    admin_session_valid,
    end_admin_session,
    in_progress,
    record_study,
    start_admin_session,
    stored_studies,
    stored_study,
)
from valuecompass.store._survey_tables import (
    answers,
    aware,
    choices,
    context_key,
    context_pairs,
    default_axes,
    now,
    participants,
    secrets_table,
    survey_axes,
    texts,
)

__all__ = [
    "REVIEW_COLUMNS",
    "SHOWN_FIRST",
    "AddressFull",
    "Assigned",
    "ChoiceCount",
    "Deal",
    "Dealt",
    "InProgress",
    "Participant",
    "QualityFlags",
    "Study",
    "admin_session_valid",
    "answers_of",
    "cell_counts",
    "choice_counts",
    "choices_of",
    "complete",
    "context_key",
    "context_pairs",
    "create_participant",
    "deal_choices",
    "deal_reviews",
    "dealt_in_progress",
    "dealt_reviews",
    "default_axes",
    "end_admin_session",
    "find_participant",
    "has_choices",
    "has_people",
    "human_answers",
    "human_choices",
    "in_progress",
    "latest_texts",
    "now",
    "open_answers",
    "participants",
    "participants_frame",
    "prolific_taken",
    "record_study",
    "review_counts",
    "reviews_of",
    "save_choices",
    "save_demographics",
    "save_page",
    "save_reviews",
    "secret",
    "set_step",
    "slot_of",
    "start_admin_session",
    "stored_studies",
    "stored_study",
    "survey_axes",
    "survey_reviews",
    "withdraw_choices",
]


@dataclass(frozen=True)
class Participant:
    """What a request needs to know about the participant it serves."""

    id: int
    key: str
    prolific_pid: str | None
    study_id: str
    session_id: str | None
    link_scenario: str | None
    scenario: str | None
    country: str | None
    step: str
    form_page: int
    item_order: tuple[str, ...]
    items_per_page: int | None
    form_started_at: datetime | None
    form_finished_at: datetime | None
    completion_code: str | None
    language: str | None = None
    context: str = ""

    @property
    def respondent(self) -> str:
        return respondent(self.id)

    @property
    def form_seconds(self) -> float | None:
        """Seconds from the form's first page to its last save, once both happened."""
        if self.form_started_at is None or self.form_finished_at is None:
            return None
        return (self.form_finished_at - self.form_started_at).total_seconds()


@dataclass(frozen=True)
class QualityFlags:
    """The checks on a finished form, computed by the app from the stored answers."""

    form_seconds: float | None
    attention_failed: int
    straightlined: bool
    too_fast: bool
    exclusion: tuple[str, ...]


_FIELDS = [participants.c[name] for name in Participant.__dataclass_fields__]
_FIND = select(*_FIELDS).where(participants.c.key == bindparam("b_key"))


def _participant(row: Any) -> Participant:
    data = dict(row._mapping)
    data["item_order"] = tuple(data["item_order"].split())
    for stamp in ("form_started_at", "form_finished_at"):
        data[stamp] = aware(data[stamp])
    return Participant(**data)


def dealt_in_progress(engine: Engine, study_id: str) -> list[tuple[Participant, str]]:
    """(participant, item) for every pair of actions dealt to STUDY_ID's participants part-way
    through, in participant and dealt order."""
    query = (
        select(*_FIELDS, choices.c.item)
        .join(choices, choices.c.participant_id == participants.c.id)
        .where(participants.c.study_id == study_id, participants.c.step.in_(IN_PROGRESS))
        .order_by(participants.c.id, choices.c.seq)
    )
    with engine.connect() as conn:
        if not inspect(conn).has_table(choices.name):  # a store older than schema 13
            return []
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        data = {name: row._mapping[name] for name in Participant.__dataclass_fields__}
        data["item_order"] = tuple(data["item_order"].split())
        for stamp in ("form_started_at", "form_finished_at"):
            data[stamp] = aware(data[stamp])
        found.append((Participant(**data), str(row.item)))
    return found


def secret(engine: Engine, name: str, make: str) -> str:
    """The stored secret NAME; MAKE is stored first if there is none (the first caller wins)."""
    query = select(secrets_table.c.value).where(secrets_table.c.name == name)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return str(found)
    try:
        with engine.begin() as conn:
            conn.execute(secrets_table.insert().values(name=name, value=make))
    except IntegrityError:
        pass
    with engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


def create_participant(
    engine: Engine,
    *,
    key: str,
    prolific_pid: str | None,
    study_id: str,
    session_id: str | None,
    link_scenario: str | None,
    seed: int,
    item_order: Sequence[str],
    items_per_page: int | None = None,
    language: str | None = None,
) -> Participant | None:
    """Record a consenting participant; ``None`` if the Prolific id already took part in
    STUDY_ID. ITEMS_PER_PAGE stays theirs whatever the server's setting later; LANGUAGE is the
    language they take the survey in (their answers are codes, the same in every language)."""
    row = {
        "key": key,
        "prolific_pid": prolific_pid,
        "study_id": study_id,
        "session_id": session_id,
        "link_scenario": link_scenario,
        "step": "demographics",
        "form_page": 0,
        "seed": seed,
        "item_order": " ".join(item_order),
        "items_per_page": items_per_page,
        "language": language,
        "created_at": now(),
        "excluded": False,
    }
    try:
        with engine.begin() as conn:
            conn.execute(participants.insert().values(**row))
    except IntegrityError:
        return None
    return find_participant(engine, key)


def find_participant(engine: Engine, key: str) -> Participant | None:
    """The participant whose session key is KEY."""
    with engine.connect() as conn:
        row = conn.execute(_FIND, {"b_key": key}).first()
    return _participant(row) if row else None


def prolific_taken(engine: Engine, prolific_pid: str, study_id: str) -> bool:
    """Whether this Prolific participant already started this study (ids compared in any
    case: a store may hold ids a server took before it wrote them in lower case)."""
    pid = func.lower(participants.c.prolific_pid)
    with engine.connect() as conn:
        found = conn.execute(
            select(participants.c.id).where(
                pid == prolific_pid.lower(), participants.c.study_id == study_id
            )
        ).first()
    return found is not None


def save_demographics(
    engine: Engine,
    participant: Participant,
    *,
    country: str,
    age_band: str,
    gender: str | None,
    candidates: Sequence[str] | Sequence[tuple[str, str]],
    quota: int,
    hold_seconds: float,
    first_hold_seconds: float | None = None,
    idle_seconds: float | None = None,
    address: str | None = None,
    per_address: int | None = None,
) -> str | None:
    """Store the answers and assign a (scenario, context) cell with room; return its scenario,
    ``None`` when every cell is full. CANDIDATES are (scenario, context) pairs, or bare
    scenarios (context ``''``, the Value Form).

    The cell is the candidate whose full cell (with the country) has the fewest live places
    taken, ties broken at random per participant. A place is live while its holder has finished
    or is within HOLD_SECONDS of being assigned (FIRST_HOLD_SECONDS until they have saved a
    Value Form page, and within IDLE_SECONDS of their last saved page after); an older
    unfinished place may be taken over. ADDRESS (a keyed hash of where the participant came
    from) may hold at most PER_ADDRESS live places of a cell: :class:`AddressFull` past that,
    the participant left at demographics to come back later.
    """
    with engine.begin() as conn:
        conn.execute(
            update(participants)
            .where(participants.c.id == participant.id)
            .values(country=country, age_band=age_band, gender=gender)
        )
    first = hold_seconds if first_hold_seconds is None else first_hold_seconds
    holds = Holds(hold_seconds, first, idle_seconds, per_address)
    cells = [(c, "") if isinstance(c, str) else c for c in candidates]
    cell = assign(engine, participant.id, country, cells, quota, holds, address)
    step = "vignette" if cell is not None else "full"
    set_step(engine, participant.id, step, from_steps=("demographics", "full"))
    return None if cell is None else cell[0]


def set_step(
    engine: Engine,
    participant_id: int,
    step: str,
    *,
    from_steps: Iterable[str] | None = None,
    **stamps: datetime,
) -> None:
    """Move the participant to STEP (only from one of FROM_STEPS, when given)."""
    query = update(participants).where(participants.c.id == participant_id)
    if from_steps is not None:
        query = query.where(participants.c.step.in_(list(from_steps)))
    with engine.begin() as conn:
        conn.execute(query.values(step=step, **stamps))


_UPSERT = (
    "INSERT INTO survey_answers (participant_id, item, code, page) {rows} "
    "ON CONFLICT (participant_id, item) DO UPDATE SET code = excluded.code, page = excluded.page"
)
#: PostgreSQL: the page's items and codes as two arrays, so the statement has four parameters
#: whatever the page's length, and the driver parses it once (it re-parses any statement with
#: more than 50 parameters on every execution).
_UPSERT_PG = _UPSERT.format(
    rows="SELECT %s, item, code, %s FROM unnest(%s::varchar[], %s::varchar[]) AS t(item, code)"
)
#: Rows per statement on SQLite: one statement per page in practice, far below its limit of
#: 32766 parameters.
_CHUNK = 500


def _save_guard(last: bool, next_step: str = "open") -> Update:
    """The participant's row, updated only if they may save page ``b_page`` now: they are on
    the form (or past it, at the choices or the open questions) and have saved the page before
    it. The last page moves a participant on the form on to NEXT_STEP."""
    values: dict[str, Any] = {
        "form_page": case(
            (participants.c.form_page < bindparam("b_page"), bindparam("b_page")),
            else_=participants.c.form_page,
        ),
        "active_at": bindparam("b_active"),
    }
    if last:
        step = case((participants.c.step == "form", next_step), else_=participants.c.step)
        values.update(step=step, form_finished_at=bindparam("b_finished"))
    return (
        update(participants)
        .where(
            participants.c.id == bindparam("b_pid"),
            participants.c.step.in_(("form", "choice", "review", "open")),
            participants.c.form_page >= bindparam("b_previous"),
        )
        .values(**values)
    )


_SAVE = _save_guard(last=False)
_SAVE_LAST = _save_guard(last=True)
_SAVE_LAST_CHOICE = _save_guard(last=True, next_step="choice")
_SAVE_LAST_REVIEW = _save_guard(last=True, next_step="review")


def save_page(
    engine: Engine,
    participant_id: int,
    page: int,
    codes: Sequence[tuple[str, str]],
    *,
    last: bool,
    choices_next: bool = False,
    reviews_next: bool = False,
) -> bool:
    """Store one Value Form page's (item, code) answers in one transaction, idempotently.

    The page's answers replace any it had; the participant's saved-page count only grows. The
    last page also stamps the form's finishing time and moves the participant on to the open
    questions (to the choices, with CHOICES_NEXT; to the reviews, with REVIEWS_NEXT). Nothing
    is written, and the answer is
    ``False``, unless the participant is on the form and has saved the page before this one:
    the check and the write are one transaction, so a page sent after the participant
    finished cannot change their answers.
    """
    stamp = now()
    params: dict[str, Any] = {
        "b_pid": participant_id,
        "b_page": page,
        "b_previous": page - 1,
        "b_active": stamp,
    }
    if last:
        params["b_finished"] = stamp
    with engine.begin() as conn:
        guard = _SAVE
        if last:
            guard = _SAVE_LAST_CHOICE if choices_next else _SAVE_LAST
            guard = _SAVE_LAST_REVIEW if reviews_next else guard
        if conn.execute(guard, params).rowcount != 1:
            return False
        _upsert_answers(conn, participant_id, page, codes)
    return True


def _upsert_answers(
    conn: Connection, participant_id: int, page: int, codes: Sequence[tuple[str, str]]
) -> None:
    """One statement per page: half the time of ``executemany`` on SQLite, a fifth on
    PostgreSQL. Items are unique within a page (PostgreSQL requires it of one statement)."""
    if conn.dialect.name == "postgresql":
        items, chosen = [i for i, _ in codes], [c for _, c in codes]
        conn.exec_driver_sql(_UPSERT_PG, (participant_id, page, items, chosen))
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    row = f"({mark}, {mark}, {mark}, {mark})"
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        params: list[object] = []
        for item, code in chunk:
            params += (participant_id, item, code, page)
        values = "VALUES " + ", ".join([row] * len(chunk))
        conn.exec_driver_sql(_UPSERT.format(rows=values), tuple(params))


def answers_of(engine: Engine, participant_id: int) -> dict[str, str]:
    """Item id → option code, for everything the participant has saved."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(answers.c.item, answers.c.code).where(answers.c.participant_id == participant_id)
        )
        return {item: code for item, code in rows}


def complete(
    engine: Engine,
    participant: Participant,
    open_answers: dict[str, str],
    flags: QualityFlags,
    completion_code: str,
) -> None:
    """Store the open answers and quality flags and mark the participant done, atomically."""
    with engine.begin() as conn:
        conn.execute(
            texts.delete().where(
                texts.c.participant_id == participant.id,
                texts.c.question.in_(list(open_answers)),
            )
        )
        if open_answers:
            conn.execute(
                texts.insert(),
                [
                    {"participant_id": participant.id, "question": q, "text": t}
                    for q, t in open_answers.items()
                ],
            )
        conn.execute(
            update(participants)
            .where(participants.c.id == participant.id, participants.c.step == "open")
            .values(
                step="done",
                completed_at=now(),
                completion_code=completion_code,
                form_seconds=flags.form_seconds,
                attention_failed=flags.attention_failed,
                straightlined=flags.straightlined,
                too_fast=flags.too_fast,
                excluded=bool(flags.exclusion),
                exclusion=",".join(flags.exclusion) or None,
            )
        )
