"""Render an instrument's contexts into prompts, one per variant (and per value in item mode)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from valuecompass.instrument import Instrument, Scale, Scenario, Value
from valuecompass.prompts._load import PromptError
from valuecompass.prompts._models import MODES, Mode, PromptSet, Variant

#: The placeholders each kind of template may use.
CONTEXT_FIELDS = ("country", "scenario", "vignette", "user", "purpose")
ITEM_FIELDS = ("name", "definition", "statement", "portrait")
LAYOUT_FIELDS = ("framing", "intro", "items", "item", "options", "requirement")


class _Unknown(LookupError):
    """A placeholder the template's fields do not define."""


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise _Unknown(key)


class _Common(NamedTuple):
    country: str
    topic: str
    variant: int
    mode: Mode


@dataclass(frozen=True)
class Prompt:
    """One prompt to put to a model, with what it asks about."""

    country: str
    topic: str
    variant: int
    mode: Mode
    values: tuple[str, ...]  # the value ids asked, in the order shown
    scale: str  # id of the scale its options come from
    system: str
    user: str

    @property
    def value(self) -> str | None:
        """The one value asked in item mode; ``None`` for a form."""
        return self.values[0] if self.mode == "item" else None

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        return [*out, {"role": "user", "content": self.user}]


def fill(template: str, fields: Mapping[str, str], where: str) -> str:
    """``template`` with its ``{placeholders}`` filled; an unknown one is a :class:`PromptError`."""
    try:
        return template.format_map(_Fields(fields))
    except _Unknown as exc:
        known = ", ".join(sorted(fields))
        raise PromptError(
            f"{where}: unknown placeholder {{{exc.args[0]}}}; known: {known}"
        ) from exc
    except (ValueError, IndexError) as exc:
        raise PromptError(f"{where}: malformed template ({exc})") from exc


def check_templates(prompts: PromptSet, origin: str) -> None:
    """Fill every template with dummy text, so a bad placeholder fails at load time."""
    dummy = {name: name for name in (*CONTEXT_FIELDS, *ITEM_FIELDS, *LAYOUT_FIELDS)}
    for level, text in prompts.framings.items():
        fill(text, {k: dummy[k] for k in CONTEXT_FIELDS}, f"{origin}: framings.{level}")
    for sid, style in prompts.styles.items():
        fill(style.intro, {k: dummy[k] for k in CONTEXT_FIELDS}, f"{origin}: styles.{sid}.intro")
        fill(style.item, {k: dummy[k] for k in ITEM_FIELDS}, f"{origin}: styles.{sid}.item")
    for mode in MODES:
        for level, text in getattr(prompts.requirements, mode).items():
            fill(text, {}, f"{origin}: requirements.{mode}.{level}")
        layout_fields = {
            k: dummy[k] for k in LAYOUT_FIELDS if k != ("items" if mode == "item" else "item")
        }
        if prompts.layout is not None:
            fill(getattr(prompts.layout, mode), layout_fields, f"{origin}: layout.{mode}")
        for name, layout in prompts.layouts.items():
            fill(getattr(layout, mode), layout_fields, f"{origin}: layouts.{name}.{mode}")


def _context_fields(country: str, scenario: Scenario) -> dict[str, str]:
    return {
        "country": country,
        "scenario": scenario.name,
        "vignette": scenario.vignette,
        "user": scenario.user,
        "purpose": scenario.purpose,
    }


def _item(template: str, value: Value, where: str) -> str:
    fields = {
        "name": value.name,
        "definition": value.definition,
        "statement": value.statement,
        "portrait": value.portrait,
    }
    return fill(template, fields, where)


def _options(scale: Scale, reverse: bool) -> str:
    options = [o for o in scale.options if o.position is not None]
    if reverse:
        options = options[::-1]
    return "\n".join(f"{o.code}: {o.label}" for o in options)


def render(
    instrument: Instrument,
    prompts: PromptSet,
    country: str,
    topic: str,
    variant: Variant,
    mode: Mode,
    values: Sequence[str] | None = None,
) -> list[Prompt]:
    """The prompts of one context and variant: one form, or one prompt per value."""
    scenario = instrument.scenario(topic)
    place = instrument.country(country)
    style = prompts.styles[variant.style]
    scale = instrument.scales.get(style.scale)
    ctx = _context_fields(place.name, scenario)
    reverse = variant.order == "reversed"
    chosen = [instrument.value(v) for v in (values or instrument.value_ids)]
    if reverse:
        chosen = chosen[::-1]
    where = f"variant {variant.index}"
    parts = {
        "framing": fill(prompts.framings[variant.framing], ctx, f"{where}: framing"),
        "intro": fill(style.intro, ctx, f"{where}: intro"),
        "options": _options(scale, reverse),
        "requirement": getattr(prompts.requirements, mode)[variant.requirement],
    }
    common = _Common(place.id, scenario.id, variant.index, mode)
    layout = prompts.layout_of(variant)
    if mode == "form":
        items = "\n".join(f"{style.bullet}{_item(style.item, v, where)}" for v in chosen)
        user = fill(layout.form, {**parts, "items": items}, f"{where}: layout")
        ids = tuple(v.id for v in chosen)
        return [Prompt(*common, values=ids, scale=scale.id, system=prompts.system, user=user)]
    out = []
    for v in chosen:
        item = _item(style.item, v, where)
        user = fill(layout.item, {**parts, "item": item}, f"{where}: layout")
        out.append(
            Prompt(*common, values=(v.id,), scale=scale.id, system=prompts.system, user=user)
        )
    return out


def render_grid(
    instrument: Instrument,
    prompts: PromptSet,
    contexts: Iterable[tuple[str, str]],
    mode: Mode,
    variants: Sequence[int] | None = None,
    values: Sequence[str] | None = None,
) -> list[Prompt]:
    """Every prompt of a grid, grouped by context and variant (so shared prefixes are adjacent)."""
    chosen = [prompts.variant(i) for i in variants] if variants else prompts.variants
    out: list[Prompt] = []
    for country, topic in contexts:
        for variant in chosen:
            out.extend(render(instrument, prompts, country, topic, variant, mode, values))
    return out
