"""A model's (or people's) value profile: what it endorses, by any axis or grouping.

Scores are normalised as in the alignment metrics, each answer on its own scale: 0 is the agree
end, 1 the other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, context_columns, group_rule, group_rules
from valuecompass.metrics._alignment import normalised_matrix


@dataclass(frozen=True)
class Profile:
    """Normalised cell scores of one source over the contexts it answered."""

    instrument: Instrument
    cells: pd.DataFrame  # index: the context columns (one per axis), columns: item ids
    answers: int
    scored: int
    missing: dict[str, int]

    @property
    def parse_rate(self) -> float:
        return self.scored / self.answers if self.answers else float("nan")

    def by(self, group: str) -> pd.DataFrame:
        """Mean score per value (rows, instrument order) and level of context axis GROUP
        (columns, the axis's order; ``topic`` is a deprecated alias of ``scenario``)."""
        rule = group_rule(self.instrument, group)
        if rule.kind != "axis":
            raise ValueCompassError(f"a profile's columns are a context axis, not {group!r}")
        stacked = self.cells.stack(future_stack=True).rename("score").reset_index()
        column = rule.column
        table = stacked.groupby(["value", column], sort=False)["score"].mean().unstack(column)
        return table.reindex(
            index=self.instrument.item_ids, columns=[g for g in rule.order if g in table.columns]
        )

    def by_type(self, group: str, grouping: str | None = None) -> pd.DataFrame:
        """Mean score per level of an item GROUPING (rows; default the instrument's first,
        the Value Form's motivational type) and level of context axis GROUP (columns)."""
        rule = group_rule(self.instrument, grouping or self.instrument.groupings[0].id)
        per_value = self.by(group)
        members = self.instrument.group_of(rule.id)
        out = per_value.groupby(per_value.index.map(members)).mean()
        return out.reindex([x for x in rule.order if x in out.index])

    def table(self, group: str) -> pd.DataFrame:
        """One row per level of GROUP (any grouping, see :mod:`valuecompass.instrument`): its
        key column(s), the mean ``score`` of its cells and ``n_cells`` (cells with a score)."""
        rule = group_rule(self.instrument, group)
        cells = self.cells.stack(future_stack=True).rename("score").reset_index()
        for r in group_rules(self.instrument).values():
            if r.kind == "items":
                cells[r.column] = cells["value"].map(self.instrument.group_of(r.id))
        keys = list(map(str, self.cells.index.names)) if rule.kind == "context" else []
        keys = keys or [rule.column]
        grouped = cells.groupby(keys, sort=False)["score"]
        out = pd.DataFrame({"score": grouped.mean(), "n_cells": grouped.count()}).reset_index()
        if rule.kind == "context":
            return out
        rank = {k: i for i, k in enumerate(rule.order)}
        return out.sort_values(rule.column, key=lambda c: c.map(rank), kind="stable").reset_index(
            drop=True
        )

    def overall(self) -> dict[str, float | int]:
        """The mean score over all cells, with how many answers were read and scored."""
        return {
            "score": float(np.nanmean(self.cells.to_numpy())) if self.scored else float("nan"),
            "answers": self.answers,
            "scored": self.scored,
            "parse_rate": self.parse_rate,
            "n_contexts": len(self.cells),
        }

    def extremes(self, k: int = 5) -> tuple[pd.Series, pd.Series]:
        """The K values it endorses most and least, over all its contexts."""
        overall = self.cells.mean(axis=0).dropna().sort_values()
        return overall.head(k), overall.tail(k)[::-1]


def value_profile(answers: pd.DataFrame, instrument: Instrument) -> Profile:
    """The profile of one tidy answer table."""
    scored = answers[answers["position"].notna()]
    columns = context_columns(instrument)
    present = set(zip(*(scored[c] for c in columns), strict=True))
    known = itertools.product(*(a.level_ids for a in instrument.context_axes))
    contexts = [ctx for ctx in known if ctx in present]
    index = pd.MultiIndex.from_tuples(contexts, names=columns)
    normalised = normalised_matrix(answers, instrument, None, index, instrument.item_ids)
    missing = answers.loc[answers["missing"] != "", "missing"].value_counts()
    return Profile(
        instrument=instrument,
        cells=normalised,
        answers=len(answers),
        scored=len(scored),
        missing={str(k): int(v) for k, v in missing.items()},
    )
