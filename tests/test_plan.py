"""The study planner: simulated pilots with answers computed by hand, and the CLI."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import norm

from _tidy import model, people
from valuecompass.cli import main
from valuecompass.instrument import Instrument
from valuecompass.metrics import align
from valuecompass.stats import Target, accuracy_curve, make_pilot, plan_people, simulate
from valuecompass.stats._plan import power, smallest

CONTEXTS = [("united_states", "healthcare"), ("india", "education")]
Z95, Z80 = norm.ppf(0.975), norm.ppf(0.8)


def _pilot(form: Instrument, model_position: float, samples: tuple[float, ...] = ()) -> object:
    """Two contexts, all 56 values. Four respondents per context: two answer 1 (score 0) to
    every value and two answer 2 (score 1/3). The model answers MODEL_POSITION everywhere, or
    with SAMPLES, one pilot sample per listed position, people then all at 1."""
    values = form.item_ids
    rows, answers = [], []
    for c, t in CONTEXTS:
        for r, pos in enumerate((1, 2, 1, 2)):
            rows += [(c, t, v, f"{c}-{r}", 1 if samples else pos) for v in values]
        for s, pos in enumerate(samples or (model_position,)):
            answers.append(model([(c, t, v, 0, pos) for v in values], sample=s))
    h, m = people(rows), pd.concat(answers, ignore_index=True)
    return make_pilot(align(h, m, form), h, m)


def test_smallest_by_bisection() -> None:
    assert smallest(lambda n: n >= 37, 1000) == 37
    assert smallest(lambda n: True, 1000) == 1
    assert smallest(lambda n: n >= 2000, 1000) is None


def test_power_formula() -> None:
    # d/sd = z_.975 + z_.8 gives power 0.8 (plus the far tail, Φ(-d/sd - z) ≈ 0)
    assert power(Z95 + Z80, 1.0, 0.95) == pytest.approx(0.8, abs=1e-4)
    assert power(0.0, 1.0, 0.95) == pytest.approx(0.05)
    assert power(0.1, 0.0, 0.95) == 1.0


def test_half_width_shrinks_as_one_over_root_n(form: Instrument) -> None:
    # The model answers 4 (score 1) everywhere, above every person, so the overall distance is
    # 1 - mean(h): in a context, the share of "2" people among n drawn, times 1/3. Its variance
    # is (1/3)² · (1/4) / n per context, over 2 contexts /2: sd = 1 / (6 √(2n)).
    # For a 95% half-width of 0.03: 1.96 / (6 √(2n)) = 0.03 → 2n = (1.96/0.18)² = 118.6,
    # n = 59.3, so 60 people per context.
    pilot = _pilot(form, 4)
    sims = simulate([pilot], 16, 1, 4000, 0)[0]
    assert np.std(sims["distance"]) == pytest.approx(1 / (6 * math.sqrt(32)), rel=0.05)
    plan = plan_people([pilot], Target(half_width=0.03), 1, reps=2000, seed=1).set_index(
        "statistic"
    )
    n = plan.loc["distance", "people_per_context"]
    assert abs(n - 59.3) <= 6, n
    assert plan.loc["distance", "half_width"] <= 0.03
    # people always agree and the model always disagrees: F1 is 0 in every study, no spread
    assert plan.loc["f1", "people_per_context"] == 1
    assert plan.loc["f1", "half_width"] == 0


def test_two_models_at_stated_power(form: Instrument) -> None:
    # Model A answers 4 (score 1), model B answers 1 (score 0): distance A = 1 - mean(h),
    # distance B = mean(h); the difference 1 - 2·mean(h) has sd 2 / (6 √(2n)) = 1 / (3 √(2n)).
    # Power 0.8 for d = 0.05 at 5%: d / sd = 1.96 + 0.8416 → √(2n) = 2.8016 / 0.15 = 18.68,
    # 2n = 348.8, n = 174.4.
    a, b = _pilot(form, 4), _pilot(form, 1)
    plan = plan_people([a, b], Target(difference=0.05, power=0.8), 1, reps=2000, seed=2)
    row = plan.set_index("statistic").loc["distance"]
    assert abs(row["people_per_context"] - 174.4) <= 15, row["people_per_context"]
    assert row["power"] >= 0.8
    assert row["sd"] == pytest.approx(1 / (3 * math.sqrt(2 * row["people_per_context"])), rel=0.06)


def test_samples_per_prompt(form: Instrument) -> None:
    # People all answer 1 (score 0). The model has two pilot samples of every prompt: one
    # answering 1 (score 0) to every value, one answering 4 (score 1). A sample is one whole
    # answer to the prompt, so a context's k draws move all its cells together: its distance
    # is a Bernoulli(1/2) mean of k, and over the 2 contexts the overall distance has
    # sd 0.5 / √(2k): 0.354 at k = 1, 0.177 at k = 4, 0.088 at k = 16.
    pilot = _pilot(form, 0, samples=(1, 4))
    assert pilot.samples_vary  # type: ignore[attr-defined]
    for k in (1, 4, 16):
        sims = simulate([pilot], 4, k, 4000, 0)[0]["distance"]
        assert np.std(sims) == pytest.approx(0.5 / math.sqrt(2 * k), rel=0.05), k
    # more people cannot help (they all agree): a target below the model's own spread is
    # not reached, and the plan says so
    plan = plan_people([pilot], Target(half_width=0.05), 1, reps=400, seed=0, max_people=64)
    assert pd.isna(plan.set_index("statistic").loc["distance", "people_per_context"])


def test_plans_are_seeded(form: Instrument) -> None:
    pilot = _pilot(form, 4)
    first = plan_people([pilot], Target(half_width=0.05), 1, reps=300, seed=7)
    again = plan_people([pilot], Target(half_width=0.05), 1, reps=300, seed=7)
    assert first.equals(again)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_cli_on_released(released: Path) -> None:
    llm = str(released / "llm_outputs" / "gpt-4o-mini")
    code, out, err = _run(
        "plan", "--humans", str(released), "--llm", llm, "--half-width", "0.03",
        "--resamples", "100", "--samples", "1", "--samples", "2",
        "--price-per-1k-tokens", "0.01", "--pay-per-hour", "12", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert {(r["statistic"], r["samples_per_prompt"]) for r in rows} == {
        ("f1", 1),
        ("f1", 2),
        ("distance", 1),
        ("distance", 2),
    }
    for r in rows:
        n = r["people_per_context"]
        assert isinstance(n, int) and n >= 1 and r["half_width"] <= 0.03
        assert r["participants"] == n * 28  # 7 countries × 4 topics
        assert r["participant_hours"] == pytest.approx(n * 28 * 15 / 60)
        assert r["prompts"] == 28 * 8 * r["samples_per_prompt"]  # form mode: 1 per variant
        assert r["tokens"] > 0 and r["samples_vary"] is False
        assert r["total_cost"] == pytest.approx(
            r["tokens"] / 1000 * 0.01 + r["participant_hours"] * 12
        )
    # one design per statistic is recommended: with one pilot sample per prompt, more
    # samples only cost more, so one sample per prompt
    best = [(r["statistic"], r["samples_per_prompt"]) for r in rows if r["recommended"]]
    assert sorted(best) == [("distance", 1), ("f1", 1)]
    code, out, err = _run(
        "plan", "--humans", str(released), "--llm", llm,
        "--llm", str(released / "llm_outputs" / "gemma2-9b-it"),
        "--difference", "0.05", "--resamples", "100", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert rows[0]["model"] == "gpt-4o-mini vs gemma2-9b-it" and rows[0]["power"] >= 0.8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--half-width", "0.1", "--difference", "0.1"], "give one target"),
        ([], "give one target"),
        (["--difference", "0.1"], "compares two models; 1 --llm given"),
    ],
)
def test_plan_cli_bad_input(released: Path, args: list[str], message: str) -> None:
    llm = str(released / "llm_outputs" / "gpt-4o-mini")
    code, _, err = _run("plan", "--humans", str(released), "--llm", llm, *args)
    assert code == 2 and message in err and err.startswith("error: ")


def _population(form: Instrument, seed: int = 5) -> tuple[object, np.ndarray, np.ndarray]:
    """A simulated population: two contexts, all values, six respondents each with a response
    style (a shift) and their own answers 1..4 (some missing), and a model answering 3
    everywhere. Returns the pilot, the people's scores (C, R, K) and the model's (C, K)."""
    rng = np.random.default_rng(seed)
    values = form.item_ids
    k = len(values)
    style = rng.integers(-1, 2, size=(2, 6, 1))
    raw = np.clip(rng.integers(1, 5, size=(2, 6, k)) + style, 1, 4).astype(float)
    raw[rng.random(raw.shape) < 0.1] = np.nan
    rows = [
        (c, t, v, f"{c}-{r}", None if np.isnan(raw[i, r, j]) else float(raw[i, r, j]))
        for i, (c, t) in enumerate(CONTEXTS)
        for r in range(6)
        for j, v in enumerate(values)
    ]
    h = people(rows)
    m = pd.concat(
        [model([(c, t, v, 0, 3.0) for v in values]) for c, t in CONTEXTS], ignore_index=True
    )
    return make_pilot(align(h, m, form), h, m), (raw - 1) / 3, np.full((2, k), 2 / 3)


def test_plan_bias_at_two_people_matches_a_direct_simulation(form: Instrument) -> None:
    # Directly: draw two of each context's six respondents with replacement, take each cell's
    # mean over the drawn who scored it, and the mean over all cells of |model - mean|; the
    # large-N value is the same with the whole population's cell means.
    pilot, scores, model_scores = _population(form)
    rng = np.random.default_rng(11)
    direct = []
    for _ in range(20000):
        drawn = np.stack([scores[c, rng.integers(0, 6, size=2)] for c in range(2)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cell neither drawn scored
            means = np.nanmean(drawn, axis=1)
        direct.append(np.nanmean(np.abs(model_scores - means)))
    with np.errstate(all="ignore"):
        population = np.nanmean(np.abs(model_scores - np.nanmean(scores, axis=1)))
    direct_bias = float(np.mean(direct)) - float(population)
    curve = accuracy_curve(pilot, [2], reps=4000, seed=3, max_people=2000)
    planned = curve.set_index("statistic").loc["distance"]
    assert direct_bias > 0.01  # a real bias to find
    assert planned["bias"] == pytest.approx(direct_bias, abs=0.005)
    assert planned["large_n"] == pytest.approx(population, abs=0.005)


def test_bias_not_half_width_sets_the_size(form: Instrument) -> None:
    # Each cell: two respondents answer 1 (score 0) and two answer 3 (score 2/3) in a random
    # pattern per value; the model answers 2 (score 1/3), the population's mean, everywhere.
    # The distance's large-N value is about 0, but with N people a cell's mean strays by about
    # (1/3)·sqrt(2/(pi·N)) on average: a bias that averaging over 112 cells does not remove,
    # while their spread averages down. So bias, not half-width, sets the size.
    rng = np.random.default_rng(0)
    values = form.item_ids
    rows = []
    for c, t in CONTEXTS:
        for v in values:
            for r, pos in enumerate(rng.permutation([1.0, 1.0, 3.0, 3.0])):
                rows.append((c, t, v, f"{c}-{r}", pos))
    h = people(rows)
    m = pd.concat([model([(c, t, v, 0, 2.0) for v in values]) for c, t in CONTEXTS])
    pilot = make_pilot(align(h, m, form), h, m)
    plan = plan_people([pilot], Target(half_width=0.03), 1, reps=400, seed=0).set_index("statistic")
    row = plan.loc["distance"]
    need = int(row["people_per_context"])
    assert row["binds"] == "bias" and abs(row["bias"]) <= 0.03 and row["half_width"] <= 0.03
    # (1/3)·sqrt(2/(pi·N)) - (its value at 2000, 0.006) <= 0.03 near N = 39.
    assert 25 <= need <= 60
    # Half as many people already meet the half-width: without the bias the plan says fewer.
    half = accuracy_curve(pilot, [need // 2], reps=400, seed=0).set_index("statistic")
    assert half.loc["distance", "half_width"] <= 0.03 < half.loc["distance", "bias"]


def test_plan_explains_a_floor_that_ties_cause(released: Path) -> None:
    llm = str(released / "llm_outputs" / "gpt-4o-mini")
    code, out, err = _run(
        "plan", "--humans", str(released), "--llm", llm, "--half-width", "0.01",
        "--resamples", "100", "--at", "2", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    found = json.loads(out)
    f1 = next(r for r in found["rows"] if r["statistic"] == "f1")
    # 91 of people's cells sit exactly on 0.5; held at their labels the floor goes.
    assert f1["people_per_context"] is None and f1["tied_cells"] == 91
    assert f1["half_width"] > 0.01 >= f1["tie_floor"]
    assert len(found["notes"]) == 1 and "artefact of the pilot's ties" in found["notes"][0]
    # The distance's bias at two people: 0.251 against 0.225 at large N.
    two = next(r for r in found["curve"] if r["statistic"] == "distance")
    assert two["large_n"] == pytest.approx(0.225, abs=0.002)
    assert two["large_n"] + two["bias"] == pytest.approx(0.251, abs=0.003)
