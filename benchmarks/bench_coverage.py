"""Coverage of the F1 and distance intervals, both targets, on a simulation calibrated to the
released data.

    PYTHONPATH=src python benchmarks/bench_coverage.py [STUDIES [SEED [DATA]]] [--populations P]

The simulated population has the released study's shape: 28 contexts (7 countries x 4
scenarios), its 56 values, 4 people a context and a model answering 8 prompts. People answer on
the 5-point scale (1, 2, 2.5, 3, 4) through a latent score: the value's mean, its deviations by
country, by scenario and by context (so a value's true means are correlated across contexts),
a person's offset and a person's own spread (response styles), cut at thresholds that give the
released answers' shares; each simulated person leaves out (N/A) the values a released
respondent of the same scenario left out. The model answers 1..4 the same way, its latent mean
following people's with its own deviations, each of its 8 prompts shifting all answers, its
missing answers copied from the released model's. The printed check compares the simulation
with the released data (people's alpha, F1, distance, disagree shares).

Two truths: ``design`` is the expected estimate with 4 people and 8 prompts (the mean of 2,000
further simulated studies' estimates); ``population`` is the F1 and distance of the true cell
means (people's mean over the whole population, the model's over all its prompts), computed
exactly from the latent model. For each target (``--ci-target design``, the default
``shifted`` intervals; ``--ci-target population``), the share of STUDIES studies (default
1000, spread over P populations, default 4, each drawn afresh from the same calibration) whose
interval covers each truth at 90% and 95%, pooled with twice its standard error and per
population, and the time of one bootstrap of each (1000 resamples), measured in this run.
DATA defaults to ../shared/datasets/valuecompass-2025.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from valuecompass import align_sources
from valuecompass.stats import Layout, Plan, Units, arrange, cronbach_alpha
from valuecompass.stats._bootstrap import bootstrap_units
from valuecompass.stats._groups import group_statistics

MODEL = "deepseek-r1-distill-llama-70b"
PEOPLE_POINTS = np.array([1.0, 2.0, 2.5, 3.0, 4.0])
MODEL_POINTS = np.array([1.0, 2.0, 3.0, 4.0])
RESAMPLES = 1000
LEVELS = (0.90, 0.95)
STATS = ("f1", "distance")


def _data() -> Path:
    here = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"
    return here if here.is_dir() else Path("/work/shared/datasets/valuecompass-2025")


@dataclass(frozen=True)
class Released:
    """What the simulation copies from the released data."""

    layout: Layout
    people: Units  # (28, 4, 56)
    model: Units  # (28, 8, 56)
    scenario: np.ndarray  # (28,) scenario index of each context
    country: np.ndarray  # (28,) country index


def released(data: Path) -> Released:
    """People's and the model's answers read with the project's loaders."""
    result = align_sources(data, data / "llm_outputs" / MODEL)
    layout = Layout.of(result.alignment)
    assert result.human_answers is not None and result.model_answers is not None
    values = list(layout.values)
    people = arrange(result.human_answers, layout.contexts, values, scale=layout.scale("humans"))
    model = arrange(result.model_answers, layout.contexts, values, scale=layout.scale("llm"))
    ctx = layout.contexts.to_frame(index=False)
    scenario = ctx["scenario"].astype("category").cat.codes.to_numpy()
    country = ctx["country"].astype("category").cat.codes.to_numpy()
    return Released(layout, people, model, scenario, country)


@dataclass(frozen=True)
class Population:
    """Latent means and styles of one simulated population."""

    people_mean: np.ndarray  # (C, K) latent location of people's answers
    model_mean: np.ndarray  # (C, K) latent location of the model's answers
    people_cuts: np.ndarray  # 4 cuts between the 5 people's points
    model_cuts: np.ndarray  # 3 cuts between the model's 4 points


# latent spreads (people's): value, value x country, value x scenario, value x context,
# context; person offset, answer noise and the log-sd of a person's own spread
SD_VALUE, SD_COUNTRY, SD_SCENARIO, SD_CONTEXT, SD_MAIN = 0.45, 0.11, 0.12, 0.10, 0.06
SD_PERSON, SD_NOISE, SD_STYLE = 0.45, 0.78, 0.30
# the model's: how it follows people's value means and their context deviations, its own
# value and cell deviations, each prompt's offset and its answer noise
MODEL_SLOPE, MODEL_FOLLOW, SD_MODEL_VALUE, SD_MODEL_CELL = 1.1, 0.5, 0.30, 0.18
SD_PROMPT, SD_MODEL_NOISE = 0.38, 0.50
PEOPLE_SHARES = np.array([0.278, 0.326, 0.196, 0.109, 0.091])  # released people's answers
MODEL_SHARES = np.array([0.113, 0.405, 0.290, 0.192])  # released deepseek answers
# Gauss-Hermite nodes for a person's log spread
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _cuts(
    rng: np.random.Generator, locations: np.ndarray, sd: np.ndarray, shares: np.ndarray
) -> np.ndarray:
    sample = rng.choice(locations.ravel(), 200_000) + rng.normal(size=200_000) * rng.choice(
        sd, 200_000
    )
    return np.quantile(sample, np.cumsum(shares)[:-1])


def draw_population(rng: np.random.Generator, rel: Released) -> Population:
    c, k = len(rel.scenario), len(rel.layout.values)
    value = rng.normal(0, SD_VALUE, k)
    by_country = rng.normal(0, SD_COUNTRY, (rel.country.max() + 1, k))[rel.country]
    by_scenario = rng.normal(0, SD_SCENARIO, (rel.scenario.max() + 1, k))[rel.scenario]
    deviation = (
        by_country
        + by_scenario
        + rng.normal(0, SD_CONTEXT, (c, k))
        + rng.normal(0, SD_MAIN, (c, 1))
    )
    people = value + deviation
    model = (
        MODEL_SLOPE * value + MODEL_FOLLOW * deviation + rng.normal(0, SD_MODEL_VALUE, k)
        + rng.normal(0, SD_MODEL_CELL, (c, k))
    )  # fmt: skip
    spreads = np.sqrt(SD_PERSON**2 + (SD_NOISE * np.exp(SD_STYLE * _NODES)) ** 2)
    people_cuts = _cuts(rng, people, spreads, PEOPLE_SHARES)
    model_sd = np.array([np.hypot(SD_PROMPT, SD_MODEL_NOISE)])
    return Population(people, model, people_cuts, _cuts(rng, model, model_sd, MODEL_SHARES))


def _expected(location: np.ndarray, cuts: np.ndarray, points: np.ndarray, sd: float) -> np.ndarray:
    from scipy.special import ndtr

    out = np.full(location.shape, points[0])
    for j, cut in enumerate(cuts):
        out = out + (points[j + 1] - points[j]) * ndtr((location - cut) / sd)
    return out


def true_means(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Normalised true cell means: people's over persons and their styles, the model's over
    its prompts."""
    people = np.zeros(pop.people_mean.shape)
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        sd = float(np.hypot(SD_PERSON, SD_NOISE * np.exp(SD_STYLE * node)))
        people += weight * _expected(pop.people_mean, pop.people_cuts, PEOPLE_POINTS, sd)
    sd_m = float(np.hypot(SD_PROMPT, SD_MODEL_NOISE))
    model = _expected(pop.model_mean, pop.model_cuts, MODEL_POINTS, sd_m)
    return (people - 1) / 3, (model - 1) / 3


def _cut(latent: np.ndarray, cuts: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points[np.searchsorted(cuts, latent)]


def draw_study(rng: np.random.Generator, pop: Population, rel: Released) -> tuple[Units, Units]:
    """One study: 4 people a context, the model's 8 prompts, N/A as in the released data."""
    c, k = pop.people_mean.shape
    offset = rng.normal(0, SD_PERSON, (c, 4, 1))
    spread = SD_NOISE * np.exp(rng.normal(0, SD_STYLE, (c, 4, 1)))
    latent = pop.people_mean[:, None, :] + offset + spread * rng.normal(size=(c, 4, k))
    people = _cut(latent, pop.people_cuts, PEOPLE_POINTS)
    # each person leaves out what a released respondent of the same scenario left out
    missing = np.isnan(rel.people.positions)
    for s in np.unique(rel.scenario):
        rows = np.flatnonzero(rel.scenario == s)
        pool = missing[rows].reshape(-1, k)
        picks = rng.integers(0, len(pool), (len(rows), 4))
        people[rows] = np.where(pool[picks], np.nan, people[rows])
    prompt = rng.normal(0, SD_PROMPT, (c, 8, 1))
    latent_m = pop.model_mean[:, None, :] + prompt + SD_MODEL_NOISE * rng.normal(size=(c, 8, k))
    model = _cut(latent_m, pop.model_cuts, MODEL_POINTS)
    model = np.where(np.isnan(rel.model.positions), np.nan, model)
    return replace(rel.people, positions=people), replace(rel.model, positions=model)


def estimate(people: Units, model: Units, layout: Layout) -> dict[str, float]:
    stats = group_statistics(people.cell_means(), model.cell_means(), layout, ("overall",))
    return {s: float(stats["overall"][s][0]) for s in STATS}


def check(rel: Released, pop: Population, rng: np.random.Generator) -> None:
    """Print the released data's summary figures next to one simulated study's."""

    def summary(people: Units, model: Units) -> str:
        h, m = people.cell_means(), model.cell_means()
        alpha = cronbach_alpha(people.positions.reshape(-1, people.positions.shape[-1]))
        est = estimate(people, model, rel.layout)
        return (
            f"people's alpha {alpha:.3f}, disagree {np.nanmean(h >= 0.5):.3f}; model disagree "
            f"{np.nanmean(m > 0.5):.3f}; F1 {est['f1']:.3f}, distance {est['distance']:.3f}"
        )

    print(f"released ({MODEL}): {summary(rel.people, rel.model)}")
    sims = [summary(*draw_study(rng, pop, rel)) for _ in range(3)]
    for line in sims:
        print(f"simulated study:    {line}")


def bootstraps(
    people: Units, model: Units, layout: Layout, rng: np.random.Generator, resamples: int
) -> dict[str, dict[tuple[str, float], tuple[float, float]]]:
    """Each target's intervals of the overall F1 and distance at each level."""
    out: dict[str, dict[tuple[str, float], tuple[float, float]]] = {}
    for target in ("design", "population"):
        out[target] = {}
        plan = Plan(
            resamples=resamples, method="shifted", groups=("overall",), rank_groups=(),
            target=target,  # type: ignore[arg-type]
        )  # fmt: skip
        boot = bootstrap_units(people, model, layout, plan, rng)
        for level in LEVELS:
            for stat in STATS:
                low, high = replace(boot, level=level).interval("overall", stat)
                out[target][(stat, level)] = (float(low[0]), float(high[0]))
    return out


def timing(people: Units, model: Units, layout: Layout, runs: int = 3) -> dict[str, float]:
    """Seconds per bootstrap of RESAMPLES resamples, each target."""
    out = {}
    for target in ("design", "population"):
        plan = Plan(
            resamples=RESAMPLES, method="shifted", groups=("overall",), rank_groups=(),
            target=target,  # type: ignore[arg-type]
        )  # fmt: skip
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(runs):
            bootstrap_units(people, model, layout, plan, rng)
        out[target] = (time.perf_counter() - start) / runs
    return out


def _args() -> tuple[int, int, Path, int]:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("studies", nargs="?", type=int, default=1000)
    parser.add_argument("seed", nargs="?", type=int, default=2025)
    parser.add_argument("data", nargs="?", type=Path, default=None)
    parser.add_argument("--populations", type=int, default=4)
    args = parser.parse_args()
    return args.studies, args.seed, args.data or _data(), args.populations


def one_population(
    rng: np.random.Generator, rel: Released, studies: int, show: bool
) -> tuple[dict[tuple[str, str, str, float], int], dict[str, dict[str, float]]]:
    """Hits of each (target, statistic, truth, level) over STUDIES studies of a new population,
    and its two truths."""
    pop = draw_population(rng, rel)
    if show:
        check(rel, pop, rng)
    th, tm = true_means(pop)
    pop_stats = group_statistics(th, tm, rel.layout, ("overall",))["overall"]
    population = {s: float(pop_stats[s][0]) for s in STATS}
    draws = [estimate(*draw_study(rng, pop, rel), rel.layout) for _ in range(2000)]
    design = {s: float(np.mean([d[s] for d in draws])) for s in STATS}
    truths = {"design": design, "population": population}
    hits: dict[tuple[str, str, str, float], int] = {}
    for _ in range(studies):
        people, model = draw_study(rng, pop, rel)
        for target, intervals in bootstraps(people, model, rel.layout, rng, 400).items():
            for (stat, level), (low, high) in intervals.items():
                for truth, values in truths.items():
                    key = (target, stat, truth, level)
                    hits[key] = hits.get(key, 0) + int(low <= values[stat] <= high)
    return hits, truths


def main() -> None:
    studies, seed, data, populations = _args()
    rng = np.random.default_rng(seed)
    rel = released(data)
    each = [studies // populations + (i < studies % populations) for i in range(populations)]
    hits: dict[tuple[str, str, str, float], int] = {}
    per: list[dict[tuple[str, str, str, float], int]] = []
    start = time.perf_counter()
    for i, n in enumerate(each):
        got, truths = one_population(rng, rel, n, show=i == 0)
        print(
            f"population {i + 1} ({n} studies): truths: population F1 "
            f"{truths['population']['f1']:.3f}, distance {truths['population']['distance']:.3f}; "
            f"design (expected estimate) F1 {truths['design']['f1']:.3f}, distance "
            f"{truths['design']['distance']:.3f}"
        )
        per.append({k: v for k, v in got.items()})
        for key, v in got.items():
            hits[key] = hits.get(key, 0) + v
    took = time.perf_counter() - start
    print(
        f"{studies} studies over {populations} populations, seed {seed}, 400 resamples each "
        f"({took:.0f} s)"
    )
    heads = " ".join(f"pop{i + 1:<3d}" for i in range(populations))
    print(f"interval target  statistic  truth       nominal  covered  (+-2 se)  {heads}")
    for key, n in sorted(hits.items()):
        target, stat, truth, level = key
        share = n / studies
        se = 2 * np.sqrt(share * (1 - share) / studies)
        parts = " ".join(f"{p[key] / m:.3f}" for p, m in zip(per, each, strict=True))
        print(
            f"{target:16s} {stat:10s} {truth:11s} {level:.2f}     {share:.3f}    {se:.3f}     "
            f"{parts}"
        )
    pop = draw_population(rng, rel)
    people, model = draw_study(rng, pop, rel)
    t = timing(people, model, rel.layout)
    print(
        f"time per bootstrap ({RESAMPLES} resamples): design (shifted) {t['design']:.3f} s, "
        f"population {t['population']:.3f} s (ratio {t['population'] / t['design']:.2f})"
    )


if __name__ == "__main__":
    main()
