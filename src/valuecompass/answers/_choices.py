"""The tidy choice table: one row per forced choice between an item's two actions.

A model (or a person) is shown one context, one item and two actions, one that expresses the
item and one that opposes it, and picks one. Whatever asked (the follow-up study's released
files today, a choice run later), the choice becomes one row: the context (a column per
context axis, named by the axis id), the item, the variant and sample that asked, the
*inclination* chosen and the place the chosen action was shown in. The inclination is stored
so that no later analysis needs the order the options were shown in again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

Inclination = Literal["expresses", "opposes"]
#: The two inclinations of an action toward its item, in this order everywhere.
INCLINATIONS: tuple[Inclination, ...] = ("expresses", "opposes")

#: Column → meaning, after ``source`` and the context columns.
CHOICE_TRAILING: dict[str, str] = {
    "value": "item id (a value, a foundation, ...)",
    "respondent": "participant id (people); empty for models",
    "variant": "prompt variant index (models); empty for people",
    "sample": "sample index of a repeated prompt (models); 0 for people",
    "inclination": "the chosen action's inclination: 'expresses' or 'opposes'; empty if none",
    "option": "the place the chosen action was shown in (1 = first), where known",
    "raw": "the answer as given, before parsing",
    "missing": "why the choice has no inclination; empty if it has one",
}
_TEXT = ("source", "value", "respondent", "inclination", "raw", "missing")


def choice_columns(axes: Sequence[str]) -> dict[str, str]:
    """Column → meaning of a choice table whose contexts have AXES (the instrument's context
    axis ids): ``source``, one column per axis, then :data:`CHOICE_TRAILING`."""
    middle = {a: f"level id of the context's {a!r} axis" for a in axes}
    return {"source": "who chose: 'humans' or the model's name", **middle, **CHOICE_TRAILING}


def choice_frame(rows: Iterable[Mapping[str, Any]], axes: Sequence[str]) -> pd.DataFrame:
    """Build a choice table from row mappings whose contexts have AXES, filling absent columns
    (other keys are dropped). ``variant`` and ``option`` are nullable integers."""
    names = list(choice_columns(axes))
    df = pd.DataFrame(list(rows), columns=names)
    df["sample"] = df["sample"].fillna(0).astype(int)
    df["variant"] = pd.array(df["variant"], dtype="Int64")
    df["option"] = pd.array(df["option"], dtype="Int64")
    for col in (*_TEXT, *axes):
        df[col] = df[col].astype(object).where(df[col].notna(), "")
    return df


def is_choice_table(table: pd.DataFrame) -> bool:
    """Whether TABLE is a choice table (it has the ``inclination`` column)."""
    return "inclination" in table.columns
