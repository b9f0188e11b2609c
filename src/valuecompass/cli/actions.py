"""``valuecompass actions``: action sets in a store (generate, import, list, show, export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import console, fail
from valuecompass.cli._options import (
    db_option,
    format_option,
    instrument_option,
    model_option,
    seed_option,
)

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from valuecompass.store.actions import ActionSet

#: How many actions ``actions show`` prints as examples.
EXAMPLES = 3


@click.group("actions")
def actions_group() -> None:
    """Action sets: per item, context and inclination, one action (generate, import, list,
    show, export)."""


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


def _split(given: tuple[str, ...]) -> list[str]:
    """``--items a,b --items c`` → three names."""
    return [part.strip() for v in given for part in v.split(",") if part.strip()]


@actions_group.command("generate")
@instrument_option
@model_option("model", "local", "local, local:PATH.gguf, openai:NAME, transformers:DIR, mock")
@click.option("--set", "name", required=True, help="The action set to fill (made if new).")
@db_option
@click.option(
    "--design",
    default=None,
    metavar="NAME|PATH",
    help="A generation design: a bundled one by name (default; paper: the value-action "
    "study's 2x2x2, in our words) or a YAML file.",
)
@click.option(
    "--variant",
    type=click.IntRange(min=0),
    default=None,
    help="The design's variant to ask (its default variant if omitted).",
)
@click.option(
    "--countries",
    multiple=True,
    help="Levels of the country axis (comma-separated); all if omitted.",
)
@click.option("--scenarios", multiple=True, help="Levels of the scenario axis; all if omitted.")
@click.option(
    "--where",
    multiple=True,
    metavar="AXIS=LEVEL,...",
    help="Levels of any axis of the instrument (repeatable): --where topic=Politics; every "
    "level of the other axes.",
)
@click.option("--items", multiple=True, help="Items to generate for; all if omitted.")
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.2, show_default=True)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Tokens to generate per action (default 200).",
)
@seed_option("Random seed; a regenerated place is asked with the next one.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True)
@click.option(
    "-M",
    "--model-option",
    "model_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for the backend (repeatable), as for run: -M base_url=URL.",
)
@click.option(
    "--regenerate",
    is_flag=True,
    help="Ask again the places kept missing (reply not JSON, no action, not first person, "
    "call failed); actions already stored are never replaced.",
)
@click.option(
    "--constrain/--no-constrain",
    default=True,
    show_default=True,
    help="Send the reply's JSON schema to the backend (local: a grammar; openai: response_format).",
)
@click.option("--note", default="", help="A note kept with a new set.")
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal)."
)
def actions_generate(**params: Any) -> None:
    """Ask a model for one action per item, context and inclination (expresses, opposes) and
    store each in the set NAME as it arrives.

    Running the same command again resumes: places already stored are skipped, and a request
    an identical one already answered (in any set of the store) is not asked again.
    """
    import sys

    from valuecompass.cli.run import parse_model_options, parse_where
    from valuecompass.runner import DEFAULT_ACTION_TOKENS, GenerateConfig, generate_actions
    from valuecompass.store import redact

    progress = params.pop("progress")
    config = GenerateConfig(
        model=params["model"],
        backend_options=parse_model_options(params["model_options"]),
        db=params["db"],
        name=params["name"],
        instrument_path=params["instrument_path"],
        design=params["design"],
        variant=params["variant"],
        countries=_split(params["countries"]),
        scenarios=_split(params["scenarios"]),
        where=parse_where(params["where"]),
        items=_split(params["items"]),
        temperature=params["temperature"],
        max_tokens=params["max_tokens"] or DEFAULT_ACTION_TOKENS,
        seed=params["seed"],
        concurrency=params["concurrency"],
        retries=params["retries"],
        regenerate=params["regenerate"],
        constrain=params["constrain"],
        note=params["note"],
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    try:
        summary = generate_actions(config)
    except KeyboardInterrupt:
        click.echo(
            "interrupted: what was generated is stored; run the same command to resume", err=True
        )
        sys.exit(130)
    click.echo(summary.text())
    click.echo(f"store: {redact(config.db)}  set: {summary.name}")
