"""``gap`` throughput: the released claude files, and 100,000 synthetic pairs x 8 variants.

1. The value–action study's released files for claude-sonnet-4 (task-1 stated values, the
   task-2 log and its actions file; read from ../shared at run time): reading all three,
   the gap by country and overall, variant agreement and position bias. Target <= 2 s.
2. A synthetic grid of 1,800 contexts x 56 items (100,800 pairs), every pair rated and chosen
   in 8 variants (806,400 ratings and as many choices): the gap by country, by context and
   overall, the ranking, variant agreement both ways and position bias, from tables already
   in memory. Target <= 10 s.

Each is the best of ROUNDS rounds (the machine may be shared), printed with its ratio to its
target (below 1 is within it), all measured in the same run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from valuecompass import answers as ans
from valuecompass.api import gap_sources
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.metrics import Gap, gap, position_bias, variant_agreement

ROUNDS = 3
RELEASE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "value-action-gap-2025"
EVAL = RELEASE / "outputs" / "evaluation"
TARGETS = {"released claude files": 2.0, "100,800 pairs x 8 variants": 10.0}
COUNTRIES, TOPICS, VARIANTS = 45, 40, 8


def _figures(result: Gap, choices: pd.DataFrame) -> None:
    result.by("country")
    result.overall()
    variant_agreement(choices)
    variant_agreement(choices, "expresses", "disagree")
    position_bias(choices)


def released() -> None:
    result = gap_sources(
        EVAL / "anthropic-claude-sonnet-4-20250514_t1.csv",
        EVAL / "eval_log_20250628_154645.jsonl",
        actions=RELEASE / "outputs" / "data_release" / "value_action_gap_full_data_generation.csv",
    )
    _figures(result.gap, result.choices)


def synthetic_instrument(folder: Path) -> Instrument:
    """The Value Form's items over COUNTRIES x TOPICS contexts."""
    lines = ["base: value_form", "id: bench_grid", "title: Bench grid", "axes:"]
    for axis, n in (("country", COUNTRIES), ("topic", TOPICS)):
        lines += [f"- id: {axis}", f"  name: {axis.title()}", "  levels:"]
        lines += [f"  - {{id: {axis[0]}{i}, name: {axis.title()} {i}}}" for i in range(n)]
    path = folder / "bench_grid.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_instrument(path)


def synthetic_tables(inst: Instrument, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratings (codes 1..4 on the agreement scale) and choices, one per pair and variant;
    even variants show the opposing action first; 1 in 100 choices unparsed."""
    rng = np.random.default_rng(seed)
    axes = [a.id for a in inst.context_axes]
    grid = pd.MultiIndex.from_product(
        [inst.axis("country").level_ids, inst.axis("topic").level_ids, inst.item_ids,
         range(VARIANTS)], names=[*axes, "value", "variant"],
    ).to_frame(index=False)  # fmt: skip
    n = len(grid)
    common = {"source": "bench", **{c: grid[c].to_numpy() for c in (*axes, "value")}}
    common |= {"respondent": "", "variant": pd.array(grid["variant"], dtype="Int64"), "sample": 0}
    codes = rng.integers(1, 5, n)
    stated = pd.DataFrame(
        {**common, "raw": codes.astype(str), "code": codes.astype(str),
         "position": codes.astype(float), "missing": "", "scale": "agreement"}
    )[[*ans.columns(axes), "scale"]]  # fmt: skip
    opposes = rng.random(n) < 0.3
    unparsed = rng.random(n) < 0.01
    incl = np.where(unparsed, "", np.where(opposes, "opposes", "expresses"))
    first_opposes = grid["variant"].to_numpy() % 2 == 0
    option = np.where(opposes == first_opposes, 1, 2)
    choices = pd.DataFrame(
        {**common, "inclination": incl,
         "option": pd.array(np.where(unparsed, pd.NA, option), dtype="Int64"),
         "raw": incl, "missing": np.where(unparsed, "unrecognised", "")}
    )[list(ans.choice_columns(axes))]  # fmt: skip
    return stated, choices


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inst = synthetic_instrument(Path(tmp))
    stated, choices = synthetic_tables(inst)

    def synthetic() -> None:
        result = gap(stated, choices, inst)
        _figures(result, choices)
        result.by("context")
        result.ranking()

    seconds = {
        "released claude files": best(released),
        "100,800 pairs x 8 variants": best(synthetic),
    }
    for name, took in seconds.items():
        target = TARGETS[name]
        print(f"gap on {name}: {took:.2f} s (target {target:g} s): ratio {took / target:.2f}")


if __name__ == "__main__":
    main()
