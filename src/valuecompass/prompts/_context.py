"""The texts a prompt template may use: a context's axis levels, an item's wordings, and the
design's texts in a context's language.

Context placeholders, for every axis of the instrument (``AXIS`` is its id):

* ``{AXIS}``: the level's name (``{country}`` → "India", ``{scenario}`` → "Healthcare");
* ``{AXIS_text}``: the level's text (its name when it has none);
* ``{AXIS_FIELD}``: each of the level's ``fields`` (``{scenario_user}``);
* ``{FIELD}``: a field only one axis gives, bare (the Value Form's scenario: ``{user}``,
  ``{purpose}``; a persona axis's ``{who}``); a field two axes give needs the prefix;
* ``{vignette}``: the text of the last axis whose level has a text (the Value Form's scenario).

Item placeholders: ``{name}``, ``{definition}``, ``{wording}`` (the text of the wording the
style asks), ``{WORDING}`` for each of the item's wordings (``{svs}``, ``{pvq}``), and the
deprecated ``{statement}`` / ``{portrait}``, both the style's wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valuecompass.instrument import Instrument, Item, UnknownNameError
from valuecompass.prompts._load import PromptError
from valuecompass.prompts._models import PromptSet, Style

#: Deprecated item placeholders: both are the text of the style's wording.
LEGACY_ITEM_FIELDS = ("statement", "portrait")


def resolve_context(instrument: Instrument, context: Mapping[str, str]) -> dict[str, str]:
    """CONTEXT (axis id → level id, name or alias) with canonical level ids, in axis order.

    Every context axis needs a level; a language axis left out is the instrument's language.
    """
    unknown = [a for a in context if a not in {axis.id for axis in instrument.axes}]
    if unknown:
        axes = ", ".join(a.id for a in instrument.axes) or "none"
        raise PromptError(f"instrument {instrument.id!r} has no axis {unknown[0]!r}; axes: {axes}")
    out: dict[str, str] = {}
    for axis in instrument.axes:
        key = context.get(axis.id)
        if key is None and axis.role == "language":
            key = instrument.language
        if key is None:
            raise PromptError(f"the context gives no level of the {axis.id!r} axis")
        try:
            out[axis.id] = axis.level(key).id
        except UnknownNameError as exc:
            raise PromptError(str(exc.args[0])) from exc
    return out


class ContextFields(dict[str, str]):
    """A context's placeholders; ``shared`` names the fields two or more axes give (field →
    those axes), which a template must write with the axis prefix."""

    shared: dict[str, list[str]]


def field_axes(instrument: Instrument) -> dict[str, list[str]]:
    """Field name → the axes some level of which gives it, in axis order."""
    out: dict[str, list[str]] = {}
    for axis in instrument.axes:
        for key in dict.fromkeys(k for level in axis.levels for k in level.fields):
            out.setdefault(key, []).append(axis.id)
    return out


def context_fields(instrument: Instrument, context: Mapping[str, str]) -> ContextFields:
    """The context placeholders (see the module's docstring) of a resolved CONTEXT."""
    fields = ContextFields()
    story: Any = None
    bare: dict[str, str] = {}
    for axis in instrument.axes:
        level = axis.level(context[axis.id])
        fields[axis.id] = level.name
        fields[f"{axis.id}_text"] = level.text or level.name
        for key, text in level.fields.items():
            fields[f"{axis.id}_{key}"] = text
            bare[key] = text
        if level.text:
            story = level
    if story is not None:
        fields.setdefault("vignette", story.text)
    given = field_axes(instrument)
    for key, text in bare.items():
        if len(given[key]) == 1:
            fields.setdefault(key, text)
    fields.shared = {k: axes for k, axes in given.items() if len(axes) > 1 and k not in fields}
    return fields


def item_fields(item: Item, wording: str) -> dict[str, str]:
    """The item placeholders of ITEM asked in WORDING."""
    text = item.wordings.get(wording, "")
    legacy = dict.fromkeys(LEGACY_ITEM_FIELDS, text)
    return {**legacy, **item.wordings, "name": item.name, "definition": item.definition,
            "wording": text}  # fmt: skip


def style_wording(instrument: Instrument, style_id: str, style: Style) -> str:
    """The instrument's wording that STYLE asks (the rule in :class:`Style`'s docstring)."""
    wordings = instrument.wording_ids
    if style.wording is not None:
        if style.wording not in wordings:
            raise PromptError(
                f"style {style_id!r}: instrument {instrument.id!r} has no wording "
                f"{style.wording!r}; wordings: {', '.join(wordings)}"
            )
        return style.wording
    if style_id in wordings:
        return style_id
    by_scale = [w for w, s in instrument.roles.wordings.items() if s == style.scale]
    if len(by_scale) == 1:
        return by_scale[0]
    if len(wordings) == 1:
        return wordings[0]
    raise PromptError(
        f"style {style_id!r} names no wording of instrument {instrument.id!r} "
        f"(wordings: {', '.join(wordings)}); give the style a 'wording:'"
    )


def localise(
    instrument: Instrument, prompts: PromptSet, language: str
) -> tuple[Instrument, PromptSet, str]:
    """INSTRUMENT and PROMPTS in LANGUAGE, and the word for "Options".

    The instrument's texts come from its translation overlay; the design's from the overlay's
    ``prompts`` section, for the texts it keys (the bundled default design's: ``system``,
    ``framings``, ``styles.*.intro``, ``requirements``); what it leaves out stays as written.
    """
    from valuecompass.instrument import overlay_section, translate

    if language == instrument.language:
        return instrument, prompts, "Options"
    local = translate(instrument, language)
    texts = overlay_section(instrument, language, "prompts")
    design = prompts.model_dump()
    if texts.get("system"):
        design["system"] = texts["system"]
    for key, text in (texts.get("framings") or {}).items():
        if key in design["framings"]:
            design["framings"][key] = text
    for key, style in (texts.get("styles") or {}).items():
        if key in design["styles"] and style.get("intro"):
            design["styles"][key]["intro"] = style["intro"]
    for mode, levels in (texts.get("requirements") or {}).items():
        for key, text in (levels or {}).items():
            if key in design["requirements"].get(mode, {}):
                design["requirements"][mode][key] = text
    label = str((texts.get("labels") or {}).get("options", "Options"))
    return local, PromptSet.model_validate(design), label
