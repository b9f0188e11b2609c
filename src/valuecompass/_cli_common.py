"""Pieces shared by the CLI's modules: the ``--instrument`` option and user-error handling."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from valuecompass.compare import NoOverlapError
from valuecompass.errors import ValueCompassError

F = TypeVar("F", bound=Callable[..., Any])

instrument_option = click.option(
    "--instrument",
    "instrument_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A Value Form YAML file; the bundled form if omitted.",
)

SCORE_OPTION: dict[str, Any] = {
    "type": click.Choice(["answer", "probs"]),
    "default": "answer",
    "show_default": True,
    "help": "Score a model by the option it answered (the paper's way) or by the expected "
    "position under its option probabilities (runs of local/transformers models).",
}
score_option = click.option("--score", **SCORE_OPTION)


def user_errors(func: F) -> F:
    """Print a user's mistake as one message and exit 2, never as a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueCompassError, NoOverlapError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
