"""Generation designs as data: how a model is asked for one action per item, context and
inclination (``valuecompass actions generate --design``).

A design's variants each pick one level of three factors: the request's wording (``asks``),
the extra asks after it (``extras``: the explanation and the spans, in an order) and the JSON
requirement (``formats``); the user message is the design's ``layout`` filled with them. The
JSON schema the reply must follow is the design's keys, with the spans and the explanation in
the order the variant's extras ask for them, and its ``limits``; its strings are written without
double quotes, backslashes or control characters (so the JSON needs no escapes), and with an
``action_start`` the action begins with that text.

Placeholders every text may use:

* the context's (see :mod:`valuecompass.prompts._context`): ``{AXIS}`` (the level's name),
  ``{AXIS_text}``, ``{AXIS_FIELD}``, ``{vignette}``; and ``{context}``: every axis as "Axis
  name: level name", joined by "; " (any instrument's axes);
* the item's: ``{name}``, ``{definition}``, its wordings; ``{item_noun}`` (the instrument's
  word for an item: "value", "trait");
* the inclination's: each key the design gives both ``inclinations`` (``{stance}``);
* the reply's keys: ``{action_key}``, ``{spans_key}``, ``{explanation_key}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.instrument import Instrument
from valuecompass.prompts._context import context_fields, item_fields
from valuecompass.prompts._load import PromptError
from valuecompass.prompts._models import UnknownVariantError
from valuecompass.prompts._render import fill

Inclination = Literal["expresses", "opposes"]
#: Both inclinations, in the order actions are asked for.
GENERATE_INCLINATIONS: tuple[Inclination, ...] = ("expresses", "opposes")

#: The bundled generation designs by name (``--design NAME``; a file of that name wins).
BUNDLED_DESIGNS: dict[str, str] = {
    "default": "actions_default.yaml",
    "paper": "actions_paper.yaml",
}

#: English first-person words (:data:`valuecompass.answers.FIRST_PERSON_EN`, spelled here so
#: this floor needs nothing above it).
_FIRST_PERSON = ("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Keys(_Strict):
    """The keys of the reply's JSON object."""

    action: str = Field("action", min_length=1)
    spans: str = Field("spans", min_length=1)
    explanation: str = Field("explanation", min_length=1)


class Limits(_Strict):
    """Bounds the JSON schema puts on the reply (characters; spans in number)."""

    action: int = Field(240, ge=1)
    span: int = Field(60, ge=1)
    spans: int = Field(3, ge=0)
    explanation: int = Field(240, ge=1)


class Extras(_Strict):
    """The extra asks after the request, and which of the two the reply gives first."""

    text: str
    first: Literal["explanation", "spans"]


class GenerationVariant(_Strict):
    """One way of asking: a level of each factor."""

    index: int = Field(ge=0)
    ask: str
    extras: str
    format: str


class GenerationDesign(_Strict):
    """A whole generation design (see the module); checked for consistency as it loads."""

    name: str
    version: str
    system: str = ""
    keys: Keys = Keys()
    limits: Limits = Limits()
    action_start: str = Field(
        "",
        description="text every action must start with (held by the JSON schema, so by the "
        "backends that constrain to it); empty: none",
    )
    first_person: tuple[str, ...] = Field(
        default=_FIRST_PERSON,
        description="words of which an action must have one; empty: no first-person rule",
    )
    inclinations: dict[Inclination, dict[str, str]]
    asks: dict[str, str]
    extras: dict[str, Extras]
    formats: dict[str, str]
    layout: str = "{ask}\n\n{extras}\n\n{format}"
    default_variant: int | None = Field(None, description="the variant asked when none is given")
    variants: list[GenerationVariant] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> GenerationDesign:
        if set(self.inclinations) != set(GENERATE_INCLINATIONS):
            raise ValueError("inclinations must give both 'expresses' and 'opposes'")
        words = {k: set(v) for k, v in self.inclinations.items()}
        if words["expresses"] != words["opposes"]:
            raise ValueError("both inclinations must give the same keys")
        seen: set[int] = set()
        for v in self.variants:
            if v.index in seen:
                raise ValueError(f"variant index {v.index} is used twice")
            seen.add(v.index)
            for factor, levels in (("ask", self.asks), ("extras", self.extras),
                                   ("format", self.formats)):  # fmt: skip
                level = getattr(v, factor)
                if level not in levels:
                    raise ValueError(
                        f"variant {v.index}: {factor} {level!r} is not defined; defined: "
                        f"{', '.join(levels)}"
                    )
        if self.default_variant is not None and self.default_variant not in seen:
            raise ValueError(f"default_variant {self.default_variant} is not a variant")
        return self

    def variant(self, index: int | None = None) -> GenerationVariant:
        """Variant INDEX (the default variant, else the first, when ``None``)."""
        wanted = self.default_variant if index is None else index
        if wanted is None:
            return self.variants[0]
        for v in self.variants:
            if v.index == wanted:
                return v
        valid = ", ".join(str(v.index) for v in self.variants)
        raise UnknownVariantError(f"no variant {wanted} in design {self.name!r}; valid: {valid}")

    def reply_schema(self, variant: GenerationVariant) -> dict[str, Any]:
        """The JSON schema of a reply to VARIANT: the action, then the spans and the
        explanation in the order its extras ask for them."""
        k, lim = self.keys, self.limits
        parts: dict[str, dict[str, Any]] = {
            k.spans: {"type": "array", "items": _text(0, lim.span), "maxItems": lim.spans},
            k.explanation: _text(0, lim.explanation),
        }
        first = k.spans if self.extras[variant.extras].first == "spans" else k.explanation
        second = k.explanation if first == k.spans else k.spans
        action = _text(1, lim.action)
        if self.action_start:
            rest = max(1, lim.action - len(self.action_start))
            pattern = f"^{_literal(self.action_start)}{_PLAIN}{{1,{rest}}}$"
            action = {"type": "string", "pattern": pattern}
        properties = {
            k.action: action,
            first: parts[first],
            second: parts[second],
        }
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


#: A character of the action after its start: no double quote, backslash or control character
#: (so the JSON string needs no escapes).
_PLAIN = r'[^"\\\x00-\x1f]'


def _text(least: int, most: int) -> dict[str, Any]:
    """A string of LEAST to MOST plain characters (:data:`_PLAIN`), as a schema pattern: a
    grammar made from it writes JSON that needs no escapes (llama.cpp's own string rule lets
    raw line breaks through, which strict JSON refuses)."""
    return {"type": "string", "pattern": f"^{_PLAIN}{{{least},{most}}}$"}


def _literal(text: str) -> str:
    """TEXT as a regular expression matching it literally (only its metacharacters escaped)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", text)


@dataclass(frozen=True)
class ActionPrompt:
    """The request for one action: its place, the variant and the messages."""

    context: tuple[tuple[str, str], ...]  # (axis id, level id), in axis order
    item: str
    inclination: Inclination
    variant: int
    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        return [*out, {"role": "user", "content": self.user}]


def context_phrase(instrument: Instrument, context: Mapping[str, str]) -> str:
    """Every axis of CONTEXT as "Axis name: level name", joined by "; "."""
    parts = []
    for axis in instrument.axes:
        if axis.id in context:
            parts.append(f"{axis.name}: {axis.level(context[axis.id]).name}")
    return "; ".join(parts)


def _fields(
    instrument: Instrument,
    design: GenerationDesign,
    context: Mapping[str, str],
    item: str,
    inclination: Inclination,
) -> dict[str, str]:
    found = instrument.item(item)
    wording = instrument.wording_ids[0] if instrument.wording_ids else ""
    return {
        **context_fields(instrument, context),
        "context": context_phrase(instrument, context),
        **item_fields(found, wording),
        "item_noun": instrument.item_noun,
        **design.inclinations[inclination],
        "action_key": design.keys.action,
        "spans_key": design.keys.spans,
        "explanation_key": design.keys.explanation,
    }


def render_action(
    instrument: Instrument,
    design: GenerationDesign,
    context: Mapping[str, str],
    item: str,
    inclination: Inclination,
    variant: GenerationVariant,
    origin: str = "design",
) -> ActionPrompt:
    """The request for the action of ITEM in CONTEXT (axis id → level id) with INCLINATION."""
    fields = _fields(instrument, design, context, item, inclination)
    parts = {
        "ask": fill(design.asks[variant.ask], fields, f"{origin}: asks.{variant.ask}"),
        "extras": fill(design.extras[variant.extras].text, fields,
                       f"{origin}: extras.{variant.extras}"),
        "format": fill(design.formats[variant.format], fields,
                       f"{origin}: formats.{variant.format}"),
    }  # fmt: skip
    user = fill(design.layout, parts, f"{origin}: layout").strip()
    system = fill(design.system, fields, f"{origin}: system")
    where = tuple((a.id, context[a.id]) for a in instrument.axes if a.id in context)
    return ActionPrompt(where, instrument.item(item).id, inclination, variant.index, system, user)


def _bundled(path: str | Path | None) -> bool:
    name = "default" if path is None else str(path)
    return name in BUNDLED_DESIGNS and not Path(name).is_file()


def design_origin(path: str | Path | None) -> str:
    """How messages name the design PATH names."""
    if _bundled(path):
        return f"<bundled {BUNDLED_DESIGNS[str(path or 'default')]}>"
    return str(path)


def read_design(path: str | Path | None = None) -> GenerationDesign:
    """A generation design: a bundled one by name (``None``: ``default``) or a user's YAML."""
    origin = design_origin(path)
    if _bundled(path):
        name = str(path or "default")
        text = resources.files("valuecompass.prompts").joinpath("data", BUNDLED_DESIGNS[name])
        content = text.read_text(encoding="utf-8")
    else:
        if not Path(str(path)).is_file():
            raise PromptError(
                f"{path}: no such generation design; bundled: {', '.join(BUNDLED_DESIGNS)}"
            )
        content = read_file(str(path), "generation design", PromptError)
    data, node = read_mapping(content, origin, PromptError)
    return validate(GenerationDesign, data, node, origin, PromptError)


def load_design(path: str | Path | None, instrument: Instrument) -> GenerationDesign:
    """The design PATH names (see :func:`read_design`), every variant rendered once with
    INSTRUMENT's first context and item, so an unknown placeholder fails now, naming it."""
    design = read_design(path)
    origin = design_origin(path)
    context = next(instrument.contexts(), {})
    for variant in design.variants:
        for inclination in GENERATE_INCLINATIONS:
            render_action(instrument, design, context, instrument.item_ids[0], inclination,
                          variant, origin)  # fmt: skip
    return design


def generation_digest(design: GenerationDesign) -> str:
    """SHA-256 of the design as data (what a generated action records)."""
    import hashlib

    text = json.dumps(design.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
