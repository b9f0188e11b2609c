"""Agreement between many raters on nominal judgements: Fleiss' kappa and Krippendorff's alpha.

Both take a count table: one row per unit (an action), one column per category (no, yes), each
cell how many raters put the unit in that category.

* Fleiss' kappa (Fleiss 1971) needs every unit rated by the same number of raters ``n``:
  ``(P̄ - P_e) / (1 - P_e)``, where ``P_i = (Σ_j n_ij² - n) / (n(n - 1))`` is unit ``i``'s
  share of agreeing rater pairs, ``P̄`` their mean, ``p_j`` category ``j``'s share of all
  ratings and ``P_e = Σ_j p_j²``. Undefined (``NaN``) with fewer than two raters or units, or
  when every rating is one category (``P_e = 1``).
* Krippendorff's alpha, nominal (Krippendorff 2011, "Computing Krippendorff's alpha
  reliability"), takes any number of raters per unit: units rated once hold no pair and are
  left out. With the coincidences ``o_ck = Σ_u n_uc (n_uk - [c = k]) / (m_u - 1)`` over units
  with ``m_u ≥ 2`` ratings, ``n_c = Σ_k o_ck`` and ``n = Σ_c n_c``:
  ``α = 1 - (n - 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k``. Undefined (``NaN``) when no unit has two
  ratings or every rating is one category.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _counts(table: ArrayLike) -> np.ndarray:
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or (counts < 0).any():
        raise ValueError("agreement needs a units × categories table of counts")
    return counts


def fleiss_kappa(table: ArrayLike) -> float:
    """Fleiss' kappa of a units × categories count table, every row the same total (see the
    module); ``NaN`` when undefined."""
    counts = _counts(table)
    raters = counts.sum(axis=1)
    if len(counts) < 2 or not len(raters) or raters[0] < 2:
        return float("nan")
    if not np.all(raters == raters[0]):
        raise ValueError("Fleiss' kappa needs the same number of ratings for every unit")
    n = float(raters[0])
    agree = ((counts**2).sum(axis=1) - n) / (n * (n - 1.0))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    if expected >= 1.0 - 1e-15:
        return float("nan")
    return (float(agree.mean()) - expected) / (1.0 - expected)


def krippendorff_alpha(table: ArrayLike) -> float:
    """Krippendorff's alpha (nominal) of a units × categories count table, any number of
    ratings per unit (see the module); ``NaN`` when undefined."""
    counts = _counts(table)
    m = counts.sum(axis=1)
    paired = counts[m >= 2]
    if not len(paired):
        return float("nan")
    weights = 1.0 / (paired.sum(axis=1) - 1.0)
    coincide = np.einsum("u,uc,uk->ck", weights, paired, paired)
    coincide -= np.diag((weights[:, None] * paired).sum(axis=0))
    totals = coincide.sum(axis=1)
    n = float(totals.sum())
    off = ~np.eye(len(totals), dtype=bool)
    expected = float(np.outer(totals, totals)[off].sum())
    if expected <= 0.0:
        return float("nan")
    return 1.0 - (n - 1.0) * float(coincide[off].sum()) / expected
