"""Prompt variants as data, rendered from the instrument: all items at once, or one per prompt.

A style names one of the instrument's wordings (its scale comes from the instrument's
``roles``); placeholders come from the context's axis levels (see ``_context``). Generation
designs (``_generation``): how a model is asked for one action per item, context and
inclination. Choice designs (``_choice``): how a model is asked to pick one of an item's two
actions.
"""

from valuecompass.prompts._choice import (
    BUNDLED_CHOICE_DESIGNS,
    OPTION_CODES,
    OPTION_VALUES,
    ChoiceDesign,
    ChoicePrompt,
    ChoiceVariant,
    choice_origin,
    given_order,
    load_choice_design,
    read_choice_design,
    render_choice,
)
from valuecompass.prompts._context import context_fields, item_fields, style_wording
from valuecompass.prompts._generation import (
    BUNDLED_DESIGNS,
    GENERATE_INCLINATIONS,
    ActionPrompt,
    GenerationDesign,
    GenerationVariant,
    context_phrase,
    design_origin,
    generation_digest,
    load_design,
    read_design,
    render_action,
)
from valuecompass.prompts._load import BUNDLED, PromptError, load_prompts, read_prompts
from valuecompass.prompts._models import FACTORS, MODES, Mode, PromptSet, Style, Variant
from valuecompass.prompts._render import Prompt, iter_grid, render, render_context, render_grid

__all__ = [
    "BUNDLED",
    "BUNDLED_CHOICE_DESIGNS",
    "BUNDLED_DESIGNS",
    "FACTORS",
    "GENERATE_INCLINATIONS",
    "MODES",
    "OPTION_CODES",
    "OPTION_VALUES",
    "ActionPrompt",
    "ChoiceDesign",
    "ChoicePrompt",
    "ChoiceVariant",
    "GenerationDesign",
    "GenerationVariant",
    "Mode",
    "Prompt",
    "PromptError",
    "PromptSet",
    "Style",
    "Variant",
    "choice_origin",
    "context_fields",
    "context_phrase",
    "design_origin",
    "generation_digest",
    "given_order",
    "item_fields",
    "iter_grid",
    "load_choice_design",
    "load_design",
    "load_prompts",
    "read_choice_design",
    "read_design",
    "read_prompts",
    "render",
    "render_action",
    "render_choice",
    "render_context",
    "render_grid",
    "style_wording",
]
