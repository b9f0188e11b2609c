"""``valuecompass run`` and ``valuecompass runs list|show|export``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from valuecompass.cli._common import Commands, console, fail
from valuecompass.cli._model_options import parse_model_options, parse_where
from valuecompass.cli._old_names import AcceptsOldNames
from valuecompass.cli._options import (
    db_option,
    instrument_option,
    mode_option,
    model_option,
    seed_option,
)
from valuecompass.cli._run_view import find_run

if TYPE_CHECKING:
    from valuecompass.runner import RunConfig


def _split(values: tuple[str, ...]) -> list[str]:
    """``--countries India,Germany --countries UK`` → three names."""
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


#: Options that are not RunConfig fields: the backend's options, with the old flags that set
#: some of them. Every other option of ``run`` is the RunConfig field of its name.
BACKEND_OPTIONS = ("model_options", "base_url", "api_key", "logprobs")
#: Options of a dry run, which no RunConfig field holds.
DRY_OPTIONS = ("dry_run", "show_prompts", "prices")


def _variant_ids(given: tuple[str, ...]) -> list[int]:
    try:
        return [int(v) for v in _split(given)]
    except ValueError:
        fail(f"--variants takes whole numbers, got {', '.join(given)}")


def _progress(given: bool | None) -> bool:
    """--progress/--no-progress, or, given neither, whether standard error is a terminal."""
    return sys.stderr.isatty() if given is None else given


#: How an option's value becomes its RunConfig field; the rest are passed as given.
TO_FIELD: dict[str, Callable[[Any], Any]] = {
    "countries": _split,
    "scenarios": _split,
    "items": _split,
    "variants": _variant_ids,
    "where": parse_where,
    "progress": _progress,
}


def run_config(params: dict[str, Any]) -> RunConfig:
    """The RunConfig that ``run``'s options PARAMS (by option name) describe."""
    from valuecompass.runner import RunConfig

    fields = {
        name: TO_FIELD.get(name, lambda v: v)(value)
        for name, value in params.items()
        if name not in BACKEND_OPTIONS and name not in DRY_OPTIONS
    }
    fields["backend_options"] = parse_model_options(
        params["model_options"],
        base_url=params["base_url"],
        api_key=params["api_key"],
        logprobs=params["logprobs"] or None,
    )
    return RunConfig(**fields)


@click.command("run", cls=AcceptsOldNames)
@model_option(
    "model", "local", "local, local:PATH.gguf, openai:NAME, anthropic:NAME, transformers:DIR, mock"
)
@click.option(
    "--countries", multiple=True, help="Countries to ask about (comma-separated); all if omitted."
)
@click.option("--scenarios", multiple=True, help="Scenarios to ask about; all if omitted.")
@click.option(
    "--where",
    multiple=True,
    metavar="AXIS=LEVEL,...",
    help="Levels of any axis of the instrument to ask about (repeatable): "
    "--where language=de,fr --where scenario=healthcare; every level of the other axes.",
)
@click.option("--items", multiple=True, help="Items (values) to ask about; all if omitted.")
@click.option("--variants", multiple=True, help="Prompt variant indices; all if omitted.")
@mode_option("item", "all: every item in one prompt (the paper's); item: one item per prompt.")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Answers per prompt.",
)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.2, show_default=True)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Tokens to generate (all 1024, item 3; choice: 6 for a number, 24 for JSON, 160 "
    "with an explanation).",
)
@seed_option(None)
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
    help="An option for the backend (repeatable); VALUE is read as JSON when it parses "
    "(2, 0.5, true), else as text: -M base_url=http://127.0.0.1:8000/v1 -M logprobs=true. "
    "An option the backend does not take is refused with the list of those it does.",
)
@click.option("--base-url", default=None, help="Same as -M base_url=URL (kept for old scripts).")
@click.option("--api-key", default=None, help="Same as -M api_key=KEY (kept for old scripts).")
@click.option(
    "--logprobs",
    is_flag=True,
    help="Same as -M logprobs=true (kept for old scripts): the openai backend also asks for the "
    "first answer token's top log-probabilities, so the run can be scored by option "
    "probabilities (local and transformers always keep them).",
)
@click.option(
    "--max-prompts",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="The most prompts (x samples) a run may plan; a larger grid is refused before it is "
    "built. Raise it to run more.",
)
@click.option("--run", default=None, help="Run name; the same name resumes the run.")
@click.option(
    "--task",
    type=click.Choice(["rating", "choice"]),
    default="rating",
    show_default=True,
    help="rating: the items on the instrument's scale; choice: for each item and context, one "
    "of its two actions (expressing it, opposing it) from --actions.",
)
@click.option(
    "--actions",
    default=None,
    metavar="SET",
    help="choice: the action set in the store whose pairs are asked (actions generate or "
    "actions import makes one).",
)
@click.option(
    "--only-reviewed",
    is_flag=True,
    help="choice: ask only the pairs whose two actions both passed review (a strict majority "
    "of yes on intended and on harmless; see actions review-report).",
)
@click.option(
    "--prompts",
    "prompts_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A prompt design: a bundled one by name (default; paper: the authors' released "
    "structure, one user message and a full 2x2x2 design) or a YAML file. With --task choice, "
    "a choice design (default; paper: the authors' wording x order x format).",
)
@instrument_option
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal)."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process; ray: actors on a Ray cluster, each with its own model.",
)
@click.option(
    "--ray-address", default=None, help="ray: the cluster to join; a local one if omitted."
)
@click.option(
    "--ray-workers",
    type=click.IntRange(min=1),
    default=None,
    help="ray: actors to start (default: one per CPU, or per GPU for transformers).",
)
@click.option(
    "--batch",
    is_flag=True,
    help="openai, anthropic: send the prompts as the provider's batches (about half the "
    "price, answered within a day); the command waits for them, and run again, it resumes "
    "them without sending anything twice.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="With --batch: the most requests per batch (default: the provider's limit, 50,000 "
    "for openai, 100,000 for anthropic).",
)
@click.option(
    "--batch-poll",
    type=click.FloatRange(min=0.0, min_open=True),
    default=10.0,
    show_default=True,
    help="With --batch: seconds before a batch is first polled; the wait doubles up to 5 minutes.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Plan the run and say its size and distinct calls; ask nothing, store nothing.",
)
@click.option(
    "--show-prompts",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="With --dry-run: print the first N prompts as the model would get them.",
)
@click.option(
    "--prices",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="With --dry-run: a price table (YAML: each model's price per million input and "
    "output tokens, and its batch discount) to say what the run would cost.",
)
@db_option
def run_command(**params: Any) -> None:
    """Ask a model an instrument (the Value Form by default) over a grid of contexts (a level
    of each of its axes), prompt variants and samples.

    Every answer is stored as it arrives; running the same command again resumes the run and
    asks the model nothing it already answered.
    """
    from valuecompass.runner import run_model
    from valuecompass.store import redact

    config = run_config(params)
    for dry in ("show_prompts", "prices"):
        if params[dry] and not params["dry_run"]:
            fail(f"--{dry.replace('_', '-')} goes with --dry-run")
    if params["dry_run"]:
        _dry_run(config, params["show_prompts"], params["prices"])
        return
    try:
        summary = run_model(
            config,
            warn=lambda line: click.echo(f"warning: {line}", err=True),
            say=lambda note: click.echo(note, err=True),
        )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: what was answered is stored; run the same command to resume", err=True
        )
        sys.exit(130)
    click.echo(summary.text())
    click.echo(f"store: {redact(config.db)}  run: {summary.run.name}")


def _dry_run(config: RunConfig, show: int, prices: Path | None) -> None:
    """Say what the run would ask (``run --dry-run``), about how many tokens, what that costs
    at the PRICES given, and print its first SHOW prompts."""
    from valuecompass.models import load_prices
    from valuecompass.runner import dry_run

    table = load_prices(prices) if prices is not None else None  # a bad table: before planning
    price = table.price(config.model) if table is not None else None
    planned = dry_run(config, show)
    for line in planned.warnings:
        click.echo(f"warning: {line}", err=True)
    click.echo(
        f"dry run: {planned.total} prompts, {planned.calls} distinct model calls "
        f"({config.mode} mode, {config.samples} sample(s)); nothing asked, nothing stored"
    )
    click.echo(
        f"tokens (estimated): about {round(planned.input_tokens)} in, "
        f"{planned.output_tokens} out over {planned.calls} calls"
    )
    if table is not None and price is not None:
        cost = price.cost(planned.input_tokens, planned.output_tokens)
        line = f"cost ({table.path}, {config.model}): {cost:.4f} {table.currency}"
        if price.batch_discount:
            batch = price.cost(planned.input_tokens, planned.output_tokens, batch=True)
            line += f"; as a batch run {batch:.4f} {table.currency}"
        click.echo(line)
    for n, prompt in enumerate(planned.shown, 1):
        where = ", ".join(f"{axis}={level}" for axis, level in prompt.context)
        item = f"; item {prompt.value}" if prompt.value is not None else ""
        click.echo(f"\n--- prompt {n} of {planned.total}: {where}; variant {prompt.variant}{item}")
        for message in prompt.messages():
            click.echo(f"[{message['role']}]\n{message['content']}")


@click.group("runs", cls=Commands)
def runs_group() -> None:
    """The runs in a store: list them, show one, export its answers."""


@runs_group.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def runs_list(db: str, fmt: str) -> None:
    """Every run in the store, with its status and counts.

    A run marked running whose process is gone (killed, or its machine lost) shows as
    ``stale``; running it again resumes it.
    """
    from valuecompass.store import open_store, redact
    from valuecompass.store import runs as store

    engine = open_store(db, create=False)
    records = store.list_runs(engine)
    counts = {r.id: store.prompt_counts(engine, r.id) for r in records}
    statuses = store.live_status(engine, records)
    if fmt == "json":
        rows = [{**r.summary(), "status": statuses[r.id], **counts[r.id]} for r in records]
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"Runs in {redact(db)}")
    for col in ("name", "model", "mode", "status", "prompts", "failed", "started"):
        table.add_column(col)
    for r in records:
        c = counts[r.id]
        table.add_row(
            r.name,
            r.model,
            r.mode,
            statuses[r.id],
            str(c["prompts"]),
            str(c["failed"]),
            r.started_at.strftime("%Y-%m-%d %H:%M"),
        )
    console().print(table)


@runs_group.command("show")
@click.argument("name")
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: the manifest, parse outcomes and a summary of the instrument and prompt design "
    "the run used; json: all of it, the instrument and design whole.",
)
def runs_show(name: str, db: str, fmt: str) -> None:
    """A run's manifest, its parse outcomes, and the instrument and prompt design it used."""
    from valuecompass.cli._run_view import run_details, show_run

    engine, record = find_run(db, name)
    show_run(run_details(engine, record), fmt)


@runs_group.command("export")
@click.argument("name")
@db_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output if omitted (CSV only).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="csv: tidy CSV; parquet: the same table as Parquet (needs --out).",
)
def runs_export(name: str, db: str, out: Path | None, fmt: str) -> None:
    """A run's answers as tidy CSV or Parquet: one row per answer (a choice run: one row per
    choice, with the inclination chosen, the place it was shown in, and p_opposes)."""
    from valuecompass.answers import write_csv
    from valuecompass.store import runs as store

    if fmt == "parquet" and out is None:
        fail("--format parquet writes a file: give --out FILE")
    engine, record = find_run(db, name)
    choice = record.task == "choice"  # one row per choice: the inclination chosen and its place
    table = store.run_choices(engine, record) if choice else store.run_answers(engine, record)
    what = "choices" if choice else "answers"
    if out is None:
        click.echo(table.to_csv(index=False), nl=False)
        return
    if fmt == "parquet":
        from valuecompass.export import write_parquet

        write_parquet(table, out)
    else:
        try:
            if choice:
                table.to_csv(out, index=False)
            else:
                write_csv(table, out, store.run_axes(record), extra=("expected", "probs"))
        except OSError as exc:
            fail(f"{out}: cannot write ({exc.strerror})")
    click.echo(f"{len(table)} {what} written to {out}")
