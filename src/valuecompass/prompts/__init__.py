"""Prompt variants as data, rendered from the instrument: form mode and item mode."""

from valuecompass.prompts._load import BUNDLED, PromptError, load_prompts
from valuecompass.prompts._models import FACTORS, MODES, Mode, PromptSet, Style, Variant
from valuecompass.prompts._render import Prompt, render, render_grid

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
    "load_prompts",
    "render",
    "render_grid",
]
