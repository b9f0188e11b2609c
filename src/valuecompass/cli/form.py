"""``valuecompass form``: the instrument itself."""

from __future__ import annotations

from pathlib import Path

import click

from valuecompass.cli._common import Commands, console, instrument_option
from valuecompass.instrument import load_instrument


@click.group("form", cls=Commands)
def form_group() -> None:
    """The Value Form: values, scenarios, countries and scales."""


@form_group.command("show")
@instrument_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table")
def form_show(instrument_path: Path | None, fmt: str) -> None:
    """Print the instrument."""
    from valuecompass.cli._form_view import show_form

    show_form(load_instrument(instrument_path), fmt, console())
