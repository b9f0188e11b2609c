"""Reviews of actions in the store: per action of a set and reviewer, one review.

A review judges one action (its set and place: context, item, inclination) on the four
criteria of the value–action study's authors (:data:`CRITERIA`): does the action express or
oppose its item as intended, is it harmless, is it a sufficient description, is it plausible in
its context. Each is yes, no, or NULL where the reviewer did not judge it. A review may carry a
comment, and says where it came from (``source``: ``survey``, ``import`` or ``hand``, with
``source_detail``: the file and line, or the survey's participant).

Adding reviews is one transaction and idempotent, as for actions: a review already stored for
the same action and reviewer with the same judgements and comment is skipped; one stored
differently is refused, and then nothing is added. A review of a place the set does not hold,
or holds only as missing (no action), is refused. Deleting an action set deletes its reviews.

An action's *verdict* (:func:`verdict_table`) is how many reviews it has, the share of yes per
criterion among the reviews that judged it, and whether it *passed*: a strict majority of yes
on both ``intended`` and ``harmless`` among the reviews that judged each. A tie, or a
criterion no review judged, does not pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from valuecompass.store import actions as action_store
from valuecompass.store._base import metadata
from valuecompass.store._open import StoreError
from valuecompass.store._run_tables import CONTEXT_DOC, SECOND_DOC
from valuecompass.store.actions import ActionSet, Place, actions, place_of
from valuecompass.store.runs import _context_of, now

#: The four criteria a review judges, in the authors' order.
CRITERIA = ("intended", "harmless", "sufficient", "plausible")
#: Where a review came from: the survey's review pages, a file of another study, a person's
#: own CSV.
SOURCES = ("survey", "import", "hand")
#: The criteria an action must pass (a strict majority of yes on each) to be *passed*.
PASS_CRITERIA = ("intended", "harmless")
#: The verdict columns :func:`verdict_table` adds to an action's place.
VERDICT_COLUMNS = ("reviews", *(f"{c}_yes" for c in CRITERIA), "passed")

_PLACE = ("set_id", "country", "scenario", "context", "item", "inclination")

reviews = Table(
    "action_reviews",
    metadata,
    Column("id", Integer, primary_key=True, doc="review row number"),
    Column("set_id", Integer, nullable=False, doc="the reviewed action's set"),
    Column("country", String(64), nullable=False, doc="level of the context's first axis"),
    Column("scenario", String(64), nullable=False, doc=SECOND_DOC),
    Column("context", String(512), nullable=False, server_default="", doc=CONTEXT_DOC),
    Column("item", String(64), nullable=False, doc="the item's id"),
    Column("inclination", String(16), nullable=False, doc="'expresses' or 'opposes' the item"),
    Column("reviewer", String(64), nullable=False, doc="who reviewed: an id, unique per person"),
    Column("intended", Boolean, doc="expresses or opposes the item as intended; NULL: not judged"),
    Column("harmless", Boolean, doc="harmless; NULL: not judged"),
    Column("sufficient", Boolean, doc="a sufficient description of an action; NULL: not judged"),
    Column("plausible", Boolean, doc="plausible in its context; NULL: not judged"),
    Column("comment", Text, doc="the reviewer's comment, if any"),
    Column("source", String(16), nullable=False, doc="'survey', 'import' or 'hand'"),
    Column(
        "source_detail",
        JSON,
        nullable=False,
        doc="import and hand: the file and line (and judgements of other kinds); survey: who",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="when it was stored (UTC)"),
    UniqueConstraint(*_PLACE, "reviewer", name="uq_review"),
    ForeignKeyConstraint(list(_PLACE), [actions.c[c] for c in _PLACE], ondelete="CASCADE"),
)

#: A review's own words: its judgements and comment (what a second copy must repeat).
_CONTENT = (*CRITERIA, "comment")


@dataclass(frozen=True)
class Reviewed:
    """One action set's rows to store with their reviews (see :func:`save_reviewed`)."""

    name: str
    instrument: str
    digest: str
    axes: list[str]
    actions: list[dict[str, Any]]
    reviews: list[dict[str, Any]]


def add_reviews(engine: Engine, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Add ROWS to the set's reviews in one transaction; how many were new (see the module).

    Each row has ``context`` (the (axis, level) pairs, in axis order), ``item``,
    ``inclination``, ``reviewer``, the :data:`CRITERIA` (``True``, ``False`` or ``None``),
    ``comment`` (``None`` for none), ``source`` and ``source_detail``.
    """
    with engine.begin() as conn:
        return _add(conn, set_id, rows)


def save_reviewed(engine: Engine, parts: Sequence[Reviewed]) -> list[tuple[ActionSet, int, int]]:
    """Make or reuse each part's action set, add its actions and then its reviews, all in one
    transaction; per part the set, how many actions and how many reviews were new."""
    out = []
    with engine.begin() as conn:
        for part in parts:
            found = action_store._create(
                conn, part.name, part.instrument, part.digest, part.axes, ""
            )
            added = action_store._add(conn, found.id, part.actions)
            out.append((found, added, _add(conn, found.id, part.reviews)))
    return out


def add_place_reviews(conn: Connection, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """:func:`add_reviews` inside the caller's transaction CONN."""
    return _add(conn, set_id, rows)


def _add(conn: Connection, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    held = {
        tuple(r[:5]): r[5]
        for r in conn.execute(
            select(*(actions.c[c] for c in _PLACE[1:]), actions.c.missing).where(
                actions.c.set_id == set_id
            )
        )
    }
    cols = (*_PLACE[1:], "reviewer", *_CONTENT)
    stored = {
        tuple(r[:6]): tuple(r[6:])
        for r in conn.execute(
            select(*(reviews.c[c] for c in cols)).where(reviews.c.set_id == set_id)
        )
    }
    fresh: list[dict[str, Any]] = []
    for row in rows:
        place = place_of(row["context"], row["item"], row["inclination"])
        shown = "/".join(p for p in place if p)
        if place not in held:
            raise StoreError(f"the set holds no action for {shown}: a review needs one")
        if held[place] is not None:
            raise StoreError(
                f"the set holds no action for {shown} (kept missing: {held[place]}): a review "
                "needs one"
            )
        if row["source"] not in SOURCES:
            raise StoreError(f"a review's source is one of {', '.join(SOURCES)}, not "
                             f"{row['source']!r}")  # fmt: skip
        content = tuple(row.get(c) for c in _CONTENT)
        key = (*place, str(row["reviewer"]))
        if key in stored:
            if stored[key] != content:
                raise StoreError(
                    f"the set already holds a different review of {shown} by {row['reviewer']!r}"
                )
            continue
        stored[key] = content
        fresh.append({"set_id": set_id, **dict(zip(_PLACE[1:], place, strict=True)),
                      "reviewer": str(row["reviewer"]), **dict(zip(_CONTENT, content, strict=True)),
                      "source": row["source"], "source_detail": dict(row["source_detail"]),
                      "created_at": now()})  # fmt: skip
    if fresh:
        conn.execute(reviews.insert(), fresh)
    return len(fresh)


#: The columns of a set's review table past its context axes.
COLUMNS = ("value", "inclination", "action", "reviewer", *CRITERIA, "comment", "source",
           "source_detail", "created_at")  # fmt: skip


def set_reviews(engine: Engine, found: ActionSet) -> pd.DataFrame:
    """The set's reviews as a table: one column per context axis id, then :data:`COLUMNS`
    (``value`` the item id, ``action`` the reviewed text, each criterion ``True``, ``False``
    or ``None``, ``comment`` '' for none), in the order they were stored."""
    on = [reviews.c[c] == actions.c[c] for c in _PLACE]
    query = (
        select(reviews, actions.c.text)
        .join(actions, on[0] & on[1] & on[2] & on[3] & on[4] & on[5])
        .where(reviews.c.set_id == found.id)
        .order_by(reviews.c.id)
    )
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "action_reviews"):
            return pd.DataFrame(columns=[*found.axes, *COLUMNS])
        rows = conn.execute(query).all()
    records = [
        {**_context_of(r, found.axes), "value": r.item, "inclination": r.inclination,
         "action": r.text, "reviewer": r.reviewer,
         **{c: None if getattr(r, c) is None else bool(getattr(r, c)) for c in CRITERIA},
         "comment": r.comment or "", "source": r.source,
         "source_detail": dict(r.source_detail or {}), "created_at": r.created_at}
        for r in rows
    ]  # fmt: skip
    return pd.DataFrame.from_records(records, columns=[*found.axes, *COLUMNS])


def verdict_table(table: pd.DataFrame, reviewed: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Each action of TABLE (:func:`~valuecompass.store.actions.set_actions`) with its verdict
    from REVIEWED (:func:`set_reviews`): :data:`VERDICT_COLUMNS` appended, ``reviews`` the
    count, ``<criterion>_yes`` the share of yes among the reviews that judged it (NaN where
    none did), ``passed`` as the module says."""
    keys = [*axes, "value", "inclination"]
    out = table.copy()
    if reviewed.empty:
        counts = pd.DataFrame(columns=[*keys, *VERDICT_COLUMNS[:-1]])
    else:
        judged = reviewed[keys].copy()
        for c in CRITERIA:
            marks = reviewed[c]
            judged[f"{c}_n"] = marks.notna().astype(int)
            judged[f"{c}_y"] = (marks == True).astype(int)  # noqa: E712 (None is not True)
        grouped = judged.groupby(keys, sort=False)
        counts = grouped.size().rename("reviews").reset_index()
        sums = grouped.sum().reset_index()
        for c in CRITERIA:
            n = sums[f"{c}_n"].to_numpy(dtype=float)
            y = sums[f"{c}_y"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                counts[f"{c}_yes"] = np.where(n > 0, y / np.where(n > 0, n, 1.0), np.nan)
    out = out.merge(counts, on=keys, how="left")
    out["reviews"] = out["reviews"].fillna(0).astype(int)
    for c in CRITERIA:
        out[f"{c}_yes"] = out[f"{c}_yes"].astype(float)
    out["passed"] = np.logical_and.reduce(
        [(out[f"{c}_yes"] > 0.5).to_numpy() for c in PASS_CRITERIA]
    )
    return out


def verdicts(engine: Engine, found: ActionSet) -> pd.DataFrame:
    """The set's actions with their verdicts (:func:`verdict_table`)."""
    return verdict_table(action_store.set_actions(engine, found), set_reviews(engine, found),
                         found.axes)  # fmt: skip


def passed_places(engine: Engine, found: ActionSet) -> set[Place]:
    """The places of the set's actions that passed review."""
    table = verdicts(engine, found)
    out: set[Place] = set()
    for _, row in table[table["passed"]].iterrows():
        context = [(a, str(row[a])) for a in found.axes]
        out.add(place_of(context, str(row["value"]), str(row["inclination"])))
    return out
