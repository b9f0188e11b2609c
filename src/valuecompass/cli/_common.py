"""Pieces shared by the CLI's modules: common options, the console and the one error handler."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from valuecompass.common import make_console
from valuecompass.errors import ValueCompassError

F = TypeVar("F", bound=Callable[..., Any])

#: The paper's released data, where the workplace keeps it beside a checkout.
DEFAULT_DATA = Path("..") / "shared" / "datasets" / "valuecompass-2025"

#: The help of ``--instrument``, the same on every command that reads or writes answers.
INSTRUMENT_HELP = (
    "A bundled instrument's id (see 'valuecompass instrument list') or an instrument YAML "
    "file; the Value Form if omitted."
)

#: ``--instrument ID|PATH``: any bundled instrument or a user's file.
instrument_option = click.option(
    "--instrument",
    "instrument_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="ID|PATH",
    help=INSTRUMENT_HELP,
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
    160-column tables and lines never hard-wrapped (:func:`valuecompass.common.make_console`)."""
    return make_console(stderr=stderr)


CENTRE_HELP = (
    "Person-centred scores: subtract each respondent's (and each prompt set's) mean over the "
    "values, then call agree/disagree against that own average (Schwartz's scale-use "
    "correction)."
)
centre_option = click.option("--centre", "centre", is_flag=True, help=CENTRE_HELP)


def _keep_centre(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta["valuecompass.centre"] = value
    return value


#: ``--centre`` kept on the click context (for commands whose sources load in one helper).
centre_meta_option = click.option(
    "--centre", is_flag=True, expose_value=False, callback=_keep_centre, help=CENTRE_HELP
)


def centred() -> bool:
    """Whether the running command was given ``--centre`` (see :data:`centre_meta_option`)."""
    return bool(click.get_current_context().meta.get("valuecompass.centre", False))


def note_centred(on: bool) -> None:
    """Say on stderr, once, that the scores are person-centred (when they are)."""
    if on:
        from valuecompass.stats import CENTRED_NOTE

        click.echo(CENTRED_NOTE, err=True)


#: Interval methods (valuecompass.stats.METHODS, spelled here so --help imports no stats).
INTERVAL_METHODS = ("shifted", "calibrated", "centred", "percentile", "basic", "bca")
ci_method_option = click.option(
    "--ci-method",
    type=click.Choice(INTERVAL_METHODS),
    default="shifted",
    show_default=True,
    help="How --ci intervals are made. 'shifted': rates resampled after moving each cell to the "
    "moment estimate of its distance from the agree/disagree threshold (simulated F1 coverage "
    "within 1.5 points of nominal); 'calibrated': that, widened by a double bootstrap "
    "(conservative, slower); 'centred': the interval before (F1 under-covers). Every "
    "interval is clipped to its metric's range (rates and distance 0..1, kappa -1..1).",
)
