"""Actions dealt to the annotators of a review study, in the store (``survey_reviews``).

When an annotator reaches the reviews, the actions they are to judge are dealt once
(:func:`deal_reviews`): the actions of the set with the fewest judgements taken, spread over
inclinations, contexts and items, never one they hold already. Each action has
``per_action`` places (slots 0, 1, ...), and a dealt action takes one; the slot is part of a
unique key, so two annotators dealt at once cannot both take an action's last place. A place
dealt to an annotator who has gone quiet (no save for ``idle_seconds``) and not yet reviewed
is given back, so an abandoned deal never keeps an action short of its judgements.

A page of reviews is saved in one transaction (:func:`save_reviews`): the reviews go to
``action_reviews`` (source ``survey``, the annotator's respondent id as reviewer), so
``actions review-report`` reads them with any others.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    cast,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from valuecompass.store import reviews as review_store
from valuecompass.store._base import metadata
from valuecompass.store._survey_read import respondent
from valuecompass.store._survey_tables import context_pairs, now, participants
from valuecompass.store.actions import actions
from valuecompass.store.runs import _context_of

dealt_reviews = Table(
    "survey_reviews",
    metadata,
    Column(
        "participant_id",
        ForeignKey("survey_participants.id", ondelete="CASCADE"),
        primary_key=True,
        doc="the annotator the action was dealt to",
    ),
    Column(
        "action_id",
        ForeignKey("actions.id", ondelete="CASCADE"),
        primary_key=True,
        doc="the action to judge (a row of 'actions')",
    ),
    Column("seq", Integer, nullable=False, doc="place of the action in the annotator's order"),
    Column("page", Integer, nullable=False, doc="review page it is on (1-based)"),
    Column("slot", Integer, nullable=False, doc="which of the action's judgements it is (0, ...)"),
    Column("dealt_at", DateTime(timezone=True), nullable=False, doc="when it was dealt (UTC)"),
    Column("reviewed_at", DateTime(timezone=True), doc="when its review was saved; NULL until"),
    UniqueConstraint("action_id", "slot", name="uq_survey_review_slot"),
)

#: Schema 15's table, written out (frozen).
_REVIEWS_15 = """
CREATE TABLE IF NOT EXISTS survey_reviews (
    participant_id INTEGER NOT NULL,
    action_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    page INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    dealt_at {stamp} NOT NULL,
    reviewed_at {stamp},
    PRIMARY KEY (participant_id, action_id),
    CONSTRAINT uq_survey_review_slot UNIQUE (action_id, slot),
    FOREIGN KEY (participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE,
    FOREIGN KEY (action_id) REFERENCES actions (id) ON DELETE CASCADE
)
"""

#: How often a deal that lost a race for a place is tried again.
_TRIES = 20


def add_reviews_table(conn: Connection) -> None:
    """Schema 15: the actions dealt to each annotator of a review study (``survey_reviews``):
    their order, page and slot, and when each was reviewed."""
    stamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.exec_driver_sql(_REVIEWS_15.format(stamp=stamp))


@dataclass(frozen=True)
class Assigned:
    """One action dealt to an annotator, with the action's place and words."""

    action_id: int
    seq: int
    page: int
    country: str
    scenario: str
    context: str
    item: str
    inclination: str
    text: str
    spans: tuple[str, ...]
    reviewed: bool


@dataclass(frozen=True)
class Deal:
    """What to deal: from set SET_ID, COUNT actions, PER_PAGE a page, each action at most
    PER_ACTION times; places idle for IDLE_SECONDS are given back; KEEP, if given, is an
    axis's place in the set's axes and the level an action must have there (e.g. the
    annotator's language)."""

    set_id: int
    count: int
    per_page: int
    per_action: int
    idle_seconds: float
    seed: int
    keep: tuple[int, str] | None = None


def deal_reviews(engine: Engine, participant_id: int, deal: Deal) -> list[Assigned]:
    """Deal the annotator their actions unless they hold some already (a reload, two tabs:
    the first deal stands); return what they hold, in order."""
    for _ in range(_TRIES):
        if reviews_of(engine, participant_id):
            break
        with engine.begin() as conn:
            _give_back(conn, participant_id, deal.idle_seconds)
        try:
            with engine.begin() as conn:
                rows = _choose(conn, participant_id, deal)
                if rows:
                    conn.execute(dealt_reviews.insert(), rows)
            break
        except IntegrityError:
            continue  # another annotator took a place meanwhile: choose again
    return reviews_of(engine, participant_id)


def _give_back(conn: Connection, participant_id: int, idle_seconds: float) -> None:
    """Unreviewed places of other annotators, unfinished and quiet for IDLE_SECONDS."""
    quiet = now() - timedelta(seconds=idle_seconds)
    idle = select(participants.c.id).where(
        participants.c.id != participant_id,
        participants.c.step != "done",
        or_(participants.c.active_at.is_(None), participants.c.active_at < quiet),
    )
    conn.execute(
        dealt_reviews.delete().where(
            dealt_reviews.c.reviewed_at.is_(None), dealt_reviews.c.participant_id.in_(idle)
        )
    )


def _choose(conn: Connection, participant_id: int, deal: Deal) -> list[dict[str, Any]]:
    """The rows of a deal: greedily the action with the fewest places taken, then the
    inclination, context and item least often dealt so far, ties in a shuffled order."""
    query = select(
        actions.c.id, actions.c.country, actions.c.scenario, actions.c.context, actions.c.item,
        actions.c.inclination,
    ).where(actions.c.set_id == deal.set_id, actions.c.missing.is_(None))  # fmt: skip
    candidates = list(conn.execute(query.order_by(actions.c.id)).all())
    if deal.keep is not None:
        at, level = deal.keep
        candidates = [c for c in candidates if _levels(c)[at : at + 1] == [level]]
    taken: dict[int, set[int]] = {}
    for action_id, slot in conn.execute(
        select(dealt_reviews.c.action_id, dealt_reviews.c.slot)
        .join(actions, actions.c.id == dealt_reviews.c.action_id)
        .where(actions.c.set_id == deal.set_id)
    ):
        taken.setdefault(int(action_id), set()).add(int(slot))
    random.Random(deal.seed).shuffle(candidates)
    rank = {int(c.id): i for i, c in enumerate(candidates)}
    open_ = [c for c in candidates if len(taken.get(int(c.id), ())) < deal.per_action]
    seen: dict[tuple[str, str], int] = {}
    rows: list[dict[str, Any]] = []
    stamp = now()
    while open_ and len(rows) < deal.count:

        def cost(c: Any) -> tuple[int, int, int, int, int]:
            context = f"{c.country}|{c.scenario}|{c.context}"
            return (len(taken.get(int(c.id), ())), seen.get(("inclination", c.inclination), 0),
                    seen.get(("context", context), 0), seen.get(("item", c.item), 0),
                    rank[int(c.id)])  # fmt: skip

        best = min(open_, key=cost)
        open_.remove(best)
        slot = min(set(range(deal.per_action)) - taken.get(int(best.id), set()))
        for key in (("inclination", best.inclination),
                    ("context", f"{best.country}|{best.scenario}|{best.context}"),
                    ("item", best.item)):  # fmt: skip
            seen[key] = seen.get(key, 0) + 1
        seq = len(rows) + 1
        page = (seq - 1) // deal.per_page + 1
        rows.append({"participant_id": participant_id, "action_id": int(best.id), "seq": seq,
                     "page": page, "slot": slot, "dealt_at": stamp})  # fmt: skip
    return rows


def _levels(row: Any) -> list[str]:
    """An action row's levels, in the set's axis order."""
    rest = [part.partition("=")[2] for part in str(row.context).split(";") if part]
    return [str(row.country), str(row.scenario), *rest]


def reviews_of(engine: Engine, participant_id: int) -> list[Assigned]:
    """The actions dealt to the annotator, in order, with their words."""
    query = (
        select(
            dealt_reviews.c.action_id,
            dealt_reviews.c.seq,
            dealt_reviews.c.page,
            actions.c.country,
            actions.c.scenario,
            actions.c.context,
            actions.c.item,
            actions.c.inclination,
            actions.c.text,
            actions.c.spans,
            dealt_reviews.c.reviewed_at,
        )
        .join(actions, actions.c.id == dealt_reviews.c.action_id)
        .where(dealt_reviews.c.participant_id == participant_id)
        .order_by(dealt_reviews.c.seq)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Assigned(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            tuple(str(s) for s in (r[9] or ())),
            r[10] is not None,
        )
        for r in rows
    ]


#: What :func:`save_reviews` found: saved; the annotator is not at the reviews; a review of
#: an action not dealt to this page; the page was saved already; an earlier page is open.
Saved = Literal["saved", "elsewhere", "not_assigned", "twice", "earlier"]


def save_reviews(
    engine: Engine,
    participant_id: int,
    page: int,
    judged: Mapping[int, Mapping[str, Any]],
    *,
    set_id: int,
    detail: Mapping[str, Any],
    last: bool,
) -> Saved:
    """Store one review page in one transaction: JUDGED maps each action id to its criteria
    (``True``/``False``) and ``comment`` (``None`` for none). Nothing is written unless the
    annotator is at the reviews, JUDGED names exactly the actions dealt to PAGE, none of them
    is reviewed yet and every earlier page is. The last page moves them on to the open
    questions."""
    stamp = now()
    reviewer = respondent(participant_id)
    with engine.begin() as conn:
        moved = conn.execute(
            update(participants)
            .where(participants.c.id == participant_id, participants.c.step == "review")
            .values(active_at=stamp)
        )
        if moved.rowcount != 1:
            return "elsewhere"
        held = conn.execute(
            select(
                dealt_reviews.c.action_id,
                dealt_reviews.c.page,
                dealt_reviews.c.reviewed_at,
                actions.c.country,
                actions.c.scenario,
                actions.c.context,
                actions.c.item,
                actions.c.inclination,
            )
            .join(actions, actions.c.id == dealt_reviews.c.action_id)
            .where(dealt_reviews.c.participant_id == participant_id)
        ).all()
        on_page = {int(r[0]): r for r in held if r[1] == page}
        answer: Saved | None = None
        if not on_page or set(judged) != set(on_page):
            answer = "not_assigned"
        elif any(r[2] is not None for r in on_page.values()):
            answer = "twice"
        elif any(r[1] < page and r[2] is None for r in held):
            answer = "earlier"
        if answer is not None:
            conn.rollback()
            return answer
        rows = []
        for action_id, r in on_page.items():
            marks = judged[action_id]
            context = [("", r[3]), ("", r[4]), *context_pairs(r[5])]  # the action's place
            rows.append({"context": context, "item": r[6],
                         "inclination": r[7], "reviewer": reviewer,
                         **{c: marks.get(c) for c in review_store.CRITERIA},
                         "comment": marks.get("comment"), "source": "survey",
                         "source_detail": {**detail, "participant": reviewer}})  # fmt: skip
        review_store.add_place_reviews(conn, set_id, rows)
        conn.execute(
            update(dealt_reviews)
            .where(dealt_reviews.c.participant_id == participant_id, dealt_reviews.c.page == page)
            .values(reviewed_at=stamp)
        )
        if last:
            conn.execute(
                update(participants)
                .where(participants.c.id == participant_id, participants.c.step == "review")
                .values(step="open")
            )
    return "saved"


def review_counts(engine: Engine, set_id: int) -> dict[int, int]:
    """Action id → how many annotators reviewed it (saved reviews only)."""
    query = (
        select(dealt_reviews.c.action_id, func.count())
        .join(actions, actions.c.id == dealt_reviews.c.action_id)
        .where(actions.c.set_id == set_id, dealt_reviews.c.reviewed_at.is_not(None))
        .group_by(dealt_reviews.c.action_id)
    )
    with engine.connect() as conn:
        return {int(a): int(n) for a, n in conn.execute(query)}


#: The columns of the review export after the context axes.
REVIEW_COLUMNS = ("value", "inclination", "action_id", "action", "respondent",
                  *review_store.CRITERIA, "comment")  # fmt: skip


def survey_reviews(
    engine: Engine,
    axes: Sequence[str],
    include_excluded: bool = False,
) -> pd.DataFrame:
    """Finished annotators' reviews as a tidy table: one row per annotator and action, a
    column per context axis of AXES (the set's), then :data:`REVIEW_COLUMNS` (each criterion
    ``yes`` or ``no``, ``''`` where not judged; ``comment`` ``''`` for none). Unfinished and
    (unless INCLUDE_EXCLUDED) excluded annotators are left out."""
    rv = review_store.reviews
    same = [rv.c[c] == actions.c[c] for c in ("set_id", "country", "scenario", "context", "item",
                                               "inclination")]  # fmt: skip
    query = (
        select(
            participants.c.id,
            actions.c.id.label("action_id"),
            actions.c.country,
            actions.c.scenario,
            actions.c.context,
            actions.c.item,
            actions.c.inclination,
            actions.c.text,
            *(rv.c[c] for c in review_store.CRITERIA),
            rv.c.comment,
        )
        .select_from(dealt_reviews)
        .join(participants, participants.c.id == dealt_reviews.c.participant_id)
        .join(actions, actions.c.id == dealt_reviews.c.action_id)
        .join(
            rv,
            and_(
                *same, rv.c.reviewer == literal("survey-").concat(cast(participants.c.id, String))
            ),
        )
        .where(participants.c.step == "done", dealt_reviews.c.reviewed_at.is_not(None))
        .order_by(participants.c.id, dealt_reviews.c.seq)
    )
    if not include_excluded:
        query = query.where(participants.c.excluded.is_(False))
    with engine.connect() as conn:
        if not inspect(conn).has_table(dealt_reviews.name):
            return pd.DataFrame(columns=[*axes, *REVIEW_COLUMNS])
        rows = conn.execute(query).all()

    def mark(value: object) -> str:
        return "" if value is None else ("yes" if value else "no")

    records = [
        {**_context_of(r, axes), "value": r.item, "inclination": r.inclination,
         "action_id": int(r.action_id), "action": r.text, "respondent": respondent(r.id),
         **{c: mark(getattr(r, c)) for c in review_store.CRITERIA}, "comment": r.comment or ""}
        for r in rows
    ]  # fmt: skip
    return pd.DataFrame.from_records(records, columns=[*axes, *REVIEW_COLUMNS])
