"""The tidy answer table: one row per answer, the common currency of every source.

People's survey answers, the paper's released CSVs and our own model runs all become this table;
the metrics read it and ``export`` writes it as CSV. A context is keyed by the instrument's
context axes, one column per axis named by its id (the Value Form: ``country``, ``scenario``;
see :func:`columns`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument

#: Column → meaning, before the context columns.
LEADING: dict[str, str] = {"source": "who answered: 'humans' or the model's name"}
#: Column → meaning, after the context columns.
TRAILING: dict[str, str] = {
    "value": "item id (a value, a foundation, ...)",
    "respondent": "participant id (people); empty for models",
    "variant": "prompt variant index (models); empty for people",
    "sample": "sample index of a repeated prompt (models); 0 for people",
    "raw": "the answer as given, before parsing",
    "code": "the option code it was read as, if any",
    "position": "position on the scale the answer was given on (its points' positions), if scored",
    "missing": "why the answer has no position; empty if it has one",
}
_TEXT = ("source", "value", "respondent", "raw", "code", "missing")


def columns(axes: Sequence[str]) -> dict[str, str]:
    """Column → meaning of an answer table whose contexts have AXES (the instrument's context
    axis ids, :func:`valuecompass.instrument.context_columns`), in the CSV export's order: the
    source, one column per axis (named by the axis id, holding its level id), then the rest."""
    middle = {a: f"level id of the context's {a!r} axis" for a in axes}
    return {**LEADING, **middle, **TRAILING}


def empty(axes: Sequence[str]) -> pd.DataFrame:
    """An answer table with no rows and the right columns for context AXES."""
    return frame([], axes)


def frame(rows: Iterable[Mapping[str, Any]], axes: Sequence[str]) -> pd.DataFrame:
    """Build an answer table from row mappings whose contexts have AXES, filling absent
    columns (a row's other keys are dropped)."""
    names = list(columns(axes))
    df = pd.DataFrame(list(rows), columns=names)
    df["position"] = pd.to_numeric(df["position"], errors="coerce").astype(float)
    df["sample"] = df["sample"].fillna(0).astype(int)
    df["variant"] = pd.array(df["variant"], dtype="Int64")
    for col in (*_TEXT, *axes):
        df[col] = df[col].astype(object).where(df[col].notna(), "")
    return df


def read_csv(path: Path, instrument: Instrument | None = None) -> pd.DataFrame:
    """Read a tidy answer CSV written by :func:`write_csv`, every row checked against
    INSTRUMENT (the bundled one if omitted); see :mod:`valuecompass.answers`."""
    from valuecompass.answers._tidy import read_tidy
    from valuecompass.instrument import load_instrument

    return read_tidy(path, instrument or load_instrument())[0]


def write_csv(
    answers: pd.DataFrame, path: Path, axes: Sequence[str], extra: Iterable[str] = ()
) -> None:
    """Write the tidy CSV atomically (a temporary file renamed into place): ``source``, a
    column per context axis in AXES, ``value``, ... (:func:`columns`).

    ``extra`` names further columns to keep after the standard ones (e.g. ``expected``).
    """
    tmp = path.with_name(path.name + ".tmp")
    names = list(columns(axes)) + [c for c in extra if c in answers.columns]
    try:
        answers[names].to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


#: The missing reason of an answer that chose "not applicable" with no code of its own (a
#: model's "N/A"); a missing code's answers have the code's id as their reason.
IRRELEVANT = "irrelevant"


def missing_codes(answers: pd.DataFrame, instrument: Instrument) -> pd.Series:
    """Each answer's missing code, ``""`` for the others: the code's id where the answer chose
    one of a scale's missing codes (``dk``, ``na``; the Value Form's ``irrelevant``), else
    ``irrelevant`` for an answer read as "not applicable" without a code."""
    codes = {m.code for s in instrument.rating_scales for m in s.missing}
    reason = answers["missing"].astype(str)
    code = answers["code"].astype(str) if "code" in answers else reason
    chosen = reason.isin(codes | {IRRELEVANT})
    named = code.where(code.isin(codes), reason)
    return named.where(chosen, "")


def missing_as_irrelevant(answers: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """A copy of ANSWERS whose every missing code reads ``irrelevant``, for a count that takes
    them as one (:func:`valuecompass.stats.irrelevant_rates`)."""
    chosen = missing_codes(answers, instrument) != ""
    return answers.assign(missing=answers["missing"].where(~chosen, IRRELEVANT))


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
    design: dict[str, Any] | None = None  # the prompt design a stored rating run kept
    scoring: str = "answer"  # a model scored by its answers or by its option probabilities
    #: variant index → its level of each prompt factor, when the source says (a released
    #: import; a run whose prompt design is bundled); ``None`` when unknown
    variant_levels: dict[int, dict[str, str]] | None = None
    excluded: int = 0  # respondents left out by an exclusion file
    exclusions: str = ""  # that file
    notes: list[str] = field(default_factory=list)  # e.g. a deprecated column name read
    store: bool = False  # read from a store (a run, a survey), not from files

    def summary(self) -> str:
        parsed = self.answers - sum(self.missing.values())
        read = "a store" if self.store else f"{self.files} file(s)"
        parts = [f"{self.source}: {read}, {self.answers} answers, {parsed} scored"]
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
        parts.extend(f"note: {n}" for n in self.notes)
        return "; ".join(parts)
