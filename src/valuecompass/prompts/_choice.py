"""Choice designs as data: how a model is asked to pick one of an item's two actions in a
context (``valuecompass run --task choice --prompts NAME``).

A design's variants each pick one level of three factors: the question's wording
(``wordings``), the order the two actions are shown in (``given`` or ``reversed``) and the
answer's format (``formats``); the user message is the design's ``layout`` filled with them.

The order is never fixed by the actions' inclinations. The ``given`` order of a pair is drawn
from a hash of its context and item (:func:`given_order`), so half of a grid's pairs show the
expressing action first and half the opposing one; ``reversed`` shows the other order. A design
with both orders asks every pair both ways; one order alone is still balanced over the pairs.

A format either asks for the option's number alone (``json: false``: the reply is scored by the
options' probabilities where the backend gives them) or for a JSON object whose ``action`` is
``Option 1`` or ``Option 2`` (``json: true``; with ``explanation: true`` an explanation too),
held to a JSON schema where the backend can constrain its output.

Placeholders every text may use:

* the context's (see :mod:`valuecompass.prompts._context`): ``{AXIS}`` (the level's name),
  ``{AXIS_text}``, ``{AXIS_FIELD}``, ``{vignette}``; and ``{context}``: every axis as "Axis
  name: level name", joined by "; ";
* the item's: ``{name}``, ``{definition}``, its wordings; ``{item_noun}``;
* the options': ``{option_1}`` and ``{option_2}`` (the actions' texts as shown), and the reply's
  keys ``{action_key}`` and ``{explanation_key}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.instrument import Instrument
from valuecompass.prompts._context import context_fields, item_fields
from valuecompass.prompts._generation import Inclination, _text, context_phrase
from valuecompass.prompts._load import PromptError
from valuecompass.prompts._models import UnknownVariantError
from valuecompass.prompts._render import fill

#: The bundled choice designs by name (``--prompts NAME`` with ``--task choice``).
BUNDLED_CHOICE_DESIGNS: dict[str, str] = {
    "default": "choice_default.yaml",
    "paper": "choice_paper.yaml",
}
#: The options' codes: what a reply names and what the backends score.
OPTION_CODES: tuple[str, str] = ("1", "2")
#: The two orders a variant may show a pair in.
ORDERS: tuple[str, str] = ("given", "reversed")
#: The value of the reply's action key for each option (under a JSON schema).
OPTION_VALUES: tuple[str, str] = ("Option 1", "Option 2")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceKeys(_Strict):
    """The keys of a JSON reply."""

    action: str = Field("action", min_length=1)
    explanation: str = Field("explanation", min_length=1)


class ChoiceFormat(_Strict):
    """One way of asking for the answer."""

    text: str
    json_reply: bool = Field(False, alias="json", description="a JSON object, not a number")
    explanation: bool = Field(False, description="the JSON object also explains the choice")


class ChoiceVariant(_Strict):
    """One way of asking: a level of each factor."""

    index: int = Field(ge=0)
    wording: str
    order: Literal["given", "reversed"]
    format: str


class ChoiceDesign(_Strict):
    """A whole choice design (see the module); checked for consistency as it loads."""

    name: str
    version: str
    system: str = ""
    keys: ChoiceKeys = ChoiceKeys()
    explanation_limit: int = Field(240, ge=1, description="characters of a JSON explanation")
    wordings: dict[str, str] = Field(min_length=1)
    formats: dict[str, ChoiceFormat] = Field(min_length=1)
    layout: str = "{ask}\n\nOption 1: {option_1}\nOption 2: {option_2}\n\n{format}"
    variants: list[ChoiceVariant] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ChoiceDesign:
        seen: set[int] = set()
        for v in self.variants:
            if v.index in seen:
                raise ValueError(f"variant index {v.index} is used twice")
            seen.add(v.index)
            for factor, levels in (("wording", self.wordings), ("format", self.formats)):
                level = getattr(v, factor)
                if level not in levels:
                    raise ValueError(
                        f"variant {v.index}: {factor} {level!r} is not defined; defined: "
                        f"{', '.join(levels)}"
                    )
        return self

    def variant(self, index: int) -> ChoiceVariant:
        """Variant INDEX."""
        for v in self.variants:
            if v.index == index:
                return v
        valid = ", ".join(str(v.index) for v in self.variants)
        raise UnknownVariantError(f"no variant {index} in design {self.name!r}; valid: {valid}")

    def reply_schema(self, variant: ChoiceVariant) -> dict[str, Any] | None:
        """The JSON schema of a reply to VARIANT; ``None`` for a format asking for a number."""
        shape = self.formats[variant.format]
        if not shape.json_reply:
            return None
        properties: dict[str, Any] = {self.keys.action: {"type": "string",
                                                         "enum": list(OPTION_VALUES)}}  # fmt: skip
        if shape.explanation:
            properties[self.keys.explanation] = _text(1, self.explanation_limit)
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


@dataclass(frozen=True)
class ChoicePrompt:
    """The request for one choice: its place, the variant, the order shown and the messages."""

    context: tuple[tuple[str, str], ...]  # (axis id, level id), in axis order
    value: str  # the item's id
    variant: int
    order: tuple[Inclination, Inclination]  # the inclination of option 1 and of option 2
    texts: tuple[str, str]  # the actions as shown: option 1's, option 2's
    system: str
    user: str
    mode: str = "item"

    @property
    def values(self) -> tuple[str]:
        return (self.value,)

    @property
    def levels(self) -> dict[str, str]:
        return dict(self.context)

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        return [*out, {"role": "user", "content": self.user}]


def given_order(context: tuple[tuple[str, str], ...], item: str) -> tuple[Inclination, Inclination]:
    """The ``given`` order of ITEM's pair in CONTEXT: from a hash of both, so that over a grid
    about half of the pairs show the expressing action first. Frozen: changing it would change
    every stored choice prompt."""
    digest = hashlib.sha256(json.dumps([list(map(list, context)), item]).encode()).digest()
    return ("expresses", "opposes") if digest[0] % 2 == 0 else ("opposes", "expresses")


def render_choice(
    instrument: Instrument,
    design: ChoiceDesign,
    context: Mapping[str, str],
    item: str,
    actions: Mapping[Inclination, str],
    variant: ChoiceVariant,
    origin: str = "design",
) -> ChoicePrompt:
    """The request to choose between ACTIONS (inclination → text) of ITEM in CONTEXT."""
    where = tuple((a.id, context[a.id]) for a in instrument.axes if a.id in context)
    found = instrument.item(item)
    order = given_order(where, found.id)
    if variant.order == "reversed":
        order = (order[1], order[0])
    texts = (actions[order[0]], actions[order[1]])
    wording = instrument.wording_ids[0] if instrument.wording_ids else ""
    fields = {
        **context_fields(instrument, context),
        "context": context_phrase(instrument, context),
        **item_fields(found, wording),
        "item_noun": instrument.item_noun,
        "option_1": texts[0],
        "option_2": texts[1],
        "action_key": design.keys.action,
        "explanation_key": design.keys.explanation,
    }
    parts = {
        "ask": fill(design.wordings[variant.wording], fields,
                    f"{origin}: wordings.{variant.wording}"),
        "format": fill(design.formats[variant.format].text, fields,
                       f"{origin}: formats.{variant.format}"),
        "option_1": texts[0],
        "option_2": texts[1],
    }  # fmt: skip
    user = fill(design.layout, parts, f"{origin}: layout").strip()
    system = fill(design.system, fields, f"{origin}: system")
    return ChoicePrompt(where, found.id, variant.index, order, texts, system, user)


def choice_origin(path: str | Path | None) -> str:
    """How messages name the choice design PATH names."""
    name = "default" if path is None else str(path)
    if name in BUNDLED_CHOICE_DESIGNS and not Path(name).is_file():
        return f"<bundled {BUNDLED_CHOICE_DESIGNS[name]}>"
    return str(path)


def read_choice_design(path: str | Path | None = None) -> ChoiceDesign:
    """A choice design: a bundled one by name (``None``: ``default``) or a user's YAML."""
    name = "default" if path is None else str(path)
    origin = choice_origin(path)
    if name in BUNDLED_CHOICE_DESIGNS and not Path(name).is_file():
        text = resources.files("valuecompass.prompts").joinpath(
            "data", BUNDLED_CHOICE_DESIGNS[name]
        )
        content = text.read_text(encoding="utf-8")
    else:
        if not Path(name).is_file():
            raise PromptError(
                f"{path}: no such choice design; bundled: {', '.join(BUNDLED_CHOICE_DESIGNS)}"
            )
        content = read_file(name, "choice design", PromptError)
    data, node = read_mapping(content, origin, PromptError)
    return validate(ChoiceDesign, data, node, origin, PromptError)


def load_choice_design(path: str | Path | None, instrument: Instrument) -> ChoiceDesign:
    """The design PATH names (see :func:`read_choice_design`), every variant rendered once with
    INSTRUMENT's first context and item, so an unknown placeholder fails now, naming it."""
    design = read_choice_design(path)
    origin = choice_origin(path)
    context = next(instrument.contexts(), {})
    sample: dict[Inclination, str] = {"expresses": "I do one thing.", "opposes": "I do another."}
    for variant in design.variants:
        render_choice(instrument, design, context, instrument.item_ids[0], sample, variant,
                      origin)  # fmt: skip
    return design
