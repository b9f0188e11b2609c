"""``valuecompass rigor``: intervals, ceilings, sensitivity, distributions, significance and
irrelevance; and the ``--ci``/``--ceiling`` columns of ``valuecompass align``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from valuecompass.cli._common import (
    EXCLUDE_OPTION,
    GROUP_DISTANCE_OPTION,
    SCORE_OPTION,
    Commands,
    centre_meta_option,
    centred,
    console,
    fail,
    instrument_option,
    note_centred,
)
from valuecompass.instrument import context_columns, group_rule, load_instrument

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.api import AlignResult

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = click.Choice(["table", "json", "csv"])


def extend_alignment(
    result: AlignResult,
    group: str,
    rows: pd.DataFrame,
    overall: dict[str, Any],
    ci: float | None,
    resamples: int,
    seed: int,
    ceiling: bool,
    method: str = "centred",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ROWS and OVERALL of ``align`` with ``<metric>_low``/``_high`` (``--ci``) and
    ``ceiling_*``/``model_half_*`` (``--ceiling``) for f1 and distance."""
    from valuecompass.stats import STATISTICS, bootstrap, human_ceiling

    h, m = _answers(result)
    keys = [c for c in _key_columns(result, group) if c in rows.columns]
    if ci is not None:
        groups = (group, "overall")
        boot = bootstrap(
            result.alignment,
            h,
            m,
            seed=seed,
            resamples=resamples,
            level=ci,
            groups=groups,
            rank_groups=(),
            method=method,  # type: ignore[arg-type]
        )
        bounds = [f"{s}_{end}" for s in STATISTICS for end in ("low", "high")]
        rows = _join(rows, boot.table(group)[keys + bounds], keys)
        overall.update({k: v for k, v in boot.overall().items() if k in bounds})
    if ceiling:
        table = human_ceiling(result.alignment, h, seed=seed, groups=(group, "overall"))
        extra = [f"{p}_{s}" for s in ("f1", "distance") for p in ("ceiling", "model_half")]
        rows = _join(rows, table.table(group)[keys + extra], keys)
        overall.update({k: v for k, v in table.overall().items() if k in extra})
    return rows, overall


def _key_columns(result: AlignResult, group: str) -> list[str]:
    """The columns that key GROUP's rows: every context axis for ``context``, else its column."""
    inst = result.alignment.instrument
    rule = group_rule(inst, group)
    return context_columns(inst) if rule.kind == "context" else [rule.column]


def _join(rows: pd.DataFrame, extra: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return rows.merge(extra, on=keys, how="left", validate="one_to_one")


def _answers(result: AlignResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    if result.human_answers is None or result.model_answers is None:
        raise click.UsageError("these sources did not keep their answer tables")
    return result.human_answers, result.model_answers


def _keep_score(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta["valuecompass.score"] = value
    return value


def _score() -> Any:
    """The command's --score (kept on the context, so each command need not pass it on)."""
    return click.get_current_context().meta.get("valuecompass.score", "answer")


def _keep(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        ctx.meta[f"valuecompass.{key}"] = value
        return value

    return callback


def _kept(key: str, default: Any) -> Any:
    """An option kept on the context by :func:`_keep` (--exclude, --group-distance)."""
    return click.get_current_context().meta.get(f"valuecompass.{key}", default)


def _sources(func: F) -> F:
    """--humans, --llm, --score, --instrument, --exclude, --group-distance and --format,
    loaded into an AlignResult."""
    func = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)(func)
    keep_distance = _keep("group_distance")
    func = click.option(
        "--group-distance", expose_value=False, callback=keep_distance, **GROUP_DISTANCE_OPTION
    )(func)
    func = click.option(
        "--exclude", expose_value=False, callback=_keep("exclude"), **EXCLUDE_OPTION
    )(func)
    func = click.option("--score", expose_value=False, callback=_keep_score, **SCORE_OPTION)(func)
    func = instrument_option(func)
    func = click.option("--llm", required=True, help="A model's answers (as for align).")(func)
    func = click.option("--humans", required=True, help="People's answers (as for align).")(func)
    return func


def _load(humans: str, llm: str, instrument_path: Path | None) -> AlignResult:
    from valuecompass.api import align_sources

    result = align_sources(
        humans,
        llm,
        load_instrument(instrument_path),
        _score(),
        exclude=_kept("exclude", None),
        group_distance=_kept("group_distance", "cells"),
        centre=centred(),
    )
    note_centred(result.centred)
    err = console(stderr=True)
    err.print(f"[dim]{result.humans.summary()}[/dim]")
    err.print(f"[dim]{result.llm.summary()}[/dim]")
    return result


def emit(df: pd.DataFrame, fmt: str, title: str) -> None:
    """Print a table, JSON (``{"rows": [...]}``) or CSV."""
    from valuecompass.cli import _render

    if fmt == "json":
        click.echo(json.dumps({"rows": _render.records(df)}, indent=2))
    elif fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    else:
        _render.print_table(console(), _render.with_intervals(df), title)


seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")


@click.group("rigor", cls=Commands)
def rigor_group() -> None:
    """How far to trust the alignment numbers: ceilings, ranks, sensitivity, significance."""


ANY_GROUPING = (
    "context, any context axis (country, scenario; topic = scenario), value, or any of the "
    "instrument's groupings (type, higher_order, ...)"
)


@rigor_group.command("ceiling")
@_sources
@centre_meta_option
@click.option(
    "--by",
    "group",
    default=None,
    help=ANY_GROUPING + " or overall.  [default: the instrument's first context axis, "
    "country for the Value Form]",
)
@click.option("--splits", type=click.IntRange(1), default=200, show_default=True)
@seed_option
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

    result = _load(humans, llm, instrument_path)
    group = group or group_rule(result.alignment.instrument, None).id
    h, _ = _answers(result)
    table = human_ceiling(result.alignment, h, splits=splits, seed=seed, groups=(group,))
    emit(table.table(group, ("f1", "kappa", "distance")), fmt, f"Human ceiling by {group}")


@rigor_group.command("ranks")
@_sources
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
    default=10,
    show_default=True,
    help="p_top_k is the chance a value is among this many most misaligned.",
)
@click.option(
    "--ci",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
)
@click.option("--resamples", type=click.IntRange(2), default=2000, show_default=True)
@seed_option
def ranks_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    group: str,
    top_k: int,
    ci: float,
    resamples: int,
    seed: int,
) -> None:
    """Values by distance with rank intervals and the chance of being in the top k."""
    from valuecompass.instrument import group_rule
    from valuecompass.stats import bootstrap

    result = _load(humans, llm, instrument_path)
    h, m = _answers(result)
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
    table = boot.ranking(group, top_k).rename(columns={"p_top_k": f"p_top_{top_k}"})
    emit(table, fmt, f"Misalignment ranking ({group})")


@rigor_group.command("sensitivity")
@_sources
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

    result = _load(humans, llm, instrument_path)
    _, m = _answers(result)
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
@_sources
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

    result = _load(humans, llm, instrument_path)
    h, m = _answers(result)
    dist = distribution_distances(result.alignment, h, m)
    table = dist.cells if group == "cell" else dist.by(group)
    emit(table, fmt, f"Distribution distances by {group}")


@rigor_group.command("significance")
@_sources
@centre_meta_option
@click.option("--permutations", type=click.IntRange(1), default=2000, show_default=True)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="False discovery rate for 'significant'.",
)
@seed_option
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

    result = _load(humans, llm, instrument_path)
    h, m = _answers(result)
    table = permutation_test(
        result.alignment, h, m, permutations=permutations, seed=seed, alpha=alpha
    )
    emit(table, fmt, "Model against people, per value (permutation test)")


@rigor_group.command("irrelevant")
@_sources
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
    from valuecompass.api import exclude_people
    from valuecompass.sources import load_source
    from valuecompass.stats import compare_irrelevant

    # No alignment needed: a model may skip every value.
    instrument = load_instrument(instrument_path)
    h, h_report = load_source(humans, instrument, "humans")
    if _kept("exclude", None) is not None:
        h = exclude_people(h, h_report, _kept("exclude", None), instrument)
    m, _ = load_source(llm, instrument, "llm", _score())
    rule = group_rule(instrument, group)
    if rule.kind == "items":
        fail(f"--by {group}: 'irrelevant' answers are counted by value, context or axis")
    by = tuple(context_columns(instrument)) if rule.kind == "context" else (rule.column,)
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
