"""DataFrames as HTML tables: formatted numbers, display names, and best-to-worst shading.

Shading is a single-hue ramp (ColorBrewer "Blues", light to mid blue), which readers with any
common colour-vision deficiency see as a ramp of lightness; dark text stays legible on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuecompass.common import is_count, is_p_value, p_text

WORST_RGB = (0xF7, 0xFB, 0xFF)
BEST_RGB = (0x6B, 0xAE, 0xD6)


@dataclass(frozen=True)
class Shade:
    """Shade ``columns`` (all non-key columns if empty) together, ``better`` high or low."""

    better: Literal["high", "low"]
    columns: tuple[str, ...] = ()


def html_table(
    frame: pd.DataFrame,
    *,
    id: str,
    keys: int,
    labels: Mapping[str, str],
    shade: Shade | None,
    percent: Iterable[str] = (),
) -> str:
    """One ``<table>``: key columns as row headers, numbers right-aligned and formatted.

    ``labels`` maps ids to display names in headers and in text cells.
    """
    columns = [str(c) for c in frame.columns]
    percents = set(percent)
    shaded = _shaded_columns(frame, keys, shade)
    scale = _scale(frame, shaded)
    head = "".join(
        f'<th scope="col" class="{_header_class(frame, c, i < keys)}">'
        f"{escape(labels.get(c, c.replace('_', ' ')))}</th>"
        for i, c in enumerate(columns)
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for i, (column, value) in enumerate(zip(columns, record, strict=True)):
            if i < keys:
                cells.append(f'<th scope="row">{escape(labels.get(str(value), str(value)))}</th>')
                continue
            style = _background(value, scale, shade) if column in shaded else ""
            shown = labels.get(value, value) if isinstance(value, str) else value
            text = _format(shown, column in percents, column)
            numeric = _is_number(value)
            cells.append(f'<td class="{"num" if numeric else "txt"}"{style}>{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table id="{escape(id)}" class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _header_class(frame: pd.DataFrame, column: str, key: bool) -> str:
    if key:
        return "key"
    return "num" if pd.api.types.is_numeric_dtype(frame[column]) else "txt"


def _shaded_columns(frame: pd.DataFrame, keys: int, shade: Shade | None) -> set[str]:
    if shade is None:
        return set()
    names = [str(c) for c in frame.columns][keys:]
    return set(shade.columns) & set(names) if shade.columns else set(names)


def _scale(frame: pd.DataFrame, columns: set[str]) -> tuple[float, float] | None:
    if not columns:
        return None
    picked = [c for c in frame.columns if str(c) in columns]
    values = pd.to_numeric(frame[picked].to_numpy().ravel(), errors="coerce")
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    return float(values.min()), float(values.max())


def _background(value: Any, scale: tuple[float, float] | None, shade: Shade | None) -> str:
    if scale is None or shade is None or not _is_number(value) or math.isnan(float(value)):
        return ""
    low, high = scale
    if high == low:
        return ""
    t = (float(value) - low) / (high - low)
    if shade.better == "low":
        t = 1 - t
    rgb = [round(w + (b - w) * t) for w, b in zip(WORST_RGB, BEST_RGB, strict=True)]
    return f' style="background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"'


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _format(value: Any, percent: bool, column: str = "") -> str:
    """A cell as text: counts whole (by column name too: ``n_cells`` of 112.0 is ``112``),
    p-values never ``0.000`` (:func:`valuecompass.common.p_text`), other numbers to 3 places."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, Integral) and not isinstance(value, bool):
        return f"{int(value):,}"
    if _is_number(value) and is_count(column) and float(value).is_integer():
        return f"{int(value):,}"
    if _is_number(value) and is_p_value(column) and not percent:
        return escape(p_text(float(value)))
    if _is_number(value):
        return f"{float(value):.1%}" if percent else f"{float(value):.3f}"
    return escape(str(value))
