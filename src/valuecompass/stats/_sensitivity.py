"""Prompt sensitivity: scores per prompt variant, variance by prompt factor, label flips.

A prompt design varies some of its factors over its variants (:data:`FACTORS`): the bundled
default varies framing, statement style (SVS statement or PVQ portrait), answer requirement
and order (options and values forward or reversed) over 8 variants, a 2^(4-1) fractional
factorial; the bundled ``paper`` design and the authors' released answers vary layout (values
or options first), style and requirement, a full 2^3. Functions take the factor table as an
argument: a DataFrame indexed by variant with one column per factor that varies, made from the
levels the answers' source reports (:func:`factor_table`: a run's prompt design, or the
released import's levels), never from a table that assumes one design.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass import metrics as al
from valuecompass.answers import scores
from valuecompass.instrument import Instrument, context_columns, load_instrument
from valuecompass.metrics import Alignment
from valuecompass.prompts import PromptSet, read_prompts
from valuecompass.stats._groups import STATISTICS, Layout, group_statistics
from valuecompass.stats._units import FloatArray


def _cell(instrument: Instrument | None) -> list[str]:
    """The columns that key a cell: every context axis of INSTRUMENT (the Value Form if
    omitted), then ``value``. A cell is one context (a level of every axis) and value."""
    return [*context_columns(instrument or load_instrument()), "value"]


def factor_table(levels: Mapping[int, Mapping[str, str]]) -> pd.DataFrame:
    """Variant index → level of each factor, keeping the factors that take two or more levels.

    LEVELS is what a source reports (``ImportReport.variant_levels``, or
    ``PromptSet.levels()``). A factor that never varies is dropped: no share can be put on it.
    """
    index = pd.Index(sorted(levels), name="variant", dtype=int)
    if not any(levels.values()):
        return pd.DataFrame(index=index)
    table = pd.DataFrame.from_dict(dict(levels), orient="index").reindex(index)
    return table[[c for c in table.columns if table[c].nunique() > 1]]


def answers_factors(
    model_answers: pd.DataFrame, levels: Mapping[int, Mapping[str, str]] | None
) -> pd.DataFrame:
    """The factor table of a model's answers: of LEVELS (what their source reports), or, when
    the source does not say (``None``), one with the answers' variants and no factor."""
    if levels is None:
        variants = model_answers["variant"].dropna().astype(int).unique()
        return factor_table({int(v): {} for v in variants})
    return factor_table(levels)


def variant_factors(prompts: PromptSet) -> pd.DataFrame:
    """The factor table of a prompt design (:func:`factor_table` of its levels)."""
    return factor_table(prompts.levels())


def default_variant_factors() -> pd.DataFrame:
    """The factor table of the bundled default design (framing, style, requirement, order)."""
    return variant_factors(read_prompts())


@dataclass(frozen=True)
class Sensitivity:
    """How much the model's answers depend on the wording of the prompt."""

    by_variant: pd.DataFrame  # variant, factor levels, overall statistics, mean score
    variance: pd.DataFrame  # factor → share of the within-cell variance
    variance_by_value: pd.DataFrame  # value → share per factor
    flips: pd.DataFrame  # value → share of contexts whose label flips across variants/levels


def prompt_sensitivity(
    alignment: Alignment, model_answers: pd.DataFrame, factors: pd.DataFrame | None = None
) -> Sensitivity:
    """All three views of prompt sensitivity in one call (see the functions below).

    FACTORS is the answers' factor table (:func:`factor_table`); ``None`` assumes the bundled
    default design.
    """
    table = default_variant_factors() if factors is None else factors
    by_value = variance_shares(model_answers, table, "value", alignment.instrument).set_index(
        "value"
    )
    order = [v for v in alignment.human.columns if v in by_value.index]
    return Sensitivity(
        by_variant=variant_scores(alignment, model_answers, table),
        variance=variance_shares(model_answers, table, None, alignment.instrument),
        variance_by_value=by_value.loc[order].reset_index(),
        flips=label_flips(alignment, model_answers, table),
    )


def _scored(
    model_answers: pd.DataFrame, factors: pd.DataFrame, instrument: Instrument | None
) -> pd.DataFrame:
    """Scored answers with a normalised score ``x`` (each on its own scale, see
    :mod:`valuecompass.answers`; INSTRUMENT defaults to the Value Form) and their
    variant's factor levels."""
    df = model_answers[model_answers["position"].notna() & model_answers["variant"].notna()]
    df = df.copy()
    df["x"] = scores(df, instrument or load_instrument(), "llm")
    df = df[[*_cell(instrument), "variant", "position", "x"]].copy()
    df["variant"] = df["variant"].astype(int)
    known = df["variant"].isin(factors.index)
    if not known.all():
        unknown = sorted(set(df.loc[~known, "variant"]))
        raise ValueError(f"variants {unknown} are not in the factor table ({list(factors.index)})")
    return df.join(factors, on="variant")


def variant_matrices(
    model_answers: pd.DataFrame, layout: Layout, keys: list[str]
) -> tuple[pd.DataFrame, FloatArray]:
    """Normalised model matrices per level of KEYS (e.g. ``["variant"]``), ``(V, C, K)``; the
    contexts are the layout's (keyed by every context axis)."""
    cell = [*map(str, layout.contexts.names), "value"]
    means = model_answers.groupby([*keys, *cell])["x"].mean()
    levels = means.index.droplevel(cell).unique()
    frame = levels.to_frame(index=False)
    out = np.full((len(levels), len(layout.contexts), len(layout.values)), np.nan)
    for i, level in enumerate(levels):
        part = means.xs(level if isinstance(level, tuple) else (level,), level=keys)
        wide = part.unstack("value").reindex(index=layout.contexts, columns=list(layout.values))
        out[i] = wide.to_numpy(float)
    return frame, out


def variant_scores(
    alignment: Alignment, model_answers: pd.DataFrame, factors: pd.DataFrame
) -> pd.DataFrame:
    """The overall rate and distance of each variant alone against people, with its levels
    and ``mean_score`` (the variant's mean normalised answer: higher is more disagreement)."""
    layout = Layout.of(alignment)
    df = _scored(model_answers, factors, alignment.instrument)
    frame, matrices = variant_matrices(df, layout, ["variant"])
    stats = group_statistics(alignment.human.to_numpy()[None], matrices, layout, ("overall",))
    out = frame.join(factors, on="variant")
    for stat in STATISTICS:
        out[stat] = stats["overall"][stat][:, 0]
    out["mean_score"] = np.nanmean(matrices.reshape(len(frame), -1), axis=1)
    out["n_answers"] = df.groupby("variant").size().reindex(frame["variant"]).to_numpy()
    return out


def variance_shares(
    model_answers: pd.DataFrame,
    factors: pd.DataFrame,
    by: str | None = None,
    instrument: Instrument | None = None,
) -> pd.DataFrame:
    """Share of the model's within-cell variance due to each prompt factor's main effect.

    Within each cell (context × value; a context is a level of every context axis of
    INSTRUMENT, the Value Form if omitted) the total sum of squares of the normalised answers
    around the cell mean is split into each factor's main-effect sum of squares,
    ``Σ n_level (mean_level - mean_cell)²``, summed over cells (over the cells of each ``by``
    group when given). ``other`` is the rest: aliased interactions, repeated samples and the
    imbalance left by missing answers (it can dip below zero when answers are missing). A
    cell whose answers never vary adds nothing. ``NaN`` shares where nothing varies at all.
    """
    df = _scored(model_answers, factors, instrument)
    names = list(factors.columns)
    cell = _cell(instrument)
    cell_mean = df.groupby(cell)["x"].transform("mean")
    parts = pd.DataFrame({"total": (df["x"] - cell_mean) ** 2})
    for f in names:
        level_mean = df.groupby([*cell, f])["x"].transform("mean")
        parts[f] = (level_mean - cell_mean) ** 2
    keys = [df[by]] if by else [np.zeros(len(df), dtype=int)]
    sums = parts.groupby(keys).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = sums[names].div(sums["total"].where(sums["total"] > 0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        explained = sums[names].sum(axis=1) / sums["total"].where(sums["total"] > 0)
    shares["other"] = 1.0 - explained
    shares["total_ss"] = sums["total"]
    if by is None:
        long = shares.iloc[0].rename("share").rename_axis("factor").reset_index()
        return long[long["factor"] != "total_ss"].reset_index(drop=True)
    return shares.rename_axis(by).reset_index()


def label_flips(
    alignment: Alignment, model_answers: pd.DataFrame, factors: pd.DataFrame
) -> pd.DataFrame:
    """Per value, the share of contexts whose agree/disagree label changes with the wording.

    ``flip_rate``: the variants (each variant's cell mean, binarised) do not all give one label.
    ``<factor>_flip_rate``: the factor's two levels (each level's cell mean) give different
    labels. Only contexts with at least two labelled variants (levels) count;
    ``n_contexts`` says how many did for ``flip_rate``.
    """
    layout = Layout.of(alignment)
    df = _scored(model_answers, factors, alignment.instrument)
    out = pd.DataFrame({"value": list(layout.values)})
    _, per_variant = variant_matrices(df, layout, ["variant"])
    out["flip_rate"], out["n_contexts"] = _flip_share(per_variant)
    for f in factors.columns:
        _, per_level = variant_matrices(df, layout, [f])
        out[f"{f}_flip_rate"] = _flip_share(per_level)[0]
    return out


def _flip_share(matrices: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(V, C, K) scores → per value: share of contexts with both labels among V, and count."""
    labels = al.binarise(matrices)
    ok = ~np.isnan(labels)
    n_labelled = ok.sum(axis=0)
    disagree = np.where(ok, labels, 0.0).sum(axis=0)
    flips = (disagree > 0) & (disagree < n_labelled)
    counted = n_labelled >= 2
    n = counted.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, (flips & counted).sum(axis=0) / np.where(n > 0, n, 1.0), np.nan)
    return share, n
