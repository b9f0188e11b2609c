"""What ``-M KEY=VALUE`` and ``--where AXIS=LEVEL,...`` say, for every command that asks a
model (``run``, ``actions generate``)."""

from __future__ import annotations

import json
from typing import Any

from valuecompass.cli._common import fail


def _option_value(text: str) -> Any:
    """``-M`` values: JSON when they parse (``2``, ``0.5``, ``true``, ``"x"``), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_model_options(pairs: tuple[str, ...], **sugar: object) -> dict[str, Any]:
    """``-M key=value`` pairs → the backend's options; SUGAR (old flags) fills keys not given.

    A pair without ``=`` or an empty key is refused; a key given twice keeps the last value.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"-M takes KEY=VALUE, got {pair!r}")
        options[key.strip()] = _option_value(value)
    for name, given in sugar.items():
        if given is not None and name in options and options[name] != given:
            fail(f"-M {name}={options[name]!r} and the --{name.replace('_', '-')} flag disagree")
        if given is not None:
            options.setdefault(name, given)
    return options


def parse_where(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    """``--where language=de,fr --where scenario=healthcare`` → axis id → levels."""
    out: dict[str, list[str]] = {}
    for pair in pairs:
        axis, sep, levels = pair.partition("=")
        names = [n.strip() for n in levels.split(",") if n.strip()]
        if not sep or not axis.strip() or not names:
            fail(f"--where takes AXIS=LEVEL[,LEVEL...], got {pair!r}")
        out.setdefault(axis.strip(), []).extend(names)
    return out
