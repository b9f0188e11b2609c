"""The value–action gap on planted tables: hand-computed F1, distance, ranking and shares,
variant agreement and position bias of mock choosers, and an instrument that is not the
Value Form. The released files are in test_gap_release.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from valuecompass import answers as ans
from valuecompass.instrument import group_rule, load_instrument
from valuecompass.metrics import (
    GapError,
    NoOverlapError,
    gap,
    misaligned_shares,
    pair_agreement,
    position_bias,
    variant_agreement,
)

INST = load_instrument("value_actions")
ODD = load_instrument(Path(__file__).parent / "data" / "odd_instrument.yaml")
AXES = ["country", "topic"]
C1, C2, C3 = ("united_states", "politics"), ("india", "politics"), ("united_states", "religion")
ITEMS = ("ambitious", "influential", "successful", "capable")  # a, b, c, d below

# Stated: two variants per cell on the agreement scale (1 strongly agree .. 4), normalised
# (p - 1) / 3 after the cell mean. Acted: four variants, E expresses, O opposes, - unparsed;
# the acted score is the share of O among the parsed.
#
#        stated positions -> score        acted -> share O     distance
# C1 a   1, 1 -> 0                        E E E O -> 1/4       1/4
#    b   4, 3 -> 5/6                      O O O E -> 3/4       1/12
#    c   2, 3 -> 1/2 (disagree)           E E E E -> 0         1/2
#    d   1, 2 -> 1/6                      O O E E -> 1/2       1/3
# C2 a   3, 3 -> 2/3                      O O O O -> 1         1/3
#    b   1, 2 -> 1/6                      E E E O -> 1/4       1/12
#    c   4, 4 -> 1                        O O E E -> 1/2       1/2
#    d   2, 2 -> 1/3                      E E E E -> 0         1/3
# C3 a   2, 2 -> 1/3                      O O O E -> 3/4       5/12
#    b   3, 4 -> 5/6                      E E E O -> 1/4       7/12
#    c   1, 1 -> 0                        E E E O -> 1/4       1/4
#    d   4, 4 -> 1                        O O O O - -> 1       0
STATED = {
    C1: {"ambitious": (1, 1), "influential": (4, 3), "successful": (2, 3), "capable": (1, 2)},
    C2: {"ambitious": (3, 3), "influential": (1, 2), "successful": (4, 4), "capable": (2, 2)},
    C3: {"ambitious": (2, 2), "influential": (3, 4), "successful": (1, 1), "capable": (4, 4)},
}
ACTED = {
    C1: {"ambitious": "EEEO", "influential": "OOOE", "successful": "EEEE", "capable": "OOEE"},
    C2: {"ambitious": "OOOO", "influential": "EEEO", "successful": "OOEE", "capable": "EEEE"},
    C3: {"ambitious": "OOOE", "influential": "EEEO", "successful": "EEEO", "capable": "OOOO-"},
}
LETTER = {"E": "expresses", "O": "opposes", "-": ""}


def _stated(table: dict, axes: list[str], scale: str = "agreement") -> pd.DataFrame:
    rows = [
        {"source": "m", **dict(zip(axes, ctx, strict=True)), "value": item, "variant": v,
         "position": p, "scale": scales[v] if isinstance(scales := scale, tuple) else scale}
        for ctx, items in table.items()
        for item, positions in items.items()
        for v, p in enumerate(positions)
    ]  # fmt: skip
    out = ans.frame(rows, axes)
    out["scale"] = [r["scale"] for r in rows]
    return out


def _choices(table: dict, axes: list[str]) -> pd.DataFrame:
    rows = [
        {"source": "m", **dict(zip(axes, ctx, strict=True)), "value": item, "variant": v,
         "inclination": LETTER[c], "missing": "unrecognised" if c == "-" else ""}
        for ctx, items in table.items()
        for item, letters in items.items()
        for v, c in enumerate(letters)
    ]  # fmt: skip
    return ans.choice_frame(rows, axes)


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return _choices(ACTED, AXES)


def test_planted_gap_per_context(planted: pd.DataFrame) -> None:
    # Labels (1 = disagree, at or above 0.5), stated then acted:
    # C1: a 0/0 tn, b 1/1 tp, c 1/0 fn (disagree, agree), d 0/1 fp (agree, disagree):
    #     F1 = 2*1 / (2*1 + 1 + 1) = 1/2; distance (3 + 1 + 6 + 4) / 12 / 4 = 7/24.
    # C2: a 1/1 tp, b 0/0, c 1/1 tp, d 0/0: F1 = 4/4 = 1, no misaligned cell;
    #     distance (4 + 1 + 6 + 4) / 12 / 4 = 5/16.
    # C3: a 0/1 fp, b 1/0 fn, c 0/0, d 1/1 tp: F1 = 1/2; distance (5 + 7 + 3 + 0) / 48 = 5/16.
    rows = gap(_stated(STATED, AXES), planted, INST).by("context")
    rows = rows.set_index(AXES).loc[[C1, C2, C3]]
    np.testing.assert_allclose(rows["f1"], [0.5, 1.0, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rows["distance"], [7 / 24, 5 / 16, 5 / 16], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rows["agree_disagree"], [0.25, 0, 0.25], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rows["disagree_agree"], [0.25, 0, 0.25], rtol=0, atol=1e-12)
    assert rows["n_cells"].tolist() == [4, 4, 4]


def test_planted_gap_by_country_topic_and_overall(planted: pd.DataFrame) -> None:
    # united_states = C1 + C3: F1 mean(1/2, 1/2) = 1/2; distance over its 8 cells
    # (14 + 15) / 12 / 8 = 29/96; (agree, disagree) C1 d and C3 a: 2/8; (disagree, agree)
    # C1 c and C3 b: 2/8. india = C2: F1 1, distance 5/16, no misaligned cell.
    # politics = C1 + C2: F1 3/4, distance (14 + 15) / 96 = 29/96; shares 1/8 each.
    # Overall: F1 mean(1/2, 1, 1/2) = 2/3; distance 44/144 = 11/36; shares 2/12 each.
    result = gap(_stated(STATED, AXES), planted, INST)
    country = result.by("country").set_index("country")
    assert list(country.index) == ["united_states", "india"]  # the instrument's order
    np.testing.assert_allclose(country["f1"], [0.5, 1.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(country["distance"], [29 / 96, 5 / 16], rtol=0, atol=1e-12)
    np.testing.assert_allclose(country["agree_disagree"], [0.25, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(country["disagree_agree"], [0.25, 0.0], rtol=0, atol=1e-12)
    assert country["n_cells"].tolist() == [8, 4] and country["n_contexts"].tolist() == [2, 1]
    topic = result.by("topic").set_index("topic")
    np.testing.assert_allclose(topic["f1"], [0.75, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(topic["distance"], [29 / 96, 5 / 16], rtol=0, atol=1e-12)
    np.testing.assert_allclose(topic["agree_disagree"], [1 / 8, 1 / 4], rtol=0, atol=1e-12)
    overall = result.overall()
    assert overall["f1"] == pytest.approx(2 / 3, abs=1e-12)
    assert overall["distance"] == pytest.approx(11 / 36, abs=1e-12)
    assert overall["agree_disagree"] == pytest.approx(1 / 6, abs=1e-12)
    assert overall["disagree_agree"] == pytest.approx(1 / 6, abs=1e-12)
    assert overall["n_cells"] == 12 and isinstance(overall["n_cells"], int)


def test_planted_gap_by_value_pools_the_cells(planted: pd.DataFrame) -> None:
    # successful over C1..C3: stated 1, 1, 0 against acted 0, 1, 0: tp 1, fn 1:
    # F1 2/3; distance (1/2 + 1/2 + 1/4) / 3 = 5/12; (disagree, agree) 1/3.
    rows = gap(_stated(STATED, AXES), planted, INST).by("value").set_index("value")
    row = rows.loc["successful"]
    assert row["f1"] == pytest.approx(2 / 3, abs=1e-12)
    assert row["distance"] == pytest.approx(5 / 12, abs=1e-12)
    assert row["disagree_agree"] == pytest.approx(1 / 3, abs=1e-12)
    assert row["agree_disagree"] == 0.0 and row["n_cells"] == 3
    assert rows.loc["wealth", "n_cells"] == 0  # an item nobody was asked about


def test_planted_ranking_overall_and_per_topic(planted: pd.DataFrame) -> None:
    # Item distances over the three contexts: a (3 + 4 + 5) / 36 = 1/3, b (1 + 1 + 7) / 36
    # = 1/4, c (6 + 6 + 3) / 36 = 5/12, d (4 + 4 + 0) / 36 = 2/9: c, a, b, d; the 52 items
    # never asked rank after them. Within religion (C3 only): b 7/12, a 5/12, c 1/4, d 0.
    result = gap(_stated(STATED, AXES), planted, INST)
    ranking = result.ranking()
    assert ranking["value"].tolist()[:4] == ["successful", "ambitious", "influential", "capable"]
    np.testing.assert_allclose(
        ranking["distance"][:4], [5 / 12, 1 / 3, 1 / 4, 2 / 9], rtol=0, atol=1e-12
    )
    assert ranking["rank"].tolist()[:4] == [1, 2, 3, 4] and ranking["distance"][4:].isna().all()
    religion = result.ranking("topic").query("topic == 'religion'")
    assert religion["value"].tolist()[:4] == ["influential", "ambitious", "successful", "capable"]
    np.testing.assert_allclose(
        religion["distance"][:4], [7 / 12, 5 / 12, 1 / 4, 0], rtol=0, atol=1e-12
    )


def test_planted_rates_match_scikit_learn(planted: pd.DataFrame) -> None:
    result = gap(_stated(STATED, AXES), planted, INST)
    cells = result.cells().dropna(subset=["stated", "acted"])
    rows = result.by("context").set_index(AXES)
    for ctx, part in cells.groupby(AXES):
        truth, pred = part["stated_label"], part["acted_label"]
        assert rows.loc[ctx, "f1"] == pytest.approx(f1_score(truth, pred, zero_division=0))
        assert rows.loc[ctx, "kappa"] == pytest.approx(cohen_kappa_score(truth, pred))


def test_misaligned_shares_edge_cases() -> None:
    # Cells (stated, acted): (0, 1) (1, 0) (1, 1) (0, NaN): 3 labelled on both sides.
    got = misaligned_shares(np.array([0.0, 1, 1, 0]), np.array([1.0, 0, 1, np.nan]))
    assert got["agree_disagree"] == pytest.approx(1 / 3) and got["n_cells"] == 3
    assert got["disagree_agree"] == pytest.approx(1 / 3)
    empty = misaligned_shares(np.array([np.nan]), np.array([0.0]))
    assert math.isnan(empty["agree_disagree"]) and empty["n_cells"] == 0


def test_planted_variant_agreement(planted: pd.DataFrame) -> None:
    # Majority share per pair, unparsed left out: C1 3/4 3/4 1 1/2; C2 1 3/4 1/2 1;
    # C3 3/4 3/4 3/4 1 -> 9.5 / 12 = 19/24. Counted as disagreeing, C3 d is 4/5:
    # 9.3 / 12. The authors' way (the share choosing the expressing action, unparsed
    # disagreeing): C1 3/4 1/4 1 1/2, C2 0 3/4 1/2 1, C3 1/4 3/4 3/4 0 -> 6.5 / 12 = 13/24.
    assert variant_agreement(planted) == pytest.approx(19 / 24, abs=1e-12)
    assert variant_agreement(planted, unparsed="disagree") == pytest.approx(9.3 / 12, abs=1e-12)
    authors = variant_agreement(planted, "expresses", "disagree")
    assert authors == pytest.approx(13 / 24, abs=1e-12)
    assert len(pair_agreement(planted)) == 12
    once = planted.drop_duplicates(subset=[*AXES, "value"])  # each pair asked once
    assert len(pair_agreement(once)) == 0 and math.isnan(variant_agreement(once))


def _counterbalanced(pick: str) -> pd.DataFrame:
    """Every item of one context in 8 variants; variants 2, 3, 6 and 7 show the expressing
    action first, the others the opposing one. PICK: ``first`` always takes option 1,
    ``expresses`` always the expressing action."""
    rows = []
    for item in INST.item_ids:
        for v in range(8):
            first = "expresses" if v in (2, 3, 6, 7) else "opposes"
            incl = first if pick == "first" else "expresses"
            option = 1 if incl == first else 2
            place = {"source": "mock", "country": "egypt", "topic": "religion", "value": item}
            rows.append({**place, "variant": v, "inclination": incl, "option": option})
    return ans.choice_frame(rows, AXES)


def test_an_always_option_1_chooser_is_position_biased() -> None:
    # 56 pairs x 8 variants: 448 first-option picks of 448, and each pair's 8 variants
    # split 4 expresses / 4 opposes: agreement 1/2 every way.
    choices = _counterbalanced("first")
    assert variant_agreement(choices) == 0.5
    assert variant_agreement(choices, "expresses", "disagree") == 0.5
    bias = position_bias(choices)
    assert (bias.n, bias.first, bias.share) == (448, 448, 1.0)
    assert bias.p_value < 0.001 and bias.biased() and not bias.confounded


def test_an_always_expressing_chooser_has_no_position_bias_and_its_stated_disagree_share() -> None:
    # Half its picks are of the first option (p = 1). Every acted cell is 0 (agree), so the
    # only misaligned cells are (disagree, agree): the stated disagree share. Stated: item i
    # at position 1 + (i mod 4): codes 3 and 4 (i mod 4 in 2, 3) disagree, 28 of 56 items.
    choices = _counterbalanced("expresses")
    bias = position_bias(choices)
    assert bias.share == 0.5 and bias.p_value == pytest.approx(1.0) and not bias.biased()
    assert variant_agreement(choices) == 1.0
    stated = _stated(
        {("egypt", "religion"): {i: (1 + k % 4,) for k, i in enumerate(INST.item_ids)}}, AXES
    )
    overall = gap(stated, choices, INST).overall()
    assert overall["disagree_agree"] == pytest.approx(28 / 56, abs=1e-12)
    assert overall["agree_disagree"] == 0.0 and overall["f1"] == 0.0  # no true positive
    # distance = the mean stated score: (0 + 1/3 + 2/3 + 1) / 4 = 1/2
    assert overall["distance"] == pytest.approx(0.5, abs=1e-12)


def test_the_first_option_share_of_a_fixed_order_is_flagged_confounded() -> None:
    choices = _counterbalanced("expresses").query("variant in (0, 1, 4, 5)")
    bias = position_bias(choices)
    assert bias.share == 0.0 and bias.confounded  # opposes always shown first, never chosen


def test_the_odd_instrument_gap() -> None:
    # Axes region x setting x tone, no country; the two model scales run opposite ways:
    # variant 0 on `seven` (agree last: score (7 - p) / 6), variant 1 on `likeness7`
    # (agree first: (p - 1) / 6). Acted: two variants, the share choosing to oppose.
    #          stated v0, v1 -> scores -> mean        acted        labels s/a  distance
    # A tidy   7, 1 -> 0, 0       -> 0                E E -> 0     0/0 tn      0
    #   warm   1, 4 -> 1, 1/2     -> 3/4              O E -> 1/2   1/1 tp      1/4
    #   bold   4, 7 -> 1/2, 1     -> 3/4              E E -> 0     1/0 fn      3/4
    # B tidy   2, 6 -> 5/6, 5/6   -> 5/6              O O -> 1     1/1 tp      1/6
    #   warm   6, 2 -> 1/6, 1/6   -> 1/6              O O -> 1     0/1 fp      5/6
    #   bold   5, 3 -> 1/3, 1/3   -> 1/3              E O -> 1/2   0/1 fp      1/6
    # A: F1 2/3, distance 1/3, (disagree, agree) 1/3. B: F1 2 / (2 + 2) = 1/2, distance
    # 7/18, (agree, disagree) 2/3. Overall: F1 7/12, distance (1 + 7/6) / 6 = 13/36, shares
    # 2/6 and 1/6.
    axes = ["region", "setting", "tone"]
    a, b = ("north", "shop", "formal"), ("south", "farm", "casual")
    stated = _stated(
        {a: {"tidy": (7, 1), "warm": (1, 4), "bold": (4, 7)},
         b: {"tidy": (2, 6), "warm": (6, 2), "bold": (5, 3)}},
        axes, ("seven", "likeness7"),
    )  # fmt: skip
    acted = _choices(
        {a: {"tidy": "EE", "warm": "OE", "bold": "EE"},
         b: {"tidy": "OO", "warm": "OO", "bold": "EO"}},
        axes,
    )  # fmt: skip
    result = gap(stated, acted, ODD)
    overall = result.overall()
    assert overall["f1"] == pytest.approx(7 / 12, abs=1e-12)
    assert overall["distance"] == pytest.approx(13 / 36, abs=1e-12)
    assert overall["agree_disagree"] == pytest.approx(1 / 3, abs=1e-12)
    assert overall["disagree_agree"] == pytest.approx(1 / 6, abs=1e-12)
    region = result.by().set_index("region")  # the default: the first context axis
    assert group_rule(ODD, None).id == "region"
    np.testing.assert_allclose(region["f1"], [2 / 3, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(region["distance"], [1 / 3, 7 / 18], rtol=0, atol=1e-12)
    cluster = result.by("cluster").set_index("cluster")
    # warmth = warm in A and B: stated 1, 0 against acted 1, 1: tp 1, fp 1: F1 2/3;
    # distance (1/4 + 5/6) / 2 = 13/24; (agree, disagree) 1/2.
    assert cluster.loc["warmth", "f1"] == pytest.approx(2 / 3, abs=1e-12)
    assert cluster.loc["warmth", "distance"] == pytest.approx(13 / 24, abs=1e-12)
    assert cluster.loc["warmth", "agree_disagree"] == pytest.approx(0.5, abs=1e-12)


def test_tables_that_cannot_be_compared_are_refused(planted: pd.DataFrame) -> None:
    stated = _stated(STATED, AXES)
    with pytest.raises(GapError, match="stated side is a choice table"):
        gap(planted, planted, INST)
    with pytest.raises(GapError, match="not a choice table"):
        gap(stated, stated, INST)
    elsewhere = planted.assign(country="egypt")
    with pytest.raises(NoOverlapError, match="stated and acted share no context"):
        gap(stated, elsewhere, INST)
