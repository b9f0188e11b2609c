"""A study's settings belong to the study in the store: checked, and recorded, at start.

Each participant keeps the statement order and items per page they were given at consent, so
a restart with another ``items_per_page`` changes only newcomers' pages. An instrument or
content that lacks an item or scenario a participant part-way through was given would break
their pages, so such a start is refused, naming what is missing.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, update

from valuecompass.instrument import instrument_digest
from valuecompass.store import survey as store
from valuecompass.store.survey import participants
from valuecompass.survey._settings import SurveyConfigError, SurveySettings

log = logging.getLogger("valuecompass.survey")
#: Settings not recorded as they are: the instrument is recorded by digest and whole (as
#: ``instrument_spec``), the words whole, the admin token never.
UNRECORDED = {"instrument", "content", "admin_token"}


def open_study(settings: SurveySettings, engine: Engine) -> list[str]:
    """Check SETTINGS against the study's participants in progress and record them as the
    study's; return notes on what changed. Raises :class:`SurveyConfigError` for a start that
    would break participants part-way through."""
    name = f"study {settings.study_id!r}" if settings.study_id else "the study"
    part_way = store.in_progress(engine, settings.study_id)
    _refuse_missing(settings, name, part_way)
    before = store.stored_study(engine, settings.study_id)
    digest = instrument_digest(settings.instrument)
    notes = []
    if before is not None and part_way.count:
        if before.items_per_page != settings.items_per_page:
            notes.append(
                f"{name}: {part_way.count} participant(s) in progress keep their "
                f"{before.items_per_page} statements per page; newcomers get "
                f"{settings.items_per_page}"
            )
        if before.instrument != digest:
            notes.append(f"{name}: the instrument changed since it was last served")
    _fix_pages(engine, before.items_per_page if before else settings.items_per_page)
    recorded = settings.model_dump(mode="json", exclude=UNRECORDED)
    recorded["content"] = settings.content.model_dump(mode="json")
    recorded["instrument_spec"] = settings.instrument.to_data()  # what 'survey export' reads
    store.record_study(
        engine, store.Study(settings.study_id, digest, settings.items_per_page, recorded)
    )
    for note in notes:
        log.warning("survey: %s", note)
    return notes


def _refuse_missing(settings: SurveySettings, name: str, part_way: store.InProgress) -> None:
    items = {*settings.instrument.item_ids, *(c.id for c in settings.content.attention_checks)}
    scenarios = set(settings.scenario_ids) | {
        level.id for level in settings.instrument.axis(settings.scenario_axis).levels
    }
    lacking = sorted(part_way.items - items)
    lost = sorted(part_way.scenarios - scenarios)
    if not lacking and not lost:
        return
    what = []
    if lacking:
        what.append(f"item(s) {', '.join(lacking)}")
    if lost:
        what.append(f"scenario(s) {', '.join(lost)}")
    raise SurveyConfigError(
        f"{name}: {part_way.count} participant(s) in progress were given "
        f"{' and '.join(what)}, which this instrument and content lack; serve the study with "
        "the instrument it started with, or start a new study (--study-id)"
    )


def _fix_pages(engine: Engine, per_page: int) -> None:
    """Participants from before schema 2 get the items per page their study was served with."""
    with engine.begin() as conn:
        conn.execute(
            update(participants)
            .where(participants.c.items_per_page.is_(None))
            .values(items_per_page=per_page)
        )
