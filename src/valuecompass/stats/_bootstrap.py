"""Bootstrap intervals for every headline number: rates, distances and rankings.

People are resampled within each context (the 4 people of a country and scenario); the model's
answers are resampled within each context too, one unit being one prompt variant's answer in
one sample. Each resample rebuilds both matrices as weighted cell means (two matrix products),
and all statistics of all groupings come from those (B, C, K) stacks in a few array passes.

Intervals are centred percentile intervals by default (see :mod:`._intervals` for why, and for
the percentile, basic and BCa alternatives), ignoring resamples where a statistic is undefined
(kappa with one label throughout). Rankings get percentile intervals for each value's rank, and
the share of resamples in which the value is among the k most misaligned.

What the intervals are about: the rates and distances of the paper are statistics of cell
means of 4 people and 8 prompts, so they carry the noise of those means (a distance is pushed
up by it; see the human ceiling for how far). The intervals say where the same design would
land again with other people and prompt draws; they are not intervals for an infinitely large
panel's distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from valuecompass import metrics as al
from valuecompass.errors import ValueCompassError
from valuecompass.metrics import Alignment
from valuecompass.stats._groups import (
    GROUPINGS,
    STATISTICS,
    Cells,
    Layout,
    default_groups,
    default_rank_groups,
    group_statistics,
    offers,
    statistics_of,
    value_distances,
)
from valuecompass.stats._intervals import (
    METHODS,
    Method,
    acceleration,
    basic_interval,
    bca_interval,
    centred_interval,
    clip_interval,
    percentile_interval,
    scaled_centred_interval,
)
from valuecompass.stats._population import (
    TARGETS,
    IntervalTarget,
    matched,
    noise_variances,
    population_statistics,
    resampled_noise,
)
from valuecompass.stats._resample import Draws, full_weights, resample_weights
from valuecompass.stats._units import FloatArray, IntArray, Units, arrange, cell_means

Side = Literal["both", "people", "model"]
RANK_GROUPS = ("overall", "country", "scenario")


class StatsError(ValueCompassError, ValueError):
    """A statistical request that cannot be met as asked (bad level, too few resamples...)."""


@dataclass(frozen=True)
class Bootstrap:
    """Resampled statistics with their point estimates; ask for tables by grouping."""

    layout: Layout
    level: float
    resamples: int
    estimate: dict[str, dict[str, FloatArray]]  # group → statistic → (G,)
    replicates: dict[str, dict[str, FloatArray]]  # group → statistic → (B, G)
    rank_counts: dict[str, IntArray]  # group → (G, K, K): resamples giving value k rank r+1
    rank_distance: dict[str, FloatArray]  # group → (G, K) point-estimate distances
    method: Method = "centred"
    acceleration: dict[str, dict[str, FloatArray]] | None = None  # group → statistic → (G,)
    scale: dict[str, dict[str, FloatArray]] | None = None  # calibrated: widening per (G,)
    shifted: dict[str, dict[str, FloatArray]] | None = None  # calibrated: rates' replicates
    target: IntervalTarget = "design"  # what the intervals cover (see ._population)

    def interval(
        self, group: str, statistic: str, method: Method | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Interval ``(low, high)`` of STATISTIC per group (``NaN`` where undefined).

        ``method`` defaults to the one the bootstrap was made with; ``bca`` needs the
        jackknife, so it is available only when that was the method. Every method's ends are
        clipped to the statistic's range (:data:`~valuecompass.stats._intervals.BOUNDS`: rates
        and distance in [0, 1], kappa in [-1, 1]); the centred, basic, shifted and calibrated
        intervals move the replicates' quantiles and can otherwise pass an end.
        """
        low, high = self._unclipped(group, statistic, method or self.method)
        return clip_interval(statistic, low, high)

    def _unclipped(
        self, group: str, statistic: str, method: Method
    ) -> tuple[FloatArray, FloatArray]:
        reps = self.replicates[group][statistic]
        est = self.estimate[group][statistic]
        if method == "centred":
            return centred_interval(reps, est, self.level)
        if method == "percentile":
            return percentile_interval(reps, self.level)
        if method == "basic":
            return basic_interval(reps, est, self.level)
        if method == "shifted" and self.shifted is not None:
            return centred_interval(self.shifted[group][statistic], est, self.level)
        if method == "calibrated" and self.shifted is not None and self.scale is not None:
            scale = self.scale[group][statistic]
            return scaled_centred_interval(self.shifted[group][statistic], est, scale, self.level)
        if method == "bca" and self.acceleration is not None:
            return bca_interval(reps, est, self.acceleration[group][statistic], self.level)
        raise StatsError(f"no {method!r} intervals: made with method {self.method!r}")

    def table(self, group: str) -> pd.DataFrame:
        """The group's keys, then each statistic with ``_low`` and ``_high`` columns."""
        out = self.layout.keys(group)
        for stat in STATISTICS:
            low, high = self.interval(group, stat)
            out[stat] = self.estimate[group][stat]
            out[f"{stat}_low"] = low
            out[f"{stat}_high"] = high
        return out.reset_index(drop=True)

    def overall(self) -> dict[str, float]:
        """The overall statistics with their intervals, as one flat mapping."""
        row = self.table("overall").iloc[0]
        return {str(k): float(v) for k, v in row.items()}

    def ranking(self, group: str = "overall", k: int = 10) -> pd.DataFrame:
        """Values by distance within each group, with rank intervals and P(among the top k).

        Columns: the group's keys, ``value``, ``distance`` (with ``_low``/``_high``), ``rank``,
        ``rank_low``, ``rank_high`` and ``p_top_k`` (the share of resamples ranking the value
        among the k largest distances).
        """
        counts = self.rank_counts[group]
        cdf = np.cumsum(counts, axis=-1) / max(self.resamples, 1)
        alpha = (1.0 - self.level) / 2.0
        distance = self.rank_distance[group]
        ranks = al.rank_descending(distance)
        keys = self.layout.keys(group)
        rows = []
        for g in range(distance.shape[0]):
            key = keys.iloc[g].to_dict() if len(keys.columns) else {}
            for j, value in enumerate(self.layout.values):
                rows.append(
                    {
                        **key,
                        "value": value,
                        "distance": distance[g, j],
                        "rank": int(ranks[g, j]),
                        "rank_low": int(np.argmax(cdf[g, j] >= alpha - 1e-12)) + 1,
                        "rank_high": int(np.argmax(cdf[g, j] >= 1 - alpha - 1e-12)) + 1,
                        "p_top_k": float(cdf[g, j, min(k, cdf.shape[-1]) - 1]),
                    }
                )
        df = pd.DataFrame(rows)
        # the items' own grouping ("value" for the Value Form; "item" where an instrument's
        # grouping of items is itself called "value"), if it was resampled
        items = [g for g in self.estimate if g != "overall" and self.layout.rule(g).kind == "item"]
        if group == "overall" and items:
            value_rows = self.table(items[0]).set_index("value")
            df["distance_low"] = df["value"].map(value_rows["distance_low"])
            df["distance_high"] = df["value"].map(value_rows["distance_high"])
        return df.sort_values([*keys.columns, "rank"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Plan:
    """How to resample; see :func:`bootstrap` for each field."""

    resamples: int = 2000
    level: float = 0.95
    resample: Side = "both"
    draws: Draws = "n-1"
    method: Method = "centred"
    chunk: int = 500
    groups: tuple[str, ...] = GROUPINGS
    rank_groups: tuple[str, ...] = RANK_GROUPS
    target: IntervalTarget = "design"

    def check(self) -> None:
        if self.resamples < 2:
            raise StatsError(f"resamples must be at least 2, got {self.resamples}")
        if not 0.0 < self.level < 1.0:
            raise StatsError(f"the interval level must be between 0 and 1, got {self.level}")
        if self.chunk < 1:
            raise StatsError(f"chunk must be at least 1, got {self.chunk}")
        if self.resample not in ("both", "people", "model"):
            raise StatsError(f"resample must be both, people or model, not {self.resample!r}")
        if self.method not in METHODS:
            raise StatsError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.draws not in ("n", "n-1"):
            raise StatsError(f"draws must be 'n' or 'n-1', not {self.draws!r}")
        if self.target not in TARGETS:
            raise StatsError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")

    def check_groups(self, layout: Layout) -> None:
        """Every grouping is one LAYOUT offers; rankings are within context groupings."""
        valid = [*layout.group_ids(), "overall"]
        unknown = [g for g in (*self.groups, *self.rank_groups) if not offers(layout, g)]
        if unknown:
            raise StatsError(f"unknown grouping(s) {unknown}; valid: {', '.join(valid)}")
        unrankable = [
            g for g in self.rank_groups if g != "overall" and layout.rule(g).kind != "axis"
        ]
        if unrankable:
            axes = [g for g in layout.group_ids() if layout.rule(g).kind == "axis"]
            raise StatsError(
                f"cannot rank within {unrankable}; valid: {', '.join(['overall', *axes])}"
            )


def bootstrap(
    alignment: Alignment,
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    *,
    seed: int | np.random.Generator = 0,
    resamples: int = 2000,
    level: float = 0.95,
    resample: Side = "both",
    draws: Draws = "n-1",
    method: Method = "centred",
    chunk: int = 500,
    groups: tuple[str, ...] | None = None,
    rank_groups: tuple[str, ...] | None = None,
    target: IntervalTarget = "design",
) -> Bootstrap:
    """Intervals for the alignment's rates, distances and rankings at every grouping.

    * ``resample``: whose answers vary: ``"both"`` (default), ``"people"`` or ``"model"``.
    * ``draws``: Efron's ``"n"`` or Rao and Wu's ``"n-1"`` (default; right variance with 4
      people a context); see :data:`Draws`.
    * ``method``: ``"centred"`` (default), ``"percentile"``, ``"basic"`` or ``"bca"``; see
      :mod:`valuecompass.stats._intervals` for what each targets. Any bootstrap can give the
      others later through :meth:`Bootstrap.interval`, except BCa, which needs its jackknife.
    * ``chunk``: resamples made at a time, bounding memory (about 40 MB per 500).
    * ``seed``: an integer or a ``numpy.random.Generator``; nothing else is random.
    * ``groups`` (default :func:`default_groups`) and ``rank_groups`` (rankings within them;
      default ``overall`` and the instrument's context axes).
    * ``target``: ``"design"`` (default: where this design would land again, the estimates
      being the study's) or ``"population"`` (the true cell means' rates and distances: the
      estimates are bias-corrected and the intervals centred on them, whatever ``method``;
      see :mod:`valuecompass.stats._population`). Rankings are the design's either way.
    """
    layout = Layout.of(alignment)
    groups = default_groups(layout) if groups is None else groups
    rank_groups = default_rank_groups(layout) if rank_groups is None else rank_groups
    plan = Plan(resamples, level, resample, draws, method, chunk, groups, rank_groups, target)
    people = arrange(
        human_answers, layout.contexts, list(layout.values), scale=layout.scale("humans")
    )
    model = arrange(model_answers, layout.contexts, list(layout.values), scale=layout.scale("llm"))
    return bootstrap_units(people, model, layout, plan, np.random.default_rng(seed))


def bootstrap_units(
    people: Units, model: Units, layout: Layout, plan: Plan, rng: np.random.Generator
) -> Bootstrap:
    """:func:`bootstrap` on answers already arranged as units."""
    plan.check()
    plan.check_groups(layout)
    k = len(layout.values)
    parts: dict[str, dict[str, list[FloatArray]]] = {
        g: {s: [] for s in STATISTICS} for g in plan.groups
    }
    ranks = {g: np.zeros((_n_groups(layout, g), k, k), dtype=np.int64) for g in plan.rank_groups}
    fixed_h, fixed_m = people.cell_means()[None], model.cell_means()[None]
    population = plan.target == "population"
    noise = (noise_variances(people), noise_variances(model)) if population else None
    drawn_people, drawn_model = matched(people, model, noise) if noise else (people, model)
    rank_members, rank_columns = _stacked_members(layout, plan.rank_groups)
    vary_h, vary_m = plan.resample in ("both", "people"), plan.resample in ("both", "model")
    done = 0
    while done < plan.resamples:
        b = min(plan.chunk, plan.resamples - done)
        wh = resample_weights(rng, people.counts, people.width, b, plan.draws) if vary_h else None
        wm = resample_weights(rng, model.counts, model.width, b, plan.draws) if vary_m else None
        h = fixed_h if wh is None else cell_means(wh, drawn_people)
        m = fixed_m if wm is None else cell_means(wm, drawn_model)
        h, m = np.broadcast_arrays(h, m)
        cells = Cells.of(h, m)
        if noise is None:
            stats_of = statistics_of(cells, layout, plan.groups)
        else:
            drawn_noise = (
                noise[0] if wh is None else resampled_noise(wh, people, noise[0]),
                noise[1] if wm is None else resampled_noise(wm, model, noise[1]),
            )
            stats_of = population_statistics(h, m, drawn_noise, layout, plan.groups)
        for group, stats in stats_of.items():
            for stat, arr in stats.items():
                parts[group][stat].append(arr)
        if plan.rank_groups:
            distances = cells.value_distances(rank_members, layout.group_distance)
            for group, cols in rank_columns.items():
                ranks[group] += _rank_histogram(distances[..., cols, :])
        done += b
    reps = {g: {s: np.concatenate(a, axis=0) for s, a in d.items()} for g, d in parts.items()}
    if noise is None:
        point = group_statistics(fixed_h, fixed_m, layout, plan.groups)
    else:
        point = population_statistics(fixed_h, fixed_m, noise, layout, plan.groups)
    est = {g: {s: a[0] for s, a in d.items()} for g, d in point.items()}
    distance = {g: value_distances(fixed_h, fixed_m, layout, g)[0] for g in plan.rank_groups}
    if population:
        return Bootstrap(
            layout, plan.level, plan.resamples, est, reps, ranks, distance, target="population"
        )
    accel = None
    if plan.method == "bca":
        accel = _acceleration((people, model), (vary_h, vary_m), layout, plan)
    boot = Bootstrap(
        layout, plan.level, plan.resamples, est, reps, ranks, distance, plan.method, accel
    )
    if plan.method in ("calibrated", "shifted"):
        from valuecompass.stats._calibrate import calibrate

        return calibrate(boot, people, model, layout, plan, rng)
    return boot


def _jackknife_weights(units: Units) -> tuple[FloatArray, IntArray, FloatArray]:
    """Weights leaving out one unit at a time, with each replicate's context and unit count."""
    full = full_weights(units.counts, units.width)[0]
    ctx = np.repeat(np.arange(len(units.counts)), units.counts)
    unit = np.concatenate([np.arange(n) for n in units.counts]) if len(ctx) else ctx
    w = np.repeat(full[None], len(ctx), axis=0)
    w[np.arange(len(ctx)), ctx, unit] = 0.0
    return w, ctx, units.counts[ctx].astype(float)


def _acceleration(
    sides: tuple[Units, Units], vary: tuple[bool, bool], layout: Layout, plan: Plan
) -> dict[str, dict[str, FloatArray]]:
    """BCa acceleration per group and statistic, from a jackknife over the varied sides' units."""
    thetas: list[dict[str, dict[str, FloatArray]]] = []
    strata, sizes = [], []
    for side, units in enumerate(sides):
        if not vary[side]:
            continue
        w, ctx, n = _jackknife_weights(units)
        left_out = cell_means(w, units)
        fixed = sides[1 - side].cell_means()[None]
        pair = (left_out, fixed) if side == 0 else (fixed, left_out)
        h, m = np.broadcast_arrays(*pair)
        thetas.append(group_statistics(h, m, layout, plan.groups))
        strata.append(ctx + side * len(layout.contexts))
        sizes.append(n)
    all_strata, all_sizes = np.concatenate(strata), np.concatenate(sizes)
    return {
        g: {
            s: acceleration(np.concatenate([t[g][s] for t in thetas]), all_strata, all_sizes)
            for s in STATISTICS
        }
        for g in plan.groups
    }


def _stacked_members(
    layout: Layout, groups: tuple[str, ...]
) -> tuple[FloatArray, dict[str, slice]]:
    """One (C, G1 + G2 + ...) membership matrix for several groupings, and each one's columns."""
    blocks = [layout.context_members(g) for g in groups]
    starts = np.cumsum([0, *(b.shape[1] for b in blocks)])
    columns = {g: slice(int(starts[i]), int(starts[i + 1])) for i, g in enumerate(groups)}
    if not blocks:
        return np.zeros((len(layout.contexts), 0)), columns
    return np.concatenate(blocks, axis=1), columns


def _n_groups(layout: Layout, group: str) -> int:
    return int(layout.context_members(group).shape[1])


def _rank_histogram(distances: FloatArray) -> IntArray:
    """(B, G, K) distances → (G, K, K) counts of each value's rank over the B resamples."""
    ranks = al.rank_descending(distances)  # 1..K
    _, g, k = ranks.shape
    flat = (np.arange(g * k).reshape(1, g, k) * k + (ranks - 1)).ravel()
    counts: IntArray = np.bincount(flat, minlength=g * k * k).reshape(g, k, k)
    return counts
