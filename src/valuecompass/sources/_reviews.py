"""Reviews of actions from files: a tidy reviews CSV a person writes, or the value–action
study's rated sample.

A tidy reviews file has a column per context axis of the instrument (its id; ``topic`` is read
for ``scenario``), ``value`` (the item's id, name or alias), ``inclination`` (``expresses`` or
``opposes``; ``positive`` and ``negative`` are read too), ``reviewer`` and the four criteria
``intended``, ``harmless``, ``sufficient`` and ``plausible`` (``yes``/``no``, ``1``/``0`` or
``true``/``false``; empty where not judged); and may have ``comment`` and ``source``
(``hand`` if absent; ``survey`` or ``import``). Its reviews are of the actions of an action set
already in the store. Refused with file, line and column, so that nothing of a refused file is
stored: a place the instrument cannot place, or that the set holds no action for; a judgement
that is not yes or no; a row that judges nothing; the same action reviewed twice by one
reviewer; an empty reviewer; an unknown column.

The study's rated sample (``human_annotation_value_actions_evaluation_gpt_4o_mini.csv``) rates
8 generated actions per place (``generation_prompt_id_0`` … ``_7``, one per generation
variant): per variant K a 0/1 rating of the action (``ACT``, ``ACT.K``), of its spans
(``ATTR``) and of its explanation (``EXP``). Its actions are not those of the released set (it
is another model's), so it imports as 8 action sets, ``SET-v0`` … ``SET-v7``, each with the
file's actions of that variant and their reviews. The mapping onto the four criteria:
``ACT`` (does the action reflect the value with the intended polarity) is ``intended``; the
file has no judgement of harmlessness, sufficiency or plausibility, so those stay not judged;
``ATTR`` and ``EXP`` judge the spans and the explanation, no criterion of ours, and are kept in
the review's ``source_detail`` (``spans``, ``explanation``). The file does not say who rated;
each rating is one review by the reviewer ``authors`` (``--reviewer`` gives another id). A
variant with none of its three ratings has no review. Rows without a place (blank rows and the
sheet's column means) are not annotations: skipped and counted. A rating other than 0 or 1 in
a row with a place is refused with its line and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuecompass.common import read_rows
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.sources._actions import INCLINATION_WORDS, ActionFileError, _inclination
from valuecompass.sources._actions_release import (
    ACTION_KEY,
    EXPLANATION_KEY,
    SPANS_KEY,
    _spans,
    read_reply,
)
from valuecompass.sources._gap_release import Places, axis_columns, require
from valuecompass.store import actions as action_store
from valuecompass.store import reviews as store

if TYPE_CHECKING:
    from sqlalchemy import Engine

YES = {"yes": True, "y": True, "1": True, "1.0": True, "true": True,
       "no": False, "n": False, "0": False, "0.0": False, "false": False}  # fmt: skip
REQUIRED = ("value", "inclination", "reviewer", *store.CRITERIA)
OPTIONAL = ("comment", "source")
#: The rated sample's generation variants, and its columns per variant (variant 0 has no
#: suffix): the action's text, then its ratings (action, spans, explanation).
VARIANTS = tuple(range(8))
RATED_PLACE = ("country", "topic", "value", "polarity")
#: The authors' rating columns → where each goes: a criterion, or a key of the detail.
RATINGS = {"ACT": "intended", "ATTR": "spans", "EXP": "explanation"}
#: The reviewer id the rated sample's ratings are stored under.
AUTHORS = "authors"


class ReviewFileError(ActionFileError):
    """A reviews file that cannot be imported as it stands."""


@dataclass(frozen=True)
class ReviewImport:
    """What an import stored: per action set, how many actions and reviews were new; and how
    many rows of the file were skipped (the rated sample's rows without a place)."""

    sets: list[tuple[str, int, int]]
    skipped: int = 0

    def text(self) -> str:
        """One line for the terminal."""
        actions = sum(a for _, a, _ in self.sets)
        reviews = sum(r for _, _, r in self.sets)
        names = ", ".join(n for n, _, _ in self.sets)
        skipped = f"; {self.skipped} rows without a place skipped" if self.skipped else ""
        made = f"{actions} actions and " if len(self.sets) > 1 or actions else ""
        return f"action set(s) {names}: {made}{reviews} reviews added{skipped}"


def is_rated_sample(header: list[str]) -> bool:
    """Whether a CSV header is the study's rated sample's (``generation_prompt_id_0``, ``ACT``)."""
    return "generation_prompt_id_0" in header and "ACT" in header


def _column(name: str, variant: int) -> str:
    return name if variant == 0 else f"{name}.{variant}"


def read_review_file(
    path: Path, instrument: Instrument, axes: list[str], held: dict[action_store.Place, Any]
) -> list[dict[str, Any]]:
    """The reviews of a tidy reviews file at PATH, checked against the set's actions HELD (its
    places and missing reasons, :func:`valuecompass.store.actions.stored_places`)."""
    rows = read_rows(path, ReviewFileError)
    require(path, rows.header, REQUIRED, "a reviews file")
    columns = axis_columns(path, rows.header, instrument)
    unknown = [c for c in rows.header if c not in {*columns.values(), *REQUIRED, *OPTIONAL}]
    if unknown:
        known = ", ".join([*columns, *REQUIRED, *OPTIONAL])
        raise ReviewFileError(f"{path} line 1: unknown column(s) {', '.join(map(repr, unknown))}"
                              f" (a reviews file has: {known})")  # fmt: skip
    places = Places(instrument, columns)
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for line, row in rows:
        where = f"{path} line {line}"
        context = places.context(row, where)
        item = places.item(row, where)
        inclination = _inclination(row["inclination"], where)
        pairs = list(zip(columns, context, strict=True))
        place = action_store.place_of(pairs, item, inclination)
        shown = "/".join((*context, item)) + f" ({inclination})"
        if place not in held or held[place].missing is not None:
            why = "" if place not in held else f" (kept missing: {held[place].missing})"
            raise ReviewFileError(f"{where}, column 'value': the set has no action for "
                                  f"{shown}{why}")  # fmt: skip
        reviewer = row["reviewer"].strip()
        if not reviewer or len(reviewer) > 64:
            raise ReviewFileError(f"{where}, column 'reviewer': give the reviewer's id (1 to 64 "
                                  "characters)")  # fmt: skip
        key = (*place, reviewer)
        if key in seen:
            raise ReviewFileError(f"{where}, column 'reviewer': {reviewer!r} reviews {shown} "
                                  f"a second time (the first is on line {seen[key]})")  # fmt: skip
        seen[key] = line
        marks = {c: _mark(row[c], where, c) for c in store.CRITERIA}
        comment = row.get("comment", "").strip() or None
        if all(v is None for v in marks.values()) and comment is None:
            raise ReviewFileError(f"{where}, column 'intended': the row judges nothing (give yes "
                                  "or no for a criterion, or a comment)")  # fmt: skip
        source = row.get("source", "").strip() or "hand"
        if source not in store.SOURCES:
            raise ReviewFileError(f"{where}, column 'source': {source!r} is not one of "
                                  f"{', '.join(store.SOURCES)}")  # fmt: skip
        out.append({"context": pairs, "item": item, "inclination": inclination,
                    "reviewer": reviewer, **marks, "comment": comment, "source": source,
                    "source_detail": {"file": str(path), "line": line}})  # fmt: skip
    return out


def _mark(text: str, where: str, column: str) -> bool | None:
    key = text.strip().lower()
    if not key:
        return None
    if key not in YES:
        raise ReviewFileError(f"{where}, column {column!r}: {text!r} is not yes or no (or 1, 0, "
                              "true, false; empty where not judged)")  # fmt: skip
    return YES[key]


def read_rated_sample(
    path: Path, name: str, instrument: Instrument, reviewer: str = AUTHORS
) -> tuple[list[store.Reviewed], int]:
    """The rated sample at PATH as 8 action sets ``NAME-v0`` … ``NAME-v7`` with their reviews
    (see the module), and how many rows without a place were skipped."""
    rows = read_rows(path, ReviewFileError)
    wanted = [*RATED_PLACE]
    for v in VARIANTS:
        wanted += [f"generation_prompt_id_{v}", *(_column(c, v) for c in RATINGS)]
    require(path, rows.header, tuple(wanted), "the study's rated sample")
    columns = axis_columns(path, rows.header, instrument)
    places = Places(instrument, columns)
    digest, axes = instrument_digest(instrument), list(columns)
    parts = {v: store.Reviewed(f"{name}-v{v}", instrument.id, digest, axes, [], [])
             for v in VARIANTS}  # fmt: skip
    skipped = 0
    for line, row in rows:
        if not any(row[c].strip() for c in RATED_PLACE):
            skipped += 1
            continue
        where = f"{path} line {line}"
        context = places.context(row, where)
        item = places.item(row, where)
        polarity = row["polarity"].strip().lower()
        if polarity not in INCLINATION_WORDS:
            raise ReviewFileError(f"{where}, column 'polarity': {row['polarity']!r} is not one "
                                  f"of {', '.join(INCLINATION_WORDS)}")  # fmt: skip
        inclination = INCLINATION_WORDS[polarity]
        pairs = list(zip(columns, context, strict=True))
        for v in VARIANTS:
            text_column = f"generation_prompt_id_{v}"
            action = _action(row[text_column], path, line, text_column)
            rated = {RATINGS[c]: _rating(row[_column(c, v)], where, _column(c, v))
                     for c in RATINGS}  # fmt: skip
            parts[v].actions.append({"context": pairs, "item": item, "inclination": inclination,
                                     **action})  # fmt: skip
            if all(r is None for r in rated.values()):
                continue
            if action["missing"]:
                raise ReviewFileError(f"{where}, column {text_column!r}: a rated reply with no "
                                      "action in it")  # fmt: skip
            kept = {k: int(bool(rated[k])) for k in ("spans", "explanation")
                    if rated[k] is not None}  # fmt: skip
            columns_used = {RATINGS[c]: _column(c, v) for c in RATINGS}
            parts[v].reviews.append({
                "context": pairs, "item": item, "inclination": inclination,
                "reviewer": reviewer, "intended": rated["intended"], "harmless": None,
                "sufficient": None, "plausible": None, "comment": None, "source": "import",
                "source_detail": {"file": str(path), "line": line, "variant": v,
                                  "columns": columns_used, **kept},
            })  # fmt: skip
    return [parts[v] for v in VARIANTS], skipped


def _rating(text: str, where: str, column: str) -> bool | None:
    key = text.strip()
    if not key:
        return None
    if key not in ("0", "1", "0.0", "1.0"):
        raise ReviewFileError(f"{where}, column {column!r}: {text!r} is not a rating (0 or 1)")
    return key.startswith("1")


def _action(reply: str, path: Path, line: int, column: str) -> dict[str, Any]:
    """A reply of the rated sample as an action's fields (as the released set is read)."""
    data = read_reply(reply)
    action = str(data.get(ACTION_KEY) or "").strip()
    missing = "no_json" if not data else "" if action else "no_action"
    detail: dict[str, Any] = {"file": str(path), "line": line, "column": column}
    if missing:
        detail["reply"] = reply
    return {"text": action, "spans": _spans(data.get(SPANS_KEY)),
            "explanation": str(data.get(EXPLANATION_KEY) or "").strip(), "source": "imported",
            "source_detail": detail, "missing": missing or None}  # fmt: skip


def import_reviews(
    engine: Engine | Callable[[], Engine],
    path: Path,
    name: str,
    instrument: Instrument,
    reviewer: str = AUTHORS,
) -> ReviewImport:
    """Read PATH and store its reviews of the set NAME, all or nothing (see the module).

    A tidy file's set must be in the store, of INSTRUMENT; the rated sample makes its 8 sets.
    ENGINE may be a function that opens the store, called once the file has been read (for
    the rated sample) or once the set is needed (a tidy file).
    """
    rows = read_rows(path, ReviewFileError)
    if is_rated_sample(rows.header):
        parts, skipped = read_rated_sample(path, name, instrument, reviewer)
        opened = engine() if callable(engine) else engine
        done = store.save_reviewed(opened, parts)
        return ReviewImport([(s.name, a, r) for s, a, r in done], skipped)
    opened = engine() if callable(engine) else engine
    found = action_store.get_set(opened, name)
    if found is None:
        known = ", ".join(s.name for s in action_store.list_sets(opened)) or "none"
        raise ReviewFileError(f"{path}: the store has no action set {name!r} to review (sets: "
                              f"{known})")  # fmt: skip
    if found.instrument_digest != instrument_digest(instrument):
        raise ReviewFileError(
            f"{path}: the set {name!r} holds actions of instrument {found.instrument!r} (digest "
            f"{found.instrument_digest[:12]}), not of {instrument.id!r}: give --instrument"
        )
    held = action_store.stored_places(opened, found.id)
    reviews = read_review_file(path, instrument, found.axes, held)
    return ReviewImport([(found.name, 0, store.add_reviews(opened, found.id, reviews))])
