"""The option blocks several commands share, each written once: the same flag has the same
type, default, environment variable and help wherever it appears.

Some are factories (``seed_option(help)``) where commands word one detail their own way.
A *kept* option (:func:`kept_option`) stores its value on the click context instead of
passing it to the command, for commands whose sources load in one helper
(:mod:`valuecompass.cli._sources`); :func:`kept` reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from valuecompass.cli._old_names import ModeChoice
from valuecompass.settings import env

F = TypeVar("F", bound=Callable[..., Any])

#: The run store when no --db is given (``VALUECOMPASS_DB`` overrides it).
DEFAULT_DB = "valuecompass.db"
#: The survey's own default store, so ``survey serve`` and ``run`` never share a SQLite file.
DEFAULT_SURVEY_DB = "survey.db"

#: The help of ``--instrument``, the same on every command that reads or writes answers.
INSTRUMENT_HELP = (
    "A bundled instrument's id (see 'valuecompass instrument list') or an instrument YAML "
    "file; if omitted, the one kept by the store the command reads answers from (a run's, "
    "a survey study's), else the Value Form."
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

#: ``--by``'s choices on commands that group alignment numbers.
ANY_GROUPING = (
    "context, any context axis (country, scenario; topic = scenario), value, or any of the "
    "instrument's groupings (type, higher_order, ...)"
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

TIES_OPTION: dict[str, Any] = {
    "type": click.Choice(["disagree", "agree", "split"]),
    "default": "disagree",
    "show_default": True,
    "help": "How a cell mean exactly on the agree/disagree threshold (a neutral mean, 0.5) is "
    "labelled: disagree (the paper's rule), agree, or split (the cell counts half agree, half "
    "disagree). ties_share says how many cells it decides.",
}
ties_option = click.option("--ties", **TIES_OPTION)

CENTRE_HELP = (
    "Person-centred scores: subtract each respondent's (and each prompt set's) mean over the "
    "values, then call agree/disagree against that own average (Schwartz's scale-use "
    "correction)."
)
centre_option = click.option("--centre", "centre", is_flag=True, help=CENTRE_HELP)


def kept_option(*decls: str, key: str, **attrs: Any) -> Callable[[F], F]:
    """An option whose value is kept on the click context under KEY (read with :func:`kept`)
    rather than passed to the command."""

    def keep(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        ctx.meta[f"valuecompass.{key}"] = value
        return value

    return click.option(*decls, expose_value=False, callback=keep, **attrs)


def kept(key: str, default: Any) -> Any:
    """The running command's option kept under KEY by :func:`kept_option` (DEFAULT if none)."""
    return click.get_current_context().meta.get(f"valuecompass.{key}", default)


#: ``--centre`` kept on the click context (for commands whose sources load in one helper).
centre_meta_option = kept_option("--centre", key="centre", is_flag=True, help=CENTRE_HELP)


def centred() -> bool:
    """Whether the running command was given ``--centre`` (see :data:`centre_meta_option`)."""
    return bool(kept("centre", False))


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

#: What --ci intervals cover (valuecompass.stats.TARGETS, spelled here so --help imports no stats).
CI_TARGETS = ("design", "population")


def _check_target(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value not in CI_TARGETS:
        from valuecompass.cli._common import fail

        fail(f"--ci-target {value!r}: give one of {', '.join(CI_TARGETS)}")
    return value


ci_target_option = click.option(
    "--ci-target",
    default="design",
    show_default=True,
    callback=_check_target,
    help="What --ci intervals cover. 'design': this design again (where the figures would "
    "land with other people and prompts, as many of each). 'population': the figures of the "
    "true cell means (every person, every prompt), bias-corrected by an empirical-Bayes model "
    "of the cell means; the corrected estimates come as <metric>_corrected and the intervals "
    "are about them (--ci-method shapes the design's intervals only).",
)

#: An interval level strictly between 0 and 1.
LEVEL = click.FloatRange(0, 1, min_open=True, max_open=True)


def ci_option(default: float | None = 0.95, help: str | None = None) -> Callable[[F], F]:
    """``--ci LEVEL``: bootstrap intervals at this level."""
    shown = default is not None
    return click.option("--ci", type=LEVEL, default=default, show_default=shown, help=help)


def resamples_option(default: int = 2000) -> Callable[[F], F]:
    """``--resamples N``: bootstrap resamples (at least 2)."""
    return click.option("--resamples", type=click.IntRange(2), default=default, show_default=True)


def seed_option(help: str | None = "Random seed.") -> Callable[[F], F]:
    """``--seed N`` (0 by default): every random draw of the command starts from it."""
    return click.option("--seed", type=int, default=0, show_default=True, help=help)


def reading_option(help: str) -> Callable[[F], F]:
    """``--reading action|authors``: how a ``task2_results`` reply is read (``gap``, ``report``)."""
    return click.option(
        "--reading",
        type=click.Choice(["action", "authors"]),
        default="action",
        show_default=True,
        help=help,
    )


FORMATS = ("table", "json", "csv")


def format_option(
    choices: Sequence[str] = FORMATS, default: str = "table", **attrs: Any
) -> Callable[[F], F]:
    """``--format``: how the command prints its result (passed on as ``fmt``)."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default, **attrs)


def mode_option(default: str, help: str) -> Callable[[F], F]:
    """``--mode all|item``: every item in one prompt, or one item per prompt."""
    return click.option(
        "--mode", type=ModeChoice(["all", "item"]), default=default, show_default=True, help=help
    )


def model_option(decl: str, default: str, help: str) -> Callable[[F], F]:
    """``--model SPEC``: the backend, as the model registry spells it (passed on as DECL)."""
    return click.option("--model", decl, default=default, show_default=True, help=help)


def _db_option(env_var: str, default: str, shown: str, help: str) -> Callable[[F], F]:
    return click.option(
        "--db", default=lambda: env(env_var, default), show_default=shown, help=help
    )


#: ``--db``: the run store, read by ``run``, ``runs`` and sources given as a store.
db_option = _db_option(
    "VALUECOMPASS_DB",
    DEFAULT_DB,
    DEFAULT_DB,
    "The store: a SQLite file path or a database URL (VALUECOMPASS_DB).",
)
#: ``--db`` of the survey's commands: its own store.
survey_db_option = _db_option(
    "VALUECOMPASS_SURVEY_DB",
    DEFAULT_SURVEY_DB,
    "VALUECOMPASS_SURVEY_DB or survey.db",
    "The store: a SQLite file path or a PostgreSQL URL.",
)
