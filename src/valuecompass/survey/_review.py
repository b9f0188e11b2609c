"""A review study's action set, read at start, and how a page shows one action.

After the statements, an annotator judges actions of the set on the four criteria of the
value–action study's authors. The actions dealt to them come from every context of the set
(in their own language, where the set has a language axis), so the page shows each action's
own context; the spans of the action that carry its item are marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Engine

from valuecompass.store import actions as action_store
from valuecompass.store import survey as store
from valuecompass.survey._choices import served_set
from valuecompass.survey._settings import SurveyConfigError, SurveySettings


@dataclass(frozen=True)
class ReviewSet:
    """The study's action set: its record, and the place of the language axis among its
    axes (``None`` without one)."""

    found: action_store.ActionSet
    language_at: int | None
    settings: SurveySettings

    def deal(self, participant: store.Participant) -> store.Deal:
        """What to deal PARTICIPANT: the settings' counts, in their language."""
        settings = self.settings
        keep = None
        if self.language_at is not None:
            keep = (self.language_at, participant.language or settings.instrument.language)
        return store.Deal(
            set_id=self.found.id,
            count=settings.actions_per_annotator,
            per_page=settings.reviews_per_page,
            per_action=settings.reviews_per_action,
            idle_seconds=settings.idle_minutes * 60,
            seed=participant.id,
            keep=keep,
        )


def load_review_set(settings: SurveySettings, engine: Engine) -> ReviewSet | None:
    """The review study's set (``None`` for another study). Refused in one line: a set the
    store lacks, a set of another instrument, a set without one action to review."""
    found = served_set(settings, engine, "review")
    if found is None:
        return None
    name, inst = found.name, settings.instrument
    table = action_store.set_actions(engine, found)
    if not (table["missing"] == "").any():
        raise SurveyConfigError(
            f"--actions {name}: the set holds no action to review (every place is kept "
            "missing); generate or import actions first"
        )
    language = inst.language_axis
    at = found.axes.index(language.id) if language and language.id in found.axes else None
    return ReviewSet(found, at, settings)


def marked(text: str, spans: Sequence[str]) -> Markup:
    """TEXT, escaped, with the first occurrence of each of SPANS wrapped in ``<mark>``
    (longer spans first; a span overlapping one marked already, or not in TEXT, is left)."""
    taken: list[tuple[int, int]] = []
    for span in sorted({s for s in spans if s.strip()}, key=len, reverse=True):
        start = text.find(span)
        while start >= 0 and any(start < e and start + len(span) > b for b, e in taken):
            start = text.find(span, start + 1)
        if start >= 0:
            taken.append((start, start + len(span)))
    out, at = [], 0
    for begin, end in sorted(taken):
        out.append(str(escape(text[at:begin])))
        out.append(f"<mark>{escape(text[begin:end])}</mark>")
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))
