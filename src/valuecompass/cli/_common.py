"""Pieces shared by the CLI's modules: the console, the one error handler and the printing
of result tables. The option blocks commands share are in :mod:`valuecompass.cli._options`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console

from valuecompass.common import make_console, redact_text
from valuecompass.errors import ValueCompassError

if TYPE_CHECKING:
    import pandas as pd

#: The paper's released data, where the workplace keeps it beside a checkout.
DEFAULT_DATA = Path("..") / "shared" / "datasets" / "valuecompass-2025"


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
            click.echo(f"error: {redact_text(str(exc))}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def fail(message: str) -> NoReturn:
    """Stop the command with MESSAGE as the user's mistake (one line, exit status 2)."""
    raise ValueCompassError(message)


def console(*, stderr: bool = False) -> Console:
    """Standard output's (or standard error's) console: the terminal's width, or, piped,
    160-column tables and lines never hard-wrapped (:func:`valuecompass.common.make_console`)."""
    return make_console(stderr=stderr)


def note_centred(on: bool) -> None:
    """Say on stderr, once, that the scores are person-centred (when they are)."""
    if on:
        from valuecompass.stats import CENTRED_NOTE

        click.echo(CENTRED_NOTE, err=True)


def emit(df: pd.DataFrame, fmt: str, title: str) -> None:
    """Print DF as a table titled TITLE, as JSON (``{"rows": [...]}``) or as CSV."""
    from valuecompass.cli import _render

    if fmt == "json":
        click.echo(json.dumps({"rows": _render.records(df)}, indent=2))
    elif fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    else:
        _render.print_table(console(), _render.with_intervals(df), title)
