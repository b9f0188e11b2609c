"""Sections and their assets: how the report is extended.

A section is an object with an ``id``, a ``title``, a Jinja2 ``template`` (a file under
``report/templates/``), ``applies(data)`` and ``build(data, assets)``. ``build`` registers its
figures and tables with :class:`Assets` and returns the variables its template uses; the page
renders each applicable section in order. To add a section (bootstrap intervals, say), write
the class and its template and pass ``[*DEFAULT_SECTIONS, YourSection()]`` to ``build_report``
(or add it to :data:`valuecompass.report.DEFAULT_SECTIONS`). All of these names are exported by
:mod:`valuecompass.report`.

Figures are registered as specs (plain data with a ``build()`` method returning a chart) and
drawn after every section has run, so drawing can happen in one place, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd
from markupsafe import Markup

from valuecompass.report._htmltable import Shade, html_table

if TYPE_CHECKING:
    from valuecompass.report._inputs import ReportData
    from valuecompass.report._raster import Chart


class ChartSpec(Protocol):
    """Plain data that draws itself. It must pickle (module-level class, plain fields): figures
    are drawn in worker processes."""

    def build(self) -> Chart: ...


class Section(Protocol):
    """One part of the report (``id``, ``title`` and ``template`` are read, never set; a
    ``"title"`` in what :meth:`build` returns heads the section in this report instead)."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def template(self) -> str: ...

    def applies(self, data: ReportData) -> bool: ...

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]: ...


@dataclass
class FigureAsset:
    """A registered figure; ``svg`` is filled in once it is drawn."""

    id: str
    number: int
    title: str
    caption: str
    spec: ChartSpec
    svg: Markup = field(default_factory=Markup)

    @property
    def png_name(self) -> str:
        return f"{self.id}.png"

    @property
    def svg_name(self) -> str:
        return f"{self.id}.svg"


@dataclass
class TableAsset:
    """A registered table: ``frame`` is written as CSV; ``html`` is its display."""

    id: str
    number: int
    title: str
    caption: str
    frame: pd.DataFrame
    html: Markup

    @property
    def csv_name(self) -> str:
        return f"{self.id}.csv"


@dataclass
class Assets:
    """The figures and tables of one report, numbered in the order they are registered."""

    figures: list[FigureAsset] = field(default_factory=list)
    tables: list[TableAsset] = field(default_factory=list)

    def figure(self, id: str, title: str, caption: str, spec: ChartSpec) -> FigureAsset:
        """Register a figure. ``id`` names its files; it must be unique in the report."""
        self._check_id(id, (f.id for f in self.figures))
        asset = FigureAsset(id, len(self.figures) + 1, title, caption, spec)
        self.figures.append(asset)
        return asset

    def table(
        self,
        id: str,
        title: str,
        caption: str,
        frame: pd.DataFrame,
        *,
        keys: int = 1,
        labels: Mapping[str, str] | None = None,
        shade: Shade | None = None,
        percent: Iterable[str] = (),
    ) -> TableAsset:
        """Register a table. The first ``keys`` columns are row headers; ``labels`` maps ids
        (in headers and key cells) to display names; ``shade`` colours cells best to worst."""
        self._check_id(id, (t.id for t in self.tables))
        html = html_table(
            frame, id=f"tab-{id}", keys=keys, labels=labels or {}, shade=shade, percent=percent
        )
        asset = TableAsset(id, len(self.tables) + 1, title, caption, frame, Markup(html))
        self.tables.append(asset)
        return asset

    @staticmethod
    def _check_id(id: str, taken: Iterable[str]) -> None:
        if id in set(taken):
            raise ValueError(f"asset id {id!r} is registered twice")
