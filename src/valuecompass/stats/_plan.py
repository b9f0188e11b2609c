"""Study planning by simulation: how many people per context, and samples per prompt, a study
needs for a target interval half-width, or to tell two models apart at a stated power.

Method. The pilot (people's and models' answers, aligned as usual) stands in for the
population. For a candidate design of N people per context and S samples per prompt, one
simulated study draws, independently in every context, N of the pilot's respondents with
replacement (a multinomial count per respondent, so the cost does not grow with N), and for
every prompt (context × variant) S of the model's pilot samples of that prompt with
replacement; the cell means of the draws give H and L, and the headline statistics (overall
F1: the mean of the contexts' F1; overall distance) follow exactly as for the real data
(:func:`valuecompass.stats._groups.group_statistics`). R simulated studies give each
statistic's sampling distribution at that design:

* half-width: half the distance between its ``(1 - level) / 2`` and ``(1 + level) / 2``
  quantiles;
* two models (paired: the same simulated people answer for both): the standard deviation
  ``sd`` of the difference of their statistics; the power to detect a true difference ``d``
  in a two-sided test at ``alpha = 1 - level`` is ``Φ(d/sd - z) + Φ(-d/sd - z)`` with
  ``z = Φ⁻¹(1 - alpha/2)`` (a normal approximation to the simulated distribution).

* bias (one model): the mean of the simulated statistic at N minus the *large-N value*, its
  mean at ``max_people``. F1 and the distance are biased in small studies (with few people a
  cell mean lands farther from the model's and nearer the scale's ends): a plan for a
  half-width W needs both the half-width and ``|bias|`` at most W, and ``binds`` says which
  set the size (``half-width``, ``bias`` or ``both``).
* ties (one model): a pilot cell whose people's mean sits exactly on the threshold (0.5) stays
  there however many people are drawn, so its simulated mean keeps landing either side of it
  and the F1 half-width stops shrinking (on the released data about 0.012 even at 2,000 people
  per context). When a target is not met at ``max_people`` and the pilot has such cells,
  ``tie_floor`` gives the half-width at ``max_people`` with those cells held at their pilot
  label; when that meets the target, the floor is the pilot's ties, not the design's
  (:func:`floor_note` words it), since a real population's mean is seldom exactly on 0.5.

The smallest N meeting the target is found by bisection over 1 .. ``max_people`` (each N is
simulated with its own stream drawn from the one seed and N, the same at every S, so a plan
is reproducible and designs differing only in S are compared on the same people). Edge
cases: a pilot with one sample per prompt shows no sample-to-sample variation, so the model
side is then held fixed and S changes only the cost (``samples_vary`` says which); a target
not met at ``max_people`` leaves ``people_per_context`` empty (``<NA>``); a statistic that
never varies (``sd = 0``) has half-width 0 and power 1 at every N.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import norm

from valuecompass.answers import Side, scores
from valuecompass.instrument import THRESHOLD
from valuecompass.metrics import Alignment
from valuecompass.stats._bootstrap import StatsError
from valuecompass.stats._groups import Layout, group_statistics
from valuecompass.stats._units import FloatArray

#: The statistics a plan sizes.
PLAN_STATISTICS = ("f1", "distance")


@dataclass(frozen=True)
class Pilot:
    """A pilot's answers as padded arrays, ready to be drawn from.

    ``people``: (C, R, K) normalised scores of each context's respondents (NaN: missing or
    padding), ``n_people``: (C,) respondents per context. ``model``: (C, V, S, K) scores per
    prompt (context × variant) and pilot sample, ``n_samples``: (C, V) samples per prompt.
    """

    layout: Layout
    people: FloatArray
    n_people: FloatArray
    model: FloatArray
    n_samples: FloatArray

    @property
    def samples_vary(self) -> bool:
        """Whether any prompt has two or more pilot samples to draw from."""
        return bool((self.n_samples > 1).any())

    def people_means(self) -> FloatArray:
        """The pilot's people's cell means, ``(C, K)``: each cell's mean over the respondents
        who scored it (NaN where none did)."""
        present = ~np.isnan(self.people)
        total = np.where(present, self.people, 0.0).sum(axis=1)
        count = present.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
        return out

    def tied(self) -> NDArray[np.bool_]:
        """Cells whose pilot people's mean sits exactly on the threshold, ``(C, K)``."""
        out: NDArray[np.bool_] = np.abs(self.people_means() - THRESHOLD) < 1e-9
        return out


def _padded(
    frame: pd.DataFrame, keys: list[str], inner: str, layout: Layout
) -> tuple[FloatArray, FloatArray]:
    """Scores of FRAME as (groups, members of INNER, values), NaN-padded, and members per
    group; the groups are the contexts (× the further KEYS' levels), in the layout's order."""
    axes = [str(n) for n in layout.contexts.names]
    wide = frame.groupby([*axes, *keys, inner, "value"])["x"].mean().unstack("value")
    wide = wide.reindex(columns=list(layout.values))
    extra = [sorted(frame[k].unique()) for k in keys]
    groups = [(*ctx, *rest) for ctx in layout.contexts for rest in _product(extra)]
    depth = list(range(len(axes) + len(keys)))
    sizes = wide.groupby(level=depth).size()
    width = int(sizes.max()) if len(sizes) else 1
    out = np.full((len(groups), width, len(layout.values)), np.nan)
    counts = np.zeros(len(groups))
    where = {g: i for i, g in enumerate(groups)}
    for key, block in wide.groupby(level=depth, sort=False):
        i = where[tuple(key)]
        out[i, : len(block)] = block.to_numpy(float)
        counts[i] = len(block)
    return out, counts


def _product(levels: list[list[object]]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = [()]
    for options in levels:
        out = [(*t, o) for t in out for o in options]
    return out


def make_pilot(alignment: Alignment, people: pd.DataFrame, model: pd.DataFrame) -> Pilot:
    """The pilot of ALIGNMENT's contexts and values, from its people's and model's answers.

    Every respondent and every model answer is a member to draw, scored or not: a drawn
    respondent who scored nothing (all "irrelevant") adds nothing to the cell means, as in a
    real study of that size.
    """
    layout = Layout.of(alignment)
    shared = set(layout.contexts)

    def scored(df: pd.DataFrame, side: Side) -> pd.DataFrame:
        df = df[df["value"].isin(layout.values)].copy()  # missing answers count as drawn
        axes = alignment.context_columns
        keep = [ctx in shared for ctx in zip(*(df[a] for a in axes), strict=True)]
        df = df[keep]
        df["x"] = scores(df, alignment.instrument, side)
        return df

    h, m = scored(people, "humans"), scored(model, "llm")
    m["variant"] = m["variant"].fillna(-1).astype(int)
    ppl, n_ppl = _padded(h, [], "respondent", layout)
    mod, n_mod = _padded(m, ["variant"], "sample", layout)
    c, k = len(layout.contexts), len(layout.values)
    return Pilot(layout, ppl, n_ppl, mod.reshape(c, -1, mod.shape[1], k), n_mod.reshape(c, -1))


def _draw_means(
    rng: np.random.Generator, scores: FloatArray, counts: FloatArray, n: int, reps: int
) -> FloatArray:
    """Cell means of N draws with replacement from each group's members, ``(reps, G, K)``.

    SCORES is (G, M, K) NaN-padded, COUNTS (G,) members per group (0: the group is empty).
    """
    members = np.arange(scores.shape[1])
    pvals = np.where(members[None, :] < counts[:, None], 1.0, 0.0)
    pvals[counts == 0, 0] = 1.0  # an empty group draws its (missing) padding
    pvals /= pvals.sum(axis=1, keepdims=True)
    drawn = rng.multinomial(n, pvals, size=(reps, len(counts))).astype(float)  # (reps, G, M)
    present = ~np.isnan(scores)
    total = np.einsum("bgm,gmk->bgk", drawn, np.where(present, scores, 0.0))
    count = np.einsum("bgm,gmk->bgk", drawn, present.astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return out


def _model_means(rng: np.random.Generator, pilot: Pilot, samples: int, reps: int) -> FloatArray:
    """The model's cell means, ``(reps, C, K)``: S draws per prompt, pooled over variants (or
    the pilot's own means, repeated, when no prompt has two samples)."""
    c, v, s, k = pilot.model.shape
    if not pilot.samples_vary:
        present = ~np.isnan(pilot.model)
        total = np.where(present, pilot.model, 0.0).sum(axis=(1, 2))
        count = present.sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            fixed = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
        return np.broadcast_to(fixed, (reps, c, k))
    flat = pilot.model.reshape(c * v, s, k)
    means = _draw_means(rng, flat, pilot.n_samples.reshape(-1), samples, reps)
    per_prompt = means.reshape(reps, c, v, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell no variant scored: NaN
        out: FloatArray = np.nanmean(per_prompt, axis=2)
    return out


def simulate(
    pilots: list[Pilot],
    people: int,
    samples: int,
    reps: int,
    seed: int | list[int],
    hold: NDArray[np.bool_] | None = None,
) -> list[dict[str, FloatArray]]:
    """REPS simulated studies of PEOPLE per context and SAMPLES per prompt: for each pilot
    (models sharing one people's pilot), each statistic of :data:`PLAN_STATISTICS`, ``(reps,)``.

    The same simulated people answer for every model (a paired design). HOLD, ``(C, K)``,
    keeps those people's cells at the pilot's mean in every study (see ``tie_floor``).
    """
    rng = np.random.default_rng(seed)
    first = pilots[0]
    h = _draw_means(rng, first.people, first.n_people, people, reps)
    if hold is not None and hold.any():
        h = np.where(hold[None], first.people_means()[None], h)
    out = []
    for pilot in pilots:
        m = _model_means(rng, pilot, samples, reps)
        h_b, m_b = np.broadcast_arrays(h, m)
        stats = group_statistics(h_b, m_b, pilot.layout, ("overall",))["overall"]
        out.append({s: stats[s][..., 0] for s in PLAN_STATISTICS})
    return out


def half_width(values: FloatArray, level: float) -> float:
    """Half the distance between the central LEVEL quantiles of VALUES (NaNs ignored)."""
    lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(hi - lo) / 2


def power(difference: float, sd: float, level: float) -> float:
    """Two-sided power to detect DIFFERENCE when the estimate's standard deviation is SD."""
    if sd <= 0:
        return 1.0
    z = float(norm.ppf(1 - (1 - level) / 2))
    return float(norm.cdf(difference / sd - z) + norm.cdf(-difference / sd - z))


def smallest(ok: Callable[[int], bool], largest: int) -> int | None:
    """The smallest N in 1 .. LARGEST with ``ok(N)``, by bisection (OK must hold from some N
    on); ``None`` when it does not hold at LARGEST."""
    if not ok(largest):
        return None
    lo, hi = 0, largest  # ok(hi) holds; ok(lo) is taken not to (there is no study of 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Target:
    """What a plan sizes for: a half-width, or a DIFFERENCE detected at POWER."""

    level: float = 0.95
    half_width: float | None = None
    difference: float | None = None
    power: float = 0.8


def plan_people(
    pilots: list[Pilot],
    target: Target,
    samples: int,
    reps: int = 400,
    seed: int = 0,
    max_people: int = 2000,
) -> pd.DataFrame:
    """People per context needed at SAMPLES per prompt, per statistic (see the module).

    One pilot: sized so that both the half-width and the small-sample bias are at most
    ``target.half_width``; columns ``half_width``, ``bias``, ``large_n`` (the mean estimate
    at MAX_PEOPLE, which the bias is taken from), ``binds`` (what set the size), and, where the
    target is not met and the pilot has cells on the threshold, ``tied_cells`` and
    ``tie_floor``. Two pilots (two models, the same people's pilot and contexts): sized so
    their difference ``target.difference`` is found with ``target.power``; columns ``sd`` and
    ``power``. Both: ``statistic``, ``samples_per_prompt``, ``people_per_context``
    (``<NA>``: not reached by MAX_PEOPLE); the achieved figures are at that size (at
    MAX_PEOPLE when not reached).
    """
    if len(pilots) == 2 and not pilots[0].layout.contexts.equals(pilots[1].layout.contexts):
        raise StatsError("the two models' pilots do not share the same contexts with people")
    memo: dict[int, list[dict[str, FloatArray]]] = {}

    def run(n: int) -> list[dict[str, FloatArray]]:
        if n not in memo:
            memo[n] = simulate(pilots, n, samples, reps, [seed, n])  # the same draws at every S
        return memo[n]

    rows = []
    for stat in PLAN_STATISTICS:
        if len(pilots) == 1:
            row = _accuracy_row(pilots[0], stat, target, run, max_people, (samples, reps, seed))
        else:
            measure = _measure(stat, target, len(pilots))
            need = smallest(lambda n, m=measure: m(run(n))[0], max_people)  # type: ignore[misc]
            _, details = measure(run(need or max_people))
            row = {"people_per_context": need, **details}
        rows.append({"statistic": stat, "samples_per_prompt": samples, **row})
    out = pd.DataFrame(rows)
    out["people_per_context"] = out["people_per_context"].astype("Int64")  # <NA>: not reached
    if "tied_cells" in out:
        out["tied_cells"] = out["tied_cells"].astype("Int64")
    return out


def _accuracy_row(
    pilot: Pilot,
    stat: str,
    target: Target,
    run: Callable[[int], list[dict[str, FloatArray]]],
    max_people: int,
    draws: tuple[int, int, int],
) -> dict[str, object]:
    """One pilot's row for STAT: the smallest N with half-width and |bias| both within the
    target, what binds, and the ties' floor when the target is not met (see the module)."""
    if target.half_width is None:
        raise ValueError("a plan for one model needs a target half-width")
    goal, level = target.half_width, target.level
    large = float(np.nanmean(run(max_people)[0][stat]))

    def spread(n: int) -> float:
        return half_width(run(n)[0][stat], level)

    def bias(n: int) -> float:
        return float(np.nanmean(run(n)[0][stat])) - large

    for_width = smallest(lambda n: spread(n) <= goal, max_people)
    for_bias = smallest(lambda n: abs(bias(n)) <= goal, max_people)
    need = None if for_width is None or for_bias is None else max(for_width, for_bias)
    at = need or max_people
    row: dict[str, object] = {
        "people_per_context": need,
        "half_width": spread(at),
        "bias": bias(at),
        "large_n": large,
        "binds": _binds(for_width, for_bias),
    }
    tied = pilot.tied()
    if need is None and tied.any():
        samples, reps, seed = draws
        held = simulate([pilot], max_people, samples, reps, [seed, max_people], hold=tied)
        row["tied_cells"] = int(tied.sum())
        row["tie_floor"] = half_width(held[0][stat], level)
    return row


def accuracy_curve(
    pilot: Pilot,
    sizes: list[int],
    samples: int = 1,
    reps: int = 400,
    seed: int = 0,
    max_people: int = 2000,
    level: float = 0.95,
) -> pd.DataFrame:
    """Half-width and bias of each statistic at each of SIZES people per context (one row
    per statistic and size; the bias against the mean estimate at MAX_PEOPLE), drawn as
    :func:`plan_people` draws them, so the figures are those a plan of the same seed uses."""
    large = simulate([pilot], max_people, samples, reps, [seed, max_people])[0]
    rows = []
    for n in sizes:
        sims = simulate([pilot], n, samples, reps, [seed, n])[0]
        for stat in PLAN_STATISTICS:
            rows.append({"statistic": stat, "samples_per_prompt": samples,
                         "people_per_context": n, "half_width": half_width(sims[stat], level),
                         "bias": float(np.nanmean(sims[stat]) - np.nanmean(large[stat])),
                         "large_n": float(np.nanmean(large[stat]))})  # fmt: skip
    return pd.DataFrame(rows)


def _binds(for_width: int | None, for_bias: int | None) -> str | None:
    """Which criterion set the size: ``half-width``, ``bias``, ``both`` (``None``: neither
    met)."""
    if for_width is None and for_bias is None:
        return None
    if for_width is None or (for_bias is not None and for_width > for_bias):
        return "half-width"
    if for_bias is None or for_bias > for_width:
        return "bias"
    return "both"


def floor_note(row: pd.Series, max_people: int, goal: float) -> str | None:
    """A line explaining a ties' floor on ROW of :func:`plan_people` (``None``: none)."""
    floor = row.get("tie_floor")
    if floor is None or pd.isna(floor) or float(floor) > goal:
        return None
    return (
        f"{row['statistic']}: the half-width stops at {float(row['half_width']):.4f} even at "
        f"{max_people} people per context: {int(row['tied_cells'])} of the pilot's cells have "
        "a people's mean exactly on the agree/disagree threshold, so however many people are "
        "drawn their means keep landing either side of it. Held at their pilot labels, the "
        f"half-width would be {float(floor):.4f}: the floor is an artefact of the pilot's "
        "ties (a real population's mean is seldom exactly on the threshold), not of the design."
    )


def _measure(
    stat: str, target: Target, n_pilots: int
) -> Callable[[list[dict[str, FloatArray]]], tuple[bool, dict[str, float]]]:
    """Whether a simulated design meets TARGET for STAT, and what it achieved."""
    if n_pilots == 1:
        if target.half_width is None:
            raise ValueError("a plan for one model needs a target half-width")
        goal = target.half_width

        def one(sims: list[dict[str, FloatArray]]) -> tuple[bool, dict[str, float]]:
            hw = half_width(sims[0][stat], target.level)
            return hw <= goal, {"half_width": hw}

        return one
    if n_pilots != 2 or target.difference is None:
        raise ValueError("a plan for two models needs a target difference")
    difference = target.difference

    def two(sims: list[dict[str, FloatArray]]) -> tuple[bool, dict[str, float]]:
        sd = float(np.nanstd(sims[0][stat] - sims[1][stat]))
        achieved = power(difference, sd, target.level)
        return achieved >= target.power, {"sd": sd, "power": achieved}

    return two
