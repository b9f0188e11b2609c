"""The ``valuecompass`` command: parse options, call the library once, print the result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from valuecompass import _render
from valuecompass._cli_common import instrument_option, score_option, user_errors
from valuecompass.api import align_sources
from valuecompass.compare import GROUPS
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.sources import Scoring


def _console() -> Console:
    """Full width on a terminal; 160 columns when piped, so tables stay readable in files."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _instrument(path: Path | None) -> Instrument:
    return load_instrument(path)


@click.group()
@click.version_option(package_name="valuecompass")
def main() -> None:
    """Measure how well a language model's values agree with people's, in context."""


@main.group()
def form() -> None:
    """The Value Form: values, scenarios, countries and scales."""


@form.command("show")
@instrument_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table")
@user_errors
def form_show(instrument_path: Path | None, fmt: str) -> None:
    """Print the instrument."""
    from valuecompass._form_view import show_form

    show_form(_instrument(instrument_path), fmt, _console())


@main.command()
@click.option("--humans", required=True, help="People's answers: released folder, CSV or store.")
@click.option(
    "--llm", required=True, help="A model's answers: released model folder, CSV or store."
)
@click.option("--by", "group", type=click.Choice(GROUPS), default="country", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@instrument_option
@click.option(
    "--ci",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Add bootstrap intervals at this level (e.g. 0.95): <metric>_low, <metric>_high.",
)
@click.option("--resamples", type=click.IntRange(2), default=2000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --ci/--ceiling.")
@click.option("--ceiling", is_flag=True, help="Add the people-against-people ceiling.")
@score_option
@user_errors
def align(
    humans: str,
    llm: str,
    score: Scoring,
    group: str,
    fmt: str,
    instrument_path: Path | None,
    ci: float | None,
    resamples: int,
    seed: int,
    ceiling: bool,
) -> None:
    """Alignment rate (F1), distance and companions of a model against people."""
    result = align_sources(humans, llm, _instrument(instrument_path), score)
    err = Console(stderr=True)
    err.print(f"[dim]{result.humans.summary()}[/dim]")
    err.print(f"[dim]{result.llm.summary()}[/dim]")
    rows = result.alignment.by(group)  # type: ignore[arg-type]
    overall: dict[str, Any] = dict(result.alignment.overall())
    if ci is not None or ceiling:
        from valuecompass._cli_stats import extend_alignment

        rows, overall = extend_alignment(result, group, rows, overall, ci, resamples, seed, ceiling)
    if fmt == "json":
        click.echo(_render.to_json(rows, overall))
    elif fmt == "csv":
        click.echo(rows.to_csv(index=False), nl=False)
    else:
        footer = _render.footer_with_intervals(overall)
        _render.print_table(
            _console(), _render.with_intervals(rows), f"Alignment by {group}", footer
        )


@main.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The released data folder (default: ../shared/datasets/valuecompass-2025).",
)
@user_errors
def demo(data: Path | None) -> None:
    """Align each model of the paper's released data with its people, by country."""
    from valuecompass._demo import released_summary

    released_summary(data, _console())


from valuecompass._cli_profile import profile_command  # noqa: E402
from valuecompass._cli_run import run_command, runs_group  # noqa: E402

main.add_command(run_command)
main.add_command(runs_group)

from valuecompass._cli_survey import survey_group  # noqa: E402

main.add_command(survey_group)
main.add_command(profile_command)

from valuecompass._cli_report import report  # noqa: E402

main.add_command(report)

from valuecompass._cli_code import code_group  # noqa: E402
from valuecompass._cli_stats import rigor_group  # noqa: E402

main.add_command(rigor_group)
main.add_command(code_group)

if __name__ == "__main__":  # pragma: no cover
    main()
