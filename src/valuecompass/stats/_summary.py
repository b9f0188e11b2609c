"""All the rigour checks of one model against people, in one call (for reports and scripts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecompass.metrics import Alignment
from valuecompass.stats._bootstrap import Bootstrap, bootstrap
from valuecompass.stats._ceiling import Ceiling, human_ceiling
from valuecompass.stats._distributions import Distributions, distribution_distances
from valuecompass.stats._intervals import Method
from valuecompass.stats._irrelevant import compare_irrelevant
from valuecompass.stats._sensitivity import Sensitivity, prompt_sensitivity
from valuecompass.stats._significance import permutation_test


@dataclass(frozen=True)
class Rigor:
    """Intervals, ceilings, prompt sensitivity, distributions, significance and irrelevance."""

    bootstrap: Bootstrap
    ceiling: Ceiling
    sensitivity: Sensitivity | None  # None when the model's answers carry no prompt variant
    distributions: Distributions
    significance: pd.DataFrame
    irrelevant: pd.DataFrame

    def headline(self, group: str | None = None) -> pd.DataFrame:
        """Rate and distance with intervals beside the human ceiling, per group and overall.

        GROUP is a context grouping (default: the instrument's first context axis, the Value
        Form's ``country``); the key column is named by the grouping's column.

        Columns: the group's key, ``f1``, ``f1_low``, ``f1_high``, ``ceiling_f1``,
        ``model_half_f1`` and the same four for ``distance``; the last row is ``overall``.
        """
        cols = ["f1", "f1_low", "f1_high", "distance", "distance_low", "distance_high"]
        ceil = ["ceiling_f1", "model_half_f1", "ceiling_distance", "model_half_distance"]
        layout = self.bootstrap.layout
        axes = [g for g in layout.group_ids() if layout.rule(g).kind == "axis"]
        group = group or axes[0]
        key = layout.rule(group).column
        rows = []
        for g in (group, "overall"):
            part = self.bootstrap.table(g)[cols].join(self.ceiling.table(g)[ceil])
            keys = layout.keys(g)
            part.insert(0, key, keys[key] if g == group else "overall")
            rows.append(part)
        out = pd.concat(rows, ignore_index=True)
        order = [key, "f1", "f1_low", "f1_high", "ceiling_f1", "model_half_f1"]
        order += ["distance", "distance_low", "distance_high", "ceiling_distance"]
        return out[[*order, "model_half_distance"]]


def rigor(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    *,
    seed: int = 0,
    resamples: int = 2000,
    level: float = 0.95,
    splits: int = 200,
    permutations: int = 2000,
    factors: pd.DataFrame | None = None,
    method: Method = "centred",
) -> Rigor:
    """Run every check with one SEED (each check gets its own stream drawn from it);
    METHOD is the bootstrap's interval method (see :func:`valuecompass.stats.bootstrap`)."""
    streams = np.random.SeedSequence(seed).spawn(3)
    has_variants = model_answers["variant"].notna().any()
    return Rigor(
        bootstrap=bootstrap(
            alignment,
            human_answers,
            model_answers,
            seed=np.random.default_rng(streams[0]),
            resamples=resamples,
            level=level,
            method=method,
        ),
        ceiling=human_ceiling(
            alignment, human_answers, splits=splits, seed=np.random.default_rng(streams[1])
        ),
        sensitivity=prompt_sensitivity(alignment, model_answers, factors) if has_variants else None,
        # Distributions are of the options chosen: on raw positions even when scores are centred.
        distributions=distribution_distances(alignment, _raw(human_answers), _raw(model_answers)),
        significance=permutation_test(
            alignment,
            human_answers,
            model_answers,
            permutations=permutations,
            seed=np.random.default_rng(streams[2]),
        ),
        irrelevant=compare_irrelevant(human_answers, model_answers, ("value",)),
    )


def _raw(answers: pd.DataFrame) -> pd.DataFrame:
    """ANSWERS with their raw positions back, if they were centred (see :mod:`._centre`)."""
    if "raw_position" not in answers:
        return answers
    return answers.assign(position=answers["raw_position"])
