"""Prompt sensitivity: scores per prompt variant, variance by prompt factor, label flips.

The prompt design varies four factors over 8 variants (a 2^(4-1) fractional factorial, so each
main effect is estimable): framing, statement style (SVS statement or PVQ portrait), answer
requirement, and order (options and values forward or reversed). Functions take the factor
table as an argument, a DataFrame indexed by variant with one column per factor; the default,
:func:`default_variant_factors`, follows the bundled prompt design and the released data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass import alignment as al
from valuecompass.compare import Alignment
from valuecompass.prompts import PromptSet
from valuecompass.stats._groups import STATISTICS, Layout, group_statistics
from valuecompass.stats._units import FloatArray

FACTORS = ("framing", "style", "requirement", "order")
_CELL = ["country", "topic", "value"]


def default_variant_factors() -> pd.DataFrame:
    """Factor levels of variants 0..7: framing is bit 0 (a/b), style bit 1 (svs/pvq: portrait
    in 2, 3, 6, 7), requirement bit 2 (a/b); order is reversed when framing and requirement
    differ."""
    v = np.arange(8)
    framing, style, requirement = v & 1, (v >> 1) & 1, (v >> 2) & 1
    table = pd.DataFrame(
        {
            "framing": np.where(framing == 1, "b", "a"),
            "style": np.where(style == 1, "pvq", "svs"),
            "requirement": np.where(requirement == 1, "b", "a"),
            "order": np.where(framing != requirement, "reversed", "forward"),
        },
        index=pd.Index(v, name="variant"),
    )
    return table


def variant_factors(prompts: PromptSet) -> pd.DataFrame:
    """The factor table of a prompt design (``load_prompts()``), for designs of one's own."""
    rows = {v.index: {f: getattr(v, f) for f in FACTORS} for v in prompts.variants}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant").sort_index()


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
    """All three views of prompt sensitivity in one call (see the functions below)."""
    table = default_variant_factors() if factors is None else factors
    by_value = variance_shares(model_answers, table, by="value").set_index("value")
    order = [v for v in alignment.human.columns if v in by_value.index]
    return Sensitivity(
        by_variant=variant_scores(alignment, model_answers, table),
        variance=variance_shares(model_answers, table),
        variance_by_value=by_value.loc[order].reset_index(),
        flips=label_flips(alignment, model_answers, table),
    )


def _scored(model_answers: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Scored answers with a normalised score ``x`` and their variant's factor levels."""
    df = model_answers[model_answers["position"].notna() & model_answers["variant"].notna()]
    df = df[[*_CELL, "variant", "position"]].copy()
    df["variant"] = df["variant"].astype(int)
    df["x"] = al.normalise(df["position"].to_numpy(float))
    known = df["variant"].isin(factors.index)
    if not known.all():
        unknown = sorted(set(df.loc[~known, "variant"]))
        raise ValueError(f"variants {unknown} are not in the factor table ({list(factors.index)})")
    return df.join(factors[list(FACTORS)], on="variant")


def variant_matrices(
    model_answers: pd.DataFrame, layout: Layout, keys: list[str]
) -> tuple[pd.DataFrame, FloatArray]:
    """Normalised model matrices per level of KEYS (e.g. ``["variant"]``), ``(V, C, K)``."""
    means = model_answers.groupby([*keys, "country", "topic", "value"])["x"].mean()
    levels = means.index.droplevel(["country", "topic", "value"]).unique()
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
    df = _scored(model_answers, factors)
    frame, matrices = variant_matrices(df, layout, ["variant"])
    stats = group_statistics(alignment.human.to_numpy()[None], matrices, layout, ("overall",))
    out = frame.join(factors[list(FACTORS)], on="variant")
    for stat in STATISTICS:
        out[stat] = stats["overall"][stat][:, 0]
    out["mean_score"] = np.nanmean(matrices.reshape(len(frame), -1), axis=1)
    out["n_answers"] = df.groupby("variant").size().reindex(frame["variant"]).to_numpy()
    return out


def variance_shares(
    model_answers: pd.DataFrame, factors: pd.DataFrame, by: str | None = None
) -> pd.DataFrame:
    """Share of the model's within-cell variance due to each prompt factor's main effect.

    Within each cell (context × value) the total sum of squares of the normalised answers
    around the cell mean is split into each factor's main-effect sum of squares,
    ``Σ n_level (mean_level - mean_cell)²``, summed over cells (over the cells of each ``by``
    group when given). ``other`` is the rest: aliased interactions, repeated samples and the
    imbalance left by missing answers (it can dip below zero when answers are missing). A
    cell whose answers never vary adds nothing. ``NaN`` shares where nothing varies at all.
    """
    df = _scored(model_answers, factors)
    cell_mean = df.groupby(_CELL)["x"].transform("mean")
    parts = pd.DataFrame({"total": (df["x"] - cell_mean) ** 2})
    for f in FACTORS:
        level_mean = df.groupby([*_CELL, f])["x"].transform("mean")
        parts[f] = (level_mean - cell_mean) ** 2
    keys = [df[by]] if by else [np.zeros(len(df), dtype=int)]
    sums = parts.groupby(keys).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = sums[list(FACTORS)].div(sums["total"].where(sums["total"] > 0), axis=0)
    shares["other"] = 1.0 - shares[list(FACTORS)].sum(axis=1, min_count=len(FACTORS))
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
    df = _scored(model_answers, factors)
    out = pd.DataFrame({"value": list(layout.values)})
    _, per_variant = variant_matrices(df, layout, ["variant"])
    out["flip_rate"], out["n_contexts"] = _flip_share(per_variant)
    for f in FACTORS:
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
