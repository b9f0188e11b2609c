"""Format 2 building blocks: items, groupings, rating scales, roles and context axes.

Every model forbids unknown fields and is frozen. Cross-references between parts (an item's
group level, a role's scale, a circle's levels) are checked by ``Instrument``.
"""

from __future__ import annotations

import itertools
import re
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from valuecompass.instrument._names import UnknownNameError, find, norm, spellings

#: The one rule for every id an instrument gives (its own, items, wordings, groupings and
#: their levels, scales, axes and their levels): a slug of lowercase letters, digits, ``_``
#: and ``-``, starting with a letter or digit, at most :data:`ID_MAX` characters (the stores'
#: columns hold 64 on PostgreSQL as on SQLite). Ids go into CSV columns, JSON keys, URLs and
#: stored rows, so nothing else is allowed (no ``;``, ``=``, ``/``, ``.``, spaces, controls).
ID = r"^[a-z0-9][a-z0-9_-]*$"
ID_MAX = 64
_ID = re.compile(ID)
ID_RULE = (
    f"an id is 1 to {ID_MAX} characters: lowercase letters, digits, '_' and '-', "
    "starting with a letter or digit"
)


def check_id(value: str) -> str:
    """VALUE if it is an id by the one rule (:data:`ID_RULE`); else a ValueError naming it."""
    if len(value) > ID_MAX:
        raise ValueError(f"id {value[:ID_MAX]!r}... is {len(value)} characters; {ID_RULE}")
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} is not an id; {ID_RULE}")
    return value


#: A field that holds an id: checked by :func:`check_id` when an instrument loads.
Id = Annotated[str, AfterValidator(check_id)]

#: The agree/disagree threshold on the normalised [0, 1] axis: a rating agrees when its
#: normalised position is below it; a point at exactly 0.5 (a neutral middle) counts as disagree.
THRESHOLD = 0.5


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(Strict):
    """One thing rated: a value, a foundation, ..."""

    id: Id = Field(description="Stable identifier, e.g. ``national_security``.")
    name: str = Field(min_length=1, description="Display name.")
    definition: str = Field(default="", description="Short gloss (a theory's definition).")
    wordings: dict[Id, str] = Field(
        min_length=1, description="Wording id (``svs``, ``pvq``, ...) → the text asked."
    )
    groups: dict[Id, Id] = Field(
        default_factory=dict, description="Grouping id → the level this item belongs to."
    )
    aliases: tuple[str, ...] = Field(default=(), description="Other spellings in data files.")


class Level(Strict):
    """One level of a grouping (a motivational type, a foundation, ...)."""

    id: Id
    name: str = Field(min_length=1)


class Grouping(Strict):
    """A scheme that puts every item in exactly one level (members come from ``Item.groups``)."""

    id: Id
    name: str = Field(min_length=1)
    description: str = ""
    levels: tuple[Level, ...] = Field(min_length=1)
    circle: tuple[str, ...] | None = Field(
        default=None, description="Optional: the theory's circular order of (some) level ids."
    )

    @property
    def level_ids(self) -> list[str]:
        return [level.id for level in self.levels]


class Point(Strict):
    """One rating point of a scale."""

    code: str = Field(min_length=1, description="What a respondent picks or a model writes.")
    label: str = Field(min_length=1)
    position: float | None = Field(
        default=None, description="Raw position; defaults to 1, 2, ..., n in listed order."
    )
    neutral: bool = Field(default=False, description="The scale's neutral middle point.")
    aliases: tuple[str, ...] = ()


class MissingCode(Strict):
    """A non-rating answer such as "irrelevant" or "don't know": no position, no score."""

    code: str = Field(min_length=1)
    label: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class RatingScale(Strict):
    """A rating scale of any length; normalisation, threshold and support derive from it.

    ``normalised(p) = (p - pos(agree end)) / (pos(other end) - pos(agree end))``: 0 is the
    agree ("like me") end, 1 the other. A rating agrees when normalised < ``THRESHOLD`` (0.5);
    a point at exactly 0.5 counts as disagree (so a neutral middle point is a disagreement).
    """

    id: Id
    description: str = ""
    agree: Literal["first", "last"] = Field(description="Which listed end means agree / like me.")
    points: tuple[Point, ...] = Field(min_length=2)
    missing: tuple[MissingCode, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> RatingScale:
        codes = [p.code for p in self.points] + [m.code for m in self.missing]
        if len(set(codes)) != len(codes):
            raise ValueError(f"codes repeat: {codes}")
        pos = self.positions
        steps = [b - a for a, b in itertools.pairwise(pos)]
        if not (all(s > 0 for s in steps) or all(s < 0 for s in steps)):
            raise ValueError(f"positions must run strictly one way in listed order, got {pos}")
        return self

    @cached_property
    def positions(self) -> tuple[float, ...]:
        """Each point's raw position, in listed order (1, 2, ..., n where omitted)."""
        return tuple(
            float(i + 1) if p.position is None else p.position for i, p in enumerate(self.points)
        )

    @cached_property
    def _ends(self) -> tuple[float, float]:
        first, last = self.positions[0], self.positions[-1]
        return (first, last) if self.agree == "first" else (last, first)

    def normalise(self, position: float) -> float:
        """A raw position mapped to [0, 1], 0 = the agree end (linear between the two ends)."""
        agree, other = self._ends
        return (position - agree) / (other - agree) + 0.0  # + 0.0: no -0.0 at the agree end

    @cached_property
    def normalised(self) -> dict[str, float]:
        """Rating code → normalised position (missing codes are absent)."""
        return {p.code: self.normalise(x) for p, x in zip(self.points, self.positions, strict=True)}

    @cached_property
    def support(self) -> tuple[float, ...]:
        """The normalised positions a rating can take, ascending (the distribution support)."""
        return tuple(sorted(self.normalised.values()))

    @cached_property
    def raw_support(self) -> tuple[float, ...]:
        """The raw positions a rating can take, ascending (Value Form human: 1, 2, 2.5, 3, 4)."""
        return tuple(sorted(self.positions))

    @property
    def codes(self) -> list[str]:
        """Rating codes in listed order."""
        return [p.code for p in self.points]

    @property
    def missing_codes(self) -> list[str]:
        return [m.code for m in self.missing]

    def agrees(self, code: str) -> bool | None:
        """Whether the answer CODE agrees (normalised < 0.5); ``None`` for a missing code."""
        value = self.normalised_of(code)
        return None if value is None else value < THRESHOLD

    def normalised_of(self, code: str) -> float | None:
        """Normalised position of CODE (code or alias); ``None`` for a missing code."""
        found = self.code_of(code)
        return self.normalised.get(found)

    def code_of(self, text: str) -> str:
        """The code that TEXT (a code, label or alias) names; ``UnknownNameError`` otherwise."""
        entries: tuple[Point | MissingCode, ...] = (*self.points, *self.missing)
        for entry in entries:
            if text.strip() == entry.code:
                return entry.code
        key = norm(text)
        for entry in entries:
            if key and key in {norm(s) for s in (entry.label, *entry.aliases)}:
                return entry.code
        raise UnknownNameError(f"unknown answer {text!r} on scale {self.id!r}; valid: {self.codes}")


class Roles(Strict):
    """Which scale each side uses."""

    people: str = Field(description="The scale people answer on (the survey's scale).")
    wordings: dict[Id, Id] = Field(
        min_length=1, description="Wording id → the scale a model answers that wording on."
    )


class AxisLevel(Strict):
    """One level of a context axis (a country, a scenario, a language)."""

    id: Id = Field(description="Identifier (a language axis uses language codes).")
    name: str = Field(min_length=1)
    text: str | None = Field(default=None, description="What prompts and survey pages show.")
    fields: dict[str, str] = Field(
        default_factory=dict, description="Further named texts (``user``, ``purpose``, ...)."
    )
    illustration: str | None = Field(default=None, description="An image file name.")
    aliases: tuple[str, ...] = ()


class Axis(Strict):
    """A context axis; a context is one level of each axis."""

    id: Id
    name: str = Field(min_length=1)
    role: Literal["context", "language"] = Field(
        default="context", description="``language``: levels are language codes (overlays)."
    )
    levels: tuple[AxisLevel, ...] = Field(min_length=1)

    @property
    def level_ids(self) -> list[str]:
        return [level.id for level in self.levels]

    @cached_property
    def _spellings(self) -> dict[str, int]:
        return spellings(self.levels)

    def level(self, key: str) -> AxisLevel:
        """The level whose id, name or alias matches KEY (case and punctuation ignored)."""
        return self.levels[find(self._spellings, self.levels, key, self.id)]
