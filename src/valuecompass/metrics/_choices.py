"""How choices hold together: variant agreement and position bias, over a tidy choice table.

A *pair* is one source's choices for one item in one context (its two actions); its choices
are the pair's variants × samples. Keys: ``source``, the context columns (those between
``source`` and ``value``, as :func:`valuecompass.answers.choice_frame` lays them out) and
``value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuecompass.answers import INCLINATIONS, Inclination
from valuecompass.errors import ValueCompassError

Unparsed = Literal["omit", "disagree"]
UNPARSED: tuple[Unparsed, ...] = ("omit", "disagree")


def pair_keys(choices: pd.DataFrame) -> list[str]:
    """The columns that key a pair: ``source``, the context columns, ``value``."""
    columns = list(choices.columns)
    return columns[: columns.index("value") + 1]


def pair_agreement(
    choices: pd.DataFrame,
    reference: Inclination | None = None,
    unparsed: Unparsed = "omit",
) -> pd.Series:
    """Per pair, the share of its choices that chose the same inclination.

    * REFERENCE ``None``: the same as the pair's most chosen inclination (a tie of two gives
      the same share either way); ``"expresses"`` or ``"opposes"``: that one. The authors'
      variant agreement (the share of a pair's 8 variants that picked option 2 of order 0, in
      their release the expressing action) is ``reference="expresses"``,
      ``unparsed="disagree"``.
    * UNPARSED ``"omit"``: choices without an inclination are left out of the pair;
      ``"disagree"``: they count as choosing otherwise (in the denominator, never agreeing).

    Edge cases: a pair asked once says nothing about agreement and is left out (as is, with
    ``"omit"``, a pair with fewer than two parsed choices); an empty table gives an empty
    series. The index is the pair keys (:func:`pair_keys`).
    """
    if unparsed not in UNPARSED:
        raise ValueCompassError(f"unknown unparsed {unparsed!r}; choose one of {UNPARSED}")
    if reference is not None and reference not in INCLINATIONS:
        raise ValueCompassError(f"unknown inclination {reference!r}; valid: {INCLINATIONS}")
    keys = pair_keys(choices)
    incl = choices["inclination"].astype(str)
    parsed = incl.isin(INCLINATIONS)
    counts = pd.DataFrame(
        {name: (incl == name).to_numpy(int) for name in INCLINATIONS}
        | {"parsed": parsed.to_numpy(int), "all": np.ones(len(choices), int)}
    )
    for key in keys:
        counts[key] = choices[key].to_numpy()
    sums = counts.groupby(keys, sort=False)[[*INCLINATIONS, "parsed", "all"]].sum()
    agreeing = sums[list(INCLINATIONS)].max(axis=1) if reference is None else sums[reference]
    total = sums["parsed"] if unparsed == "omit" else sums["all"]
    kept = total >= 2
    return (agreeing[kept] / total[kept]).rename("agreement")


def variant_agreement(
    choices: pd.DataFrame,
    reference: Inclination | None = None,
    unparsed: Unparsed = "omit",
) -> float:
    """The mean over pairs of :func:`pair_agreement` (same REFERENCE and UNPARSED); ``NaN``
    when no pair was asked more than once.

    Two figures worth reporting: ours, the share agreeing with each pair's majority with
    unparsed replies left out (the defaults); and the authors' (``reference="expresses"``,
    ``unparsed="disagree"``). A chooser that always picks the first option shown, over a
    design that shows each pair in both orders equally often, scores 0.5 either way.
    """
    shares = pair_agreement(choices, reference, unparsed)
    return float(shares.mean()) if len(shares) else math.nan


@dataclass(frozen=True)
class PositionBias:
    """How often the chosen action was the one shown first.

    ``n`` choices whose place is known, ``first`` of them picks of the first option,
    ``share = first / n``, ``p_value`` the two-sided exact binomial test of ``share`` against
    0.5, and ``confounded`` whether every one of those choices showed an action of the same
    inclination first (as the study's full run did: its position and inclination cannot then
    be told apart).
    """

    n: int
    first: int
    share: float
    p_value: float
    confounded: bool

    def biased(self, alpha: float = 0.05) -> bool:
        """Whether the test rejects "no preference for either place" at level ALPHA."""
        return bool(self.p_value < alpha)


def position_bias(choices: pd.DataFrame) -> PositionBias:
    """Position bias of CHOICES (choices with an inclination and a known ``option``).

    Edge cases: with no such choice, ``share`` and ``p_value`` are ``NaN`` and nothing is
    confounded; an order that is not 1 or 2 counts as not first.
    """
    from scipy.stats import binomtest  # scipy on demand: importing valuecompass stays light

    option = pd.to_numeric(choices["option"], errors="coerce")
    incl = choices["inclination"].astype(str)
    known = option.notna() & incl.isin(INCLINATIONS)
    n = int(known.sum())
    if n == 0:
        return PositionBias(0, 0, math.nan, math.nan, False)
    first_pick = (option[known] == 1).to_numpy()
    first = int(first_pick.sum())
    chosen = incl[known].to_numpy()
    other = np.where(chosen == INCLINATIONS[0], INCLINATIONS[1], INCLINATIONS[0])
    shown_first = np.where(first_pick, chosen, other)
    p_value = float(binomtest(first, n, 0.5, alternative="two-sided").pvalue)
    return PositionBias(n, first, first / n, p_value, len(set(shown_first)) == 1)


def choice_summary(choices: pd.DataFrame) -> dict[str, Any]:
    """Variant agreement (where some pair was asked more than once) and position bias (where
    the place of a chosen action is known), as the flat ``overall`` entries ``gap`` prints:
    ``variant_agreement`` (ours), ``variant_agreement_authors``, ``n_pairs``,
    ``first_option_share``, ``position_p_value``, ``position_biased``,
    ``position_confounded``, ``n_positions``; entries that cannot be measured are left out."""
    out: dict[str, Any] = {}
    pairs = pair_agreement(choices, unparsed="disagree")
    if len(pairs):
        out["variant_agreement"] = variant_agreement(choices)
        out["variant_agreement_authors"] = variant_agreement(choices, "expresses", "disagree")
        out["n_pairs"] = len(pairs)
    bias = position_bias(choices)
    if bias.n:
        out["first_option_share"] = bias.share
        out["position_p_value"] = bias.p_value
        out["position_biased"] = bias.biased()
        out["position_confounded"] = bias.confounded
        out["n_positions"] = bias.n
    return out
