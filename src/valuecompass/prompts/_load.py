"""Load a prompt design from YAML (the bundled one or a user's)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.prompts._models import PromptSet


class PromptError(ValueCompassError, ValueError):
    """A prompt file or template that cannot be used; the message says where."""


#: The bundled prompt designs by name: ``--prompts NAME`` (a file of that name wins).
BUNDLED: dict[str, str] = {"default": "prompts.yaml", "paper": "paper.yaml"}


def read_prompts(path: str | Path | None = None) -> PromptSet:
    """A prompt design as written: the bundled default (``None`` or ``"default"``), the bundled
    ``paper`` design (the authors' structure), or the one in a user's YAML file.

    A name of :data:`BUNDLED` means the bundled design unless a file of that name exists. Its
    templates are not checked against any instrument: this is for a design's levels and
    digest; a design to run or render comes from :func:`load_prompts`.
    """
    return _read(path)[0]


def _read(path: str | Path | None) -> tuple[PromptSet, yaml.Node | None]:
    """The design PATH names, with its YAML node tree (for the lines of later messages)."""
    name = "default" if path is None else str(path)
    origin = _origin(path)
    if _bundled(path):
        text = resources.files("valuecompass.prompts").joinpath("data", BUNDLED[name])
        content = text.read_text(encoding="utf-8")
    else:
        if not Path(name).is_file():
            raise PromptError(f"{path}: no such prompt file; bundled designs: {', '.join(BUNDLED)}")
        content = read_file(name, "prompt file", PromptError)
    data, node = read_mapping(content, origin, PromptError)
    return validate(PromptSet, data, node, origin, PromptError), node


def load_prompts(path: str | Path | None, instrument: Instrument) -> PromptSet:
    """The prompt design PATH names (see :func:`read_prompts`), its templates checked against
    INSTRUMENT's placeholders and wordings: a missing placeholder or wording is a
    :class:`PromptError` naming it and the file."""
    prompts, node = _read(path)
    from valuecompass.prompts._render import check_templates

    check_templates(prompts, _origin(path), instrument, node)
    return prompts


def _bundled(path: str | Path | None) -> bool:
    name = "default" if path is None else str(path)
    return name in BUNDLED and not Path(name).is_file()


def _origin(path: str | Path | None) -> str:
    """How messages name the design PATH names."""
    return f"<bundled {BUNDLED[str(path or 'default')]}>" if _bundled(path) else str(path)
