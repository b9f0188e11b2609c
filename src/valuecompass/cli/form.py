"""``valuecompass instrument``: the bundled instruments, and any one of them whole.

``form`` is the same group under its old name, kept as a deprecated alias (the word "form"
also named a prompt mode and the survey's pages; "instrument" names one thing). The alias
prints nothing extra, so scripts that parse its output keep working.
"""

from __future__ import annotations

from pathlib import Path

import click

from valuecompass.cli._common import Commands, console, instrument_option
from valuecompass.instrument import load_instrument


@click.group("instrument", cls=Commands)
def instrument_group() -> None:
    """Instruments: items, wordings, groupings, scales and context axes."""


@click.group("form", cls=Commands)
def form_group() -> None:
    """Deprecated alias of 'instrument'."""


@instrument_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def form_list(fmt: str) -> None:
    """Each bundled instrument: id, title, items, scales, axes and groupings."""
    from valuecompass.cli._form_view import list_forms

    list_forms(fmt, console())


@instrument_group.command("show")
@click.argument("source", required=False)
@instrument_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table")
def form_show(source: str | None, instrument_path: Path | None, fmt: str) -> None:
    """Print the instrument SOURCE (a bundled id or a file; the Value Form if omitted)."""
    from valuecompass.cli._form_view import show_form

    show_form(load_instrument(source or instrument_path), fmt, console())


for _command in (form_list, form_show):
    form_group.add_command(_command)
