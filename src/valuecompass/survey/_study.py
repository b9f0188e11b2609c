"""A study's settings belong to the study in the store: checked, and recorded, at start.

Each participant keeps the statement order and items per page they were given at consent, so
a restart with another ``items_per_page`` changes only newcomers' pages. An instrument or
content that lacks an item or scenario a participant part-way through was given would break
their pages, so such a start is refused, naming what is missing.

A choice study records the action set it serves (its name, the digest of its content and one
per pair, :meth:`Pairs.record`). At a restart, a set in which a pair dealt to a participant in
progress is gone or reads otherwise than when it was last served is refused in the same way;
a set changed only where nobody in progress is affected is served, with a note.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, update

from valuecompass.instrument import instrument_digest
from valuecompass.store import survey as store
from valuecompass.store.survey import participants
from valuecompass.survey._choices import Pairs, pair_key
from valuecompass.survey._settings import SurveyConfigError, SurveySettings

log = logging.getLogger("valuecompass.survey")
#: Settings not recorded as they are: the instrument is recorded by digest and whole (as
#: ``instrument_spec``), the words whole, the admin token never.
UNRECORDED = {"instrument", "content", "admin_token"}


def open_study(settings: SurveySettings, engine: Engine, pairs: Pairs | None = None) -> list[str]:
    """Check SETTINGS (and the PAIRS of its action set) against the study's participants in
    progress and record them as the study's; return notes on what changed. Raises
    :class:`SurveyConfigError` for a start that would break participants part-way through."""
    name = f"study {settings.study_id!r}" if settings.study_id else "the study"
    part_way = store.in_progress(engine, settings.study_id)
    _refuse_missing(settings, name, part_way)
    before = store.stored_study(engine, settings.study_id)
    was = before.settings.get("actions") if before is not None else None
    action_notes = _check_actions(engine, settings, name, was, pairs)
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
    notes += action_notes
    _fix_pages(engine, before.items_per_page if before else settings.items_per_page)
    recorded = settings.model_dump(mode="json", exclude=UNRECORDED)
    recorded["content"] = settings.content.model_dump(mode="json")
    recorded["instrument_spec"] = settings.instrument.to_data()  # what 'survey export' reads
    recorded["actions"] = pairs.record() if pairs is not None else None
    store.record_study(
        engine, store.Study(settings.study_id, digest, settings.items_per_page, recorded)
    )
    for note in notes:
        log.warning("survey: %s", note)
    return notes


def record_actions(engine: Engine, study_id: str, pairs: Pairs) -> None:
    """Record PAIRS as what the study now serves (its set as read again while running)."""
    before = store.stored_study(engine, study_id)
    if before is not None:
        recorded = {**before.settings, "actions": pairs.record()}
        store.record_study(engine, store.Study(study_id, before.instrument,
                                               before.items_per_page, recorded))  # fmt: skip


def _check_actions(
    engine: Engine,
    settings: SurveySettings,
    name: str,
    was: dict[str, Any] | None,
    pairs: Pairs | None,
) -> list[str]:
    """Refuse a set in which a pair dealt to a participant in progress is gone or reworded
    since the study was last served; notes on a set that changed where nobody is affected."""
    now = pairs.record() if pairs is not None else None
    current: dict[str, str] = now["pairs"] if now else {}
    earlier: dict[str, str] = (was or {}).get("pairs") or {}
    gone: set[str] = set()
    reworded: set[str] = set()
    affected: set[int] = set()
    for participant, item in store.dealt_in_progress(engine, settings.study_id):
        key = pair_key(pairs.context(participant), item) if pairs is not None else f"|{item}"
        if key not in current:
            gone.add(key)
        elif key in earlier and earlier[key] != current[key]:
            reworded.add(key)
        else:
            continue
        affected.add(participant.id)
    serves = f"action set {settings.action_set!r}" if settings.action_set else "no action set"
    if affected:
        what = [f"{len(x)} {word}" for x, word in ((reworded, "reworded"), (gone, "gone")) if x]
        context, _, item = sorted(reworded or gone)[0].rpartition("|")
        example = f"item {item}" + (f" in {context}" if context else "")
        held = (
            f"that {serves} no longer holds as they were shown"
            if settings.action_set
            else "but this start serves no action set (--actions)"
        )
        raise SurveyConfigError(
            f"{name}: {len(affected)} participant(s) in progress were dealt pairs of actions "
            f"{held} ({', '.join(what)}; e.g. {example}); serve the study with the action set "
            "it was served with, or start a new study (--study-id)"
        )
    if was is None or now is None:
        return []
    if was.get("set") != now["set"]:
        return [f"{name}: now serves {serves} (it served {was.get('set')!r} before)"]
    if was.get("digest") == now["digest"]:
        return []
    added = len(set(current) - set(earlier))
    changed = sum(1 for k, d in earlier.items() if current.get(k, d) != d or k not in current)
    return [
        f"{name}: {serves} changed since it was last served ({added} pair(s) added, "
        f"{changed} reworded or gone); no participant in progress was dealt one that changed"
    ]


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
