"""Draw every registered figure, in worker processes when that is safe, and write its files.

Drawing is the report's main cost (a five-model report has some 60 figures). Figures are
independent, so with more than one CPU they are drawn by a pool of forked workers, each given a
spec (plain data) and returning the PNG and SVG. Forking is used only where the platform has it
and this process runs no other thread; otherwise, or with ``jobs=1``, figures are drawn here,
one after another. Either way the output is the same.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from valuecompass.report._html import inline_svg
from valuecompass.report._raster import Rendered, render
from valuecompass.report._section import ChartSpec, FigureAsset

#: PNG resolution: sharp on screen, quick to encode.
DPI = 100
MAX_JOBS = 4


def default_jobs() -> int:
    """The CPUs this process may use, at most :data:`MAX_JOBS`."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    return max(1, min(available, MAX_JOBS))


def draw(figures: Sequence[FigureAsset], folder: Path, jobs: int | None = None) -> list[Path]:
    """Draw every figure; write its PNG and SVG and keep the SVG for the page."""
    rendered = _render_all([(f.spec, f.id) for f in figures], jobs or default_jobs())
    written = []
    for figure, result in zip(figures, rendered, strict=True):
        png, svg = folder / figure.png_name, folder / figure.svg_name
        png.write_bytes(result.png)
        svg.write_text(result.svg, encoding="utf-8")
        figure.svg = inline_svg(figure, result.svg)
        written += [png, svg]
    return written


def render_one(spec: ChartSpec, salt: str) -> Rendered:
    """Draw one spec (the unit of work sent to a worker)."""
    return render(spec.build, salt=salt, dpi=DPI)


def _render_all(tasks: list[tuple[ChartSpec, str]], jobs: int) -> list[Rendered]:
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if jobs < 2 or len(tasks) < 2 or not can_fork or threading.active_count() > 1:
        return [render_one(spec, salt) for spec, salt in tasks]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(render_one, spec, salt) for spec, salt in tasks]
            return [future.result() for future in futures]
    except (BrokenProcessPool, OSError):  # pragma: no cover - e.g. no process limit left
        return [render_one(spec, salt) for spec, salt in tasks]
