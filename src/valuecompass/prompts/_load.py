"""Load a prompt design from YAML (the bundled one or a user's)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from valuecompass._yaml import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.prompts._models import PromptSet


class PromptError(ValueCompassError, ValueError):
    """A prompt file or template that cannot be used; the message says where."""


#: The bundled prompt designs by name: ``--prompts NAME`` (a file of that name wins).
BUNDLED: dict[str, str] = {"default": "prompts.yaml", "paper": "paper.yaml"}


def load_prompts(path: str | Path | None = None, instrument: Instrument | None = None) -> PromptSet:
    """A prompt design: the bundled default (``None`` or ``"default"``), the bundled ``paper``
    design (the authors' structure), or the one in a user's YAML file.

    A name of :data:`BUNDLED` means the bundled design unless a file of that name exists. Its
    templates are checked against INSTRUMENT's placeholders and wordings (the Value Form when
    ``None``).
    """
    name = "default" if path is None else str(path)
    if name in BUNDLED and not Path(name).is_file():
        origin = f"<bundled {BUNDLED[name]}>"
        text = resources.files("valuecompass.prompts").joinpath("data", BUNDLED[name])
        content = text.read_text(encoding="utf-8")
    else:
        origin = str(path)
        if not Path(name).is_file():
            raise PromptError(f"{path}: no such prompt file; bundled designs: {', '.join(BUNDLED)}")
        content = read_file(name, "prompt file", PromptError)
    data, node = read_mapping(content, origin, PromptError)
    prompts = validate(PromptSet, data, node, origin, PromptError)
    from valuecompass.prompts._render import check_templates

    check_templates(prompts, origin, instrument or load_instrument(None))
    return prompts
