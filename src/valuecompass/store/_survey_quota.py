"""Race-free quota places: balanced assignment of contexts within an asked level.

A cell is a full context: the asked level (``country``), the scenario and the levels of any
further assigned axes (``context``, ``axis=level;...``; ``''`` for the Value Form). A place in
a cell is a ``survey_slots`` row keyed by its slot number, which runs from 0 to the quota.
Two arrivals that pick the same free number cannot both insert it, so the loser's transaction
fails on the key and it tries again with fresh counts; no cell ever holds more places than its
quota, on SQLite or PostgreSQL, whatever the isolation level.

Two rules keep one network address from locking others out of a cell: it may hold at most
``per_address`` live places of any one cell (:class:`AddressFull` past that), and a place
whose holder has saved a Value Form page stays live only while they keep saving pages (one
at least every ``idle`` seconds), never past the hold.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from valuecompass.store._base import StoreError
from valuecompass.store._survey_tables import aware, now, participants, slots

MAX_TRIES = 50
#: Seconds of retrying after SQLite snapshot conflicts; past this a lock error is passed on
#: (the survey answers it with 503) rather than waited out once per try.
BUSY_SECONDS = 1.0


#: A candidate cell for an asked level: (scenario, context).
Cell = tuple[str, str]


class _Lost(Exception):
    """Another arrival took the place first."""


class AddressFull(Exception):
    """Every candidate cell with room already holds the address's share of its places."""


@dataclass(frozen=True)
class Holds:
    """How long an unfinished place stays live, in seconds: ``hold`` after it was given once
    its holder has saved a page, ``first`` before that, and ``idle`` since their last saved
    page; and the most live places of one cell that one address may hold (``None``: any)."""

    hold: float
    first: float
    idle: float | None = None
    per_address: int | None = None


@dataclass
class _Cell:
    live: set[int] = field(default_factory=set)
    stale: dict[int, int] = field(default_factory=dict)  # slot → holder's participant id
    mine: int = 0  # live places held from the arriving participant's address


def assign(
    engine: Engine,
    participant_id: int,
    country: str,
    candidates: Sequence[Cell],
    quota: int,
    holds: Holds,
    address: str | None = None,
) -> Cell | None:
    """Give the participant a place in one candidate (scenario, context) cell of COUNTRY, one
    of those with the fewest live places; ``None`` if all are full; :class:`AddressFull`
    where the rest hold ADDRESS's share (``holds.per_address``) already.

    HOLDS say how long an unfinished place stays live. Calling it again for a participant who
    holds a place returns that place's cell.
    """
    rng = random.Random(participant_id)
    start = time.monotonic()
    for attempt in range(MAX_TRIES):
        try:
            with engine.begin() as conn:
                return _try_assign(
                    conn, participant_id, country, candidates, quota, holds, rng, address
                )
        except (IntegrityError, _Lost):
            continue
        except OperationalError:
            # SQLite: another writer committed after this transaction's snapshot was taken.
            if time.monotonic() - start > BUSY_SECONDS:
                raise
            time.sleep(0.001 * (attempt + 1))
    raise StoreError(f"could not assign a context after {MAX_TRIES} tries; the store is too busy")


def _try_assign(
    conn: Connection,
    participant_id: int,
    country: str,
    candidates: Sequence[Cell],
    quota: int,
    holds: Holds,
    rng: random.Random,
    address: str | None,
) -> Cell | None:
    # Two arrivals from one address could each count places before the other's is taken: a
    # write first takes SQLite's one write lock for the whole transaction, and on PostgreSQL
    # (read committed) one country's assignments wait for each other on an advisory lock.
    conn.execute(
        update(participants).where(participants.c.id == participant_id).values(address=address)
    )
    if conn.dialect.name == "postgresql" and holds.per_address is not None:
        lock = zlib.crc32(f"valuecompass-quota:{country}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    held = conn.execute(
        select(slots.c.scenario, slots.c.context).where(slots.c.participant_id == participant_id)
    ).first()
    if held is not None:
        return (str(held[0]), str(held[1]))
    cells = _cells(conn, country, candidates, holds, address)
    open_cells = [s for s in candidates if len(cells[s].live) < quota]
    if not open_cells:
        return None
    if holds.per_address is not None and address is not None:
        open_cells = [s for s in open_cells if cells[s].mine < holds.per_address]
        if not open_cells:
            raise AddressFull
    fewest = min(len(cells[s].live) for s in open_cells)
    chosen = rng.choice([s for s in open_cells if len(cells[s].live) == fewest])
    scenario, context = chosen
    cell = cells[chosen]
    used = cell.live | set(cell.stale)
    free = [i for i in range(min(quota, len(used) + 64)) if i not in used]
    if free:
        slot = rng.choice(free)
    else:
        slot = rng.choice(sorted(cell.stale))
        gone = conn.execute(
            slots.delete().where(
                slots.c.scenario == scenario,
                slots.c.country == country,
                slots.c.context == context,
                slots.c.slot == slot,
                slots.c.participant_id == cell.stale[slot],
            )
        )
        if gone.rowcount != 1:
            raise _Lost
    stamp = now()
    conn.execute(
        slots.insert().values(
            scenario=scenario,
            country=country,
            context=context,
            slot=slot,
            participant_id=participant_id,
            assigned_at=stamp,
        )
    )
    conn.execute(
        update(participants)
        .where(participants.c.id == participant_id)
        .values(scenario=scenario, context=context, assigned_at=stamp)
    )
    return chosen


def _cells(
    conn: Connection,
    country: str,
    candidates: Sequence[Cell],
    holds: Holds,
    address: str | None,
) -> dict[Cell, _Cell]:
    """Each candidate cell's live places (and how many of them ADDRESS holds) and its stale
    ones: unfinished past the hold (the short one while the holder has saved no Value Form
    page), or with no page saved for ``holds.idle`` seconds."""
    stamp_now = now()
    working, first = (stamp_now - timedelta(seconds=h) for h in (holds.hold, holds.first))
    quiet = None if holds.idle is None else stamp_now - timedelta(seconds=holds.idle)
    rows = conn.execute(
        select(
            slots.c.scenario,
            slots.c.context,
            slots.c.slot,
            slots.c.participant_id,
            slots.c.assigned_at,
            participants.c.step,
            participants.c.form_page,
            participants.c.active_at,
            participants.c.address,
        )
        .join(participants, participants.c.id == slots.c.participant_id)
        .where(
            slots.c.country == country,
            slots.c.scenario.in_(sorted({s for s, _ in candidates})),
            slots.c.context.in_(sorted({c for _, c in candidates})),
        )
    )
    cells = {s: _Cell() for s in candidates}
    for scenario, context, slot, holder, assigned_at, step, form_page, active, who in rows:
        cell = cells.get((scenario, context))
        if cell is None:  # a combination of levels that is not a candidate
            continue
        stamp, last = aware(assigned_at), aware(active)
        cutoff = working if form_page > 0 else first
        held = stamp is not None and stamp > cutoff
        if stamp is not None and held and quiet is not None and form_page > 0:
            held = (last or stamp) > quiet  # since their last saved page
        if step == "done" or held:
            cell.live.add(slot)
            cell.mine += address is not None and who == address
        else:
            cell.stale[slot] = holder
    return cells
