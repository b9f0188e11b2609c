"""A study's settings as the store remembers them, and the researchers' admin sessions.

A study (one ``study_id``) is served with an instrument and settings; the store keeps the latest
of them, and each participant keeps what they were given at consent (their statement order and
items per page), so a restart with other settings never changes a participant's pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from valuecompass.store._survey_tables import admin_sessions, now, participants, studies

#: Steps of a participant who has started and not finished (nor been turned away).
IN_PROGRESS = ("demographics", "vignette", "form", "choice", "open")


@dataclass(frozen=True)
class Study:
    """What a study was served with."""

    study_id: str
    instrument: str
    items_per_page: int
    settings: dict[str, Any]


@dataclass(frozen=True)
class InProgress:
    """The participants of a study who are part-way, and what their pages need."""

    count: int
    items: frozenset[str]
    scenarios: frozenset[str]


def stored_study(engine: Engine, study_id: str) -> Study | None:
    """The settings STUDY_ID was last served with, or ``None`` for a new study."""
    with engine.connect() as conn:
        row = conn.execute(select(studies).where(studies.c.study_id == study_id)).first()
    if row is None:
        return None
    return Study(row.study_id, row.instrument, row.items_per_page, json.loads(row.settings))


def stored_studies(engine: Engine) -> list[Study]:
    """Every study the store has served, first served first."""
    with engine.connect() as conn:
        rows = conn.execute(select(studies).order_by(studies.c.first_served_at)).all()
    return [Study(r.study_id, r.instrument, r.items_per_page, json.loads(r.settings)) for r in rows]


def record_study(engine: Engine, study: Study) -> None:
    """Remember STUDY as the settings its study is now served with."""
    values = {
        "instrument": study.instrument,
        "items_per_page": study.items_per_page,
        "settings": json.dumps(study.settings, sort_keys=True),
        "last_served_at": now(),
    }
    with engine.begin() as conn:
        updated = conn.execute(
            studies.update().where(studies.c.study_id == study.study_id).values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(
                studies.insert().values(
                    study_id=study.study_id, first_served_at=values["last_served_at"], **values
                )
            )


def in_progress(engine: Engine, study_id: str) -> InProgress:
    """STUDY_ID's participants part-way through, with the items and scenarios they were given."""
    query = select(participants.c.item_order, participants.c.scenario).where(
        participants.c.study_id == study_id, participants.c.step.in_(IN_PROGRESS)
    )
    items: set[str] = set()
    scenarios: set[str] = set()
    count = 0
    with engine.connect() as conn:
        for order, scenario in conn.execute(query):
            count += 1
            items.update(order.split())
            if scenario is not None:
                scenarios.add(scenario)
    return InProgress(count, frozenset(items), frozenset(scenarios))


def start_admin_session(engine: Engine, digest: str, lifetime_seconds: float) -> None:
    """Store a new admin session (by the digest of its id); expired ones are dropped."""
    stamp = now()
    with engine.begin() as conn:
        conn.execute(admin_sessions.delete().where(admin_sessions.c.expires_at < stamp))
        conn.execute(
            admin_sessions.insert().values(
                digest=digest,
                created_at=stamp,
                expires_at=stamp + timedelta(seconds=lifetime_seconds),
            )
        )


def admin_session_valid(engine: Engine, digest: str) -> bool:
    """Whether the admin session with this digest exists and has not expired."""
    with engine.connect() as conn:
        found = conn.execute(
            select(admin_sessions.c.expires_at).where(admin_sessions.c.digest == digest)
        ).scalar()
    if found is None:
        return False
    expires = found if found.tzinfo is not None else found.replace(tzinfo=now().tzinfo)
    return bool(expires > now())


def end_admin_session(engine: Engine, digest: str) -> None:
    """Delete the admin session: its cookie opens nothing from now on."""
    with engine.begin() as conn:
        conn.execute(admin_sessions.delete().where(admin_sessions.c.digest == digest))
