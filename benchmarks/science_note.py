"""The figures of issue 13 for the five released models, printed as tables.

    PYTHONPATH=src python benchmarks/science_note.py [DATA]

DATA is the released data folder (default ../shared/datasets/valuecompass-2025, else
/work/shared/...). For each model: F1, its chance level (the exact mean F1 with the model's
calls shuffled within each context), kappa (= the chance-corrected F1) and distance on raw and
on person-centred scores (the model centred over the values each respondent rated); its
agreement across the 8 prompt variants (ICC(2,1), ICC(3,k) over all typed values); its
internal consistency (alpha); the circle test of its answers (fit R, permutation p under the
types null and under the weaker items null, adjacent pairs of the 10 types); and its
steerability by country (swap contrast, 95% interval, p). Seeds are fixed (0), so the
figures repeat exactly.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from valuecompass import align_sources
from valuecompass.metrics import binarise
from valuecompass.stats import circle_structure, reliability, steerability, value_grouping

AXES = ["country", "scenario"]  # the Value Form's context columns

MODELS = (
    "deepseek-r1-distill-llama-70b",
    "openai_o3-mini",
    "gpt-4o-mini",
    "llama3-70b-8192",
    "gemma2-9b-it",
)


def _data() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    here = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"
    return here if here.is_dir() else Path("/work/shared/datasets/valuecompass-2025")


def model_rows(data: Path, model: str) -> tuple[dict[str, object], pd.DataFrame]:
    raw = align_sources(data, data / "llm_outputs" / model)
    centred = align_sources(data, data / "llm_outputs" / model, centre=True)
    groups, order = value_grouping(raw.alignment.instrument)
    assert raw.human_answers is not None and raw.model_answers is not None
    rel = reliability(raw.model_answers, groups, order, contexts=AXES).set_index("group").loc["all"]
    found = circle_structure(
        raw.model_answers, groups, order, contexts=AXES, permutations=2000, seed=0
    )
    weaker = circle_structure(
        raw.model_answers, groups, order, contexts=AXES, permutations=2000, seed=0, null="items"
    )
    a, c = replace(raw.alignment, chance=True).overall(), centred.alignment.overall()
    row = {
        "model": model, "f1": a["f1"], "f1_centred": c["f1"], "f1_chance": a["f1_chance"],
        "f1_chance_centred": c["f1_chance"], "kappa": a["kappa"], "kappa_centred": c["kappa"],
        "distance": a["distance"],
        "distance_centred": c["distance"], "alpha": rel["alpha"], "icc2_1": rel["icc2_1"],
        "icc3_k": rel["icc3_k"], "circle_R": found.fit, "circle_p": found.p_value,
        "circle_p_items": weaker.p_value, "adjacent": f"{found.adjacent}/{found.groups}",
    }  # fmt: skip
    steer = steerability(raw.alignment, raw.human_answers, raw.model_answers,
                         permutations=2000, resamples=1000, seed=0)  # fmt: skip
    steer.insert(0, "model", model)
    return row, steer


def main() -> None:
    data = _data()
    rows, steers = [], []
    for model in MODELS:
        row, steer = model_rows(data, model)
        rows.append(row)
        steers.append(steer)
    people = align_sources(data, data / "llm_outputs" / MODELS[0])
    assert people.human_answers is not None
    groups, order = value_grouping(people.alignment.instrument)
    found = circle_structure(
        people.human_answers, groups, order, contexts=AXES, permutations=2000, seed=0
    )
    weaker = circle_structure(
        people.human_answers, groups, order, contexts=AXES, permutations=2000, seed=0, null="items"
    )
    rel = (
        reliability(people.human_answers, groups, order, contexts=AXES)
        .set_index("group")
        .loc["all"]
    )
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    centred = align_sources(data, data / "llm_outputs" / MODELS[0], centre=True)
    shares = [np.nanmean(binarise(r.alignment.human.to_numpy())) for r in (people, centred)]
    print(f"\npeople's disagree share: {shares[0]:.3f} raw, {shares[1]:.3f} centred")
    print(f"\npeople: alpha {rel['alpha']:.3f}, circle R {found.fit:.3f} "
          f"(p {found.p_value:.4f}; items null {weaker.p_value:.4f}), "
          f"adjacent {found.adjacent}/{found.groups}")  # fmt: skip
    table = pd.concat(steers, ignore_index=True)
    table["steer"] = [f"{s:+.4f} [{lo:+.4f}, {hi:+.4f}] p={p:.3f}" for s, lo, hi, p in
                      zip(table["steer"], table["steer_low"], table["steer_high"],
                          table["p_value"], strict=True)]  # fmt: skip
    print("\nsteerability by country (swap contrast, 95% interval, one-sided permutation p):")
    print(table.pivot(index="country", columns="model", values="steer").to_string())


if __name__ == "__main__":
    main()
