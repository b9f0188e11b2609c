"""The instrument (format 2): one description that carries its own shape.

``Instrument`` holds items, groupings, scales, roles and context axes. It knows nothing of the
Value Form's old fixed shape (format 1): that view, and the run digest that depends on it, are
functions of the converter (``legacy_view`` and ``instrument_digest`` in ``_convert.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from functools import cached_property
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, model_validator

from valuecompass.instrument._names import UnknownNameError, find, spellings
from valuecompass.instrument._parts import (
    Axis,
    AxisLevel,
    Grouping,
    Id,
    Item,
    RatingScale,
    Roles,
    Strict,
)
from valuecompass.instrument._refs import problems

Loc = tuple[str | int, ...]


class Instrument(Strict):
    """A whole instrument in format 2 (see docs in instrument/__init__.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    format: Literal[2] = 2
    id: Id = Field(description="Registry id, e.g. ``value_form``.")
    title: str = Field(min_length=1)
    version: str = "1"
    item_noun: str = Field(default="item", description="What an item is called (``value``).")
    language: str = Field(default="en", description="The language the texts are written in.")
    translations: str | None = Field(
        default=None, description="Whose overlays translate it (default: its own id)."
    )
    items: tuple[Item, ...] = Field(min_length=1)
    groupings: tuple[Grouping, ...] = ()
    rating_scales: tuple[RatingScale, ...] = Field(
        min_length=1, alias="scales", description="The scales (``scales:`` in files)."
    )
    roles: Roles
    axes: tuple[Axis, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Instrument:
        if info.context and info.context.get("defer_references"):
            return self
        found = problems(self)
        if found:
            raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in found))
        return self

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    @cached_property
    def _item_keys(self) -> dict[str, int]:
        return spellings(self.items)

    def item(self, key: str) -> Item:
        """The item whose id, name or alias matches KEY (case and punctuation ignored)."""
        return self.items[find(self._item_keys, self.items, key, self.item_noun)]

    def grouping(self, grouping_id: str) -> Grouping:
        found: Grouping = _by_id(self.groupings, grouping_id, "grouping")
        return found

    def scale(self, scale_id: str) -> RatingScale:
        found: RatingScale = _by_id(self.rating_scales, scale_id, "scale")
        return found

    def axis(self, axis_id: str) -> Axis:
        found: Axis = _by_id(self.axes, axis_id, "axis")
        return found

    def level(self, axis_id: str, key: str) -> AxisLevel:
        """A level of axis AXIS_ID by id, name or alias."""
        return self.axis(axis_id).level(key)

    @property
    def people_scale(self) -> RatingScale:
        """The scale people answer on (``roles.people``)."""
        return self.scale(self.roles.people)

    def scale_for(self, wording: str) -> RatingScale:
        """The scale a model answers WORDING on (``roles.wordings``)."""
        if wording not in self.roles.wordings:
            valid = ", ".join(self.roles.wordings)
            raise UnknownNameError(f"unknown wording {wording!r}; valid: {valid}")
        return self.scale(self.roles.wordings[wording])

    @property
    def wording_ids(self) -> list[str]:
        return list(self.roles.wordings)

    @property
    def context_axes(self) -> tuple[Axis, ...]:
        """The axes that are not the language axis."""
        return tuple(a for a in self.axes if a.role == "context")

    @property
    def language_axis(self) -> Axis | None:
        return next((a for a in self.axes if a.role == "language"), None)

    def members(self, grouping_id: str) -> dict[str, list[str]]:
        """Level id → the ids of its items, in the grouping's level order."""
        grouping = self.grouping(grouping_id)
        out: dict[str, list[str]] = {level.id: [] for level in grouping.levels}
        for item in self.items:
            out[item.groups[grouping_id]].append(item.id)
        return out

    def group_of(self, grouping_id: str) -> dict[str, str]:
        """Item id → its level in GROUPING_ID."""
        self.grouping(grouping_id)
        return {item.id: item.groups[grouping_id] for item in self.items}

    def contexts(self) -> Iterator[dict[str, str]]:
        """Every context: one level id of each axis (axis id → level id), in axis order."""
        ids = [a.id for a in self.axes]
        for combo in itertools.product(*(a.level_ids for a in self.axes)):
            yield dict(zip(ids, combo, strict=True))

    def to_data(self) -> dict[str, Any]:
        """The instrument as plain data in the file's shape (``scales`` key), for JSON/YAML."""
        return self.model_dump(mode="json", by_alias=True)

    @cached_property
    def spec_digest(self) -> str:
        """SHA-256 of the format 2 canonical JSON."""
        payload = json.dumps(self.to_data(), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


def _by_id(entries: tuple[Any, ...], key: str, what: str) -> Any:
    for entry in entries:
        if entry.id == key:
            return entry
    valid = ", ".join(e.id for e in entries)
    raise UnknownNameError(f"unknown {what} {key!r}; valid: {valid}")
