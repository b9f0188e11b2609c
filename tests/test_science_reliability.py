"""Reliability (alpha, omega, ICC) and structure (MDS circle test): by hand, against pingouin
and SciPy, on a synthetic circumplex and on noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy.optimize import minimize

from _tidy import AXES, CTX, model, people
from valuecompass.stats import (
    circle_fit,
    circle_structure,
    classical_mds,
    cronbach_alpha,
    icc,
    mcdonald_omega,
    one_factor_loadings,
    reliability,
)


def test_alpha_by_hand_and_pingouin() -> None:
    # Items (1, 2, 3) and (2, 3, 3): variances 1 and 1/3, covariance 1/2; all entries sum to
    # 1 + 1/3 + 2·1/2 = 7/3. alpha = 2/1 · (1 - (4/3)/(7/3)) = 6/7.
    x = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 3.0]])
    assert cronbach_alpha(x) == pytest.approx(6 / 7)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(150, 1)) @ rng.uniform(0.3, 0.9, (1, 6)) + rng.normal(size=(150, 6))
    y[rng.random(y.shape) < 0.05] = np.nan  # pairwise-complete, as pingouin's default
    assert cronbach_alpha(y) == pytest.approx(pg.cronbach_alpha(pd.DataFrame(y))[0], abs=1e-10)
    assert np.isnan(cronbach_alpha(x[:, :1]))
    assert np.isnan(cronbach_alpha(np.ones((4, 3))))


def test_omega_by_hand_and_least_squares() -> None:
    # An exact one-factor correlation matrix, loadings .8 .7 .6: r12 .56, r13 .48, r23 .42.
    # ω = (2.1)² / (4.41 + (1 - .64) + (1 - .49) + (1 - .36)) = 4.41 / 5.92.
    lam = np.array([0.8, 0.7, 0.6])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1.0)
    np.testing.assert_allclose(one_factor_loadings(corr), lam, atol=1e-6)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 1)) @ lam[None] + rng.normal(size=(4000, 3)) * np.sqrt(1 - lam**2)
    assert mcdonald_omega(x) == pytest.approx(4.41 / 5.92, abs=0.01)
    # The loadings minimise the off-diagonal squared residuals (least squares / MINRES): SciPy.
    y = rng.normal(size=(300, 1)) @ rng.uniform(0.4, 0.8, (1, 5)) + rng.normal(size=(300, 5))
    r = np.corrcoef(y, rowvar=False)
    off = ~np.eye(5, dtype=bool)
    res = minimize(lambda v: np.sum((r - np.outer(v, v))[off] ** 2), np.full(5, 0.5), tol=1e-12)
    np.testing.assert_allclose(one_factor_loadings(r), np.abs(res.x), atol=1e-4)
    assert np.isnan(mcdonald_omega(y[:, :2]))


def test_icc_by_hand_and_pingouin() -> None:
    # Targets (1, 2), (2, 3), (3, 3); grand mean 7/3. Row means 1.5, 2.5, 3: SS 7/6, MSR =
    # 2·(7/6)/2 = 7/6. Column means 2, 8/3: MSC = 3·(2/9)/1 = 2/3. Residuals ±1/6 (4 cells) and
    # ±1/3 (2): SS 1/3, MSE = (1/3)/2 = 1/6. ICC(3,k) = (7/6 - 1/6)/(7/6) = 6/7;
    # ICC(2,1) = 1 / (7/6 + 1/6 + 2(2/3 - 1/6)/3) = 1 / (5/3) = 3/5.
    got = icc(np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 3.0]]))
    assert got["icc3_k"] == pytest.approx(6 / 7)
    assert got["icc2_1"] == pytest.approx(3 / 5)
    rng = np.random.default_rng(2)
    r = rng.normal(size=(30, 1)) + rng.normal(size=(30, 5)) * 0.5 + np.arange(5) * 0.2
    long = pd.DataFrame(r).reset_index().melt(id_vars="index")
    ref = pg.intraclass_corr(long, "index", "variable", "value").set_index("Type")["ICC"]
    out = icc(r)
    assert out["icc2_1"] == pytest.approx(ref["ICC(A,1)"])
    assert out["icc2_k"] == pytest.approx(ref["ICC(A,k)"])
    assert out["icc3_1"] == pytest.approx(ref["ICC(C,1)"])
    assert out["icc3_k"] == pytest.approx(ref["ICC(C,k)"])
    assert np.isnan(icc(r[:1])["icc2_1"])


def test_reliability_table_per_group() -> None:
    # Two groups of two values; people a, b, c answer (1, 2 | 1, 1), (2, 3 | 4, 4),
    # (3, 3 | 1, 1). Group g1 is the hand example above: alpha 6/7. A model with variants 0
    # and 1 answering the same as a, b, c would as three contexts... here one context, two
    # variants: v0 (1, 2, 1, 1), v1 (2, 3, 1, 2): cells as targets, variants as raters.
    vals = ("equality", "freedom", "wealth", "power")
    groups = {"equality": "g1", "freedom": "g1", "wealth": "g2", "power": "g2"}
    rows = []
    for r, answers in zip("abc", [(1, 2, 1, 1), (2, 3, 4, 4), (3, 3, 1, 1)], strict=True):
        rows += [(*CTX, v, r, float(p)) for v, p in zip(vals, answers, strict=True)]
    table = reliability(people(rows), groups, ["g1", "g2"], contexts=AXES).set_index("group")
    assert table.loc["g1", "alpha"] == pytest.approx(6 / 7)
    assert table.loc["g2", "alpha"] == pytest.approx(1.0)  # identical items
    assert table.loc["all", "n_items"] == 4 and "icc2_1" not in table
    m = model([(*CTX, v, k, float(p)) for k, ans in enumerate([(1, 2, 1, 1), (2, 3, 1, 2)])
               for v, p in zip(vals, ans, strict=True)])  # fmt: skip
    mt = reliability(m, groups, ["g1", "g2"], contexts=AXES).set_index("group")
    # g1 cells: (1, 2), (2, 3) → ICC by hand: grand 2, rows 1.5, 2.5: MSR = 2·(.25+.25)/1 = 1;
    # columns 1.5, 2.5: MSC = 2·(.5)/1 = 1; residuals 0: MSE 0 → ICC(3,k) = 1, ICC(2,1) =
    # 1 / (1 + 0 + 2·1/2) = 1/2.
    assert mt.loc["g1", "icc3_k"] == pytest.approx(1.0)
    assert mt.loc["g1", "icc2_1"] == pytest.approx(0.5)
    # Issue 24, item 7: all four are reported. ICC(3,1) = (1 - 0) / (1 + 0) = 1; ICC(2,k) =
    # (1 - 0) / (1 + (1 - 0)/2) = 2/3.
    assert mt.loc["g1", "icc3_1"] == pytest.approx(1.0)
    assert mt.loc["g1", "icc2_k"] == pytest.approx(2 / 3)
    assert [c for c in mt.columns if c.startswith("icc")] == [
        "icc2_1",
        "icc2_k",
        "icc3_1",
        "icc3_k",
    ]
    assert mt.loc["g1", "n_cells"] == 2


def test_classical_mds_recovers_distances() -> None:
    pts = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0]])
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    coords = classical_mds(d)
    np.testing.assert_allclose(np.linalg.norm(coords[:, None] - coords[None], axis=-1), d)


def test_circle_fit_is_rotation_and_reflection_free() -> None:
    places = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert circle_fit(places + 0.7, places) == pytest.approx(1.0)
    assert circle_fit(-places + 0.3, places) == pytest.approx(1.0)
    assert circle_fit(np.array([0.0, np.pi]), np.array([0.0, 0.0])) == pytest.approx(0.0)


def _circumplex(
    rng: np.random.Generator, signal: float, slots: list[int] | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """300 people, 10 groups of 4 items; item i at its group's angle (+ noise) on a circle of
    two latent factors with weight SIGNAL, plus independent noise. Group g sits at slot g of
    the circle, or at SLOTS[g]: the items cluster by group in another circular order."""
    groups, rows = {}, []
    angles = []
    for g in range(10):
        for j in range(4):
            groups[f"v{g}_{j}"] = f"g{g}"
            slot = g if slots is None else slots[g]
            angles.append(2 * np.pi * slot / 10 + rng.normal(0, 0.15))
    latent = rng.normal(size=(300, 2))
    x = signal * (latent[:, :1] * np.cos(angles) + latent[:, 1:] * np.sin(angles))
    x = x + rng.normal(size=x.shape)
    for p in range(300):
        rows += [("c", "t", v, f"p{p}", float(x[p, i])) for i, v in enumerate(groups)]
    return people(rows), groups


def test_structure_recovers_a_circumplex_and_not_noise() -> None:
    order = [f"g{g}" for g in range(10)]
    rng = np.random.default_rng(7)
    circle, groups = _circumplex(rng, signal=1.5)
    found = circle_structure(circle, groups, order, contexts=AXES, permutations=300, seed=0)
    assert found.fit > 0.9
    assert found.p_value == pytest.approx(1 / 301)
    assert found.adjacent >= 8  # of 10 neighbouring pairs
    noise, _ = _circumplex(rng, signal=0.0)
    none = circle_structure(
        noise, groups, order, contexts=AXES, permutations=300, seed=0, null="items"
    )
    assert none.fit < 0.5
    assert none.p_value > 0.05
    # Shuffling the theory's order loses the circle: a wrong theory is not confirmed.
    wrong = circle_structure(
        circle, groups, order[::2] + order[1::2], contexts=AXES, permutations=300, seed=0
    )
    assert wrong.fit < found.fit - 0.3


def test_the_types_null_wants_the_theorys_order_not_just_clusters() -> None:
    # The default null keeps items in their groups and permutes the groups' places. A planted
    # circumplex in the theory's order passes it; items that cluster tightly by group, but with
    # the groups in a random circular order, pass only the weaker null that shuffles labels
    # over items (it rewards any clustering).
    order = [f"g{g}" for g in range(10)]
    circle, groups = _circumplex(np.random.default_rng(7), signal=1.5)
    planted = circle_structure(circle, groups, order, contexts=AXES, permutations=300, seed=0)
    assert planted.null == "types" and planted.summary()["null"] == "types"
    assert planted.p_value < 0.01
    slots = [int(x) for x in np.random.default_rng(3).permutation(10)]
    clustered, _ = _circumplex(np.random.default_rng(8), signal=1.5, slots=slots)
    strong = circle_structure(clustered, groups, order, contexts=AXES, permutations=300, seed=0)
    weak = circle_structure(
        clustered, groups, order, contexts=AXES, permutations=300, seed=0, null="items"
    )
    assert strong.p_value > 0.1
    assert weak.p_value < 0.01 and weak.null == "items"
    # On noise the types null rejects at its nominal rate: of 20 noise tables, p < 0.05 for
    # about one (four or more has chance 1.6%).
    rng = np.random.default_rng(11)
    noise = [_circumplex(rng, signal=0.0)[0] for _ in range(20)]
    ps = [
        circle_structure(n, groups, order, contexts=AXES, permutations=200).p_value for n in noise
    ]
    assert sum(p < 0.05 for p in ps) <= 3 and np.mean(ps) == pytest.approx(0.5, abs=0.15)
    with pytest.raises(ValueError, match="unknown null 'labels'"):
        circle_structure(circle, groups, order, contexts=AXES, null="labels")  # type: ignore[arg-type]


def test_the_types_null_by_hand_with_four_groups() -> None:
    # Four groups have (4 - 1)! / 2 = 3 arrangements up to rotation and reflection: the theory's
    # and two others. Items exactly at the theory's places fit with R = 1; a permutation of the
    # places fits as well only when it is a rotation or reflection of the theory's (8 of the 24
    # permutations), so the p-value tends to (1 + B/3) / (1 + B).
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(400, 2))
    angles = np.repeat(2 * np.pi * np.arange(4) / 4, 3)
    x = latent[:, :1] * np.cos(angles) + latent[:, 1:] * np.sin(angles)
    x = x + 0.01 * rng.normal(size=x.shape)
    names = [f"v{i}" for i in range(12)]
    groups = {v: f"g{i // 3}" for i, v in enumerate(names)}
    rows = [("c", "t", v, f"p{p}", float(x[p, i])) for p in range(400) for i, v in enumerate(names)]
    found = circle_structure(
        people(rows), groups, [f"g{g}" for g in range(4)], contexts=AXES, permutations=3000
    )
    assert found.fit > 0.99
    assert found.p_value == pytest.approx(1 / 3, abs=0.03)
