"""``valuecompass gap``: a model's stated values against its choices (the value–action gap)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import console
from valuecompass.cli._options import (
    ci_method_option,
    ci_option,
    ci_target_option,
    format_option,
    instrument_option,
    reading_option,
    resamples_option,
    score_option,
    seed_option,
)

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.api import GapResult
    from valuecompass.sources import Reading, Scoring

CONFOUNDED = (
    "note: every choice showed an action of the same inclination first, so the first-option "
    "share is that inclination's share too (position and inclination are confounded)"
)


@click.command("gap")
@click.option(
    "--stated",
    required=True,
    help="Stated values: a model's (the value–action study's task-1 file <model>_t1.csv, "
    "or any model source align reads: store, tidy CSV, released folder), or people's (a "
    "survey store, without #RUN).",
)
@click.option(
    "--acted",
    required=True,
    help="Choices: a choice run (STORE#RUN), the study's task-2 log (eval_log_*.jsonl, with "
    "--actions) or a task2_results_<model>.csv; or people's (a choice study's survey store, "
    "or its 'survey export --choices' CSV).",
)
@click.option(
    "--actions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The actions file a task-2 log points into "
    "(outputs/data_release/value_action_gap_full_data_generation.csv).",
)
@instrument_option
@click.option(
    "--by",
    "group",
    default=None,
    help="context, any context axis (country, topic), value, or any of the instrument's "
    "groupings (type, higher_order, ...).  [default: the first context axis]",
)
@format_option(show_default=True)
@click.option(
    "--ranking", is_flag=True, help="Print the items ranked by distance within each --by level."
)
@reading_option(
    "How a task2_results reply is read: its action field, or the authors' way (option "
    "names anywhere in the reply, as their published variant agreement did)."
)
@score_option
@ci_option(
    None, help="Add bootstrap intervals at this level (e.g. 0.95) for the rates and distance."
)
@resamples_option()
@seed_option("Seed for --ci.")
@ci_method_option
@ci_target_option
def gap_command(
    stated: str,
    acted: str,
    actions: Path | None,
    instrument_path: Path | None,
    group: str | None,
    fmt: str,
    ranking: bool,
    reading: Reading,
    score: Scoring,
    ci: float | None,
    resamples: int,
    seed: int,
    ci_method: str,
    ci_target: str = "design",
) -> None:
    """Stated against acted: F1, distance and misaligned cells, variant agreement, position bias.

    When --instrument is omitted, the instrument a run kept is used, else the study's grid
    (value_actions: the Value Form's 56 values over 12 countries x 11 topics).
    """
    from valuecompass.api import gap_instrument, gap_sources
    from valuecompass.instrument import group_rule, load_instrument

    given = load_instrument(instrument_path) if instrument_path is not None else None
    instrument = gap_instrument(given, stated, acted)
    group = group_rule(instrument, group).id  # an unknown grouping fails before any work
    result = gap_sources(stated, acted, instrument, actions, reading, score)
    err = console(stderr=True)
    err.print(f"[dim]stated: {result.stated.summary()}[/dim]")
    err.print(f"[dim]acted: {result.acted.summary()}[/dim]")
    overall = dict(result.gap.overall()) | choice_figures(result.choices)
    if overall.get("position_confounded"):
        click.echo(CONFOUNDED, err=True)
    if ranking:
        rows = result.gap.ranking(group)
    else:
        rows = result.gap.by(group)
        if ci is not None:
            rows, overall = _intervals(
                result, group, rows, overall, ci, resamples, seed, ci_method, ci_target
            )
    title = f"Stated against acted by {group}"
    if ci is not None and not ranking:
        from valuecompass.cli._render import interval_words

        title += f"; {interval_words(ci, ci_target)}"
    _emit(rows, overall, fmt, title)


def choice_figures(choices: pd.DataFrame) -> dict[str, Any]:
    """Variant agreement and position bias as flat ``overall`` entries
    (:func:`valuecompass.metrics.choice_summary`)."""
    from valuecompass.metrics import choice_summary

    return choice_summary(choices)


def _intervals(
    result: GapResult,
    group: str,
    rows: pd.DataFrame,
    overall: dict[str, Any],
    ci: float,
    resamples: int,
    seed: int,
    method: str,
    target: str = "design",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from valuecompass.cli._sources import extend_alignment

    return extend_alignment(
        result.as_alignment(), group, rows, overall, ci, resamples, seed, False, method, target
    )


def _emit(rows: pd.DataFrame, overall: dict[str, Any], fmt: str, title: str) -> None:
    from valuecompass.cli import _render

    if fmt == "json":
        click.echo(_render.to_json(rows, overall))
    elif fmt == "csv":
        click.echo(rows.to_csv(index=False), nl=False)
    else:
        out = console()
        _render.print_table(out, _render.with_intervals(rows), title, _footer(rows, overall))
        for key in _CHOICE_KEYS:
            if key in overall:
                value = overall[key]
                out.print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


_CHOICE_KEYS = (
    "variant_agreement",
    "variant_agreement_authors",
    "n_pairs",
    "first_option_share",
    "position_p_value",
    "position_biased",
    "position_confounded",
    "n_positions",
)


def _footer(rows: pd.DataFrame, overall: dict[str, Any]) -> dict[str, Any] | None:
    from valuecompass.cli import _render

    if "rank" in rows.columns:
        return None
    return _render.footer_with_intervals(overall)
