"""People's choices between an item's two actions, in the store (``survey_choices``).

When a participant of a choice study reaches the choices, the pairs they are to see are dealt
once (:func:`deal_choices`): each pair's item, its place in their order, its page and the
inclination of the action shown first. A page of choices is saved in one transaction
(:func:`save_choices`) and only for pairs dealt to that page, so a choice posted for a pair the
participant was never shown changes nothing. Reading back gives the tidy choice table
(``source="humans"``, one row per participant and pair, :func:`human_choices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, and_, case, delete, func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError

from valuecompass import answers as ans
from valuecompass.answers import INCLINATIONS
from valuecompass.instrument import Instrument, context_columns
from valuecompass.store._survey_read import levels_of, respondent
from valuecompass.store._survey_tables import choices, default_axes, now, participants, slots

#: The column the choices export adds to the tidy choice table: the action shown first.
SHOWN_FIRST = "shown_first"


@dataclass(frozen=True)
class Dealt:
    """One pair dealt to a participant: where it is shown, in which order, what was chosen."""

    item: str
    seq: int
    page: int
    first: str
    inclination: str | None = None
    place: int | None = None

    @property
    def order(self) -> tuple[str, str]:
        """The inclinations of the actions shown first and second."""
        other = INCLINATIONS[1] if self.first == INCLINATIONS[0] else INCLINATIONS[0]
        return (self.first, other)


def deal_choices(engine: Engine, participant_id: int, pairs: Sequence[Dealt]) -> list[Dealt]:
    """Deal PAIRS to the participant unless they were dealt some already (a reload, two tabs:
    the first deal stands); return what they hold."""
    with engine.connect() as conn:
        held = conn.execute(
            select(func.count()).where(choices.c.participant_id == participant_id)
        ).scalar_one()
    if not held and pairs:
        rows = [
            {"participant_id": participant_id, "item": p.item, "seq": p.seq, "page": p.page,
             "first": p.first}
            for p in pairs
        ]  # fmt: skip
        try:
            with engine.begin() as conn:
                conn.execute(choices.insert(), rows)
        except IntegrityError:
            pass  # dealt meanwhile by another request
    return choices_of(engine, participant_id)


def choices_of(engine: Engine, participant_id: int) -> list[Dealt]:
    """The pairs dealt to the participant, in the order shown."""
    cols = (choices.c.item, choices.c.seq, choices.c.page, choices.c.first,
            choices.c.inclination, choices.c.place)  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(
            select(*cols).where(choices.c.participant_id == participant_id).order_by(choices.c.seq)
        ).all()
    return [Dealt(*r) for r in rows]


def save_choices(
    engine: Engine,
    participant_id: int,
    page: int,
    picks: Sequence[tuple[str, int]],
    *,
    last: bool,
) -> bool:
    """Store one choice page's (item, place chosen) picks in one transaction, idempotently.

    Nothing is written, and the answer is ``False``, unless the participant is at the choices
    (or past them, at the open questions), every pick is of a pair dealt to PAGE, every pair of
    PAGE not chosen yet is picked, and every earlier page is answered. The last page moves the
    participant on to the open questions.
    """
    stamp = now()
    with engine.begin() as conn:
        moved = conn.execute(
            update(participants)
            .where(
                participants.c.id == participant_id,
                or_(participants.c.step == "choice", participants.c.step == "open"),
            )
            .values(active_at=stamp)
        )
        if moved.rowcount != 1:
            return False
        earlier = conn.execute(
            select(func.count()).where(
                choices.c.participant_id == participant_id,
                choices.c.page < page,
                choices.c.inclination.is_(None),
            )
        ).scalar_one()
        dealt = conn.execute(
            select(choices.c.item, choices.c.first, choices.c.inclination).where(
                choices.c.participant_id == participant_id, choices.c.page == page
            )
        ).all()
        first = {item: shown for item, shown, _ in dealt}
        open_ = {item for item, _, chosen in dealt if chosen is None}
        picked = {i for i, _ in picks}
        if earlier or not dealt or not open_ <= picked <= set(first):
            conn.rollback()
            return False
        for item, place in picks:
            order = Dealt(item, 0, page, first[item]).order
            conn.execute(
                update(choices)
                .where(and_(choices.c.participant_id == participant_id, choices.c.item == item))
                .values(inclination=order[place - 1], place=place, chosen_at=stamp)
            )
        if last:
            conn.execute(
                update(participants)
                .where(participants.c.id == participant_id, participants.c.step == "choice")
                .values(step="open")
            )
    return True


def withdraw_choices(engine: Engine, participant_id: int, items: Sequence[str]) -> int:
    """Take back the pairs of ITEMS dealt to the participant and not chosen yet (their action
    set no longer holds them); a pair already chosen stays. Returns how many went."""
    if not items:
        return 0
    with engine.begin() as conn:
        gone = conn.execute(
            delete(choices).where(
                choices.c.participant_id == participant_id,
                choices.c.item.in_(list(items)),
                choices.c.inclination.is_(None),
            )
        )
    return int(gone.rowcount or 0)


@dataclass(frozen=True)
class ChoiceCount:
    """The choices made in one cell (scenario, country, further levels): by how many
    participants, how many, and how many for the expressing action."""

    scenario: str | None
    country: str | None
    context: str
    participants: int
    choices: int
    expressing: int


def choice_counts(engine: Engine) -> list[ChoiceCount]:
    """Choices made so far per cell, by everyone who made one (finished or not, excluded or
    not); the cells in the order of their keys."""
    expressing = func.sum(case((choices.c.inclination == INCLINATIONS[0], 1), else_=0))
    query = (
        select(
            participants.c.scenario,
            participants.c.country,
            participants.c.context,
            func.count(func.distinct(participants.c.id)),
            func.count(),
            expressing,
        )
        .join(choices, choices.c.participant_id == participants.c.id)
        .where(choices.c.inclination.is_not(None))
        .group_by(participants.c.scenario, participants.c.country, participants.c.context)
    )
    with engine.connect() as conn:
        if not inspect(conn).has_table(choices.name):  # a store older than schema 13
            return []
        rows = conn.execute(query).all()
    found = [ChoiceCount(s, c, x or "", int(p), int(n), int(e or 0)) for s, c, x, p, n, e in rows]
    return sorted(found, key=lambda c: (str(c.scenario), str(c.country), c.context))


def human_choices(
    engine: Engine,
    instrument: Instrument,
    include_excluded: bool = False,
    *,
    axes: tuple[str, str] | None = None,
    shown_first: bool = False,
) -> pd.DataFrame:
    """Finished participants' choices as the tidy choice table (``source="humans"``).

    One row per participant and pair chosen, in the participant's order: their level of every
    context axis (in a column named by the axis id), the item, ``respondent``, the inclination
    chosen and ``option``, the place it was shown in (``raw`` is that place as text). With
    SHOWN_FIRST, a column ``shown_first`` says which inclination was shown first. AXES names
    the (asked, scenario) axes the survey was served with; :func:`default_axes` when omitted.
    Unfinished and (unless INCLUDE_EXCLUDED) excluded participants are left out.
    """
    query = (
        select(
            participants.c.id,
            participants.c.country,
            participants.c.scenario,
            participants.c.context,
            choices.c.item,
            choices.c.first,
            choices.c.inclination,
            choices.c.place,
        )
        .join(choices, choices.c.participant_id == participants.c.id)
        .where(participants.c.step == "done", choices.c.inclination.is_not(None))
        .order_by(participants.c.id, choices.c.seq)
    )
    if not include_excluded:
        query = query.where(participants.c.excluded.is_(False))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    asked, scenario = axes or default_axes(instrument)
    columns = context_columns(instrument)
    items = set(instrument.item_ids)
    kept = [r for r in rows if r.item in items]
    levels = [levels_of(r, asked, scenario) for r in kept]
    table = ans.choice_frame(
        (
            {
                "source": "humans",
                **{axis: lv.get(axis, "") for axis in columns},
                "value": r.item,
                "respondent": respondent(r.id),
                "sample": 0,
                "inclination": r.inclination,
                "option": r.place,
                "raw": str(r.place),
            }
            for r, lv in zip(kept, levels, strict=True)
        ),
        columns,
    )
    if shown_first:
        table[SHOWN_FIRST] = [r.first for r in kept]
    return table


def has_choices(engine: Engine) -> bool:
    """Whether any participant in the store was dealt a pair of actions."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(choices.name):  # a store older than schema 13
            return False
        return conn.execute(select(choices.c.item).limit(1)).first() is not None


def has_people(engine: Engine) -> bool:
    """Whether any participant in the store finished the survey."""
    with engine.connect() as conn:
        found = conn.execute(
            select(participants.c.id).where(participants.c.step == "done").limit(1)
        ).first()
    return found is not None


def slot_of(engine: Engine, participant_id: int) -> int | None:
    """The number of the quota place the participant holds in their cell (0, 1, ...)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(slots.c.slot).where(slots.c.participant_id == participant_id)
        ).scalar()
    return None if found is None else int(found)
