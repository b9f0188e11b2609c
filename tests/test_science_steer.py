"""Steerability by hand, for a model that ignores the country, and the science CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from _tidy import AXES, CTX, model, people
from valuecompass import align
from valuecompass.cli import main
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.stats import steerability

COUNTRIES = ("united_states", "india", "germany")


def _tables(model_positions: tuple[float, ...]):  # type: ignore[no-untyped-def]
    # People of US, India, Germany at 1, 2, 4 on "equality" (normalised 0, 1/3, 1), two people
    # each answering alike; the model asked as each country answers MODEL_POSITIONS.
    h = people([(c, "healthcare", "equality", f"{c}{r}", p) for c, p in
                zip(COUNTRIES, (1.0, 2.0, 4.0), strict=True) for r in range(2)])  # fmt: skip
    m = model([(c, "healthcare", "equality", k, p) for c, p in
               zip(COUNTRIES, model_positions, strict=True) for k in range(2)])  # fmt: skip
    return h, m


def test_steerability_by_hand(form: Instrument) -> None:
    # Model = people (0, 1/3, 1): D[a, b] = |m_a - h_b| = [[0, 1/3, 1], [1/3, 0, 2/3],
    # [1, 2/3, 0]]. S(US) = mean over India, Germany of ½(D[a,b] + D[b,a] - 0 - 0) =
    # ½·mean(2/3, 2) = 2/3; S(India) = ½·mean(2/3, 4/3) = 1/2; S(Germany) = ½·mean(2, 4/3)
    # = 5/6; overall 2/3. Every answer is the same within a context, so resampling changes
    # nothing: the interval is the point.
    h, m = _tables((1.0, 2.0, 4.0))
    table = steerability(align(h, m, form), h, m, permutations=200, resamples=50, seed=0)
    got = table.set_index("country")
    assert got.loc[list(COUNTRIES), "steer"].tolist() == pytest.approx([2 / 3, 1 / 2, 5 / 6])
    assert got.loc["overall", "steer"] == pytest.approx(2 / 3)
    assert got.loc["overall", ["steer_low", "steer_high"]].tolist() == pytest.approx([2 / 3] * 2)
    assert got.loc["united_states", "own_distance"] == pytest.approx(0.0)
    assert got.loc["united_states", "other_distance"] == pytest.approx(2 / 3)
    # The identity is the best of the 6 matchings: about 1 in 6 permutations ties it.
    assert got.loc["overall", "p_value"] < 0.3


def test_a_model_that_ignores_the_country_scores_zero(form: Instrument) -> None:
    h, m = _tables((2.0, 2.0, 2.0))
    table = steerability(align(h, m, form), h, m, permutations=100, resamples=50, seed=0)
    assert (table["steer"] == 0.0).all()  # exactly, not approximately
    assert (table["p_value"] == 1.0).all()


def test_steerability_by_topic_axis(form: Instrument) -> None:
    # Along topics (countries held fixed): one country, two topics; people 1 and 4; the model
    # asked about each topic answers 4 and 1 (the wrong way round): D = [[1, 0], [0, 1]];
    # S = ½(0 + 0 - 1 - 1) = -1.
    h = people([("india", t, "equality", f"p{t}", p)
                for t, p in (("healthcare", 1.0), ("education", 4.0))])  # fmt: skip
    m = model(
        [("india", t, "equality", 0, p) for t, p in (("healthcare", 4.0), ("education", 1.0))]
    )
    table = steerability(align(h, m, form), h, m, axis="scenario", permutations=20, resamples=20)
    assert table.set_index("scenario").loc["overall", "steer"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="country"):
        steerability(align(h, m, form), h, m, axis="value")
    # One country only: nothing to swap with.
    with pytest.raises(ValueCompassError, match=r"at least two country levels.*share india"):
        steerability(align(h, m, form), h, m)


def test_structure_of_answers_that_never_vary(form: Instrument) -> None:
    from valuecompass.stats import circle_structure, value_grouping

    groups, order = value_grouping(form)
    m = model([(*CTX, v, k, 2.0) for v in ("equality", "freedom", "wealth") for k in range(3)])
    found = circle_structure(m, groups, order, contexts=AXES, permutations=10)
    assert np.isnan(found.fit) and np.isnan(found.p_value)
    # Every typed value is left out (never varies, or never answered): no plane, no test.
    assert len(found.dropped) == 45 and found.summary()["items"] == 0


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_science_commands_on_released_data(released: Path) -> None:
    src = ["--humans", str(released), "--llm", str(released / "llm_outputs" / "gemma2-9b-it")]
    code, out, err = _run("rigor", "reliability", *src, "--format", "json")
    assert code == 0, err
    rows = {(r["source"], r["group"]): r for r in json.loads(out)["rows"]}
    assert 0.9 < rows[("people", "all")]["alpha"] < 1.0
    assert 0.0 < rows[("model", "all")]["icc2_1"] <= rows[("model", "all")]["icc3_k"] <= 1.0
    code, out, err = _run("rigor", "structure", *src, "--format", "csv", "--permutations", "99")
    assert code == 0, err
    assert out.splitlines()[0].startswith("source,fit,p_value,adjacent_pairs")
    code, out, err = _run("rigor", "steer", *src, "--format", "json", "--permutations", "50",
                          "--resamples", "50", "--centre")  # fmt: skip
    assert code == 0, err
    assert "person-centred" in err
    steer = {r["country"]: r for r in json.loads(out)["rows"]}
    assert set(steer) == {"united_states", "united_kingdom", "india", "germany", "france",
                          "canada", "australia", "overall"}  # fmt: skip
    assert all(
        np.isfinite(r["steer"]) and r["steer_low"] <= r["steer_high"] for r in steer.values()
    )
    code, _, err = _run("rigor", "steer", *src, "--by", "value")
    assert code == 2 and "value" in err


def test_ceiling_of_people_against_people_by_hand(form: Instrument) -> None:
    # Two people a country answering alike: each half (one person) is the country's people, so
    # half against half is the model-copies-people case of test_steerability_by_hand: 2/3,
    # 1/2, 5/6, overall 2/3, in every split. A model ignoring the country scores 0 beside it.
    h, m = _tables((2.0, 2.0, 2.0))
    table = steerability(align(h, m, form), h, m, permutations=20, resamples=20, splits=30)
    got = table.set_index("country")
    assert got.loc[[*COUNTRIES, "overall"], "ceiling"].tolist() == pytest.approx(
        [2 / 3, 1 / 2, 5 / 6, 2 / 3]
    )
    assert got.loc["overall", ["ceiling_low", "ceiling_high"]].tolist() == pytest.approx(
        [2 / 3] * 2
    )
    assert (got["steer"] == 0.0).all()


def test_bootstrap_p_by_hand() -> None:
    from valuecompass.stats._steer import _bootstrap_p

    # Replicates -1, 0, 1, 2, 3 (median 1) around an estimate of 1: centred they are the same;
    # two sit at or below 0, so p = (1 + 2) / (1 + 5) = 1/2. An estimate of 3 moves them to
    # 1..5: none at or below 0, p = 1/6.
    reps = np.array([[-1.0], [0.0], [1.0], [2.0], [3.0]])
    assert _bootstrap_p(reps, np.array([1.0]))[0] == pytest.approx(0.5)
    assert _bootstrap_p(reps, np.array([3.0]))[0] == pytest.approx(1 / 6)


def test_interval_p_and_bh_agree_on_released_data(released: Path) -> None:
    from scipy.stats import false_discovery_control

    from valuecompass import align_sources

    result = align_sources(released, released / "llm_outputs" / "gpt-4o-mini")
    assert result.human_answers is not None and result.model_answers is not None
    table = steerability(result.alignment, result.human_answers, result.model_answers,
                         permutations=200, resamples=1000, splits=100, seed=0)  # fmt: skip
    levels = table[table["country"] != "overall"]
    expected = false_discovery_control(levels["p_value"].to_numpy(), method="bh")
    np.testing.assert_allclose(levels["p_adj"], expected)
    overall = table.set_index("country").loc["overall"]
    assert overall["p_adj"] == overall["p_value"]
    # One scheme: the 95% interval's lower end is above 0 exactly when the one-sided p is
    # below 0.025 (both from the same centred replicates).
    assert ((table["steer_low"] > 0) == (table["p_value"] < 0.025)).all()
    # The review's figures: copying a country's people halves scores about 0.011 overall,
    # gpt-4o-mini 0.003 with an interval across 0 (so its p is no longer small).
    assert overall["ceiling"] == pytest.approx(0.011, abs=0.003)
    assert overall["steer"] == pytest.approx(0.003, abs=0.0005)
    assert overall["steer_low"] < 0 < overall["steer_high"] and overall["p_value"] > 0.025
    assert overall["permutation_p"] < 0.05  # people fixed: another question
