"""``valuecompass actions``: action sets in a store (import, list, show, export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import console, fail
from valuecompass.cli._options import db_option, format_option, instrument_option

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from valuecompass.store.actions import ActionSet

#: How many actions ``actions show`` prints as examples.
EXAMPLES = 3


@click.group("actions")
def actions_group() -> None:
    """Action sets: per item, context and inclination, one action (import, list, show,
    export)."""


@actions_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "name", required=True, help="The action set's name in the store.")
@instrument_option
@db_option
@click.option("--note", default="", help="A note kept with the set (e.g. where it came from).")
def actions_import(path: Path, name: str, instrument_path: Path | None, db: str, note: str) -> None:
    """Import the actions in PATH (a tidy CSV or JSONL, or the value–action study's
    value_action_gap_full_data_generation.csv) as the set NAME; all or nothing.

    The release's file is read on the value_actions instrument when --instrument is omitted.
    """
    from valuecompass.api import GAP_INSTRUMENT
    from valuecompass.common import header_of
    from valuecompass.instrument import load_instrument
    from valuecompass.sources import ActionFileError, import_actions, is_release_header
    from valuecompass.store import open_store

    if instrument_path is None and path.suffix.lower() == ".csv":
        release = is_release_header(header_of(path, ActionFileError))
        instrument = load_instrument(GAP_INSTRUMENT if release else None)
    else:
        instrument = load_instrument(instrument_path)
    opened: list[Engine] = []

    def store() -> Engine:  # opened (made, where new) only once the file has been read
        opened.append(open_store(db))
        return opened[0]

    try:
        found, added = import_actions(store, path, name, instrument, note)
    finally:
        for engine in opened:
            engine.dispose()
    click.echo(f"action set {found.name!r}: {added} actions added ({found.instrument})", err=True)


@actions_group.command("list")
@db_option
@format_option(("table", "json"), show_default=True)
def actions_list(db: str, fmt: str) -> None:
    """Every action set in the store, with its instrument and size."""
    from rich.table import Table

    from valuecompass.store import actions as store
    from valuecompass.store import open_store, redact

    engine = open_store(db, create=False)
    try:
        sets = store.list_sets(engine)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([s.summary() for s in sets], indent=2))
        return
    table = Table(title=f"Action sets in {redact(db)}")
    for col in ("name", "instrument", "axes", "actions", "created"):
        table.add_column(col)
    for s in sets:
        when = s.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(s.name, s.instrument, ", ".join(s.axes), str(s.size), when)
    console().print(table)


def _open_set(db: str, name: str) -> tuple[Engine, ActionSet]:
    from valuecompass.store import actions as store
    from valuecompass.store import open_store, redact

    engine = open_store(db, create=False)
    found = store.get_set(engine, name)
    if found is None:
        known = ", ".join(s.name for s in store.list_sets(engine)) or "none"
        engine.dispose()
        fail(f"{redact(db)}: no action set {name!r} (sets: {known})")
    return engine, found


def _table(db: str, name: str) -> tuple[ActionSet, pd.DataFrame]:
    from valuecompass.store import actions as store

    engine, found = _open_set(db, name)
    try:
        return found, store.set_actions(engine, found)
    finally:
        engine.dispose()


def show_summary(found: ActionSet, table: pd.DataFrame) -> dict[str, Any]:
    """The set's record, its counts per inclination and per level of each axis, and a few
    examples (one pair's two actions first)."""
    counts = {a: {str(k): int(v) for k, v in table[a].value_counts(sort=False).items()}
              for a in found.axes}  # fmt: skip
    shown = table[table["missing"] == ""].head(EXAMPLES)
    examples = [
        {**{a: r[a] for a in found.axes}, "value": r["value"], "inclination": r["inclination"],
         "action": r["action"], "spans": r["spans"]}
        for _, r in shown.iterrows()
    ]  # fmt: skip
    return {
        **found.summary(),
        "items": int(table["value"].nunique()),
        "missing": int((table["missing"] != "").sum()),
        "inclinations": {str(k): int(v) for k, v in table["inclination"].value_counts().items()},
        "axes": counts,
        "examples": examples,
    }


@actions_group.command("show")
@click.argument("name")
@db_option
@format_option(("table", "json"), show_default=True)
def actions_show(name: str, db: str, fmt: str) -> None:
    """An action set's counts per inclination and per axis level, and a few examples."""
    found, table = _table(db, name)
    summary = show_summary(found, table)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    out = console()
    out.print(f"[bold]{found.name}[/bold]: {found.size} actions, {summary['items']} items, "
              f"instrument {found.instrument}; {summary['missing']} missing")  # fmt: skip
    incl = ", ".join(f"{k} {v}" for k, v in summary["inclinations"].items())
    out.print(f"inclinations: {incl}")
    for axis, levels in summary["axes"].items():
        out.print(f"{axis} ({len(levels)} levels): " +
                  ", ".join(f"{k} {v}" for k, v in levels.items()))  # fmt: skip
    for ex in summary["examples"]:
        where = "/".join(str(ex[a]) for a in found.axes)
        out.print(f"- {where} {ex['value']} ({ex['inclination']}): {ex['action']}", markup=False)


@actions_group.command("export")
@click.argument("name")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tidy CSV to write (actions import reads it back as it was).",
)
@db_option
def actions_export(name: str, out_path: Path, db: str) -> None:
    """Write the action set NAME as a tidy CSV."""
    from valuecompass.sources import write_action_csv

    found, table = _table(db, name)
    write_action_csv(table, out_path)
    click.echo(f"{len(table)} actions of {found.name!r} written to {out_path}", err=True)
