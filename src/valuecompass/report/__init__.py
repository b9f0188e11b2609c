"""The report: the paper's tables and figures in one self-contained HTML file.

:func:`build_report` is the one entry point; the CLI's ``valuecompass report`` calls it. This
module imports nothing heavy: matplotlib and Jinja2 load only when a report is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuecompass.report._result import ReportError, ReportResult

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument
    from valuecompass.metrics import GroupDistance
    from valuecompass.report._figures import BarGridSpec, BarPanel, HeatmapSpec, HeatPanel
    from valuecompass.report._raster import Chart, new_canvas, new_chart
    from valuecompass.report._section import Assets, Section
    from valuecompass.report._sections import DEFAULT_SECTIONS
    from valuecompass.report._text import Label
    from valuecompass.sources import Reading, Scoring

__all__ = [
    "DEFAULT_SECTIONS",
    "Assets",
    "BarGridSpec",
    "BarPanel",
    "Chart",
    "HeatPanel",
    "HeatmapSpec",
    "Label",
    "ReportError",
    "ReportResult",
    "Section",
    "build_report",
    "new_canvas",
    "new_chart",
    "parse_llm_option",
]

#: Names for writing a section of one's own, loaded on first use (they need matplotlib and
#: Jinja2, which ``import valuecompass`` must not load).
_LAZY = {
    "DEFAULT_SECTIONS": "_sections",
    "Assets": "_section",
    "Section": "_section",
    "BarGridSpec": "_figures",
    "BarPanel": "_figures",
    "HeatmapSpec": "_figures",
    "HeatPanel": "_figures",
    "Chart": "_raster",
    "Label": "_text",
    "new_canvas": "_raster",
    "new_chart": "_raster",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"valuecompass.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'valuecompass.report' has no attribute {name!r}")


def build_report(
    humans: str | Path | None,
    llms: Sequence[tuple[str, str | Path]],
    out: str | Path,
    instrument: Instrument | None = None,
    command: str | None = None,
    sections: Sequence[Section] | None = None,
    jobs: int | None = None,
    score: Scoring = "answer",
    exclude: str | Path | None = None,
    group_distance: GroupDistance = "cells",
    centre: bool = False,
    acted: str | Path | None = None,
    stated: str | Path | None = None,
    actions: str | Path | None = None,
    reading: Reading = "action",
) -> ReportResult:
    """Build the report for people's answers (or none) against one or more models.

    ``llms`` pairs each model's display name with its source (a released model folder, a tidy
    CSV or ``STORE#RUN``). ``out`` is the HTML file; ``<stem>_files/`` is written beside it. Both
    appear only when the whole report is built: bad input raises :class:`ReportError` and leaves
    nothing at either path. ``sections`` replaces the default section list. ``jobs`` is how
    many processes draw the figures (default: the CPUs available, at most 4; 1 draws here).
    ``score="probs"`` scores every model by its option probabilities instead of its answers.
    ``exclude`` (an exclusion CSV) leaves its respondents out of the people's answers;
    ``group_distance`` is how grouped distances are taken (``cells``: Eq. 2; ``means``: the
    authors' notebook).
    ``centre=True`` builds every section on person-centred scores (the page says so).

    ``acted`` (a choice source, as ``gap --acted`` reads) adds the section "Stated and enacted
    values": the gap between a model's stated values and its choices. ``stated`` is that
    model's ratings source (anything ``gap --stated`` reads, ``NAME=SRC`` to name it) or the
    name of one of ``llms``; left out, the report's only model. With ``stated`` given, ``llms``
    may be empty: the stated side is then the report's model. ``actions`` is the actions file
    or ``STORE#SET`` (a task-2 log's index file, and the actions' texts); ``reading`` as
    ``gap --reading``. With ``acted`` and no ``instrument``, the instrument a run kept is
    used, else the study's grid (``value_actions``), as ``gap`` does. With a choice run as
    ``acted`` and no ``actions``, its own action set gives the texts.

    >>> build_report("shared/datasets/valuecompass-2025",
    ...              [("gpt-4o-mini", "shared/datasets/valuecompass-2025/llm_outputs/gpt-4o-mini")],
    ...              "report.html")  # doctest: +SKIP
    """
    try:
        from valuecompass.report._build import build
        from valuecompass.report._inputs import InputOptions
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ReportError(
            f"the report needs matplotlib and Jinja2 ({exc.name} is missing); "
            "install them with: pip install 'valuecompass[report]'"
        ) from exc
    gap = None
    if acted is not None:
        from valuecompass.api import gap_instrument
        from valuecompass.report._gap_inputs import GapSources

        gap = GapSources(
            str(acted),
            None if stated is None else str(stated),
            None if actions is None else str(actions),
            reading,
        )
        instrument = gap_instrument(instrument, llms[0][1] if llms else acted, acted)
    elif stated is not None or actions is not None:
        raise ReportError("--stated and --actions go with --acted (the model's choices)")
    options = InputOptions(
        score=score, exclude=exclude, group_distance=group_distance, centre=centre, gap=gap
    )
    return build(humans, llms, Path(out), instrument, command, sections, jobs, options)


def parse_llm_option(text: str) -> tuple[str, str]:
    """``NAME=SRC`` or a bare ``SRC`` → (name, src); a bare SRC is named after its file or folder.

    ``=`` separates a name only when the part before it looks like a name (no ``/``, ``:``,
    ``#``, ``?`` or ``\\``), so a database URL with a query string stays one SRC.
    """
    from valuecompass.report._inputs import parse_llm_option as parse

    return parse(text)
