"""A choice study's pairs of actions: read from the action set at start, dealt to participants.

After the statements, a participant chooses between the two actions of items of their context
(their level of every axis: the asked one, the assigned ones and, where the set has one, the
language). Only pairs with both actions are dealt. The order of a pair is the choice task's
``given`` order (:func:`valuecompass.prompts.given_order`, half of the pairs expressing first),
reversed for every other quota place of a cell, so that within a cell each pair is shown both
ways.

What a participant is shown is checked against the set as the store holds it when they choose:
each page carries a digest of the texts it showed (:func:`page_digest`), and the study records
the set's digest and one per pair (:func:`Pairs.record`) each time it is served, so a set that
changed while the study ran is noticed (see :mod:`._study` and :mod:`._routes_choice`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from valuecompass.answers import INCLINATIONS, Inclination
from valuecompass.prompts import given_order
from valuecompass.store import actions as action_store
from valuecompass.store import survey as store
from valuecompass.survey._form import split_pages
from valuecompass.survey._settings import SurveyConfigError, SurveySettings

Context = tuple[tuple[str, str], ...]
Texts = dict[Inclination, str]


@dataclass(frozen=True)
class Pairs:
    """The study's action set: per context (its (axis, level) pairs in the set's axis order),
    per item, the text of each inclination's action."""

    name: str
    axes: tuple[str, ...]
    held: Mapping[Context, Mapping[str, Texts]]
    settings: SurveySettings
    found: action_store.ActionSet | None = None  # the set's record (``None``: gone)
    digest: str = ""  # of the whole set's content, as read

    def record(self) -> dict[str, Any]:
        """What the study records of the set it serves: its name, its digest, and the digest
        of each whole pair's texts by :func:`pair_key`."""
        digests = {
            pair_key(context, item): pair_digest(texts)
            for context, items in self.held.items()
            for item, texts in items.items()
        }
        return {"set": self.name, "digest": self.digest, "pairs": digests}

    def now_shown(
        self, engine: Engine, participant: store.Participant, items: Sequence[str]
    ) -> dict[str, Texts]:
        """Item → its two actions as the store holds them now, for ITEMS in the participant's
        context (an item whose pair is no longer whole is left out)."""
        if self.found is None or not items:
            return {}
        stored = action_store.texts_at(engine, self.found, self.context(participant), items)
        now: dict[str, Texts] = {}
        for item in items:
            texts = {inc: stored[(item, inc)] for inc in INCLINATIONS if (item, inc) in stored}
            if len(texts) == 2:
                now[item] = texts
        return now

    def context(self, participant: store.Participant) -> Context:
        """The participant's context as the set keys it."""
        settings = self.settings
        levels = dict(store.context_pairs(participant.context))
        levels[settings.asked_axis] = participant.country or ""
        levels[settings.scenario_axis] = participant.scenario or ""
        language = settings.instrument.language_axis
        if language is not None:
            levels[language.id] = participant.language or settings.instrument.language
        return tuple((a, levels.get(a, "")) for a in self.axes)

    def of(self, participant: store.Participant) -> Mapping[str, Texts]:
        """Item → its two actions, for the participant's context (none: no pair)."""
        return self.held.get(self.context(participant), {})

    def deal(self, participant: store.Participant, slot: int | None) -> list[store.Dealt]:
        """The pairs to show the participant: the items they rated, in the order shown, whose
        pair the set holds (the first ``choice_items`` of them, when set), cut into pages; the
        order of each is the given one, reversed where SLOT is odd."""
        held = self.of(participant)
        items = [i for i in participant.item_order if i in held]
        if self.settings.choice_items:
            items = items[: self.settings.choice_items]
        context = self.context(participant)
        order = tuple((a.id, dict(context)[a.id]) for a in self.settings.instrument.axes
                      if a.id in dict(context))  # fmt: skip
        flip = (slot or 0) % 2 == 1
        dealt, seq = [], 0
        for page, chunk in enumerate(split_pages(items, self.settings.choices_per_page), 1):
            for item in chunk:
                first, second = given_order(order, item)
                seq += 1
                dealt.append(store.Dealt(item, seq, page, second if flip else first))
        return [] if not items else dealt


def pair_key(context: Context, item: str) -> str:
    """A pair's key in a study's record: its context's ``axis=level`` pairs, then its item."""
    return ";".join(f"{a}={lv}" for a, lv in context) + "|" + item


def pair_digest(texts: Mapping[Inclination, str]) -> str:
    """A short digest of a pair's two texts (the expressing one, then the opposing one)."""
    words = json.dumps([texts.get("expresses"), texts.get("opposes")], ensure_ascii=False)
    return hashlib.sha256(words.encode()).hexdigest()[:16]


def page_digest(shown: Sequence[tuple[str, str, str]]) -> str:
    """The digest of a choice page as shown: (item, first text, second text) in order."""
    words = json.dumps([list(s) for s in shown], ensure_ascii=False)
    return hashlib.sha256(words.encode()).hexdigest()


def served_set(
    settings: SurveySettings, engine: Engine, kind: str
) -> action_store.ActionSet | None:
    """The action set a study of KIND serves (``None`` for a study of another kind or without
    one). Refused in one line: a set the store lacks, a set of another instrument."""
    name = settings.action_set
    if name is None or settings.kind != kind:
        return None
    found = action_store.get_set(engine, name)
    if found is None:
        known = ", ".join(s.name for s in action_store.list_sets(engine)) or "none"
        raise SurveyConfigError(
            f"--actions {name}: no action set of that name in the study's store; sets there: "
            f"{known} (valuecompass actions import or actions generate makes one)"
        )
    inst = settings.instrument
    if found.instrument != inst.id:
        raise SurveyConfigError(
            f"--actions {name}: the set holds actions of instrument {found.instrument!r}, the "
            f"survey serves {inst.id!r}; give --instrument {found.instrument} or another set"
        )
    return found


def load_pairs(settings: SurveySettings, engine: Engine) -> Pairs | None:
    """The pairs of the study's action set (``None`` for a study without one). Refused in one
    line: a set the store lacks, a set of another instrument, a set with no whole pair in the
    contexts the study assigns."""
    found = served_set(settings, engine, "choice")
    if found is None:
        return None
    name = found.name
    pairs = read_pairs(engine, settings, found)
    if not _any_assigned(pairs, settings):
        raise SurveyConfigError(
            f"--actions {name}: the set has no item with both actions (expresses and opposes) "
            "in the contexts this study assigns; generate or import them, or assign other "
            "levels"
        )
    return pairs


def read_pairs(
    engine: Engine, settings: SurveySettings, found: action_store.ActionSet | None = None
) -> Pairs:
    """The whole pairs of the study's set as the store holds them now (none where the store
    no longer holds the set)."""
    name = settings.action_set or ""
    found = found or action_store.get_set(engine, name)
    if found is None:
        return Pairs(name, (), {}, settings)
    table = action_store.set_actions(engine, found)
    held: dict[Context, dict[str, Texts]] = {}
    for row in table[table["missing"] == ""].to_dict("records"):
        context = tuple((a, str(row[a])) for a in found.axes)
        inclination: Inclination = "opposes" if row["inclination"] == "opposes" else "expresses"
        held.setdefault(context, {}).setdefault(str(row["value"]), {})[inclination] = str(
            row["action"]
        )
    whole = {
        c: {i: t for i, t in items.items() if len(t) == 2} for c, items in held.items()
    }  # fmt: skip
    content = sorted(
        json.dumps([[row[a] for a in found.axes], row["value"], row["inclination"],
                    row["action"], row["missing"]], ensure_ascii=False)
        for row in table.to_dict("records")
    )  # fmt: skip
    digest = hashlib.sha256("\n".join(content).encode()).hexdigest()
    held_whole = {c: i for c, i in whole.items() if i}
    return Pairs(name, tuple(found.axes), held_whole, settings, found, digest)


def _any_assigned(pairs: Pairs, settings: SurveySettings) -> bool:
    """Whether any context the study can assign (with any asked level) has a whole pair."""
    scenarios = set(settings.scenario_ids)
    further = {store.context_key(store.context_pairs(c)) for c in settings.contexts}
    for context in pairs.held:
        levels = dict(context)
        rest = [(a, levels.get(a, "")) for a in settings.further_axes]
        if levels.get(settings.scenario_axis) in scenarios and store.context_key(rest) in further:
            return True
    return False


def pages_of(dealt: list[store.Dealt]) -> int:
    """How many choice pages the dealt pairs fill."""
    return max((d.page for d in dealt), default=0)


def first_open_page(dealt: list[store.Dealt]) -> int:
    """The first page with a pair not chosen yet (past the last page when all are chosen)."""
    open_pages = [d.page for d in dealt if d.inclination is None]
    return min(open_pages) if open_pages else pages_of(dealt) + 1
