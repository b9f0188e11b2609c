"""Charts of the science section: items on the MDS plane, and steerability by the first context
axis (the Value Form's country).

Plain data that draws itself (see :mod:`._figures`); text goes through :class:`~._text.Label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import colormaps

from valuecompass.report._raster import Chart, new_chart
from valuecompass.report._text import TEXT_COLOUR, Label


@dataclass(frozen=True)
class PlanePanel:
    """One source's items: coordinates, each item's group index (-1: no place in the
    theory), and the panel's title (with its fit statistic)."""

    title: str
    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    group: np.ndarray[Any, Any]


@dataclass(frozen=True)
class PlaneSpec:
    """Panels side by side; GROUPS names the theory's groups in circular order (legend)."""

    title: str
    groups: tuple[str, ...]
    panels: tuple[PlanePanel, ...]

    def build(self) -> Chart:
        size, gap, legend = 2.6, 0.3, 1.5
        cols = min(len(self.panels), 3)
        rows = -(-len(self.panels) // cols)
        width = cols * (size + gap) + legend
        height = rows * (size + 0.45) + 0.2
        chart = new_chart(width, height)
        cmap = colormaps["twilight"]  # cyclic: neighbours on the circle get neighbouring hues
        colours = [cmap(i / max(len(self.groups), 1)) for i in range(len(self.groups))]
        for i, panel in enumerate(self.panels):
            r, c = divmod(i, cols)
            left, bottom = c * (size + gap) + 0.15, height - (r + 1) * (size + 0.45)
            ax = chart.figure.add_axes((left / width, bottom / height, size / width, size / height))
            ax.set_axis_off()
            lim = float(np.nanmax(np.abs(np.r_[panel.x, panel.y, 1e-9]))) * 1.1
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.add_patch(_frame(lim))
            grey = panel.group < 0
            ax.scatter(panel.x[grey], panel.y[grey], s=6, color="#bbbbbb", linewidths=0)
            for g, colour in enumerate(colours):
                on = panel.group == g
                ax.scatter(panel.x[on], panel.y[on], s=12, color=colour, linewidths=0)
            chart.add(Label(left + size / 2, bottom + size + 0.12, panel.title, 8.5, "center"))
        x0 = cols * (size + gap) + 0.1
        for g, (name, colour) in enumerate(zip(self.groups, colours, strict=True)):
            y = height - 0.4 - g * 0.2
            ax = chart.figure.add_axes((x0 / width, (y - 0.05) / height, 0.1 / width, 0.1 / height))
            ax.set_axis_off()
            ax.scatter([0], [0], s=14, color=colour)
            chart.add(Label(x0 + 0.15, y, name, 7.5))
        return chart


def _frame(lim: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((-lim, -lim), 2 * lim, 2 * lim, fill=False, edgecolor="#dddddd", lw=0.6)


@dataclass(frozen=True)
class SteerPanel:
    """One model: steerability and its interval per level (top to bottom)."""

    title: str
    steer: np.ndarray[Any, Any]
    low: np.ndarray[Any, Any]
    high: np.ndarray[Any, Any]


@dataclass(frozen=True)
class SteerSpec:
    """Dot-and-interval panels sharing LEVELS (rows) of the axis NAMED (the Value Form's
    country); a rule at 0 (the level named ignored)."""

    title: str
    levels: tuple[str, ...]
    panels: tuple[SteerPanel, ...]
    named: str = "country"

    def build(self) -> Chart:
        left, panel_w, gap, row_h = 1.4, 1.7, 0.25, 0.24
        height = len(self.levels) * row_h + 1.0
        width = left + len(self.panels) * (panel_w + gap) + 0.2
        chart = new_chart(width, height)
        values = np.concatenate([np.r_[p.low, p.high, p.steer] for p in self.panels])
        lim = max(float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0, 1e-3)
        lim *= 1.15
        grid_h = len(self.levels) * row_h
        ys = np.arange(len(self.levels))[::-1] + 0.5
        for i, level in enumerate(self.levels):
            chart.add(Label(left - 0.08, 0.55 + ys[i] * row_h, level, 7.5, "right"))
        for j, panel in enumerate(self.panels):
            x0 = left + j * (panel_w + gap)
            ax = chart.figure.add_axes(
                (x0 / width, 0.55 / height, panel_w / width, grid_h / height)
            )
            ax.set_xlim(-lim, lim)
            ax.set_ylim(0, len(self.levels))
            ax.set_yticks([])
            ax.tick_params(labelsize=6.5, length=2)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
            ax.axvline(0.0, color="#999999", lw=0.7)
            ax.hlines(ys, panel.low, panel.high, color=TEXT_COLOUR, lw=1.0)
            ax.scatter(panel.steer, ys, s=14, color=colormaps["cividis"](0.22), zorder=3)
            chart.add(Label(x0 + panel_w / 2, 0.55 + grid_h + 0.15, panel.title, 8.0, "center"))
        chart.add(Label(width / 2, 0.12, "steerability (distance units; > 0: closer to the "
                        f"{self.named} named)", 7.5, "center"))  # fmt: skip
        return chart
