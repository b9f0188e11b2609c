"""Every command on the instrument the answers were given on (issue 22, defects 2, 3, 4, 8, 9),
shown on the test-only ward instrument (tests/data/ward_instrument.yaml: axes persona and
domain, no country; people agree at 5 of 1..5 with a neutral 3 and two missing codes, the
model at A of A..E, so the two scales run opposite ways) and, for the survey, the odd one.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from valuecompass import answers as ans
from valuecompass.cli import main
from valuecompass.instrument import context_columns, load_instrument
from valuecompass.metrics import align
from valuecompass.stats import permutation_test

DATA = Path(__file__).parent / "data"
WARD_FILE = DATA / "ward_instrument.yaml"
WARD_PROMPTS = DATA / "ward_prompts.yaml"
WARD = load_instrument(WARD_FILE)
ITEMS = WARD.item_ids


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _ok(*args: str) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


# --- defect 2: people's and the model's scales running opposite ways ---------------------------


def _one_context(people: list[float], model: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One context (student, housing): each person answers every item at PEOPLE[r], each
    prompt variant at MODEL[v] (raw positions on each side's own scale)."""
    where = {"persona": "student", "domain": "housing"}
    cols = context_columns(WARD)
    h = [{**where, "source": "humans", "value": item, "respondent": f"p{r}", "position": x}
         for item in ITEMS for r, x in enumerate(people)]  # fmt: skip
    m = [{**where, "source": "m", "value": item, "variant": v, "position": x}
         for item in ITEMS for v, x in enumerate(model)]  # fmt: skip
    return ans.frame(h, cols), ans.frame(m, cols)


def test_the_permutation_test_pools_positions_normalised_on_each_sides_scale() -> None:
    # Two people answer 5 (their agree end: 0) and two prompts E (the model's other end: 1).
    # Raw, every answer is a 5; normalised, the units are 0, 0, 1, 1 and the distance is 1.
    # Of the 6 ways to relabel two of the four units "people", 2 keep the distance at 1 and 4
    # give each side one 0 and one 1 (distance 0): the p-value is 1/3 (here estimated).
    h, m = _one_context([5.0, 5.0], [5.0, 5.0])
    alignment = align(h, m, WARD)
    table = permutation_test(
        alignment,
        ans.on_reference_scale(h, WARD, "humans"),
        ans.on_reference_scale(m, WARD, "llm"),
        permutations=6000,
        seed=3,
    )
    assert table["distance"].tolist() == [1.0] * len(ITEMS)
    # binomial error of 6000 draws at 1/3: sd 0.006
    np.testing.assert_allclose(table["p_value"], 1 / 3, atol=0.025)
    # the same answers on both ends that agree (5 and A = 1): distance 0, every relabelling
    # gives 0 as well, so p = 1 exactly
    h, m = _one_context([5.0, 5.0], [1.0, 1.0])
    same = permutation_test(align(h, m, WARD), h, m, permutations=50, seed=0)
    assert same["distance"].tolist() == [0.0] * len(ITEMS)
    assert same["p_value"].tolist() == [1.0] * len(ITEMS)


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A mock run of the ward instrument (item mode, its own 2-factor design: 4 contexts × 4
    variants × 4 items) in a store, and people's answers to it in a tidy CSV: three people per
    context, every position of 1..5 in turn."""
    root = tmp_path_factory.mktemp("ward")
    db = root / "s.db"
    _ok("run", "--instrument", WARD_FILE, "--prompts", WARD_PROMPTS, "--model", "mock",
        "--mode", "item", "--db", db, "--run", "w", "--no-progress")  # fmt: skip
    contexts = itertools.product(*(a.level_ids for a in WARD.context_axes), ITEMS)
    rows = [{"source": "humans", "persona": p, "domain": d, "value": v,
             "respondent": f"{p}-{d}-{r}", "position": 1 + (i + r) % 5}
            for i, (p, d, v) in enumerate(contexts) for r in range(3)]  # fmt: skip
    people = root / "people.csv"
    pd.DataFrame(rows).to_csv(people, index=False)
    return {"db": db, "people": people, "root": root}


def _by_hand_distances(ward: dict[str, Path]) -> pd.Series:
    """Per item, the mean over contexts of |model mean - people mean|, each answer scored on
    its own scale: the model's (A=1 agrees) as (p - 1) / 4, people's (5 agrees) as (5 - p) / 4."""
    model = pd.read_csv(io.StringIO(_ok("runs", "export", "w", "--db", ward["db"])))
    people = pd.read_csv(ward["people"])
    keys = ["persona", "domain", "value"]
    m = model.assign(s=(model["position"] - 1) / 4).groupby(keys)["s"].mean()
    h = people.assign(s=(5 - people["position"]) / 4).groupby(keys)["s"].mean()
    return (m - h.reindex(m.index)).abs().groupby(level="value").mean()


def test_significance_and_the_report_take_scales_running_opposite_ways(
    ward: dict[str, Path],
) -> None:
    src = ["--humans", ward["people"], "--llm", f"{ward['db']}#w", "--instrument", WARD_FILE]
    got = json.loads(_ok("rigor", "significance", *src, "--permutations", "200",
                         "--format", "json"))  # fmt: skip
    expect = _by_hand_distances(ward)
    assert {r["value"]: r["distance"] for r in got["rows"]} == pytest.approx(
        expect.to_dict(), abs=1e-12
    )
    assert all(0 < r["p_value"] <= 1 for r in got["rows"])
    out = ward["root"] / "report.html"
    _ok("report", *src, "--jobs", "1", "--out", out)
    assert "Fairness" in out.read_text()
