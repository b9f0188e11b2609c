"""How numbers are shown to people, the same in the terminal and in the report: counts whole,
p-values never as ``0.000``."""

from __future__ import annotations

import math

#: Counts whose names do not start with ``n_``.
COUNTS = frozenset({"respondents", "answers", "scored", "cells", "people", "samples"})

#: The smallest p-value shown as a number; smaller ones read ``< 0.001``.
P_FLOOR = 0.001


def is_count(column: str) -> bool:
    """Whether COLUMN holds a count (``n``, ``n_cells``, ``n_contexts``, ...): shown whole."""
    return column == "n" or column.startswith("n_") or column in COUNTS


def is_p_value(column: str) -> bool:
    """Whether COLUMN holds a p-value (``p``, ``p_value``, ``q_value``, ``p_adj...``, ``..._p``)."""
    return (
        column in ("p", "q_value")
        or column.startswith(("p_value", "p_adj"))
        or column.endswith("_p")
    )


def p_text(p: float, permutations: int | None = None) -> str:
    """A p-value as text: ``< 0.001`` below 0.001, else three decimals; ``–`` for ``NaN``.

    With PERMUTATIONS (a permutation p-value, ``(1 + hits) / (1 + permutations)``), the
    smallest value it can take, ``1 / (1 + permutations)``, is shown as ``≤`` that value when
    it is 0.001 or more: no permutation did as well, so the p-value is known only that far.
    """
    if math.isnan(p):
        return "–"
    if p < P_FLOOR:
        return f"< {P_FLOOR:g}"
    if permutations is not None and p <= 1.0 / (1 + permutations) + 1e-12:
        return f"≤ {p:.3f}"
    return f"{p:.3f}"
