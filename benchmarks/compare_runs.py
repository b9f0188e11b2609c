"""How far two runs of the same grid move apart: per answer, in the profile, in alignment.

For the answers both runs hold (matched on context, value, variant and sample): the total
variation between their option distributions (max, mean, 99th percentile), how often the
raw text and the parsed option agree; then each run's value profile and its alignment with
the released people's answers, both scored by option probabilities, with the differences.

    python benchmarks/compare_runs.py OLD.db#RUN NEW.db#RUN [--humans DIR]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from valuecompass.instrument import context_columns, load_instrument
from valuecompass.metrics import align, value_profile
from valuecompass.sources import load_source
from valuecompass.store import open_store
from valuecompass.store import runs as store

#: A context's columns: one per axis of the instrument, named by its id.
AXES = context_columns(load_instrument())
KEY = [*AXES, "value", "variant", "sample"]


def answers(src: str) -> pd.DataFrame:
    """The answers of the run SRC (``store#run``, or a store holding one run)."""
    db, _, name = src.partition("#")
    engine = open_store(db, create=False)
    runs = store.list_runs(engine)
    run = next(r for r in runs if r.name == name) if name else runs[0]
    return store.run_answers(engine, run)


def total_variation(a: str | None, b: str | None) -> float:
    pa, pb = json.loads(a or "{}"), json.loads(b or "{}")
    keys = set(pa) | set(pb)
    return 0.5 * sum(abs(pa.get(k, 0.0) - pb.get(k, 0.0)) for k in keys)


def per_answer(old: str, new: str) -> None:
    both = answers(old).merge(answers(new), on=KEY, suffixes=("_old", "_new"))
    tv = np.array([total_variation(a, b) for a, b in zip(both.probs_old, both.probs_new,
                                                          strict=True)])  # fmt: skip
    print(f"answers in both runs: {len(both)}")
    print(f"total variation per answer: max {tv.max():.4f}, mean {tv.mean():.4f}, "
          f"99th percentile {np.quantile(tv, 0.99):.4f}")  # fmt: skip
    print(f"same raw text: {(both.raw_old == both.raw_new).mean():.1%}; "
          f"same option parsed: {(both.code_old == both.code_new).mean():.1%}")  # fmt: skip
    shift = (both.expected_new - both.expected_old).abs()
    print(f"expected position (1..4): mean |change| {shift.mean():.4f}, max {shift.max():.4f}")


def summaries(old: str, new: str, humans: str | None) -> None:
    """Profile and alignment of both runs on the contexts both hold."""
    form = load_instrument()
    tables = [load_source(src, form, "llm", "probs")[0] for src in (old, new)]
    contexts = [set(t[AXES].itertuples(index=False, name=None)) for t in tables]
    common = contexts[0] & contexts[1]
    tables = [t[[c in common for c in t[AXES].itertuples(index=False, name=None)]]
              for t in tables]  # fmt: skip
    cells = [value_profile(t, form).cells for t in tables]
    diff = (cells[1] - cells[0].loc[cells[1].index]).abs().to_numpy()
    print(f"profile (0..1), {len(common)} contexts: mean |change| per cell "
          f"{np.nanmean(diff):.4f}, max {np.nanmax(diff):.4f}")  # fmt: skip
    if not humans:
        return
    people, _ = load_source(humans, form, "humans")
    rows = [align(people, t, form).overall() for t in tables]
    for key in ("f1", "accuracy", "precision", "recall", "kappa", "distance", "n_contexts"):
        a, b = rows[0].get(key), rows[1].get(key)
        if a is not None and b is not None:
            print(f"alignment {key:>10}: old {a:.4f}  new {b:.4f}  change {b - a:+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--humans", default=None, help="the released data folder")
    args = parser.parse_args()
    per_answer(args.old, args.new)
    summaries(args.old, args.new, args.humans)


if __name__ == "__main__":
    main()
