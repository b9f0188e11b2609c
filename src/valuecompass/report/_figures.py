"""The report's two kinds of chart, as plain data that knows how to draw itself.

* :class:`HeatmapSpec`: panels of rows (values or motivational types) × columns (countries or
  scenarios) sharing one row axis, as in the paper's Figures 3 and 6–10.
* :class:`BarGridSpec`: panels of ranked horizontal bars, as in Figures 4, 11 and 12.

Specs hold only strings, tuples and arrays, so they can be drawn in another process. Each
chart is laid out by hand on one axes whose units are inches (see :func:`.new_canvas`): images,
bars and rules are a few artists, and every text is a label; matplotlib's per-axes machinery
(ticks, spines, layout) would otherwise cost more than the drawing itself.

Colour: every heatmap uses matplotlib's ``cividis`` on one fixed range, 0 to 1. Cividis was
designed to look the same to readers with and without red–green colour-vision deficiency and
its lightness rises steadily, so it also reads in greyscale. Scores run from 0 (strongly agree,
dark blue) to 1 (strongly disagree, yellow); distances use the same range, from 0 (the same
answer) to 1 (opposite ends of the scale). A missing cell is white.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Rectangle

from valuecompass.report._raster import Chart, new_canvas
from valuecompass.report._text import TEXT_COLOUR, Label, text_width

CMAP = "cividis"
VMIN, VMAX = 0.0, 1.0
MISSING_COLOUR = "white"
BAR_COLOUR = colormaps[CMAP](0.22)
GRID_COLOUR = "#dddddd"
SCALE_TICKS = {0.0: "0 strongly agree", 0.5: "0.5 threshold", 1.0: "1 strongly disagree"}
SCALE_NOTE = "distance:\n0 same, 1 opposite"
PT = 1 / 72  # a point, in inches


@dataclass(frozen=True)
class HeatPanel:
    """One heatmap: ``values`` is rows × columns, NaN where a cell has no answer.

    Consecutive panels with the same non-empty ``group`` get one header above them.
    """

    title: str
    values: np.ndarray[Any, Any]
    columns: tuple[str, ...]
    group: str = ""


@dataclass(frozen=True)
class HeatmapSpec:
    """Heatmap panels side by side sharing ``rows``; a white rule before each row in ``breaks``."""

    title: str
    rows: tuple[str, ...]
    panels: tuple[HeatPanel, ...]
    breaks: tuple[int, ...] = ()
    scale_note: str = SCALE_NOTE
    #: the colour scale's ticks as (value, text); empty: :data:`SCALE_TICKS`
    ticks: tuple[tuple[float, str], ...] = ()

    def build(self) -> Chart:
        row_h = 0.19 if len(self.rows) > 20 else 0.28
        left = max(text_width(r) for r in self.rows) + 0.25
        widths = [max(len(p.columns) * 0.34, text_width(p.title, 9.0) + 0.1) for p in self.panels]
        gaps = [0.0] + [
            0.5 if p.group != q.group else 0.22
            for p, q in zip(self.panels, self.panels[1:], strict=False)
        ]
        bottom = max(text_width(c) for p in self.panels for c in p.columns) + 0.25
        top = 0.95 if any(p.group for p in self.panels) else 0.75
        grid_h = len(self.rows) * row_h
        height, width = top + grid_h + bottom, left + sum(widths) + sum(gaps) + 1.5
        chart, ax = new_canvas(width, height)
        y0, y1, x, group = bottom, bottom + grid_h, left, ""
        for panel, w, gap in zip(self.panels, widths, gaps, strict=True):
            x += gap
            _heat_panel(chart, ax, panel, (x, y0, x + w, y1), self.breaks)
            if panel.group and panel.group != group:
                chart.add(Label(x, height - top + 0.3, panel.group, 9.0, va="bottom"))
            group, x = panel.group, x + w
        chart.add(
            *(Label(left - 0.06, y1 - (i + 0.5) * row_h, r, ha="right")
              for i, r in enumerate(self.rows))
        )  # fmt: skip
        ticks = dict(self.ticks) or SCALE_TICKS
        _colour_scale(chart, ax, (x + 0.2, y0, min(3.0, grid_h)), self.scale_note, ticks)
        chart.add(Label(0.1, height - 0.12, self.title, 10.0, va="top"))
        return chart


def _heat_panel(
    chart: Chart,
    ax: Axes,
    panel: HeatPanel,
    box: tuple[float, float, float, float],
    breaks: tuple[int, ...],
) -> None:
    x0, y0, x1, y1 = box
    values = np.ma.masked_invalid(np.asarray(panel.values, dtype=float))
    cmap = colormaps[CMAP].with_extremes(bad=MISSING_COLOUR)
    ax.imshow(
        values, cmap=cmap, vmin=VMIN, vmax=VMAX, extent=(x0, x1, y0, y1), origin="upper",
        aspect="auto", interpolation="nearest",
    )  # fmt: skip
    row_h, col_w = (y1 - y0) / max(values.shape[0], 1), (x1 - x0) / max(values.shape[1], 1)
    rules = [[(x0, y1 - b * row_h), (x1, y1 - b * row_h)] for b in breaks]
    ax.add_collection(LineCollection(rules, colors="white", linewidths=1.2), autolim=False)
    chart.add(
        *(Label(x0 + (i + 0.5) * col_w, y0 - 4 * PT, c, ha="right", rotation=90)
          for i, c in enumerate(panel.columns)),
        Label((x0 + x1) / 2, y1 + 4 * PT, panel.title, 9.0, ha="center", va="bottom"),
    )  # fmt: skip


def _colour_scale(
    chart: Chart,
    ax: Axes,
    where: tuple[float, float, float],
    note: str,
    ticks: dict[float, str] = SCALE_TICKS,
    width: float = 0.14,
) -> None:
    """The shared scale: a gradient bar with its TICKS (the agree, threshold and disagree
    ticks unless told otherwise)."""
    x, y, height = where
    gradient = np.linspace(VMIN, VMAX, 256)[:, None]
    ax.imshow(
        gradient, cmap=CMAP, vmin=VMIN, vmax=VMAX, extent=(x, x + width, y, y + height),
        origin="lower", aspect="auto", interpolation="bilinear",
    )  # fmt: skip
    ax.add_patch(Rectangle((x, y), width, height, fill=False, linewidth=0.6, color=TEXT_COLOUR))
    marks = [[(x + width, y + t * height), (x + width + 3 * PT, y + t * height)] for t in ticks]
    ax.add_collection(LineCollection(marks, colors=TEXT_COLOUR, linewidths=0.6), autolim=False)
    chart.add(
        *(Label(x + width + 5 * PT, y + t * height, text, 7.0) for t, text in ticks.items()),
        *(Label(x, y + height + (14 - 9 * i) * PT, line, 7.0, va="bottom")
          for i, line in enumerate(note.splitlines())),
    )  # fmt: skip


@dataclass(frozen=True)
class BarPanel:
    """One ranked bar chart: ``labels`` top to bottom with their ``values``."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class BarGridSpec:
    """Ranked bar panels in a grid of ``columns``, sharing one x range from 0 to ``xmax``."""

    title: str
    panels: tuple[BarPanel, ...]
    xlabel: str
    xmax: float
    columns: int = 4

    def build(self) -> Chart:
        n_rows = max(len(p.labels) for p in self.panels)
        bar_h = 0.165 if n_rows > 20 else 0.22
        label_w = max(text_width(s) for p in self.panels for s in p.labels) + 0.2
        bars_w = 1.5
        cols = min(self.columns, len(self.panels))
        cell_w, cell_h = label_w + bars_w + 0.3, n_rows * bar_h + 0.9
        width, height = cols * cell_w + 0.1, 0.45 + math.ceil(len(self.panels) / cols) * cell_h
        chart, ax = new_canvas(width, height)
        bars = _Bars(bar_h, bars_w, self.xmax)
        for i, panel in enumerate(self.panels):
            r, c = divmod(i, cols)
            top = height - 0.45 - r * cell_h - 0.35
            bars.panel(chart, panel, c * cell_w + label_w, top, top - n_rows * bar_h)
            ticks = np.arange(0, self.xmax + 1e-9, 0.2 if self.xmax > 0.5 else 0.1)
            bars.axis(chart, c * cell_w + label_w, top - n_rows * bar_h, top, ticks, self.xlabel)
        bars.finish(ax)
        chart.add(Label(0.1, height - 0.1, self.title, 10.0, va="top"))
        return chart


class _Bars:
    """Collects every panel's bars, rules and axis lines to add them as three artists."""

    def __init__(self, bar_h: float, width: float, xmax: float) -> None:
        self.bar_h, self.width, self.scale = bar_h, width, width / xmax
        self.bars: list[list[tuple[float, float]]] = []
        self.grid: list[list[tuple[float, float]]] = []
        self.lines: list[list[tuple[float, float]]] = []

    def panel(self, chart: Chart, panel: BarPanel, x0: float, top: float, bottom: float) -> None:
        half = 0.38 * self.bar_h
        for i, (label, value) in enumerate(zip(panel.labels, panel.values, strict=True)):
            y = top - (i + 0.5) * self.bar_h
            end = x0 + (0.0 if math.isnan(value) else value) * self.scale
            self.bars.append([(x0, y - half), (end, y - half), (end, y + half), (x0, y + half)])
            chart.add(Label(x0 - 0.06, y, label, ha="right"))
        chart.add(Label(x0, top + 4 * PT, panel.title, 9.0, va="bottom"))

    def axis(self, chart: Chart, x0: float, y0: float, y1: float, ticks: Any, xlabel: str) -> None:
        right = x0 + self.width
        self.lines += [[(x0, y0), (x0, y1)], [(x0, y0), (right, y0)]]
        for tick in ticks:
            x = x0 + float(tick) * self.scale
            self.grid.append([(x, y0), (x, y1)])
            self.lines.append([(x, y0), (x, y0 - 2 * PT)])
            chart.add(Label(x, y0 - 4 * PT, f"{tick:.1f}", 7.0, ha="center", va="top"))
        chart.add(Label((x0 + right) / 2, y0 - 15 * PT, xlabel, 7.0, ha="center", va="top"))

    def finish(self, ax: Axes) -> None:
        ax.add_collection(
            LineCollection(self.grid, colors=GRID_COLOUR, linewidths=0.6, zorder=0), autolim=False
        )
        ax.add_collection(
            PolyCollection(self.bars, facecolors=BAR_COLOUR, edgecolors="none", zorder=1),
            autolim=False,
        )
        ax.add_collection(
            LineCollection(self.lines, colors=TEXT_COLOUR, linewidths=0.8, zorder=2), autolim=False
        )
