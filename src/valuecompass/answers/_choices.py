"""The tidy choice table: one row per forced choice between an item's two actions.

A model (or a person) is shown one context, one item and two actions, one that expresses the
item and one that opposes it, and picks one. Whatever asked (the follow-up study's released
files today, a choice run later), the choice becomes one row: the context (a column per
context axis, named by the axis id), the item, the variant and sample that asked, the
*inclination* chosen and the place the chosen action was shown in. The inclination is stored
so that no later analysis needs the order the options were shown in again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from valuecompass.answers._parse import Missing, extract_json_object, python_literal

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


#: A reply that is only an option: ``1``, ``2``, ``Option 2``, ``option 1.``
_OPTION = re.compile(r"^\s*(?:option\s*)?([12])\s*[.):]?\s*$", re.IGNORECASE)
#: An option named inside a longer reply.
_NAMED = re.compile(r"\boption\s*([12])\b", re.IGNORECASE)
#: Longest reply read; anything past it is left unread (a choice needs a few words).
_LONGEST = 20_000


def parse_choice(text: str) -> tuple[int | None, str]:
    """The option (1 or 2) a reply picks, or ``None`` and why not (a :class:`Missing` value).

    Read in this order: a JSON (or Python-literal) object's ``action`` field, possibly fenced
    or followed by more text; else the whole reply. That text is an option when it is just
    ``1``, ``2`` or ``Option 1``/``Option 2``; otherwise the options it names (``Option 2``)
    decide when there is one. A reply naming both is ``ambiguous``, one naming neither
    ``unrecognised``, an empty one ``empty``.
    """
    text = text[:_LONGEST]
    if not text.strip():
        return None, Missing.EMPTY.value
    action = _action_field(text)
    match = _OPTION.match(action)
    if match:
        return int(match.group(1)), ""
    named = set(_NAMED.findall(action))
    if len(named) == 1:
        return int(named.pop()), ""
    return None, (Missing.AMBIGUOUS if named else Missing.UNRECOGNISED).value


def _action_field(text: str) -> str:
    """The reply's ``action`` (a Python or JSON mapping, possibly fenced); else the text."""
    data = python_literal(text.strip())
    if data is None:
        data = extract_json_object(text)
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).strip().lower() == "action":
                return str(value)
    return text
