"""Respondents left out of an analysis: a CSV of source file, respondent id and reason.

The file has a header with the columns ``file``, ``PID`` and ``reason`` (other columns are
ignored), one excluded respondent per row, as the released data's
``exclusions_attention.csv``:

* ``file``: the people's file the respondent is in (``human_S2_Healthcare.csv``; a path or a
  bare name, its scenario read from the name as the importer does), or the scenario's id or
  name (``healthcare``) for people read from a survey store;
* ``PID``: the respondent's id in that file (or store);
* ``reason``: why (free text, may be empty; kept for the report).

A respondent id is unique within a scenario's file, not across files, so a row names the pair.
A row that matches no respondent among the people read is refused (:class:`ExclusionError`):
such a file was written for other data, and applying the rest of it silently would leave the
unmatched people in. Rows repeated exactly count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, context_columns
from valuecompass.sources._humans import HumanDataError, topic_from_filename

#: The columns an exclusion file must have.
COLUMNS = ("file", "PID", "reason")


class ExclusionError(ValueCompassError, ValueError):
    """An exclusion file that cannot be read or does not fit the people's answers."""


@dataclass(frozen=True)
class Exclusion:
    """One excluded respondent: where it was listed and whom it names."""

    line: int
    file: str
    scenario: str  # the level of the instrument's scenario axis the file holds
    respondent: str
    reason: str


@dataclass(frozen=True)
class Exclusions:
    """The respondents an exclusion file names."""

    path: str
    entries: tuple[Exclusion, ...]
    #: the people's answer column a row's scenario is matched in: the instrument's second
    #: context axis, the one the people's files are split by (the Value Form: ``scenario``)
    axis: str = ""

    def reasons(self) -> pd.Series:
        """Count of excluded respondents per reason, largest first."""
        return pd.Series([e.reason or "(no reason given)" for e in self.entries]).value_counts()


def read_exclusions(path: str | Path, instrument: Instrument) -> Exclusions:
    """Read and check an exclusion file (see the module docstring for its columns)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise ExclusionError(f"{path}: no such exclusion file") from exc
    except pd.errors.EmptyDataError as exc:
        raise ExclusionError(f"{path}: the exclusion file is empty") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ExclusionError(f"{path}: cannot read the exclusion file as CSV ({exc})") from exc
    absent = [c for c in COLUMNS if c not in df.columns]
    if absent:
        raise ExclusionError(
            f"{path}: missing column(s) {', '.join(absent)}; an exclusion file has the columns "
            f"{', '.join(COLUMNS)}"
        )
    entries: dict[tuple[str, str], Exclusion] = {}
    for i, row in enumerate(df.to_dict("records")):
        line = i + 2  # the header is line 1
        where, pid = row["file"].strip(), row["PID"].strip()
        if not where or not pid:
            raise ExclusionError(f"{path} line {line}: empty {'file' if not where else 'PID'}")
        try:
            scenario = topic_from_filename(Path(where), instrument)
        except HumanDataError as exc:
            raise ExclusionError(f"{path} line {line}: {exc}") from exc
        entry = Exclusion(line, where, scenario, pid, row["reason"].strip())
        entries.setdefault((scenario, pid), entry)
    axis = context_columns(instrument)[1]
    return Exclusions(path=str(path), entries=tuple(entries.values()), axis=axis)


def apply_exclusions(people: pd.DataFrame, exclusions: Exclusions) -> pd.DataFrame:
    """PEOPLE's answers without the excluded respondents' rows.

    Raises :class:`ExclusionError` naming the rows that match no respondent (see above).
    """
    if exclusions.axis not in people.columns:
        raise ExclusionError(
            f"{exclusions.path}: the people's answers have no {exclusions.axis!r} column to "
            "match the excluded respondents' files in"
        )
    pairs = list(zip(people[exclusions.axis], people["respondent"], strict=True))
    unmatched = [e for e in exclusions.entries if (e.scenario, e.respondent) not in set(pairs)]
    if unmatched:
        shown = "; ".join(f"line {e.line}: {e.respondent} in {e.file}" for e in unmatched[:5])
        more = f" (and {len(unmatched) - 5} more)" if len(unmatched) > 5 else ""
        raise ExclusionError(
            f"{exclusions.path}: {len(unmatched)} excluded respondent(s) are not among the "
            f"people's answers: {shown}{more}"
        )
    keys = {(e.scenario, e.respondent) for e in exclusions.entries}
    return people.loc[[p not in keys for p in pairs]].reset_index(drop=True)
