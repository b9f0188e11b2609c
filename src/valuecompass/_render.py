"""Turn result DataFrames into the CLI's table, JSON and CSV output."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, NaN as None, numpy scalars as Python ones."""
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict("records")]


def to_json(rows: pd.DataFrame, overall: dict[str, Any]) -> str:
    payload = {"rows": records(rows), "overall": {k: _clean(v) for k, v in overall.items()}}
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
            else _fmt(footer.get(col, "overall" if col == df.columns[0] else ""))
        )
        table.add_column(str(col), justify="right" if numeric else "left", footer=foot)
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)


def _fmt(value: Any) -> str:
    value = _clean(value)
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
