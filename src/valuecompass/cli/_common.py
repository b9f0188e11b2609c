"""Pieces shared by the CLI's modules: common options, the console and the one error handler."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from valuecompass._console import make_console
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


class Commands(click.Group):
    """A command group whose commands share one error handler.

    A user's mistake (any :class:`ValueCompassError`) is one line on stderr and exit status 2,
    never a traceback; Ctrl-C is one line and exit status 130. Subgroups made with
    ``@group.group()`` are of this class too, so a command invoked through any of them is
    handled the same way.
    """

    group_class = type

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        # Ctrl-C while click parses the command line would be click's "Aborted!" and exit 1.
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

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


def console(*, stderr: bool = False) -> Console:
    """Standard output's (or standard error's) console: the terminal's width, or, piped,
    160-column tables and lines never hard-wrapped (:func:`valuecompass._console.make_console`)."""
    return make_console(stderr=stderr)
