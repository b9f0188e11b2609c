"""The pure metrics: hand-computed cases, scikit-learn cross-checks and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    precision_score,
    recall_score,
)

from valuecompass import metrics as al

NAN = np.nan


def test_normalise_maps_people_positions_to_unit_interval() -> None:
    # people's 2, 1, 0, -1, -2 sit at positions 1, 2, 2.5, 3, 4 → (s-1)/3
    got = al.normalise(np.array([1.0, 2.0, 2.5, 3.0, 4.0, NAN]))
    np.testing.assert_allclose(got, [0, 1 / 3, 0.5, 2 / 3, 1, NAN])


def test_binarise_threshold_is_disagree_at_half() -> None:
    got = al.binarise(np.array([0.0, 0.49, 0.5, 0.51, 1.0, NAN]))
    np.testing.assert_array_equal(got, [0, 0, 1, 1, 1, NAN])


def test_hand_computed_context() -> None:
    # Six values. People (truth) normalised:  .1  .8  .6  .2  .9  NaN
    #   labels:                                0   1   1   0   1   -
    # Model normalised:                       .2  .7  .1  .6  NaN .3
    #   labels:                                0   1   0   1   -   0
    # Shared cells: values 1-4 → TP=1 (v2), FN=1 (v3), FP=1 (v4), TN=1 (v1); n=4
    # F1 = 2·1/(2·1+1+1) = 0.5; precision = 1/2; recall = 1/2; accuracy = 2/4
    # kappa: po = .5, pe = (2·2 + 2·2)/16 = .5 → (.5-.5)/(1-.5) = 0
    # distance: |.2-.1|, |.7-.8|, |.1-.6|, |.6-.2| = .1,.1,.5,.4 → mean .275
    h = np.array([0.1, 0.8, 0.6, 0.2, 0.9, NAN])
    m = np.array([0.2, 0.7, 0.1, 0.6, NAN, 0.3])
    r = al.rate_metrics(h, m)
    assert r["f1"] == pytest.approx(0.5)
    assert r["precision"] == pytest.approx(0.5)
    assert r["recall"] == pytest.approx(0.5)
    assert r["accuracy"] == pytest.approx(0.5)
    assert r["kappa"] == pytest.approx(0.0)
    assert r["n"] == 4
    assert al.mean_distance(h, m) == pytest.approx(0.275)


def test_f1_is_zero_without_true_positive() -> None:
    # Everyone agrees with everything: no disagree label anywhere → F1 0 by definition.
    h = np.array([0.1, 0.2, 0.3])
    r = al.rate_metrics(h, h)
    assert r["f1"] == 0.0
    assert r["accuracy"] == 1.0
    assert np.isnan(r["kappa"])  # chance agreement is 1: undefined, as in scikit-learn


def test_no_shared_cell() -> None:
    r = al.rate_metrics(np.array([0.1, NAN]), np.array([NAN, 0.9]))
    assert r["n"] == 0 and r["f1"] == 0.0
    assert np.isnan(r["accuracy"]) and np.isnan(r["kappa"])
    assert np.isnan(al.mean_distance(np.array([0.1, NAN]), np.array([NAN, 0.9])))


def test_leading_axes_are_carried() -> None:
    rng = np.random.default_rng(1)
    h = rng.random((3, 4, 10))
    m = rng.random((3, 4, 10))
    r = al.rate_metrics(h, m)
    assert r["f1"].shape == (3, 4)
    one = al.rate_metrics(h[2, 1], m[2, 1])
    assert r["f1"][2, 1] == pytest.approx(one["f1"])
    assert al.mean_distance(h, m)[2, 1] == pytest.approx(np.mean(np.abs(h[2, 1] - m[2, 1])))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, 12, elements=st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0, NAN])),
    arrays(np.float64, 12, elements=st.sampled_from([0.0, 1 / 3, 0.5, 2 / 3, 1.0, NAN])),
)
def test_matches_scikit_learn(h: np.ndarray, m: np.ndarray) -> None:
    both = ~(np.isnan(h) | np.isnan(m))
    t = (h[both] >= 0.5).astype(int)
    p = (m[both] >= 0.5).astype(int)
    r = al.rate_metrics(h, m)
    if both.sum() == 0:
        assert r["f1"] == 0.0
        return
    assert r["f1"] == pytest.approx(f1_score(t, p, zero_division=0))
    assert r["precision"] == pytest.approx(precision_score(t, p, zero_division=0))
    assert r["recall"] == pytest.approx(recall_score(t, p, zero_division=0))
    assert r["accuracy"] == pytest.approx(accuracy_score(t, p))
    if len(set(t) | set(p)) > 1:
        assert r["kappa"] == pytest.approx(cohen_kappa_score(t, p))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, 20, elements=st.floats(0, 1)))
def test_identical_responses_align_perfectly(h: np.ndarray) -> None:
    r = al.rate_metrics(h, h)
    assert al.mean_distance(h, h) == 0.0
    assert r["accuracy"] == 1.0
    # F1 is 1 whenever there is anything to get right, else 0 by definition.
    assert r["f1"] == (1.0 if (h >= 0.5).any() else 0.0)


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, 15, elements=st.floats(0, 1)),
    arrays(np.float64, 15, elements=st.floats(0, 1)),
)
def test_symmetry_and_bounds(h: np.ndarray, m: np.ndarray) -> None:
    d = al.mean_distance(h, m)
    assert 0.0 <= d <= 1.0
    assert d == pytest.approx(al.mean_distance(m, h))
    r = al.rate_metrics(h, m)
    assert 0.0 <= r["f1"] <= 1.0
    # Swapping truth and prediction swaps precision and recall and keeps F1.
    s = al.rate_metrics(m, h)
    assert s["f1"] == pytest.approx(r["f1"])
    assert s["precision"] == pytest.approx(r["recall"])


def test_ranking_largest_first_ties_stable_missing_last() -> None:
    d = np.array([0.2, NAN, 0.5, 0.2, 0.9])
    # order: 0.9 (v4), 0.5 (v2), 0.2 (v0, tie kept in order), 0.2 (v3), NaN (v1)
    np.testing.assert_array_equal(al.rank_descending(d), [3, 5, 2, 4, 1])
