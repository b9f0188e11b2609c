"""``valuecompass align`` and ``valuecompass demo``: a model against people."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import console, note_centred
from valuecompass.cli._options import (
    ANY_GROUPING,
    centre_option,
    ci_method_option,
    ci_option,
    ci_target_option,
    exclude_option,
    format_option,
    group_distance_option,
    instrument_option,
    resamples_option,
    score_option,
    seed_option,
    ties_option,
)
from valuecompass.cli._sources import command_instrument
from valuecompass.instrument import group_rule

if TYPE_CHECKING:
    from valuecompass.metrics import GroupDistance, TieRule
    from valuecompass.sources import Scoring


@click.command("align")
@click.option("--humans", required=True, help="People's answers: released folder, CSV or store.")
@click.option(
    "--llm", required=True, help="A model's answers: released model folder, CSV or store."
)
@click.option(
    "--by",
    "group",
    default=None,
    help=ANY_GROUPING + "; see 'instrument show'.  "
    "[default: the instrument's first context axis, country for the Value Form]",
)
@format_option()
@instrument_option
@ci_option(None, "Add bootstrap intervals at this level (e.g. 0.95): <metric>_low, <metric>_high.")
@resamples_option()
@seed_option("Seed for --ci/--ceiling.")
@click.option("--ceiling", is_flag=True, help="Add the people-against-people ceiling.")
@score_option
@exclude_option
@group_distance_option
@centre_option
@ci_method_option
@ci_target_option
@ties_option
def align(
    humans: str,
    llm: str,
    score: Scoring,
    exclude_path: Path | None,
    group_distance: GroupDistance,
    group: str | None,
    fmt: str,
    instrument_path: Path | None,
    ci: float | None,
    resamples: int,
    seed: int,
    ceiling: bool,
    centre: bool = False,
    ci_method: str = "shifted",
    ties: TieRule = "disagree",
    ci_target: str = "design",
) -> None:
    """Alignment rate (F1), distance and companions of a model against people."""
    from valuecompass.api import align_sources
    from valuecompass.cli import _render

    instrument = command_instrument(instrument_path, [llm], humans)
    group = group_rule(instrument, group).id  # an unknown grouping fails before any work
    result = align_sources(
        humans, llm, instrument, score, exclude_path, group_distance, centre, ties
    )
    note_centred(centre)
    err = console(stderr=True)
    err.print(f"[dim]{result.humans.summary()}[/dim]")
    err.print(f"[dim]{result.llm.summary()}[/dim]")
    rows = result.alignment.by(group)
    overall: dict[str, Any] = dict(result.alignment.overall())
    if ci is not None or ceiling:
        from valuecompass.cli._sources import extend_alignment

        rows, overall = extend_alignment(
            result, group, rows, overall, ci, resamples, seed, ceiling, ci_method, ci_target
        )
    if centre:
        overall["scores"] = "person-centred"
    overall["ties"] = ties
    if fmt == "json":
        click.echo(_render.to_json(rows, overall))
    elif fmt == "csv":
        click.echo(rows.to_csv(index=False), nl=False)
    else:
        footer = _render.footer_with_intervals(overall)
        _render.print_table(
            console(),
            _render.with_intervals(rows),
            f"Alignment by {group}"
            + (" (person-centred scores)" if centre else "")
            + f"; a cell on the threshold counts as {ties}"
            + (" (half each)" if ties == "split" else "")
            + (f"; {_render.interval_words(ci, ci_target)}" if ci is not None else ""),
            footer,
        )


@click.command("demo")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The released data folder (default: ../shared/datasets/valuecompass-2025).",
)
def demo(data: Path | None) -> None:
    """Align each model of the paper's released data with its people, by country."""
    from valuecompass.cli._demo import released_summary

    released_summary(data, console())
