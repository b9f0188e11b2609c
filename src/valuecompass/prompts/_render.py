"""Render an instrument's contexts into prompts, one per variant (and per item in item mode).

A context is one level of each of the instrument's axes; its placeholders are listed in
:mod:`valuecompass.prompts._context`. A context in another language (the level of a language
axis) is rendered from the instrument's translation overlay, the design's texts included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import yaml

from valuecompass.common import line_of
from valuecompass.instrument import Instrument, RatingScale
from valuecompass.prompts._context import (
    context_fields,
    item_fields,
    localise,
    resolve_context,
    style_wording,
)
from valuecompass.prompts._load import PromptError
from valuecompass.prompts._models import MODES, Mode, PromptSet, Variant

#: A language's instrument, design and word for "Options" (see ``localise``).
Localised = tuple[Instrument, PromptSet, str]

#: The placeholders a layout may use.
LAYOUT_FIELDS = ("framing", "intro", "items", "item", "options", "requirement")


class _Unknown(LookupError):
    """A placeholder the template's fields do not define."""


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise _Unknown(key)


@dataclass(frozen=True)
class Prompt:
    """One prompt to put to a model, with what it asks about."""

    context: tuple[tuple[str, str], ...]  # (axis id, level id) for every axis, in axis order
    variant: int
    mode: Mode
    values: tuple[str, ...]  # the item ids asked, in the order shown
    scale: str  # id of the scale its options come from
    system: str
    user: str
    wording: str = ""  # id of the wording asked

    @property
    def levels(self) -> dict[str, str]:
        """Axis id → level id."""
        return dict(self.context)

    @property
    def country(self) -> str:
        """Deprecated: the level of the first axis (the store's ``country`` column)."""
        return self.context[0][1] if self.context else ""

    @property
    def topic(self) -> str:
        """Deprecated: the level of the second axis (the store's ``topic`` column)."""
        return self.context[1][1] if len(self.context) > 1 else ""

    @property
    def value(self) -> str | None:
        """The one item asked in item mode; ``None`` in mode all."""
        return self.values[0] if self.mode == "item" else None

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        return [*out, {"role": "user", "content": self.user}]


def fill(template: str, fields: Mapping[str, str], where: str) -> str:
    """``template`` with its ``{placeholders}`` filled; an unknown one is a :class:`PromptError`."""
    try:
        return template.format_map(_Fields(fields))
    except _Unknown as exc:
        name = exc.args[0]
        axes = getattr(fields, "shared", {}).get(name)
        if axes:
            spelled = " or ".join(f"{{{axis}_{name}}}" for axis in axes)
            raise PromptError(
                f"{where}: placeholder {{{name}}} is a field of more than one axis "
                f"({', '.join(axes)}): write it with its axis, {spelled}"
            ) from exc
        known = ", ".join(sorted(fields))
        raise PromptError(f"{where}: unknown placeholder {{{name}}}; known: {known}") from exc
    except (ValueError, IndexError) as exc:
        raise PromptError(f"{where}: malformed template ({exc})") from exc


def check_templates(
    prompts: PromptSet, origin: str, instrument: Instrument, node: yaml.Node | None = None
) -> None:
    """Fill every template with INSTRUMENT's first context and item, so a bad placeholder
    fails at load time; every style must name one of its wordings. Messages name ORIGIN, the
    field and, given the file's NODE tree, its line."""

    def at(*loc: str) -> str:
        line = line_of(node, loc)
        return f"{origin}: {'.'.join(loc)}" + (f" (line {line})" if line is not None else "")

    ctx = context_fields(instrument, next(instrument.contexts(), {}))
    for level, text in prompts.framings.items():
        fill(text, ctx, at("framings", level))
    for sid, style in prompts.styles.items():
        try:
            wording = style_wording(instrument, sid, style)
        except PromptError as exc:
            field = "wording" if style.wording is not None else ""
            raise PromptError(f"{at('styles', sid, *filter(None, [field]))}: {exc}") from exc
        fill(style.intro, ctx, at("styles", sid, "intro"))
        item = item_fields(instrument.items[0], wording)
        fill(style.item, item, at("styles", sid, "item"))
    for mode in MODES:
        for level, text in getattr(prompts.requirements, mode).items():
            fill(text, {}, at("requirements", mode, level))
        skip = "items" if mode == "item" else "item"
        layout_fields = {k: k for k in LAYOUT_FIELDS if k != skip}
        if prompts.layout is not None:
            fill(getattr(prompts.layout, mode), layout_fields, at("layout", mode))
        for name, layout in prompts.layouts.items():
            fill(getattr(layout, mode), layout_fields, at("layouts", name, mode))


def _options(scale: RatingScale, reverse: bool) -> str:
    lines = [f"{p.code}: {p.label}" for p in scale.points]
    return "\n".join(lines[::-1] if reverse else lines)


def render_context(
    instrument: Instrument,
    prompts: PromptSet,
    context: Mapping[str, str],
    variant: Variant,
    mode: Mode,
    values: Sequence[str] | None = None,
    localised: dict[str, Localised] | None = None,
) -> list[Prompt]:
    """The prompts of one context (axis id → level) and variant: one with every item (mode
    all), or one per item.

    LOCALISED keeps each language's translated instrument and design across calls (a grid
    makes each once)."""
    levels = resolve_context(instrument, context)
    language = instrument.language_axis
    inst, design, options_word = instrument, prompts, "Options"
    if language is not None:
        made = {} if localised is None else localised
        code = levels[language.id]
        if code not in made:
            made[code] = localise(instrument, prompts, code)
        inst, design, options_word = made[code]
    style = design.styles[variant.style]
    wording = style_wording(inst, variant.style, style)
    scale = inst.scale_for(wording)
    ctx = context_fields(inst, levels)
    reverse = variant.order == "reversed"
    chosen = [inst.item(v) for v in (values or inst.item_ids)]
    if reverse:
        chosen = chosen[::-1]
    where = f"variant {variant.index}"
    parts = {
        "framing": fill(design.framings[variant.framing], ctx, f"{where}: framing"),
        "intro": fill(style.intro, ctx, f"{where}: intro"),
        "options": _options(scale, reverse),
        "requirement": getattr(design.requirements, mode)[variant.requirement],
    }
    layout = getattr(design.layout_of(variant), mode)
    if options_word != "Options":
        layout = layout.replace("Options:", f"{options_word}:")
    key = tuple(levels.items())

    def prompt(ids: tuple[str, ...], user: str) -> Prompt:
        return Prompt(key, variant.index, mode, ids, scale.id, design.system, user, wording)

    if mode == "all":
        lines = [
            f"{style.bullet}{fill(style.item, item_fields(i, wording), where)}" for i in chosen
        ]
        user = fill(layout, {**parts, "items": "\n".join(lines)}, f"{where}: layout")
        return [prompt(tuple(i.id for i in chosen), user)]
    out = []
    for i in chosen:
        item = fill(style.item, item_fields(i, wording), where)
        out.append(prompt((i.id,), fill(layout, {**parts, "item": item}, f"{where}: layout")))
    return out


def render(
    instrument: Instrument,
    prompts: PromptSet,
    country: str,
    topic: str,
    variant: Variant,
    mode: Mode,
    values: Sequence[str] | None = None,
) -> list[Prompt]:
    """Deprecated: :func:`render_context` with levels of the first two context axes."""
    return render_context(
        instrument, prompts, as_context(instrument, (country, topic)), variant, mode, values
    )


def as_context(
    instrument: Instrument, context: Mapping[str, str] | Sequence[str]
) -> dict[str, str]:
    """A context given as a mapping (axis → level), or as levels in the order of the
    instrument's context axes, then its language axis."""
    if isinstance(context, Mapping):
        return dict(context)
    axes = [*instrument.context_axes, *filter(None, [instrument.language_axis])]
    if len(context) > len(axes):
        raise PromptError(
            f"a context of {len(context)} levels; the instrument has {len(axes)} axes"
        )
    return {a.id: level for a, level in zip(axes, context, strict=False)}


def render_grid(
    instrument: Instrument,
    prompts: PromptSet,
    contexts: Iterable[Mapping[str, str] | Sequence[str]],
    mode: Mode,
    variants: Sequence[int] | None = None,
    values: Sequence[str] | None = None,
) -> list[Prompt]:
    """Every prompt of a grid, grouped by context and variant (so shared prefixes are adjacent)."""
    return list(iter_grid(instrument, prompts, contexts, mode, variants, values))


def iter_grid(
    instrument: Instrument,
    prompts: PromptSet,
    contexts: Iterable[Mapping[str, str] | Sequence[str]],
    mode: Mode,
    variants: Sequence[int] | None = None,
    values: Sequence[str] | None = None,
) -> Iterator[Prompt]:
    """:func:`render_grid`'s prompts one context and variant at a time, as they are rendered
    (a runner can send the first while the rest are still to come)."""
    chosen = [prompts.variant(i) for i in variants] if variants else prompts.variants
    localised: dict[str, Localised] = {}
    for context in contexts:
        levels = as_context(instrument, context)
        for variant in chosen:
            yield from render_context(instrument, prompts, levels, variant, mode, values, localised)
