"""Load an instrument from YAML, reporting malformed files by field and line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from valuecompass.errors import ValueCompassError
from valuecompass.instrument._models import Instrument

DEFAULT_FILE = "value_form.yaml"


class InstrumentError(ValueCompassError, ValueError):
    """An instrument file that cannot be used; the message names the file, field and line."""


def load_instrument(path: str | Path | None = None) -> Instrument:
    """Load the bundled Value Form, or a user's instrument file.

    A user's file may hold a whole instrument, or start with ``base: default`` and give only the
    sections it replaces (``values``, ``scenarios``, ``countries``, ``scales``, ``name``,
    ``version``); the rest come from the bundled form.
    """
    if path is None:
        text = resources.files("valuecompass.instrument").joinpath("data", DEFAULT_FILE)
        return _parse(text.read_text(encoding="utf-8"), f"<bundled {DEFAULT_FILE}>")
    p = Path(path)
    try:
        content = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentError(f"{p}: cannot read instrument file ({exc.strerror})") from exc
    return _parse(content, str(p))


def _parse(text: str, origin: str) -> Instrument:
    if not text.strip():
        raise InstrumentError(f"{origin}: the instrument file is empty")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InstrumentError(f"{origin}:{where} is not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise InstrumentError(f"{origin}: expected a mapping of sections at the top level")
    base = data.pop("base", None)
    if base is not None:
        if base != "default":
            raise InstrumentError(f"{origin}: 'base' must be 'default', got {base!r}")
        merged = load_instrument().model_dump(mode="json")
        merged.update(data)
        data = merged
    try:
        return Instrument.model_validate(data)
    except ValidationError as exc:
        raise InstrumentError(_describe(exc, node, origin)) from exc


def _describe(exc: ValidationError, root: yaml.Node | None, origin: str) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s) in the instrument"]
    for err in exc.errors()[:20]:
        loc = [part for part in err["loc"] if not _is_pydantic_tag(part)]
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f" (line {line})" if line is not None else ""
        lines.append(f"  {field}{where}: {err['msg']}")
    return "\n".join(lines)


def _is_pydantic_tag(part: Any) -> bool:
    # Union branches and function validators add non-path entries such as 'function-after[...]'.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """1-based line of the YAML node at ``loc``, or of its deepest existing ancestor."""
    if node is None:
        return None
    current = node
    for part in loc:
        child = _child(current, part)
        if child is None:
            break
        current = child
    return int(current.start_mark.line) + 1


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None
