"""The ``valuecompass`` command: parse options, call the library once, print the result."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from valuecompass import _render
from valuecompass.api import align_sources
from valuecompass.compare import GROUPS, NoOverlapError
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, load_instrument

F = TypeVar("F", bound=Callable[..., Any])

instrument_option = click.option(
    "--instrument",
    "instrument_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A Value Form YAML file; the bundled form if omitted.",
)


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
@user_errors
def align(humans: str, llm: str, group: str, fmt: str, instrument_path: Path | None) -> None:
    """Alignment rate (F1), distance and companions of a model against people."""
    result = align_sources(humans, llm, _instrument(instrument_path))
    err = Console(stderr=True)
    err.print(f"[dim]{result.humans.summary()}[/dim]")
    err.print(f"[dim]{result.llm.summary()}[/dim]")
    rows = result.alignment.by(group)  # type: ignore[arg-type]
    overall = result.alignment.overall()
    if fmt == "json":
        click.echo(_render.to_json(rows, overall))
    elif fmt == "csv":
        click.echo(rows.to_csv(index=False), nl=False)
    else:
        _render.print_table(_console(), rows, f"Alignment by {group}", overall)


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
main.add_command(profile_command)

if __name__ == "__main__":  # pragma: no cover
    main()
