"""People's and a model's answers for the commands that compare them (``rigor ...``), loaded
once from their options; and the ``--ci``/``--ceiling`` columns ``align`` adds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from valuecompass.cli._common import console, note_centred
from valuecompass.cli._options import (
    EXCLUDE_OPTION,
    GROUP_DISTANCE_OPTION,
    SCORE_OPTION,
    TIES_OPTION,
    centred,
    format_option,
    instrument_option,
    kept,
    kept_option,
)
from valuecompass.instrument import Instrument, context_columns, group_rule, load_instrument

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.api import AlignResult
    from valuecompass.sources import Side

F = TypeVar("F", bound=Callable[..., Any])


def source_options(func: F) -> F:
    """--humans, --llm, --instrument and --format, passed to the command; --score, --exclude,
    --group-distance and --ties, kept for :func:`load_sources`."""
    func = format_option(show_default=True)(func)
    func = kept_option("--ties", key="ties", **TIES_OPTION)(func)
    func = kept_option("--group-distance", key="group_distance", **GROUP_DISTANCE_OPTION)(func)
    func = kept_option("--exclude", key="exclude", **EXCLUDE_OPTION)(func)
    func = kept_option("--score", key="score", **SCORE_OPTION)(func)
    func = instrument_option(func)
    func = click.option("--llm", required=True, help="A model's answers (as for align).")(func)
    func = click.option("--humans", required=True, help="People's answers (as for align).")(func)
    return func


def kept_score() -> Any:
    """The command's --score (see :func:`source_options`)."""
    return kept("score", "answer")


def kept_exclude() -> Path | None:
    """The command's --exclude (see :func:`source_options`)."""
    return kept("exclude", None)  # type: ignore[no-any-return]


def command_instrument(
    instrument_path: Path | None, llms: Iterable[str] = (), humans: str | None = None
) -> Instrument:
    """The instrument a command reads its sources with: ``--instrument`` (INSTRUMENT_PATH),
    refused where a source's store kept one it conflicts with; with none, the one the LLMS'
    runs (or the HUMANS' survey) kept, else the Value Form
    (:func:`valuecompass.sources.choose_instrument`)."""
    from valuecompass.sources import choose_instrument

    given = load_instrument(instrument_path) if instrument_path is not None else None
    sides: list[tuple[str | Path, Side]] = [(llm, "llm") for llm in llms]
    if humans is not None:
        sides.append((humans, "humans"))
    return choose_instrument(given, sides)


def load_sources(humans: str, llm: str, instrument_path: Path | None) -> AlignResult:
    """HUMANS against LLM under the command's kept options, on :func:`command_instrument`;
    each source's summary on stderr."""
    from valuecompass.api import align_sources

    result = align_sources(
        humans,
        llm,
        command_instrument(instrument_path, [llm], humans),
        kept_score(),
        exclude=kept_exclude(),
        group_distance=kept("group_distance", "cells"),
        centre=centred(),
        ties=kept("ties", "disagree"),
    )
    note_centred(result.centred)
    err = console(stderr=True)
    err.print(f"[dim]{result.humans.summary()}[/dim]")
    err.print(f"[dim]{result.llm.summary()}[/dim]")
    return result


def answer_tables(result: AlignResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People's and the model's answer tables of RESULT."""
    if result.human_answers is None or result.model_answers is None:
        raise click.UsageError("these sources did not keep their answer tables")
    return result.human_answers, result.model_answers


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
    target: str = "design",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ROWS and OVERALL of ``align`` with ``<metric>_low``/``_high`` (``--ci``) and
    ``ceiling_*``/``model_half_*`` (``--ceiling``) for f1 and distance. With TARGET
    ``population`` the intervals are about the bias-corrected estimates, added as
    ``<metric>_corrected``; OVERALL's ``ci_target`` names what the intervals cover."""
    from valuecompass.stats import STATISTICS, bootstrap, human_ceiling

    h, m = answer_tables(result)
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
            target=target,  # type: ignore[arg-type]
        )
        bounds = [f"{s}_{end}" for s in STATISTICS for end in ("low", "high")]
        table = boot.table(group)
        first = boot.overall()
        if target == "population":
            table = table.rename(columns={s: f"{s}_corrected" for s in STATISTICS})
            first = {(f"{k}_corrected" if k in STATISTICS else k): v for k, v in first.items()}
            bounds = [*(f"{s}_corrected" for s in STATISTICS), *bounds]
        rows = _join(rows, table[keys + bounds], keys)
        overall.update({k: v for k, v in first.items() if k in bounds})
        overall["ci_target"] = target
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
