"""Issue 24, item 1: intervals named for what they cover, ``--ci-target design|population``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.special import ndtr

from valuecompass import answers as ans
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.metrics import align
from valuecompass.stats import Layout, Plan, Units, bootstrap
from valuecompass.stats._bootstrap import bootstrap_units
from valuecompass.stats._groups import group_statistics
from valuecompass.stats._population import noise_variances, population_statistics

DATA = Path(__file__).parent / "data"
RELEASED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"
if not RELEASED.is_dir():
    RELEASED = Path("/work/shared/datasets/valuecompass-2025")


def _layout(contexts: int, values: int) -> Layout:
    index = pd.MultiIndex.from_tuples(
        [(f"c{i}", "healthcare") for i in range(contexts)], names=["country", "scenario"]
    )
    return Layout(index, tuple(f"v{k}" for k in range(values)))


def _units(raw: list[list[list[float]]], layout: Layout) -> Units:
    """Positions on the 1..4 scale, ``raw[c][u][k]``."""
    x = np.array(raw, dtype=float)
    return Units(x, np.full(x.shape[0], x.shape[1]), layout.contexts, layout.values)


def _folded(mean: float, sd: float) -> float:
    return float(
        mean * (1 - 2 * ndtr(-mean / sd)) + sd * np.sqrt(2 / np.pi) * np.exp(-(mean**2) / 2 / sd**2)
    )


def test_the_bias_correction_by_hand_on_a_planted_table() -> None:
    # one value, four contexts, two people and two prompts each. People: [1, 2] or [3, 4]
    # (normalised [0, 1/3] or [2/3, 1]: means 1/6, 5/6, 1/6, 5/6); the model: both prompts 4,
    # 4, 1, 1 (means 1, 1, 0, 0): no noise, deviations uncorrelated with people's.
    layout = _layout(4, 1)
    people = _units([[[1], [2]], [[3], [4]], [[1], [2]], [[3], [4]]], layout)
    model = _units([[[4], [4]], [[4], [4]], [[1], [1]], [[1], [1]]], layout)
    # within-cell variance (1/6)² · 2 / 1 = 1/18 in each cell, pooled 1/18; two people: 1/36
    assert noise_variances(people) == pytest.approx(np.full((4, 1), 1 / 36))
    assert noise_variances(model) == pytest.approx(np.zeros((4, 1)))
    # prior: deviations ±1/3 around 1/2, spread 4/9 / 3 = 4/27, less the noise: 13/108;
    # w = (13/108) / (13/108 + 3/108) = 13/16: posterior means 1/2 ± 13/48, variance 13/576
    sd = np.sqrt(13 / 576)
    low, high = 0.5 - 13 / 48, 0.5 + 13 / 48
    p_low, p_high = float(ndtr((low - 0.5) / sd)), float(ndtr((high - 0.5) / sd))
    # contexts 0, 1: the model disagrees for sure: tp = p, fp = 1 - p, F1 = 2p / (1 + p);
    # contexts 2, 3: it agrees: tp = 0, fn = p > 0, F1 = 0
    f1 = (2 * p_low / (1 + p_low) + 2 * p_high / (1 + p_high)) / 4
    distance = _folded(1 - low, sd) + _folded(1 - high, sd) + _folded(low, sd) + _folded(high, sd)
    noise = (noise_variances(people), noise_variances(model))
    got = population_statistics(
        people.cell_means()[None], model.cell_means()[None], noise, layout, ("overall",)
    )["overall"]
    assert got["f1"][0] == pytest.approx(f1, abs=1e-9)
    assert got["distance"][0] == pytest.approx(distance / 4, abs=1e-9)
    # the design's figures from the same table: F1 mean(0, 1, 0, 0) = 1/4 (no true positive
    # is an F1 of 0), distance mean(5/6, 1/6, 1/6, 5/6) = 1/2
    design = group_statistics(people.cell_means(), model.cell_means(), layout, ("overall",))
    assert design["overall"]["f1"][0] == pytest.approx(1 / 4)
    assert design["overall"]["distance"][0] == pytest.approx(0.5)
    # and the bootstrap's population table carries these estimates
    plan = Plan(resamples=50, groups=("overall",), rank_groups=(), target="population")
    boot = bootstrap_units(people, model, layout, plan, np.random.default_rng(0))
    assert boot.target == "population"
    assert boot.overall()["f1"] == pytest.approx(f1, abs=1e-9)


def _simulated_truth_and_study(
    rng: np.random.Generator, means: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Four people (person offsets, answers 1..4) and eight prompts a context."""
    people = np.clip(
        np.rint(means[0][:, None, :] + rng.normal(0, 0.4, (len(means[0]), 4, 1))
                + rng.normal(0, 0.8, (len(means[0]), 4, means[0].shape[1]))), 1, 4
    )  # fmt: skip
    model = np.clip(
        np.rint(means[1][:, None, :] + rng.normal(0, 0.3, (len(means[1]), 8, 1))
                + rng.normal(0, 0.6, (len(means[1]), 8, means[1].shape[1]))), 1, 4
    )  # fmt: skip
    return people, model


def _true_means(latent: np.ndarray, sd: float) -> np.ndarray:
    """Normalised expected answer of ``clip(rint(latent + N(0, sd²)), 1, 4)``."""
    out = np.ones(latent.shape)
    for cut in (1.5, 2.5, 3.5):
        out = out + ndtr((latent - cut) / sd)
    return (out - 1) / 3


def test_the_population_target_covers_the_true_cell_means_better() -> None:
    rng = np.random.default_rng(24)
    contexts, values = 12, 20
    layout = _layout(contexts, values)
    value = rng.normal(2.0, 0.5, values)
    latent_h = value + rng.normal(0, 0.25, (contexts, values))
    latent_m = 0.3 + value + rng.normal(0, 0.35, (contexts, values))
    truth = group_statistics(
        _true_means(latent_h, float(np.hypot(0.4, 0.8))),
        _true_means(latent_m, float(np.hypot(0.3, 0.6))),
        layout,
        ("overall",),
    )["overall"]
    hits = {"design": 0, "population": 0}
    for _ in range(30):
        h, m = _simulated_truth_and_study(rng, (latent_h, latent_m))
        people, model = _units(h.tolist(), layout), _units(m.tolist(), layout)
        for target in hits:
            plan = Plan(
                resamples=200, level=0.9, groups=("overall",), rank_groups=(),
                target=target,  # type: ignore[arg-type]
            )  # fmt: skip
            boot = bootstrap_units(people, model, layout, plan, rng)
            low, high = boot.interval("overall", "distance")
            hits[target] += int(low[0] <= truth["distance"][0] <= high[0])
    # measured with this seed: design 0 of 30, population 23 of 30 (the 90% distance interval
    # of the population under-covers a little; see docs/metrics.md), far apart either way
    assert hits["design"] <= 5
    assert hits["population"] >= 18


def test_a_bad_target_is_one_line_and_exit_2() -> None:
    llm = RELEASED / "llm_outputs" / "gemma2-9b-it"
    args = ["align", "--humans", str(RELEASED), "--llm", str(llm), "--ci", "0.9"]
    result = CliRunner().invoke(main, [*args, "--ci-target", "people"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: --ci-target 'people': give one of design, population"


def test_align_names_the_target_and_gives_corrected_estimates() -> None:
    llm = RELEASED / "llm_outputs" / "gemma2-9b-it"
    base = ["align", "--humans", str(RELEASED), "--llm", str(llm), "--ci", "0.9"]
    base += ["--resamples", "100", "--by", "scenario"]
    table = CliRunner().invoke(main, [*base, "--ci-target", "population"])
    assert table.exit_code == 0, table.output
    assert "90% intervals: population, bias-corrected" in table.stdout
    design = CliRunner().invoke(main, base)
    assert "90% intervals: this design again" in design.stdout
    out = CliRunner().invoke(main, [*base, "--ci-target", "population", "--format", "json"])
    overall = json.loads(out.stdout)["overall"]
    assert overall["ci_target"] == "population"
    assert overall["f1_low"] <= overall["f1_corrected"] <= overall["f1_high"]
    assert overall["f1"] != overall["f1_corrected"]  # the study's own F1 stays beside it


def _odd_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The odd instrument (region x setting x tone, 9 traits, 7 points): 3 people and 4
    prompts a context, answers drawn at random around each trait's level."""
    inst = load_instrument(DATA / "odd_instrument.yaml")
    rng = np.random.default_rng(5)
    axes = ("region", "setting", "tone")
    items = [i.id for i in inst.items]
    level = dict(zip(items, rng.uniform(2, 6, len(items)), strict=True))
    people, model = [], []
    for region in ("north", "south"):
        for setting in ("shop", "farm"):
            for tone in ("formal", "casual"):
                ctx = {"region": region, "setting": setting, "tone": tone}
                for item in items:
                    for r in range(3):
                        p = float(np.clip(np.rint(level[item] + rng.normal(0, 1.2)), 1, 7))
                        people.append({"source": "humans", **ctx, "value": item,
                                       "respondent": f"p{r}", "position": p})  # fmt: skip
                    for v in range(4):
                        p = float(np.clip(np.rint(level[item] + 0.5 + rng.normal(0, 1)), 1, 7))
                        model.append({"source": "m", **ctx, "value": item, "variant": v,
                                      "sample": 0, "position": p})  # fmt: skip
    answers = ans.frame(model, axes)
    answers["scale"] = "likeness7"  # the model's scale runs the other way (1: agree)
    return ans.frame(people, axes), ans.on_reference_scale(answers, inst, "llm")


def test_the_population_target_on_the_odd_instrument() -> None:
    inst = load_instrument(DATA / "odd_instrument.yaml")
    h, m = _odd_tables()
    alignment = align(h, m, inst)
    boot = bootstrap(alignment, h, m, resamples=200, level=0.9, target="population", seed=1)
    table = boot.table("region")
    assert table["region"].tolist() == ["north", "south"]
    for stat in ("f1", "distance"):
        low, high = table[f"{stat}_low"], table[f"{stat}_high"]
        assert ((low <= table[stat]) & (table[stat] <= high)).all(), table
    by_cluster = boot.table("cluster")
    assert by_cluster["cluster"].tolist() == ["order", "warmth", "drive"]
    assert np.isfinite(by_cluster["distance"]).all()


@pytest.mark.parametrize("spread", [True, False])
def test_sides_without_noise_are_taken_as_they_are(spread: bool) -> None:
    """Every person of a context answers alike, and every prompt alike: the cell means are the
    true means, so the population's figures are the design's (no cell sits on the threshold),
    and no probability comes out as NaN or half. Without SPREAD every context answers alike
    too (no noise and no spread: the prior is a point)."""
    rng = np.random.default_rng(7)
    contexts, values = 6, 5
    layout = _layout(contexts, values)
    level_h = rng.choice([1.0, 2.0, 3.0, 4.0], (contexts, 1, values))
    level_m = rng.choice([1.0, 2.0, 4.0], (contexts, 1, values))
    if not spread:
        level_h, level_m = level_h[:1].repeat(contexts, 0), level_m[:1].repeat(contexts, 0)
    people = _units(np.repeat(level_h, 3, axis=1).tolist(), layout)
    model = _units(np.repeat(level_m, 4, axis=1).tolist(), layout)
    noise = (noise_variances(people), noise_variances(model))
    assert (noise[0] == 0).all() and (noise[1] == 0).all()
    groups = ("overall", "value")
    got = population_statistics(
        people.cell_means()[None], model.cell_means()[None], noise, layout, groups
    )
    want = group_statistics(people.cell_means(), model.cell_means(), layout, groups)
    for group in groups:
        for stat in ("f1", "distance", "precision", "recall"):
            g, w = np.asarray(got[group][stat])[0], np.asarray(want[group][stat])
            assert np.allclose(g, w, atol=1e-9, equal_nan=True), (group, stat, g, w)
