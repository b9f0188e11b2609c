"""Prompt variants as data, rendered from the instrument: all items at once, or one per prompt.

A style names one of the instrument's wordings (its scale comes from the instrument's
``roles``); placeholders come from the context's axis levels (see ``_context``).
"""

from valuecompass.prompts._context import context_fields, item_fields, style_wording
from valuecompass.prompts._load import BUNDLED, PromptError, load_prompts, read_prompts
from valuecompass.prompts._models import FACTORS, MODES, Mode, PromptSet, Style, Variant
from valuecompass.prompts._render import Prompt, iter_grid, render, render_context, render_grid

__all__ = [
    "BUNDLED",
    "FACTORS",
    "MODES",
    "Mode",
    "Prompt",
    "PromptError",
    "PromptSet",
    "Style",
    "Variant",
    "context_fields",
    "item_fields",
    "iter_grid",
    "load_prompts",
    "read_prompts",
    "render",
    "render_context",
    "render_grid",
    "style_wording",
]
