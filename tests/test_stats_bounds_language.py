"""Defects found by the whole-study test: the bootstrap's unit with a language axis, and
intervals kept within their statistic's range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _tidy import CTX, people
from valuecompass import align
from valuecompass import answers as ans
from valuecompass.instrument import Instrument
from valuecompass.stats import bootstrap
from valuecompass.stats._intervals import BOUNDS, basic_interval, clip_interval
from valuecompass.stats._reliability import wide
from valuecompass.stats._units import arrange

AXES = ("country", "scenario", "language")


def _model_in(languages: dict[str, float]) -> pd.DataFrame:
    """One variant and sample answering equality in CTX once per language (→ position)."""
    rows = [
        {"source": "m", "country": CTX[0], "scenario": CTX[1], "language": lang,
         "value": "equality", "variant": 0, "sample": 0, "position": pos}
        for lang, pos in languages.items()
    ]  # fmt: skip
    return ans.frame(rows, AXES)


def test_a_cell_answered_in_two_languages_holds_both_answers(form: Instrument) -> None:
    # People: 1 and 3 → normalised 0 and 2/3, mean 1/3. The model: de 1 (0), fr 4 (1), mean
    # 1/2, so the distance is |1/2 - 1/3| = 1/6; with one answer overwriting the other the
    # bootstrap saw 0 or 1 (distance 1/3 or 2/3).
    h = people([(*CTX, "equality", "a", 1.0), (*CTX, "equality", "b", 3.0)])
    m = _model_in({"de": 1.0, "fr": 4.0})
    a = align(h, m, form)
    assert a.overall()["distance"] == pytest.approx(1 / 6)
    units = arrange(m, a.contexts, ["equality"])
    assert units.counts.tolist() == [2]  # two units: (variant 0, sample 0) in de and in fr
    boot = bootstrap(a, h, m, resamples=50, seed=3)
    assert boot.overall()["distance"] == pytest.approx(1 / 6)
    ranked = boot.ranking("overall").set_index("value")["distance"]
    assert ranked["equality"] == pytest.approx(1 / 6)
    # reliability's unit table: one row per (variant, sample, language)
    assert len(wide(m, ["equality"], ["country", "scenario"])) == 2


def test_basic_interval_past_the_range_is_clipped(form: Instrument) -> None:
    # One cell. People A and C at 1 (normalised 0), B at 3 (2/3): mean 2/9; the model at 4 (1)
    # fixed, so the distance is 7/9. Efron draws of 3 people: the mean is 0 with chance 8/27
    # (distance 1) and 2/3 with chance 1/27 (distance 1/3). The 95% percentile ends are then
    # 1/3 (1/27 > 2.5%) and 1, and the basic interval 2·7/9 - (1, 1/3) = (5/9, 11/9): its
    # upper end passes 1, the largest distance there is, and is clipped to 1.
    h = people([(*CTX, "equality", r, p) for r, p in (("a", 1.0), ("b", 3.0), ("c", 1.0))])
    m = _model_in({"en": 4.0}).drop(columns="language")
    a = align(h, m, form)
    boot = bootstrap(a, h, m, resamples=4000, seed=5, resample="people", draws="n", method="basic")
    reps = boot.replicates["overall"]["distance"]
    raw = basic_interval(reps, boot.estimate["overall"]["distance"], boot.level)
    assert (raw[0][0], raw[1][0]) == pytest.approx((5 / 9, 11 / 9))
    low, high = boot.interval("overall", "distance")
    assert (low[0], high[0]) == pytest.approx((5 / 9, 1.0))
    table = boot.table("overall")
    for stat, (lo, hi) in BOUNDS.items():
        ends = table[[f"{stat}_low", f"{stat}_high"]].to_numpy(float)
        ends = ends[~np.isnan(ends)]
        assert ((ends >= lo) & (ends <= hi)).all(), stat


def test_clip_interval_keeps_kappa_in_minus_one_to_one() -> None:
    low, high = clip_interval("kappa", np.array([-1.3, np.nan]), np.array([0.2, 1.4]))
    np.testing.assert_allclose(low, [-1.0, np.nan])
    np.testing.assert_allclose(high, [0.2, 1.0])
    same = clip_interval("n_contexts", np.array([-5.0]), np.array([7.0]))
    assert same[0][0] == -5.0 and same[1][0] == 7.0
