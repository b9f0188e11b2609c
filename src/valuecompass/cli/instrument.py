"""``valuecompass instrument``: the bundled instruments, and any one of them whole.

Its old name, ``valuecompass form``, is read in :mod:`valuecompass.cli._old_names`.
"""

from __future__ import annotations

from pathlib import Path

import click

from valuecompass.cli._common import Commands, console
from valuecompass.cli._options import format_option, instrument_option
from valuecompass.instrument import load_instrument


@click.group("instrument", cls=Commands)
def instrument_group() -> None:
    """Instruments: items, wordings, groupings, scales and context axes."""


@instrument_group.command("list")
@format_option(("table", "json"))
def instrument_list(fmt: str) -> None:
    """Each bundled instrument: id, title, items, scales, axes and groupings."""
    from valuecompass.cli._form_view import list_forms

    list_forms(fmt, console())


@instrument_group.command("show")
@click.argument("source", required=False)
@instrument_option
@format_option(("table", "json", "yaml"))
def instrument_show(source: str | None, instrument_path: Path | None, fmt: str) -> None:
    """Print the instrument SOURCE (a bundled id or a file; the Value Form if omitted)."""
    from valuecompass.cli._form_view import show_form

    show_form(load_instrument(source or instrument_path), fmt, console())
