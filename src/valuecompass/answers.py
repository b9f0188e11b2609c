"""The tidy answer table: one row per answer, the common currency of every source.

People's survey answers, the paper's released CSVs and our own model runs all become this table;
the metrics read it and ``export`` writes it as CSV.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument

#: Column → meaning. The order is the CSV export's column order.
COLUMNS: dict[str, str] = {
    "source": "who answered: 'humans' or the model's name",
    "country": "country id of the context",
    "topic": "scenario id of the context",
    "value": "value id",
    "respondent": "participant id (people); empty for models",
    "variant": "prompt variant index (models); empty for people",
    "sample": "sample index of a repeated prompt (models); 0 for people",
    "raw": "the answer as given, before parsing",
    "code": "the option code it was read as, if any",
    "position": "position on the 1 (strongly agree) .. 4 (strongly disagree) axis, if scored",
    "missing": "why the answer has no position; empty if it has one",
}


def empty() -> pd.DataFrame:
    """An answer table with no rows and the right columns."""
    return frame([])


def frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build an answer table from row mappings, filling absent columns."""
    df = pd.DataFrame(list(rows), columns=list(COLUMNS))
    df["position"] = pd.to_numeric(df["position"], errors="coerce").astype(float)
    df["sample"] = df["sample"].fillna(0).astype(int)
    df["variant"] = pd.array(df["variant"], dtype="Int64")
    for col in ("source", "country", "topic", "value", "respondent", "raw", "code", "missing"):
        df[col] = df[col].astype(object).where(df[col].notna(), "")
    return df


def read_csv(path: Path, instrument: Instrument | None = None) -> pd.DataFrame:
    """Read a tidy answer CSV written by :func:`write_csv`, every row checked against
    INSTRUMENT (the bundled one if omitted); see :mod:`valuecompass._tidy_read`."""
    from valuecompass._tidy_read import read_tidy
    from valuecompass.instrument import load_instrument

    return read_tidy(path, instrument or load_instrument())[0]


def write_csv(answers: pd.DataFrame, path: Path, extra: Iterable[str] = ()) -> None:
    """Write the tidy CSV atomically (a temporary file renamed into place).

    ``extra`` names further columns to keep after the standard ones (e.g. ``expected``).
    """
    tmp = path.with_name(path.name + ".tmp")
    columns = list(COLUMNS) + [c for c in extra if c in answers.columns]
    try:
        answers[columns].to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class ImportReport:
    """What an importer read, kept and dropped, for the user to check."""

    source: str
    files: int = 0
    rows: int = 0
    respondents: int = 0
    duplicates_dropped: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    unknown_keys: Counter[str] = field(default_factory=Counter)
    answers: int = 0
    manifest: dict[str, Any] | None = None  # a model run's manifest, when read from a store
    scoring: str = "answer"  # a model scored by its answers or by its option probabilities
    #: variant index → its level of each prompt factor, when the source says (a released
    #: import; a run whose prompt design is bundled); ``None`` when unknown
    variant_levels: dict[int, dict[str, str]] | None = None
    excluded: int = 0  # respondents left out by an exclusion file
    exclusions: str = ""  # that file

    def summary(self) -> str:
        parsed = self.answers - sum(self.missing.values())
        parts = [f"{self.source}: {self.files} file(s), {self.answers} answers, {parsed} scored"]
        if self.scoring == "probs":
            parts[0] += " by option probabilities"
        if self.missing:
            reasons = ", ".join(f"{k} {v}" for k, v in self.missing.most_common())
            parts.append(f"missing: {reasons}")
        if self.excluded:
            parts.append(f"{self.excluded} respondent(s) excluded ({self.exclusions})")
        if self.duplicates_dropped:
            parts.append(f"{self.duplicates_dropped} duplicated row(s) dropped")
        if self.skipped:
            parts.append("skipped: " + ", ".join(f"{k} ({v})" for k, v in self.skipped.items()))
        if self.unknown_keys:
            parts.append("unknown keys: " + ", ".join(sorted(self.unknown_keys)))
        return "; ".join(parts)
