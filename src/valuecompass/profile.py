"""A model's (or people's) value profile: what it endorses, by country, topic and type.

Scores are normalised as in the alignment metrics: 0 is strongly agree, 1 strongly disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from valuecompass.compare import normalised_matrix
from valuecompass.instrument import Instrument


@dataclass(frozen=True)
class Profile:
    """Normalised cell scores of one source over the contexts it answered."""

    instrument: Instrument
    cells: pd.DataFrame  # index (country, topic), columns value ids
    answers: int
    scored: int
    missing: dict[str, int]

    @property
    def parse_rate(self) -> float:
        return self.scored / self.answers if self.answers else float("nan")

    def by(self, group: str) -> pd.DataFrame:
        """Mean score per value (rows, instrument order) and group level (columns)."""
        stacked = self.cells.stack(future_stack=True).rename("score").reset_index()
        table = stacked.groupby(["value", group], sort=False)["score"].mean().unstack(group)
        order = (
            [c.id for c in self.instrument.countries]
            if group == "country"
            else [s.id for s in self.instrument.scenarios]
        )
        return table.reindex(
            index=self.instrument.value_ids, columns=[g for g in order if g in table.columns]
        )

    def by_type(self, group: str) -> pd.DataFrame:
        """Mean score per motivational type (rows) and group level (columns)."""
        types = {v.id: v.type.value for v in self.instrument.values}
        per_value = self.by(group)
        return per_value.groupby(per_value.index.map(types)).mean()

    def extremes(self, k: int = 5) -> tuple[pd.Series, pd.Series]:
        """The K values it endorses most and least, over all its contexts."""
        overall = self.cells.mean(axis=0).dropna().sort_values()
        return overall.head(k), overall.tail(k)[::-1]


def value_profile(answers: pd.DataFrame, instrument: Instrument) -> Profile:
    """The profile of one tidy answer table."""
    scored = answers[answers["position"].notna()]
    contexts = [
        (c.id, s.id)
        for c in instrument.countries
        for s in instrument.scenarios
        if ((scored["country"] == c.id) & (scored["topic"] == s.id)).any()
    ]
    index = pd.MultiIndex.from_tuples(contexts, names=["country", "topic"])
    normalised = normalised_matrix(answers, instrument, None, index, instrument.value_ids)
    missing = answers.loc[answers["missing"] != "", "missing"].value_counts()
    return Profile(
        instrument=instrument,
        cells=normalised,
        answers=len(answers),
        scored=len(scored),
        missing={str(k): int(v) for k, v in missing.items()},
    )
