"""Action sets in the store: per item × context × inclination, one action.

An action set belongs to one instrument (its id and digest are kept). Each action is a
first-person sentence (``text``), the spans of it that carry the item (``spans``), an
explanation, and where it came from (``source``: ``generated``, ``imported`` or ``person``,
with ``source_detail``). An action that could not be generated or read keeps its place with a
``missing`` reason and an empty text. Contexts are kept in the same physical columns as run
answers (:func:`valuecompass.store.runs.context_row`), so any instrument's axes fit.

Adding actions is one transaction (a group commit) and idempotent: an action already stored
with the same words (text, spans, explanation, missing reason; from any source) is skipped;
one stored differently is refused, and then nothing is added. Nothing
here deletes.

Generated actions are stored as they arrive (:func:`put_generated`): a place already stored is
never overwritten, except a place kept *missing* (no action, only its reason) when the caller
regenerates it; the replaced row's source and reason are kept in the new row's
``source_detail`` (``earlier``), so no reply the store was given is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
)

from valuecompass.store._base import metadata
from valuecompass.store._open import StoreError
from valuecompass.store._run_tables import CONTEXT_DOC, SECOND_DOC
from valuecompass.store.runs import _context_of, context_row, now

#: Where an action came from.
SOURCES = ("generated", "imported", "person")
#: Why an action has no text: no JSON object in the reply, no action in it, not spoken in the
#: first person, the call failed.
MISSING_REASONS = ("no_json", "no_action", "not_first_person", "error")
#: The fields of an action past its place (context, item, inclination), as stored.
FIELDS = ("text", "spans", "explanation", "source", "source_detail", "missing")

action_sets = Table(
    "action_sets",
    metadata,
    Column("id", Integer, primary_key=True, doc="action set number"),
    Column("name", String(200), nullable=False, unique=True, doc="the set's name, unique"),
    Column("instrument", String(64), nullable=False, doc="the instrument's id"),
    Column(
        "instrument_digest",
        String(64),
        nullable=False,
        doc="the instrument's digest (valuecompass.instrument.instrument_digest)",
    ),
    Column("axes", JSON, nullable=False, doc="the instrument's context axis ids, in order"),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="when it was made (UTC)"),
    Column("note", Text, doc="a note the user gave, e.g. where the set came from"),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, doc="action row number"),
    Column(
        "set_id",
        ForeignKey("action_sets.id", ondelete="CASCADE"),
        nullable=False,
        doc="its action set",
    ),
    Column("country", String(64), nullable=False, doc="level of the context's first axis"),
    Column("scenario", String(64), nullable=False, doc=SECOND_DOC),
    Column("context", String(512), nullable=False, server_default="", doc=CONTEXT_DOC),
    Column("item", String(64), nullable=False, doc="the item's id"),
    Column("inclination", String(16), nullable=False, doc="'expresses' or 'opposes' the item"),
    Column("text", Text, nullable=False, doc="the first-person action; '' if missing"),
    Column("spans", JSON, nullable=False, doc="the text's spans that carry the item (strings)"),
    Column("explanation", Text, nullable=False, doc="why the action expresses or opposes it"),
    Column("source", String(16), nullable=False, doc="'generated', 'imported' or 'person'"),
    Column(
        "source_detail",
        JSON,
        nullable=False,
        doc="generated: model identity and design; imported: the file (and line); person: who",
    ),
    Column("missing", String(32), doc="why there is no action (MISSING_REASONS); NULL if any"),
    UniqueConstraint(
        "set_id", "country", "scenario", "context", "item", "inclination", name="uq_action"
    ),
)


@dataclass(frozen=True)
class ActionSet:
    """One action set's record; ``size`` is how many actions it holds."""

    id: int
    name: str
    instrument: str
    instrument_digest: str
    axes: list[str]
    created_at: datetime
    note: str | None
    size: int = 0

    def summary(self) -> dict[str, Any]:
        """The record as JSON-ready fields."""
        return {
            "name": self.name,
            "instrument": self.instrument,
            "instrument_digest": self.instrument_digest,
            "axes": self.axes,
            "created_at": self.created_at.isoformat(),
            "note": self.note,
            "actions": self.size,
        }


def create_set(
    engine: Engine, name: str, instrument: str, digest: str, axes: Sequence[str], note: str = ""
) -> ActionSet:
    """Make the action set NAME for an instrument (its id, digest and axes), or return it if it
    exists for the same instrument; a set of that name for another instrument is refused."""
    with engine.begin() as conn:
        return _create(conn, name, instrument, digest, axes, note)


def add_actions(engine: Engine, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Add ROWS to the set in one transaction; return how many were new (see the module)."""
    with engine.begin() as conn:
        return _add(conn, set_id, rows)


def save_set(
    engine: Engine,
    name: str,
    instrument: str,
    digest: str,
    axes: Sequence[str],
    rows: Sequence[dict[str, Any]],
    note: str = "",
) -> tuple[ActionSet, int]:
    """:func:`create_set` and :func:`add_actions` in one transaction: all or nothing.

    Each row has ``context`` (the (axis, level) pairs, in axis order), ``item``,
    ``inclination`` and the :data:`FIELDS`. Returns the set and how many actions were new.
    """
    with engine.begin() as conn:
        found = _create(conn, name, instrument, digest, axes, note)
        return found, _add(conn, found.id, rows)


def _create(
    conn: Connection, name: str, instrument: str, digest: str, axes: Sequence[str], note: str
) -> ActionSet:
    found = _get(conn, name)
    if found is not None:
        if found.instrument_digest != digest:
            raise StoreError(
                f"action set {name!r} holds actions of another instrument ({found.instrument}, "
                f"digest {found.instrument_digest[:12]}); give another --set name"
            )
        return found
    row = {"name": name, "instrument": instrument, "instrument_digest": digest,
           "axes": list(axes), "created_at": now(), "note": note or None}  # fmt: skip
    conn.execute(action_sets.insert().values(**row))
    made = _get(conn, name)
    assert made is not None
    return made


def _place(row: dict[str, Any]) -> tuple[str, ...]:
    where = context_row(row["context"])
    return (where["country"], where["scenario"], where["context"], row["item"], row["inclination"])


def _add(conn: Connection, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    names = ("country", "scenario", "context", "item", "inclination", *FIELDS)
    stored = {
        tuple(r[:5]): tuple(r[5:])
        for r in conn.execute(
            select(*(actions.c[n] for n in names)).where(actions.c.set_id == set_id)
        )
    }
    fresh: list[dict[str, Any]] = []
    for row in rows:
        place = _place(row)
        fields = tuple(row.get(f) or None if f == "missing" else row[f] for f in FIELDS)
        if place in stored:
            if _content(stored[place]) != _content(fields):
                shown = "/".join(p for p in place if p)
                raise StoreError(f"the set already holds a different action for {shown}")
            continue
        stored[place] = fields
        values = dict(zip(names[:5], place, strict=True))
        fresh.append({"set_id": set_id, **values, **dict(zip(FIELDS, fields, strict=True))})
    if fresh:
        conn.execute(actions.insert(), fresh)
    return len(fresh)


def _content(fields: tuple[Any, ...]) -> tuple[Any, ...]:
    """An action's own words (text, spans, explanation, missing), whatever its source."""
    return tuple(v for f, v in zip(FIELDS, fields, strict=True) if f not in CONTENT_FREE)


#: Fields that say where an action came from, not what it is.
CONTENT_FREE = ("source", "source_detail")


def _record(row: Any, size: int = 0) -> ActionSet:
    m = row._mapping
    return ActionSet(m["id"], m["name"], m["instrument"], m["instrument_digest"],
                     list(m["axes"]), m["created_at"], m["note"], size)  # fmt: skip


def _get(conn: Connection, name: str) -> ActionSet | None:
    row = conn.execute(select(action_sets).where(action_sets.c.name == name)).first()
    return None if row is None else _record(row)


def get_set(engine: Engine, name: str) -> ActionSet | None:
    """The action set NAME with its size, or ``None``."""
    return next((s for s in list_sets(engine) if s.name == name), None)


def list_sets(engine: Engine) -> list[ActionSet]:
    """Every action set in the store, oldest first, with its size (none before schema 10)."""
    size = (
        select(actions.c.set_id, func.count().label("size")).group_by(actions.c.set_id).subquery()
    )
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "action_sets"):
            return []
        rows = conn.execute(
            select(action_sets, size.c.size)
            .outerjoin(size, size.c.set_id == action_sets.c.id)
            .order_by(action_sets.c.id)
        ).all()
    return [_record(r, int(r.size or 0)) for r in rows]


#: The columns of a set's table past its context axes.
COLUMNS = ("value", "inclination", "action", "spans", "explanation", "source",
           "source_detail", "missing")  # fmt: skip


def set_actions(engine: Engine, found: ActionSet) -> pd.DataFrame:
    """The set's actions as a table: one column per context axis id, then :data:`COLUMNS`
    (``value`` the item id, ``action`` the text, ``spans`` a list, ``source_detail`` a dict,
    ``missing`` '' for an action that has one), in the order they were added."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(actions).where(actions.c.set_id == found.id).order_by(actions.c.id)
        ).all()
    records = []
    for r in rows:
        records.append({**_context_of(r, found.axes), "value": r.item, "inclination": r.inclination,
                        "action": r.text, "spans": list(r.spans), "explanation": r.explanation,
                        "source": r.source, "source_detail": dict(r.source_detail),
                        "missing": r.missing or ""})  # fmt: skip
    return pd.DataFrame.from_records(records, columns=[*found.axes, *COLUMNS])


#: One action's place in its set: (country, scenario, context, item, inclination) columns.
Place = tuple[str, str, str, str, str]


def place_of(context: Sequence[tuple[str, str]], item: str, inclination: str) -> Place:
    """The place of ITEM's action with INCLINATION in CONTEXT (its (axis, level) pairs)."""
    where = context_row(context)
    return (where["country"], where["scenario"], where["context"], item, inclination)


def texts_at(
    engine: Engine, found: ActionSet, context: Sequence[tuple[str, str]], items: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(item, inclination) → the text of each of ITEMS' actions the set holds now in CONTEXT
    (its (axis, level) pairs); places kept missing are left out."""
    where = context_row(context)
    query = select(actions.c.item, actions.c.inclination, actions.c.text).where(
        actions.c.set_id == found.id,
        actions.c.country == where["country"],
        actions.c.scenario == where["scenario"],
        actions.c.context == where["context"],
        actions.c.item.in_(list(items)),
        actions.c.missing.is_(None),
    )
    with engine.connect() as conn:
        return {(r.item, r.inclination): r.text for r in conn.execute(query)}


@dataclass(frozen=True)
class Stored:
    """What a set holds at one place: its missing reason (``None``: an action) and where it
    came from."""

    missing: str | None
    source_detail: dict[str, Any]


def stored_places(engine: Engine, set_id: int) -> dict[Place, Stored]:
    """Every place the set holds, with its missing reason and source detail."""
    cols = (actions.c.country, actions.c.scenario, actions.c.context, actions.c.item,
            actions.c.inclination, actions.c.missing, actions.c.source_detail)  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).where(actions.c.set_id == set_id)).all()
    return {(r[0], r[1], r[2], r[3], r[4]): Stored(r[5], dict(r[6] or {})) for r in rows}


def generated_replies(engine: Engine) -> dict[str, dict[str, Any]]:
    """Cache key → source detail of every generated action of any set whose call succeeded
    (its detail has a ``key`` and a ``reply``): what an identical request was answered."""
    query = select(actions.c.source_detail).where(actions.c.source == "generated")
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "actions"):
            return out
        for (detail,) in conn.execute(query):
            d = dict(detail or {})
            if d.get("key") and isinstance(d.get("reply"), str) and not d.get("error"):
                out.setdefault(str(d["key"]), d)
    return out


def put_generated(
    engine: Engine, set_id: int, rows: Sequence[dict[str, Any]], replace_missing: bool = False
) -> list[bool]:
    """Store generated ROWS (as for :func:`add_actions`) in one transaction; for each, whether
    it was stored. A place the set already holds is left as it is (the row is not stored),
    unless it is kept missing and REPLACE_MISSING is given: then the new row takes its place,
    the old one's reason and detail kept in the new detail's ``earlier`` list."""
    out: list[bool] = []
    with engine.begin() as conn:
        fresh: list[dict[str, Any]] = []
        for row in rows:
            place = _place(row)
            where = and_(actions.c.set_id == set_id, *(
                actions.c[n] == v for n, v in zip(_PLACE_COLUMNS, place, strict=True)))  # fmt: skip
            old = conn.execute(select(actions.c.id, actions.c.missing, actions.c.source,
                                      actions.c.source_detail).where(where)).first()  # fmt: skip
            fields = {f: (row.get(f) or None) if f == "missing" else row[f] for f in FIELDS}
            if old is None:
                values = dict(zip(_PLACE_COLUMNS, place, strict=True))
                fresh.append({"set_id": set_id, **values, **fields})
                out.append(True)
                continue
            if old.missing is None or not replace_missing:
                out.append(False)
                continue
            earlier = [*dict(old.source_detail or {}).pop("earlier", [])]
            previous = {k: v for k, v in dict(old.source_detail or {}).items() if k != "earlier"}
            earlier.append({"source": old.source, "missing": old.missing, **previous})
            fields["source_detail"] = {**dict(fields["source_detail"] or {}), "earlier": earlier}
            done = conn.execute(
                actions.update()
                .where(actions.c.id == old.id, actions.c.missing.is_not(None))
                .values(**fields)
            )
            out.append(done.rowcount == 1)
        if fresh:
            conn.execute(actions.insert(), fresh)
    return out


_PLACE_COLUMNS = ("country", "scenario", "context", "item", "inclination")
