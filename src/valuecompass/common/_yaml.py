"""YAML content files validated by pydantic, with errors that name the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from valuecompass.errors import ValueCompassError

M = TypeVar("M", bound=BaseModel)

#: libyaml's safe loader when PyYAML was built with it (about ten times faster).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: The largest content file (an instrument, a prompt design, survey content, a codebook) read:
#: 10 MB, far above any real one (the Value Form's is 60 kB); a larger one is refused unread.
MAX_FILE_BYTES = 10 * 1024 * 1024


def read_file(path: str | Path, what: str, error: type[ValueCompassError]) -> str:
    """The text of a user's YAML file; ERROR naming it (and WHAT it is) if it cannot be read,
    is larger than :data:`MAX_FILE_BYTES` (its size checked first, then read with that bound,
    so a device or a pipe that never ends is refused too) or is not UTF-8 text."""
    p = Path(path)
    too_big = error(
        f"{p}: the {what} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, the most read; "
        "is it the file you meant?"
    )
    try:
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
            raise too_big
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read {what} ({exc.strerror})") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise too_big
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{p} line {line}: {what} is not UTF-8 text; save it as UTF-8") from exc


def read_mapping(
    text: str, origin: str, error: type[ValueCompassError]
) -> tuple[dict[str, Any], yaml.Node | None]:
    """Parse TEXT as a YAML mapping; return it with its node tree (for line numbers)."""
    if not text.strip():
        raise error(f"{origin}: the file is empty")
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{origin}:{where} is not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise error(f"{origin}: expected a mapping of sections at the top level")
    return data, node


def validate(
    model: type[M],
    data: dict[str, Any],
    node: yaml.Node | None,
    origin: str,
    error: type[ValueCompassError],
) -> M:
    """Validate DATA as MODEL; a failure lists each bad field with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(describe(exc, node, origin)) from exc


def describe(exc: ValidationError, root: yaml.Node | None, origin: str) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s)"]
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


def line_of(node: yaml.Node | None, loc: list[Any] | tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at path LOC (or its deepest existing ancestor)."""
    return _line_of(node, list(loc))
