"""``valuecompass rigor``: intervals, ceilings, sensitivity, distributions, significance and
irrelevance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from valuecompass.cli._common import Commands, emit, fail
from valuecompass.cli._options import (
    ANY_GROUPING,
    centre_meta_option,
    ci_option,
    instrument_option,
    resamples_option,
    seed_option,
)
from valuecompass.cli._sources import (
    answer_tables,
    command_instrument,
    kept_exclude,
    kept_score,
    load_sources,
    source_options,
)
from valuecompass.instrument import context_columns, group_rule, load_instrument

if TYPE_CHECKING:
    from valuecompass.api import AlignResult


@click.group("rigor", cls=Commands)
def rigor_group() -> None:
    """How far to trust the alignment numbers: ceilings, ranks, sensitivity, significance."""


@rigor_group.command("ceiling")
@source_options
@centre_meta_option
@click.option(
    "--by",
    "group",
    default=None,
    help=ANY_GROUPING + " or overall.  [default: the instrument's first context axis, "
    "country for the Value Form]",
)
@click.option("--splits", type=click.IntRange(1), default=200, show_default=True)
@seed_option()
def ceiling_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    group: str | None,
    splits: int,
    seed: int,
) -> None:
    """People against people (split halves) beside the model, for the rate and distance."""
    from valuecompass.stats import human_ceiling

    result = load_sources(humans, llm, instrument_path)
    group = group or group_rule(result.alignment.instrument, None).id
    h, _ = answer_tables(result)
    table = human_ceiling(result.alignment, h, splits=splits, seed=seed, groups=(group,))
    emit(table.table(group, ("f1", "kappa", "distance")), fmt, f"Human ceiling by {group}")


@rigor_group.command("ranks")
@source_options
@centre_meta_option
@click.option(
    "--by",
    "group",
    default="overall",
    show_default=True,
    help="overall, or within each level of a context axis (country, scenario; topic = scenario).",
)
@click.option(
    "--top-k",
    type=click.IntRange(1),
    default=None,
    help="p_top_k is the chance an item is among this many most misaligned.  [default: 10, "
    "or half the items when there are fewer than 20]",
)
@ci_option()
@resamples_option()
@seed_option()
def ranks_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    group: str,
    top_k: int | None,
    ci: float,
    resamples: int,
    seed: int,
) -> None:
    """Items by distance with rank intervals and the chance of being in the top k."""
    from valuecompass.instrument import group_rule
    from valuecompass.stats import bootstrap

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    items = group_rule(result.alignment.instrument, "item").id  # "value" or, beside one, "item"
    boot = bootstrap(
        result.alignment,
        h,
        m,
        seed=seed,
        resamples=resamples,
        level=ci,
        groups=(items,),
        rank_groups=(group,),
    )
    instrument = result.alignment.instrument
    n = len(instrument.items)
    if top_k is None:
        top_k = min(10, max(1, n // 2))
    elif top_k >= n:
        click.echo(
            f"note: --top-k {top_k} takes in all {n} {instrument.item_noun}s, so every p_top_"
            f"{top_k} is 1",
            err=True,
        )
    table = boot.ranking(group, top_k).rename(columns={"p_top_k": f"p_top_{top_k}"})
    if fmt == "table":  # the header in the instrument's word (the data's column is "value")
        table = table.rename(columns={"value": instrument.item_noun})
    from valuecompass.cli._render import interval_words

    emit(table, fmt, f"Misalignment ranking ({group}); {interval_words(ci, 'design')}")


@rigor_group.command("sensitivity")
@source_options
@centre_meta_option
@click.option(
    "--view",
    type=click.Choice(["variants", "factors", "values", "flips"]),
    default="variants",
    show_default=True,
    help="Scores per variant, variance share per factor (overall or per value), "
    "or label flips per value.",
)
@click.option(
    "--prompts",
    "prompts_path",
    default=None,
    help="The prompt design the model's answers came from (a bundled name: default, paper; or "
    "a YAML file). Needed only when the source does not say: released data and runs made "
    "with a bundled design carry their factor levels.",
)
def sensitivity_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    view: str,
    prompts_path: str | None,
) -> None:
    """How much the model's answers depend on the prompt's wording, per factor the answers'
    own prompt design varied."""
    from valuecompass.stats import answers_factors, prompt_sensitivity

    result = load_sources(humans, llm, instrument_path)
    _, m = answer_tables(result)
    if not m["variant"].notna().any():
        raise click.UsageError("the model's answers carry no prompt variant")
    levels = result.llm.variant_levels
    if prompts_path:
        levels = _design_levels(prompts_path, result)
    if levels is None and view in ("factors", "values"):
        fail(
            f"{llm}: the model's answers do not say which prompt design they came from (a tidy "
            "CSV, or a run made with a design of one's own), so their factors are unknown; "
            "name it with --prompts NAME|PATH"
        )
    s = prompt_sensitivity(result.alignment, m, answers_factors(m, levels))
    tables = {
        "variants": s.by_variant,
        "factors": s.variance,
        "values": s.variance_by_value,
        "flips": s.flips.sort_values("flip_rate", ascending=False, kind="stable"),
    }
    emit(tables[view], fmt, f"Prompt sensitivity: {view}")


def _design_levels(prompts_path: str, result: AlignResult) -> dict[int, dict[str, str]]:
    """The levels of the design --prompts names, refused when the answers say otherwise (a
    run's design digest, or the levels a released import carries)."""
    from valuecompass.prompts import read_prompts
    from valuecompass.runner import prompts_digest

    design = read_prompts(prompts_path)
    manifest = result.llm.manifest or {}
    ran = manifest.get("prompts_digest")
    if ran and ran != prompts_digest(design):
        fail(f"--prompts {prompts_path}: not the design run {manifest.get('name')!r} used")
    known = result.llm.variant_levels
    if known is not None and known != design.levels():
        fail(f"--prompts {prompts_path}: the answers carry other factor levels (their own design)")
    return design.levels()


@rigor_group.command("distributions")
@source_options
@click.option(
    "--by",
    "group",
    default="value",
    show_default=True,
    help=ANY_GROUPING + ", overall, or cell (every cell).",
)
def distributions_command(
    humans: str, llm: str, instrument_path: Path | None, fmt: str, group: str
) -> None:
    """Wasserstein (÷ range) and Jensen-Shannon distances between answer distributions."""
    from valuecompass.stats import distribution_distances

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    dist = distribution_distances(result.alignment, h, m)
    table = dist.cells if group == "cell" else dist.by(group)
    emit(table, fmt, f"Distribution distances by {group}")


@rigor_group.command("significance")
@source_options
@centre_meta_option
@click.option("--permutations", type=click.IntRange(1), default=2000, show_default=True)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="False discovery rate for 'significant'.",
)
@seed_option()
def significance_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    permutations: int,
    alpha: float,
    seed: int,
) -> None:
    """Permutation test of each value's distance, Benjamini-Hochberg across values."""
    from valuecompass.stats import permutation_test

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    table = permutation_test(
        result.alignment, h, m, permutations=permutations, seed=seed, alpha=alpha
    )
    emit(table, fmt, "Model against people, per value (permutation test)")


@rigor_group.command("irrelevant")
@source_options
@click.option(
    "--by",
    "group",
    default="value",
    show_default=True,
    help="value, context, or any context axis (country, scenario; topic = scenario).",
)
def irrelevant_command(
    humans: str, llm: str, instrument_path: Path | None, fmt: str, group: str
) -> None:
    """How often people, and the model, call each value irrelevant."""
    from valuecompass.answers import missing_as_irrelevant
    from valuecompass.api import exclude_people
    from valuecompass.sources import load_source
    from valuecompass.stats import compare_irrelevant

    # No alignment needed: a model may skip every value.
    instrument = command_instrument(instrument_path, [llm], humans)
    h, h_report = load_source(humans, instrument, "humans")
    exclude = kept_exclude()
    if exclude is not None:
        h = exclude_people(h, h_report, exclude, instrument)
    m, _ = load_source(llm, instrument, "llm", kept_score())
    rule = group_rule(instrument, group)
    if rule.kind == "items":
        fail(f"--by {group}: 'irrelevant' answers are counted by value, context or axis")
    by = tuple(context_columns(instrument)) if rule.kind == "context" else (rule.column,)
    h, m = (missing_as_irrelevant(t, instrument) for t in (h, m))  # every missing code counts
    emit(compare_irrelevant(h, m, by), fmt, f"'Irrelevant' answers by {group}")


@rigor_group.command("irrelevant-prompts")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--prompts",
    "prompts_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A prompt design to start from; the bundled one if omitted.",
)
@instrument_option
def irrelevant_prompts_command(
    out: Path, prompts_path: Path | None, instrument_path: Path | None
) -> None:
    """Write a prompt design that offers the model "irrelevant", for `run --prompts OUT`."""
    from valuecompass.prompts import load_prompts
    from valuecompass.stats import offer_irrelevant, write_prompts

    design = load_prompts(prompts_path, load_instrument(instrument_path))
    write_prompts(offer_irrelevant(design), out)
    click.echo(f"wrote {out}; use it with: valuecompass run --prompts {out} ...")
