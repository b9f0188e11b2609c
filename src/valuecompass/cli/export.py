"""``valuecompass export hf``: a run or a survey as a dataset folder others can load.

The instruments export the same way, with ``valuecompass instrument export hf``.
"""

from __future__ import annotations

from pathlib import Path

import click

from valuecompass.cli._common import Commands, fail
from valuecompass.cli._options import DEFAULT_DB, DEFAULT_SURVEY_DB, instrument_option
from valuecompass.settings import env

#: What ``--help`` and the docs say an export folder holds.
FOLDER_HELP = (
    "DIR gets Parquet files under data/, a README.md dataset card with its configs: block "
    "(the licence left for you), the instrument and design, and the manifest; "
    "datasets.load_dataset(DIR) reads it. DIR must be new, empty or an earlier export."
)


@click.group("export", cls=Commands)
def export_group() -> None:
    """Results others can load: a run or a survey as a dataset folder."""


@export_group.command("hf", help=f"A run (--run) or a survey's answers (--survey) as a dataset "
                      f"folder in Hugging Face's layout. {FOLDER_HELP}")  # fmt: skip
@click.argument("out", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--run", "run_name", default=None, help="The run of the --db store to export.")
@click.option(
    "--survey", is_flag=True, help="Export the people's answers of a survey store (--db)."
)
@click.option(
    "--db",
    default=None,
    help="The store: a SQLite file path or a database URL (default: VALUECOMPASS_DB or "
    "valuecompass.db for --run, VALUECOMPASS_SURVEY_DB or survey.db for --survey).",
)
@instrument_option
@click.option(
    "--asked-axis", default="", metavar="AXIS", help="--survey: as survey export reads it."
)
@click.option(
    "--include-excluded", is_flag=True, help="--survey: keep participants who were excluded."
)
def export_hf(
    out: Path,
    run_name: str | None,
    survey: bool,
    db: str | None,
    instrument_path: Path | None,
    asked_axis: str,
    include_excluded: bool,
) -> None:
    from valuecompass.export import export_run, export_survey
    from valuecompass.store import open_store

    if (run_name is None) == (not survey):
        fail("say what to export: --run NAME (a model run) or --survey (people's answers)")
    if run_name is not None:
        if instrument_path is not None or asked_axis or include_excluded:
            fail("--instrument, --asked-axis and --include-excluded go with --survey")
        from valuecompass.cli._run_view import find_run

        engine, record = find_run(db or env("VALUECOMPASS_DB") or DEFAULT_DB, run_name)
        written = export_run(engine, record, out)
        click.echo(f"run {record.name}: {len(written)} files written to {out}")
        return
    from valuecompass.cli._sources import command_instrument
    from valuecompass.store.survey import survey_axes

    store = db or env("VALUECOMPASS_SURVEY_DB") or DEFAULT_SURVEY_DB
    instrument = command_instrument(instrument_path, humans=store)
    axes = survey_axes(instrument, asked_axis)
    engine = open_store(store, create=False)
    try:
        written = export_survey(engine, instrument, out, include_excluded, (axes[0], axes[1]))
    finally:
        engine.dispose()
    click.echo(f"survey of {instrument.id}: {len(written)} files written to {out}")
