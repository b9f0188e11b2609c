"""Small tidy answer tables for the stats tests."""

from __future__ import annotations

import pandas as pd

from valuecompass import answers as ans

CTX = ("united_states", "healthcare")
#: The Value Form's context columns (its axes' ids).
AXES = ("country", "scenario")


def people(rows: list[tuple[str, str, str, str, float | None]]) -> pd.DataFrame:
    """(country, scenario, value, respondent, position) → a people's answer table."""
    return ans.frame(
        (
            {
                "source": "humans",
                "country": c,
                "scenario": t,
                "value": v,
                "respondent": r,
                "position": p,
            }
            for c, t, v, r, p in rows
        ),
        AXES,
    )


def model(rows: list[tuple[str, str, str, int, float | None]], sample: int = 0) -> pd.DataFrame:
    """(country, scenario, value, variant, position) → a model's answer table."""
    return ans.frame(
        (
            {
                "source": "m",
                "country": c,
                "scenario": t,
                "value": v,
                "variant": k,
                "sample": sample,
                "position": p,
            }
            for c, t, v, k, p in rows
        ),
        AXES,
    )
