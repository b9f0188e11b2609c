"""``valuecompass instrument``: the bundled instruments, and any one of them whole.

Its old name, ``valuecompass form``, is read in :mod:`valuecompass.cli._old_names`.
"""

from __future__ import annotations

from pathlib import Path

import click

from valuecompass.cli._common import Commands, console, fail
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


@instrument_group.group("export", cls=Commands)
def instrument_export() -> None:
    """An instrument as files others can load."""


@instrument_export.command("hf")
@click.argument("out", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("source", required=False)
@instrument_option
def instrument_export_hf(out: Path, source: str | None, instrument_path: Path | None) -> None:
    """The instrument SOURCE (a bundled id or a file; the Value Form if omitted) as a dataset
    folder in Hugging Face's layout: its items, scale points and axis levels as Parquet, a
    README.md dataset card with its configs: block (the licence left for you) and the
    instrument whole; datasets.load_dataset(DIR) reads it. DIR must be new, empty or an
    earlier export."""
    from valuecompass.export import export_instrument

    if source is not None and instrument_path is not None:
        fail("give the instrument once: SOURCE or --instrument")
    instrument = load_instrument(source or instrument_path)
    written = export_instrument(instrument, out)
    click.echo(f"instrument {instrument.id}: {len(written)} files written to {out}")
