"""Format 1 (deprecated): the Value Form's own shape, values, scenarios, countries and 3 scales.

These classes are the model of a format-1 file (``FormV1``), which the loader converts to
format 2, and of the deprecated view of a format 2 instrument of that shape that
``legacy_view`` (``_convert.py``) derives; the format 2 ``Instrument`` knows neither.

Every model forbids unknown fields, so a typo in a user's YAML file is an error that names the
field instead of a silently ignored key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from valuecompass.instrument._names import Named, UnknownNameError, find, spellings
from valuecompass.instrument._parts import Id


class MotivationalType(StrEnum):
    """Schwartz's ten motivational types, plus ``unassigned`` for the values his scoring key
    leaves out of every type index (inner harmony, self-respect, healthy, ...)."""

    POWER = "power"
    ACHIEVEMENT = "achievement"
    HEDONISM = "hedonism"
    STIMULATION = "stimulation"
    SELF_DIRECTION = "self_direction"
    UNIVERSALISM = "universalism"
    BENEVOLENCE = "benevolence"
    TRADITION = "tradition"
    CONFORMITY = "conformity"
    SECURITY = "security"
    UNASSIGNED = "unassigned"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Value(_Strict):
    """One value of the form."""

    id: Id = Field(description="Stable identifier, e.g. ``national_security``.")
    name: str = Field(min_length=1, description="Display name, e.g. ``National Security``.")
    definition: str = Field(min_length=1, description="Schwartz's short gloss of the value.")
    type: MotivationalType = Field(description="Schwartz motivational type, or ``unassigned``.")
    near: MotivationalType | None = Field(
        default=None,
        description="For unassigned values: the type it sits beside in displays (the released "
        "data groups its columns this way). Must be empty for assigned values.",
    )
    statement: str = Field(
        min_length=1, description="SVS-style statement a respondent agrees or disagrees with."
    )
    portrait: str = Field(
        min_length=1, description="PVQ-style portrait of a person (or AI) who holds the value."
    )
    aliases: tuple[str, ...] = Field(
        default=(), description="Other spellings met in data files, matched case-insensitively."
    )

    @model_validator(mode="after")
    def _near_only_when_unassigned(self) -> Value:
        if self.type is not MotivationalType.UNASSIGNED and self.near is not None:
            raise ValueError("'near' is only for values whose type is 'unassigned'")
        return self

    @property
    def display_type(self) -> MotivationalType:
        """The type a display groups the value under."""
        return self.near if self.near is not None else self.type


class Scenario(_Strict):
    """A vignette: a situation in which an AI system assists people."""

    id: Id
    name: str = Field(min_length=1, description="Short display name, e.g. ``Healthcare``.")
    user: str = Field(min_length=1, description="Who uses the AI system.")
    purpose: str = Field(min_length=1, description="What the AI system is used for.")
    scope: str = Field(
        min_length=1,
        description="Population axis: affects one person or many ('individual' or 'social'; "
        "a translation's own words in a translated instrument's view).",
    )
    stakes: str = Field(
        min_length=1, description="Stakes or risk axis ('low' or 'high'; translated likewise)."
    )
    vignette: str = Field(min_length=1, description="The text people and models read.")
    illustration: str | None = Field(
        default=None, description="File name of an SVG under the survey's static images."
    )
    aliases: tuple[str, ...] = ()


class Country(_Strict):
    id: Id
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class ScaleOption(_Strict):
    """One answer option of a rating scale."""

    code: str = Field(
        min_length=1,
        description="What a respondent picks or a model writes: ``-2``, ``3``, ``irrelevant``.",
    )
    label: str = Field(min_length=1)
    position: float | None = Field(
        description="Position on the common 1 (strongly agree) to 4 (strongly disagree) axis; "
        "empty for an option that means 'no rating' such as 'irrelevant'.",
    )
    aliases: tuple[str, ...] = Field(default=(), description="Other texts meaning this option.")


class Scale(_Strict):
    id: Id
    description: str = ""
    options: tuple[ScaleOption, ...] = Field(min_length=2)

    @field_validator("options")
    @classmethod
    def _unique_codes(cls, options: tuple[ScaleOption, ...]) -> tuple[ScaleOption, ...]:
        codes = [o.code for o in options]
        if len(set(codes)) != len(codes):
            raise ValueError(f"option codes repeat: {codes}")
        for o in options:
            if o.position is not None and not 1.0 <= o.position <= 4.0:
                raise ValueError(f"option {o.code} position {o.position} is outside 1..4")
        return options

    @cached_property
    def positions(self) -> dict[str, float | None]:
        """Option code → scale position (``None`` for an option such as "irrelevant")."""
        return {o.code: o.position for o in self.options}

    def position_of(self, code: str) -> float | None:
        """Scale position of an option code; ``KeyError`` for a code the scale lacks."""
        for o in self.options:
            if o.code == code:
                return o.position
        raise KeyError(code)


class Scales(_Strict):
    human: Scale = Field(description="People's scale: 2 strongly agree .. -2, plus irrelevant.")
    agreement: Scale = Field(description="The model's SVS options 1..4.")
    portrait: Scale = Field(description="The model's PVQ options 1..4.")

    def get(self, scale_id: str) -> Scale:
        """The scale called SCALE_ID (``human``, ``agreement`` or ``portrait``)."""
        if scale_id not in ("human", "agreement", "portrait"):
            raise UnknownNameError(f"unknown scale {scale_id!r}; valid: human, agreement, portrait")
        scale: Scale = getattr(self, scale_id)
        return scale


def _unique(items: Sequence[Named], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        key = item.id
        if key in seen:
            raise ValueError(f"{what} id {key!r} appears twice")
        seen.add(key)


class FormV1(_Strict):
    """A format-1 file: the whole Value Form in its old fixed shape (deprecated)."""

    name: str = "ValueCompass Value Form"
    version: str = "1"
    values: tuple[Value, ...] = Field(min_length=1)
    scenarios: tuple[Scenario, ...] = Field(min_length=1)
    countries: tuple[Country, ...] = Field(min_length=1)
    scales: Scales

    @model_validator(mode="after")
    def _ids_unique(self) -> FormV1:
        _unique(self.values, "value")
        _unique(self.scenarios, "scenario")
        _unique(self.countries, "country")
        return self

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the instrument's canonical JSON: identifies it in run manifests."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()

    @property
    def value_ids(self) -> list[str]:
        return [v.id for v in self.values]

    @cached_property
    def _index(self) -> dict[str, dict[str, int]]:
        """Spelling key → position, per kind (built once; the instrument is frozen)."""
        return {
            "value": spellings(self.values),
            "scenario": spellings(self.scenarios),
            "country": spellings(self.countries),
        }

    def value(self, key: str) -> Value:
        """Find a value by id, name or alias (case and punctuation ignored)."""
        return self.values[find(self._index["value"], self.values, key, "value")]

    def scenario(self, key: str) -> Scenario:
        return self.scenarios[find(self._index["scenario"], self.scenarios, key, "scenario")]

    def country(self, key: str) -> Country:
        return self.countries[find(self._index["country"], self.countries, key, "country")]
