"""Chart text without matplotlib's text engine: plain ``<text>`` in SVG, cached stamps in PNG.

matplotlib lays out every label on every draw and Agg rasterises it glyph by glyph in Python,
some 5 ms a label; a five-model report has thousands (56 value names per heatmap and per
ranked panel). Here a :class:`Label` is placed by its anchor, alignment and rotation (0 or 90
degrees), written to the SVG as a ``<text>`` element and stamped into the PNG from a bitmap that
FreeType renders once per string and size. Alignment follows matplotlib's conventions (``va=
"center"`` centres the line box of "lp"). Should a matplotlib release drop the FreeType calls
used, :mod:`._raster` turns labels into ordinary matplotlib text instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any, Literal

import numpy as np
from matplotlib.backends.backend_agg import get_hinting_flag
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.transforms import Transform

TEXT_COLOUR = "#222222"
HA = Literal["left", "center", "right"]
VA = Literal["center", "baseline", "top", "bottom"]
_SVG_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
Bitmap = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Label:
    """One string at (x, y) in its set's coordinates; ``rotation`` 90 reads upwards."""

    x: float
    y: float
    text: str
    size: float = 8.0
    ha: HA = "left"
    va: VA = "center"
    rotation: Literal[0, 90] = 0


@dataclass(frozen=True)
class LabelSet:
    """Labels sharing a transform (evaluated at draw time, so at the right resolution)."""

    transform: Transform
    labels: tuple[Label, ...]

    def anchors(self) -> np.ndarray[Any, Any]:
        points = [(label.x, label.y) for label in self.labels]
        return np.asarray(self.transform.transform(points), dtype=float).reshape(-1, 2)


@lru_cache(maxsize=8192)
def glyphs(text: str, size: float, dpi: int) -> tuple[Bitmap, int]:
    """A string's alpha bitmap and its descent below the baseline, in pixels."""
    font = get_font(findfont(FontProperties(size=size)))
    font.set_size(size, dpi)
    font.set_text(text, 0.0, flags=get_hinting_flag())  # type: ignore[no-untyped-call]
    font.draw_glyphs_to_bitmap(antialiased=True)
    return np.asarray(font.get_image()).copy(), round(font.get_descent() / 64)


def text_width(text: str, size: float = 8.0) -> float:
    """The width of ``text`` at ``size`` points, in inches (estimated without FreeType)."""
    try:
        return float(glyphs(text, size, 72)[0].shape[1]) / 72
    except (AttributeError, TypeError):  # pragma: no cover - see the module docstring
        return 0.6 * size * len(text) / 72


def _baseline_offset(va: VA, size: float, dpi: int) -> float:
    """Where the baseline sits relative to the anchor, in pixels, up positive."""
    ref, descent = glyphs("lp", size, dpi)
    ascent = float(ref.shape[0] - descent)
    return {
        "center": -(ascent - descent) / 2,
        "baseline": 0.0,
        "top": -ascent,
        "bottom": float(descent),
    }[va]


def _dx(ha: HA, width: float) -> float:
    return {"left": 0.0, "center": -width / 2, "right": -width}[ha]


def svg_group(sets: Sequence[LabelSet], height: float, family: str) -> str:
    """Every label as SVG ``<text>``, in points with y down (figure drawn at 72 dpi)."""
    parts = []
    for label_set in sets:
        for (x, y), label in zip(label_set.anchors(), label_set.labels, strict=True):
            offset = _baseline_offset(label.va, label.size, 72)
            attrs = f'font-size="{label.size:g}" text-anchor="{_SVG_ANCHOR[label.ha]}"'
            if label.rotation == 90:
                px, py = x - offset, height - y
                attrs += f' transform="rotate(-90 {px:.2f} {py:.2f})"'
            else:
                px, py = x, height - (y + offset)
            parts.append(f'<text x="{px:.2f}" y="{py:.2f}" {attrs}>{escape(label.text)}</text>')
    style = f"font-family: {family}; fill: {TEXT_COLOUR}"
    return f'<g class="labels" style="{style}">{"".join(parts)}</g>\n'


def stamp_all(rgb: Bitmap, sets: Sequence[LabelSet], dpi: int) -> None:
    """Paint every label into ``rgb`` (rows top down, as Agg's buffer), at ``dpi``."""
    colour = np.array([int(TEXT_COLOUR[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint16)
    for label_set in sets:
        for (x, y), label in zip(label_set.anchors(), label_set.labels, strict=True):
            bitmap, descent = glyphs(label.text, label.size, dpi)
            bottom = _baseline_offset(label.va, label.size, dpi) - descent
            dx = _dx(label.ha, bitmap.shape[1])
            if label.rotation == 90:
                bitmap = np.rot90(bitmap)
                x0, y0 = x - (bottom + bitmap.shape[1]), y + dx
            else:
                x0, y0 = x + dx, y + bottom
            top = rgb.shape[0] - round(y0) - bitmap.shape[0]
            _blend(rgb, bitmap, round(x0), top, colour)


def _blend(rgb: Bitmap, alpha: Bitmap, x0: int, top: int, colour: Bitmap) -> None:
    """Paint ``colour`` through ``alpha`` onto ``rgb`` at column x0, row top (clipped)."""
    height, width = rgb.shape[:2]
    r0, c0 = max(top, 0), max(x0, 0)
    r1, c1 = min(top + alpha.shape[0], height), min(x0 + alpha.shape[1], width)
    if r0 >= r1 or c0 >= c1:
        return
    a = alpha[r0 - top : r1 - top, c0 - x0 : c1 - x0, None].astype(np.uint16)
    region = rgb[r0:r1, c0:c1].astype(np.uint16)
    rgb[r0:r1, c0:c1] = ((region * (255 - a) + colour * a + 127) // 255).astype(np.uint8)
