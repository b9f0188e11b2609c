"""Reliability: do a grouping's items hang together, and does a model agree with itself?

Pure functions on arrays first (:func:`cronbach_alpha`, :func:`mcdonald_omega`, :func:`icc`),
then :func:`reliability`, which applies them per group of an instrument grouping, to a tidy
answer table: people's (one row per respondent and context) or a model's (one row per prompt
set: context × variant × sample).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.stats._units import FloatArray, unit_columns

#: The level of a grouping that holds the items in no group.
UNASSIGNED = "unassigned"


def cronbach_alpha(x: FloatArray) -> float:
    """Cronbach's alpha of an ``(N units, K items)`` array, ``NaN`` = missing.

    ``alpha = K / (K - 1) · (1 - Σ var_i / Σ_ij cov_ij)`` from the pairwise-complete covariance
    matrix (ddof 1), as ``pingouin.cronbach_alpha`` does by default. Edge cases: ``NaN`` with
    fewer than 2 items or when the items' total variance is 0 (every unit answers alike).
    """
    k = x.shape[1]
    if k < 2:
        return float("nan")
    cov = pd.DataFrame(x).cov().to_numpy()
    total = np.nansum(cov)
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.nansum(np.diag(cov)) / total))


def one_factor_loadings(corr: FloatArray, tol: float = 1e-8, max_iter: int = 1000) -> FloatArray:
    """Loadings of a one-factor model fitted by iterated principal axes (= least squares, MINRES).

    Start from squared multiple correlations, put the communalities on the diagonal, take the
    leading eigenvector, repeat until the communalities move less than ``tol``. Communalities
    are capped at 1 (a Heywood case stops there). Signs: the loadings sum to a positive number.
    """
    r = np.asarray(corr, dtype=float)
    h2 = np.clip(1.0 - 1.0 / np.diag(np.linalg.pinv(r)), 0.0, 1.0)
    loadings = np.sqrt(h2)
    for _ in range(max_iter):
        reduced = r.copy()
        np.fill_diagonal(reduced, h2)
        vals, vecs = np.linalg.eigh(reduced)
        loadings = vecs[:, -1] * np.sqrt(max(vals[-1], 0.0))
        new = np.minimum(loadings**2, 1.0)
        done = np.max(np.abs(new - h2)) < tol
        h2 = new
        if done:
            break
    out: FloatArray = loadings if loadings.sum() >= 0 else -loadings
    return out


def mcdonald_omega(x: FloatArray) -> float:
    """McDonald's omega (total) of an ``(N, K)`` array from a one-factor model.

    Estimator: the pairwise-complete correlation matrix, one factor fitted by least squares
    (:func:`one_factor_loadings`), then ``ω = (Σλ)² / ((Σλ)² + Σ(1 - λ²))`` on standardised
    items. Items that never vary are left out (they have no correlation). Edge cases: ``NaN``
    with fewer than 3 varying items (one factor is not identified with 2).
    """
    df = pd.DataFrame(x)
    df = df.loc[:, df.std() > 0]
    if df.shape[1] < 3:
        return float("nan")
    corr = df.corr().fillna(0.0).to_numpy()
    lam = one_factor_loadings(corr)
    common = lam.sum() ** 2
    unique = np.sum(1.0 - np.minimum(lam**2, 1.0))
    return float(common / (common + unique))


#: The intraclass correlations :func:`icc` gives, in the order tables show them.
ICCS = ("icc2_1", "icc2_k", "icc3_1", "icc3_k")


def icc(ratings: FloatArray) -> dict[str, float]:
    """Intraclass correlations of an ``(n targets, k raters)`` array (Shrout and Fleiss 1979).

    Targets with any missing rating are dropped (listwise, as ``pingouin.intraclass_corr``).
    From the two-way ANOVA mean squares of rows (MSR), columns (MSC) and error (MSE):

    * ``icc2_1`` (absolute agreement of one rater): (MSR - MSE) / (MSR + (k-1)MSE + k(MSC - MSE)/n)
    * ``icc2_k`` (absolute agreement of the mean of k): (MSR - MSE) / (MSR + (MSC - MSE)/n)
    * ``icc3_1`` (consistency of one rater): (MSR - MSE) / (MSR + (k-1)MSE)
    * ``icc3_k`` (consistency of the mean of k): (MSR - MSE) / MSR

    Edge cases: ``NaN`` with fewer than 2 complete targets or 2 raters, or when nothing varies
    (a denominator of 0); ``n`` is the number of complete targets.
    """
    x = np.asarray(ratings, dtype=float)
    x = x[~np.isnan(x).any(axis=1)] if x.size else x.reshape(0, max(x.shape[-1], 0))
    n, k = x.shape if x.ndim == 2 else (0, 0)
    nan = {name: float("nan") for name in ICCS}
    if n < 2 or k < 2:
        return {**nan, "n": float(n)}
    grand = x.mean()
    msr = k * np.sum((x.mean(axis=1) - grand) ** 2) / (n - 1)
    msc = n * np.sum((x.mean(axis=0) - grand) ** 2) / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    mse = np.sum(resid**2) / ((n - 1) * (k - 1))
    dens = {
        "icc2_1": msr + (k - 1) * mse + k * (msc - mse) / n,
        "icc2_k": msr + (msc - mse) / n,
        "icc3_1": msr + (k - 1) * mse,
        "icc3_k": msr,
    }
    out = {name: float((msr - mse) / d) if d > 0 else float("nan") for name, d in dens.items()}
    return {**out, "n": float(n)}


def wide(answers: pd.DataFrame, values: Sequence[str], contexts: Sequence[str]) -> pd.DataFrame:
    """One row per unit (respondent or prompt set, within its context), one column per value.

    CONTEXTS are the answer table's context columns (all of the instrument's context axes,
    :func:`valuecompass.instrument.context_columns`): a unit is one context's respondent or
    prompt set, so two contexts differing in any axis never pool."""
    keys = [*contexts, *unit_columns(answers)]
    table = answers.pivot_table(
        index=[answers[k].astype(str) for k in keys],
        columns="value",
        values="position",
        aggfunc="mean",
    )
    return table.reindex(columns=list(values)).astype(float)


def variant_ratings(
    answers: pd.DataFrame, values: Sequence[str], contexts: Sequence[str]
) -> pd.DataFrame:
    """A model's cells (context × value, a context keyed by the CONTEXTS columns) as rows, its
    prompt variants as columns (mean over samples): the raters of :func:`icc`."""
    scored = answers[answers["value"].isin(list(values))]
    if not scored["variant"].notna().any():
        return pd.DataFrame()
    return scored.pivot_table(
        index=[*contexts, "value"], columns="variant", values="position", aggfunc="mean"
    ).astype(float)


def reliability(
    answers: pd.DataFrame,
    groups: Mapping[str, str],
    order: Sequence[str],
    *,
    contexts: Sequence[str],
) -> pd.DataFrame:
    """Internal consistency per group, and (for a model) agreement across prompt variants.

    ``groups`` maps each value id to its group (e.g. its motivational type); ``order`` lists
    the groups to report, in display order. Rows: each group, then ``all`` (every value in a
    listed group). Columns: ``group``, ``n_items``, ``n_units``, ``alpha``, ``omega`` and,
    when the answers carry prompt variants, the four ICCs of :func:`icc` (``icc2_1``,
    ``icc2_k``, ``icc3_1``, ``icc3_k``) and ``n_cells`` (cells with every variant answered).
    Units are respondents, or prompt sets, within a context; CONTEXTS are the answer table's
    context columns (every context axis of the instrument).
    """
    values = [v for v in groups if groups[v] in set(order)]
    table = wide(answers, values, contexts)
    ratings = variant_ratings(answers, values, contexts)
    rows = []
    for name in [*order, "all"]:
        items = values if name == "all" else [v for v in values if groups[v] == name]
        x = table[items].dropna(how="all").to_numpy()
        row: dict[str, object] = {"group": name, "n_items": len(items), "n_units": len(x)}
        row["alpha"] = cronbach_alpha(x) if len(x) else float("nan")
        row["omega"] = mcdonald_omega(x) if len(x) else float("nan")
        if not ratings.empty:
            part = ratings[ratings.index.get_level_values("value").isin(items)].to_numpy()
            agreement = icc(part)
            row.update({k: agreement[k] for k in ICCS}, n_cells=int(agreement["n"]))
        rows.append(row)
    return pd.DataFrame(rows)


def value_grouping(
    instrument: Instrument, grouping: str | None = "type"
) -> tuple[dict[str, str], list[str]]:
    """An instrument grouping of its items as (item id → group, the groups in order).

    GROUPING is any of the instrument's groupings (``None``, or ``type`` where the instrument
    has none of that name: its first). The groups come in the grouping's circular order when
    it declares one, else in its listed order; a level named ``unassigned`` (items the
    theory's scoring key leaves out, as the Value Form's ``type`` has) is in no group.
    """
    ids = [g.id for g in instrument.groupings]
    gid = grouping if grouping in ids else None
    if gid is None and grouping not in (None, "type"):
        raise ValueCompassError(f"unknown value grouping {grouping!r}; valid: {', '.join(ids)}")
    found = instrument.grouping(gid or ids[0])
    order = [x for x in (found.circle or found.level_ids) if x != UNASSIGNED]
    groups = {i: g for i, g in instrument.group_of(found.id).items() if g in order}
    return groups, [g for g in order if g in set(groups.values())]
