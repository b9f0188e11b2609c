"""What the codes say: theme counts per scenario, and agreement between two coders."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass.coding._codebook import Codebook, CodingError
from valuecompass.coding._tables import KEYS, split_themes


def cohen_kappa(a: NDArray[np.generic], b: NDArray[np.generic]) -> float:
    """Cohen's kappa of two coders' labels (any hashable labels), ``NaN`` when undefined.

    ``(p_o - p_e) / (1 - p_e)``, where ``p_o`` is the share of items with the same label and
    ``p_e`` the agreement expected from each coder's label shares. Undefined (``NaN``, as
    scikit-learn gives) when ``p_e == 1``, i.e. both coders use one and the same label
    throughout, and when there is no item.
    """
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("kappa needs two one-dimensional label arrays of one length")
    if len(x) == 0:
        return float("nan")
    labels, codes = np.unique(np.concatenate([x, y]), return_inverse=True)
    cx, cy = codes[: len(x)], codes[len(x) :]
    table = np.zeros((len(labels), len(labels)))
    np.add.at(table, (cx, cy), 1.0)
    table /= len(x)
    observed = float(np.trace(table))
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    if expected >= 1.0:
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def presence(codes: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Coded answers (missing ones dropped) as 0/1 columns, one per theme, keyed by answer."""
    coded = codes[codes["missing"].fillna("") == ""]
    out = coded[[*KEYS, "coder"]].reset_index(drop=True)
    sets = [set(split_themes(str(t))) for t in coded["themes"]]
    for theme in codebook.ids:
        out[theme] = [int(theme in s) for s in sets]
    return out


def _pick_coder(codes: pd.DataFrame, coder: str | None) -> str:
    coders = sorted(set(codes["coder"]))
    if coder is not None:
        if coder not in coders:
            raise CodingError(f"no codes by {coder!r}; coders: {', '.join(coders) or 'none'}")
        return coder
    if len(coders) != 1:
        raise CodingError(f"name the coder to count; coders: {', '.join(coders) or 'none'}")
    return str(coders[0])


def theme_counts(codes: pd.DataFrame, codebook: Codebook, coder: str | None = None) -> pd.DataFrame:
    """Per theme, how many respondents expressed it, per scenario and in all.

    A respondent counts once per theme however many of their answers express it (the paper's
    "n = 28"). Columns: ``theme``, ``name``, one per scenario, ``all``; the last row,
    ``coded``, gives the number of respondents with at least one coded answer.
    """
    who = _pick_coder(codes, coder)
    table = presence(codes[codes["coder"] == who], codebook)
    per_person = table.groupby(["scenario", "respondent"])[codebook.ids].max()
    by_scenario = per_person.groupby(level="scenario", sort=False).sum().T
    by_scenario["all"] = per_person.groupby(level="respondent").max().sum()
    coded = per_person.groupby(level="scenario", sort=False).size()
    by_scenario.loc["coded"] = [*coded.to_list(), per_person.index.get_level_values(1).nunique()]
    names = {t.id: t.name for t in codebook.themes}
    out = by_scenario.rename_axis("theme").reset_index()
    out.insert(1, "name", out["theme"].map(names).fillna("respondents coded"))
    return out


def coder_agreement(
    codes: pd.DataFrame, codebook: Codebook, first: str, second: str
) -> pd.DataFrame:
    """Cohen's kappa between two coders per theme, on the answers both coded.

    Each theme is a yes/no decision per answer. Columns: ``theme``, ``kappa``, ``agreement``
    (share of answers with the same decision), ``first`` and ``second`` (how many answers each
    gave the theme), ``n``. The last row, ``all``, pools every answer × theme decision.
    """
    for coder in (first, second):
        _pick_coder(codes, coder)
    table = presence(codes, codebook)
    a = table[table["coder"] == first].set_index(KEYS)[codebook.ids]
    b = table[table["coder"] == second].set_index(KEYS)[codebook.ids]
    shared = a.index.intersection(b.index)
    if len(shared) == 0:
        raise CodingError(f"{first} and {second} coded no answer in common")
    a, b = a.loc[shared], b.loc[shared]
    rows = [_agreement_row(t, a[t].to_numpy(), b[t].to_numpy()) for t in codebook.ids]
    rows.append(_agreement_row("all", a.to_numpy().ravel(), b.to_numpy().ravel()))
    return pd.DataFrame(rows)


def _agreement_row(theme: str, x: NDArray[np.int64], y: NDArray[np.int64]) -> dict[str, object]:
    return {
        "theme": theme,
        "kappa": cohen_kappa(x, y),
        "agreement": float(np.mean(x == y)),
        "first": int(x.sum()),
        "second": int(y.sum()),
        "n": len(x),
    }
