"""What a report build returns, and the error it raises for bad input.

Kept free of heavy imports so that ``import valuecompass`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from valuecompass.errors import ValueCompassError


class ReportError(ValueCompassError, ValueError):
    """Bad input to a report: a source, a model name or an output path."""


@dataclass(frozen=True)
class ReportResult:
    """The files a report build wrote.

    ``html`` is the self-contained report; ``files_dir`` sits beside it and holds every figure
    as PNG and SVG (``figures``), every table as CSV (``tables``) and ``provenance.json``.
    """

    html: Path
    files_dir: Path
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]
    seconds: float

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, the HTML first."""
        return (self.html, *self.figures, *self.tables, self.files_dir / "provenance.json")
