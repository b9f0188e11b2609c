"""``valuecompass plan``: size a study from pilot answers, by simulation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from valuecompass.cli._common import DEFAULT_DATA, console, fail
from valuecompass.cli._options import (
    exclude_option,
    format_option,
    group_distance_option,
    instrument_option,
    mode_option,
    seed_option,
)

#: Models of the released data used when no --llm is given (the top two of Table 2 for a
#: difference; all five for a half-width).
RELEASED_MODELS = (
    "deepseek-r1-distill-llama-70b",
    "openai_o3-mini",
    "gpt-4o-mini",
    "llama3-70b-8192",
    "gemma2-9b-it",
)


def _default_llms(humans: str, two: bool) -> tuple[str, ...]:
    root = Path(humans) / "llm_outputs"
    if not root.is_dir():
        fail(f"--llm: no pilot model given, and {humans} has no released llm_outputs/ folder")
    names = RELEASED_MODELS[:2] if two else RELEASED_MODELS
    return tuple(str(root / n) for n in names if (root / n).is_dir())


@click.command("plan")
@click.option(
    "--humans",
    default=None,
    help=f"Pilot people's answers (default: the released data, {DEFAULT_DATA}).",
)
@click.option(
    "--llm",
    "llms",
    multiple=True,
    help="A pilot model's answers; repeat for more (two for --difference). Default: the "
    "released models.",
)
@click.option(
    "--half-width",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Target interval half-width for the overall F1 and distance; their small-sample "
    "bias must be within it too.",
)
@click.option(
    "--difference",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Tell two models apart when their F1 (distance) differs by this much.",
)
@click.option(
    "--power",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    help="Power for --difference.",
)
@click.option(
    "--level",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Interval level (1 - alpha of the test).",
)
@click.option(
    "--samples",
    "samples",
    type=click.IntRange(1),
    multiple=True,
    default=(1,),
    show_default=True,
    help="Samples per prompt to plan for; repeat for several.",
)
@click.option(
    "--resamples",
    type=click.IntRange(20),
    default=400,
    show_default=True,
    help="Simulated studies per candidate size.",
)
@click.option(
    "--at",
    "sizes",
    type=click.IntRange(1),
    multiple=True,
    help="Also show each model's half-width and small-sample bias at this many people per "
    "context; repeat for more.",
)
@click.option(
    "--max-people",
    type=click.IntRange(1),
    default=2000,
    show_default=True,
    help="The most people per context to consider.",
)
@seed_option()
@mode_option(
    "all",
    "How the study would prompt the model (for the token estimate): every value in one "
    "prompt (all) or one per prompt (item).",
)
@click.option(
    "--prompts",
    "prompts_name",
    default=None,
    help="The study's prompt design (bundled name or YAML; for the token estimate). Default: "
    "the one a pilot run kept, else the bundled default.",
)
@click.option(
    "--tokens-per-prompt",
    type=click.FloatRange(0),
    default=None,
    help="Tokens per prompt, in and out (default: estimated from the design).",
)
@click.option(
    "--minutes-per-participant",
    type=click.FloatRange(0),
    default=15.0,
    show_default=True,
    help="Time one participant takes (an assumption: measure it in your pilot).",
)
@click.option(
    "--price-per-1k-tokens", type=click.FloatRange(0), default=None, help="Adds token_cost."
)
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="A price table (YAML: each model's price per million input and output tokens, and "
    "its batch discount): adds input_tokens, output_tokens, token_cost (and batch_token_cost).",
)
@click.option(
    "--price-model",
    default=None,
    metavar="MODEL",
    help="The model of --prices the study would ask (a name there, or a spec such as "
    "openai:gpt-4o-mini); may be left out when the table prices one model.",
)
@click.option(
    "--pay-per-hour", type=click.FloatRange(0), default=None, help="Adds participant_cost."
)
@format_option(("table", "json"))
@instrument_option
@exclude_option
@group_distance_option
def plan_command(**options: Any) -> None:
    """People per context and samples per prompt a study needs, by simulation from pilot
    answers: for a target interval half-width and small-sample bias on the overall F1 and
    distance (each model), or
    to tell two models apart by --difference at --power; with prompts, tokens, participant
    time and (given prices) money."""
    from valuecompass.api import align_sources
    from valuecompass.cli import _render
    from valuecompass.cli._sources import command_instrument

    if (options["half_width"] is None) == (options["difference"] is None):
        fail("give one target: --half-width W, or --difference D (with --power)")
    price = _price(options)
    two = options["difference"] is not None
    humans = options["humans"] or str(DEFAULT_DATA)
    llms = options["llms"] or _default_llms(humans, two)
    if two and len(llms) != 2:
        fail(f"--difference compares two models; {len(llms)} --llm given")
    instrument = command_instrument(options["instrument_path"], llms, humans)
    results = [
        align_sources(
            humans, llm, instrument, "answer", options["exclude_path"], options["group_distance"]
        )
        for llm in llms
    ]
    err = Console(stderr=True)
    err.print(f"[dim]{results[0].humans.summary()}[/dim]")
    for result in results:
        err.print(f"[dim]{result.llm.summary()}[/dim]")
    names = [Path(x).name.split("#")[-1] for x in llms]
    table = _plan(results, names, instrument, {**options, "price": price})
    notes = _notes(table, options)
    curve = _curve(results, names, options)
    if options["fmt"] == "json":
        plain = table.astype(object).where(table.notna(), None)  # <NA> → null, ints stay ints
        out: dict[str, Any] = {"rows": _render.records(plain), "notes": notes}
        if curve is not None:
            out["curve"] = _render.records(curve)
        click.echo(json.dumps(out, indent=2))
    else:
        if curve is not None:
            _render.print_table(
                console(), curve, f"Half-width and small-sample bias (level {options['level']})"
            )
        what = (
            f"difference {options['difference']}"
            if two
            else f"half-width and |bias| {options['half_width']}"
        )
        _render.print_table(console(), table, f"Study plan ({what}, level {options['level']})")
        for note in notes:
            click.echo(note)


def _curve(results: list[Any], names: list[str], options: dict[str, Any]) -> Any:
    """Each model's half-width and bias at ``--at`` sizes (``None`` without ``--at``)."""
    if not options["sizes"]:
        return None
    import pandas as pd

    from valuecompass.stats import accuracy_curve, make_pilot

    frames = []
    for result, name in zip(results, names, strict=True):
        pilot = make_pilot(result.alignment, result.human_answers, result.model_answers)
        for samples in options["samples"]:
            part = accuracy_curve(
                pilot, sorted(set(options["sizes"])), samples, options["resamples"],
                options["seed"], options["max_people"], options["level"],
            )  # fmt: skip
            part.insert(0, "model", name)
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def _notes(table: Any, options: dict[str, Any]) -> list[str]:
    """Each model's explanation of a half-width floor that the pilot's ties cause."""
    from valuecompass.stats import floor_note

    if options["half_width"] is None:
        return []
    found = []
    for _, row in table.iterrows():
        note = floor_note(row, options["max_people"], options["half_width"])
        if note is not None:
            found.append(f"{row['model']}, {note}")
    return list(dict.fromkeys(found))


def _price(options: dict[str, Any]) -> Any:
    """The price of ``--price-model`` in the ``--prices`` table (``None`` without one)."""
    from valuecompass.models import load_prices

    path, model = options["prices_path"], options["price_model"]
    if path is None:
        if model is not None:
            fail("--price-model goes with --prices")
        return None
    for other in ("price_per_1k_tokens", "tokens_per_prompt"):
        if options[other] is not None:
            flag = "--" + other.replace("_", "-")
            fail(f"--prices prices input and output tokens apart; leave out {flag}")
    table = load_prices(path)
    if model is None:
        if len(table.models) != 1:
            fail(f"--prices {path} prices {len(table.models)} models; say which with --price-model")
        model = next(iter(table.models))
    return table.price(model)


def _plan(results: list[Any], names: list[str], instrument: Any, options: dict[str, Any]) -> Any:
    import pandas as pd

    from valuecompass.prompts import PromptSet, load_prompts
    from valuecompass.stats import (
        Costs,
        Target,
        estimate_io_tokens,
        make_pilot,
        plan_people,
        with_costs,
    )

    pilots = [make_pilot(r.alignment, r.human_answers, r.model_answers) for r in results]
    target = Target(
        level=options["level"],
        half_width=options["half_width"],
        difference=options["difference"],
        power=options["power"],
    )
    contexts = list(pilots[0].layout.contexts)
    kept = next((r.llm.design for r in results if r.llm.design is not None), None)
    if options["prompts_name"] is None and kept is not None:  # the pilot run's own design
        design = PromptSet.model_validate(kept)
    else:
        design = load_prompts(options["prompts_name"], instrument)
    sent, answer, per_sample = estimate_io_tokens(instrument, design, contexts, options["mode"])
    costs = Costs(
        tokens_per_prompt=options["tokens_per_prompt"] or sent + answer,
        input_tokens_per_prompt=sent,
        price=options["price"],
        prompts_per_sample=per_sample,
        contexts=len(contexts),
        minutes_per_participant=options["minutes_per_participant"],
        price_per_1k_tokens=options["price_per_1k_tokens"],
        pay_per_hour=options["pay_per_hour"],
    )
    groups = (
        [(" vs ".join(names), pilots)]
        if len(pilots) == 2 and options["difference"]
        else [(name, [p]) for name, p in zip(names, pilots, strict=True)]
    )
    frames = []
    for name, group in groups:
        for samples in options["samples"]:
            rows = plan_people(
                group, target, samples, options["resamples"], options["seed"], options["max_people"]
            )
            rows.insert(0, "model", name)
            rows["samples_vary"] = any(p.samples_vary for p in group)
            frames.append(rows)
    return recommend(with_costs(pd.concat(frames, ignore_index=True), costs))


def recommend(table: Any) -> Any:
    """Mark, per model and statistic, the design that meets the target most cheaply: the
    lowest total cost when prices are given, else the fewest participant hours, then tokens."""
    order = [c for c in ("total_cost", "participant_hours", "tokens") if c in table.columns]
    met = table["people_per_context"].notna()
    ranked = table[met].sort_values(order, kind="stable")
    best = ranked.groupby(["model", "statistic"], sort=False).head(1).index
    table["recommended"] = table.index.isin(best)
    return table
