"""Load a prompt design from YAML (the bundled one or a user's)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from valuecompass._yaml import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.prompts._models import PromptSet


class PromptError(ValueCompassError, ValueError):
    """A prompt file or template that cannot be used; the message says where."""


def load_prompts(path: str | Path | None = None) -> PromptSet:
    """The bundled prompt design, or the one in a user's YAML file."""
    if path is None:
        origin = "<bundled prompts.yaml>"
        text = resources.files("valuecompass.prompts").joinpath("data", "prompts.yaml")
        content = text.read_text(encoding="utf-8")
    else:
        origin = str(path)
        content = read_file(path, "prompt file", PromptError)
    data, node = read_mapping(content, origin, PromptError)
    prompts = validate(PromptSet, data, node, origin, PromptError)
    from valuecompass.prompts._render import check_templates

    check_templates(prompts, origin)
    return prompts
