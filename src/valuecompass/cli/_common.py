"""Pieces shared by the CLI's modules: common options, the console and the one error handler."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

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

EXCLUDE_OPTION: dict[str, Any] = {
    "type": click.Path(dir_okay=False, path_type=Path),
    "default": None,
    "help": "Leave out the respondents listed in this CSV (columns file, PID, reason), e.g. the "
    "released data's exclusions_attention.csv. A listed respondent not found is an error.",
}
exclude_option = click.option("--exclude", "exclude_path", **EXCLUDE_OPTION)

GROUP_DISTANCE_OPTION: dict[str, Any] = {
    "type": click.Choice(["cells", "means"]),
    "default": "cells",
    "show_default": True,
    "help": "A group's distance: the mean of its cells' distances (cells, the paper's Eq. 2) or "
    "the distance between its mean scores, |mean(l) - mean(h)| (means, the authors' notebook).",
}
group_distance_option = click.option("--group-distance", **GROUP_DISTANCE_OPTION)


class Commands(click.Group):
    """A command group whose commands share one error handler.

    A user's mistake (any :class:`ValueCompassError`) is one line on stderr and exit status 2,
    never a traceback; Ctrl-C is one line and exit status 130. Subgroups made with
    ``@group.group()`` are of this class too, so a command invoked through any of them is
    handled the same way.
    """

    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValueCompassError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def fail(message: str) -> NoReturn:
    """Stop the command with MESSAGE as the user's mistake (one line, exit status 2)."""
    raise ValueCompassError(message)


def console() -> Console:
    """Full width on a terminal; 160 columns when piped, so tables stay readable in files."""
    return Console() if sys.stdout.isatty() else Console(width=160)
