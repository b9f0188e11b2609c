"""Turn result DataFrames into the CLI's table, JSON and CSV output."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from valuecompass.common import is_count, is_p_value, p_text


def _clean(value: Any, column: str = "") -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item(), column)
    if isinstance(value, float) and is_count(column) and value.is_integer():
        return int(value)
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, NaN as None, numpy scalars as Python ones, counts as integers."""
    return [{k: _clean(v, str(k)) for k, v in row.items()} for row in df.to_dict("records")]


def to_json(rows: pd.DataFrame, overall: dict[str, Any]) -> str:
    payload = {"rows": records(rows), "overall": {k: _clean(v, k) for k, v in overall.items()}}
    return json.dumps(payload, indent=2)


def print_table(
    console: Console, df: pd.DataFrame, title: str, footer: dict[str, Any] | None = None
) -> None:
    table = Table(title=title, show_footer=footer is not None)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        foot = (
            ""
            if footer is None
            else _fmt(footer.get(col, "overall" if col == df.columns[0] else ""), str(col))
        )
        table.add_column(str(col), justify="right" if numeric else "left", footer=foot)
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt(v, str(c)) for v, c in zip(row, df.columns, strict=True)))
    console.print(table)


def _fmt(value: Any, column: str = "") -> str:
    value = _clean(value, column)
    if value is None:
        return "–"
    if isinstance(value, float) and is_p_value(column):
        return p_text(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def with_intervals(df: pd.DataFrame) -> pd.DataFrame:
    """For tables: ``x`` with ``x_low`` and ``x_high`` shown as one ``x [low, high]`` column."""
    out = df.copy()
    for col in df.columns:
        low, high = f"{col}_low", f"{col}_high"
        if low in df.columns and high in df.columns:
            at = f"{col}_corrected" if f"{col}_corrected" in df.columns else col
            triples = zip(df[at], df[low], df[high], strict=True)
            out[at] = [_interval(v, lo, hi) for v, lo, hi in triples]
            out = out.drop(columns=[low, high])
    return out


def interval_words(level: float, target: str) -> str:
    """What a table's intervals cover, for its title: ``95% intervals: this design again``
    or ``95% intervals: population, bias-corrected`` (see valuecompass.stats.TARGET_WORDS)."""
    from valuecompass.stats import TARGET_WORDS

    return f"{level:.0%} intervals: {TARGET_WORDS[target]}"


def footer_with_intervals(overall: dict[str, Any]) -> dict[str, Any]:
    """The same merge for a table's footer (the ``overall`` mapping)."""
    out = {k: v for k, v in overall.items() if not k.endswith(("_low", "_high"))}
    for key in list(out):
        if f"{key}_low" in overall and f"{key}_high" in overall:
            at = f"{key}_corrected" if f"{key}_corrected" in overall else key
            out[at] = _interval(overall[at], overall[f"{key}_low"], overall[f"{key}_high"])
    return out


def _interval(value: Any, low: Any, high: Any) -> str:
    if _clean(low) is None or _clean(high) is None:
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"
