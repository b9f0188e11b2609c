"""The tidy answer table keys contexts by the instrument's axes, and every analysis groups by
all of them: the odd three-axis test instrument (region × setting × audience) through the
planner, sensitivity, irrelevance, reliability, steerability and distributions, with numbers
worked by hand that would come out otherwise if the third axis were merged into the others."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from click.testing import CliRunner

from valuecompass import answers as ans
from valuecompass.answers import read_tidy
from valuecompass.cli import main
from valuecompass.instrument import Instrument, context_columns, load_instrument
from valuecompass.metrics import align
from valuecompass.stats import (
    distribution_distances,
    factor_table,
    irrelevant_rates,
    make_pilot,
    reliability,
    simulate,
    steerability,
    value_grouping,
    variance_shares,
)
from valuecompass.stats._sensitivity import label_flips

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd_instrument_analysis.yaml"  # region (2) × setting (2) × audience (3), 1..7
ODD_RUN = DATA / "odd_instrument.yaml"  # region × setting × tone, for runs
AXES = ["region", "setting", "audience"]
Position = Callable[[dict[str, str], str, int], float | None]


@pytest.fixture(scope="module")
def odd() -> Instrument:
    return load_instrument(ODD)


def _people(inst: Instrument, position: Position, n: int = 3) -> pd.DataFrame:
    """N respondents (p0 ..) in every context, answering POSITION(context, item, respondent)."""
    rows = []
    for ctx in itertools.product(*(a.level_ids for a in inst.context_axes)):
        where = dict(zip(AXES, ctx, strict=True))
        for item in inst.item_ids:
            for r in range(n):
                p = position(where, item, r)
                why = "" if p is not None else "irrelevant"
                rows.append({"source": "humans", **where, "value": item, "respondent": f"p{r}",
                             "position": p, "missing": why})  # fmt: skip
    return ans.frame(rows, context_columns(inst))


def _model(inst: Instrument, position: Position, variants: int = 1) -> pd.DataFrame:
    """One answer per context, item and variant: POSITION(context, item, variant)."""
    rows = []
    for ctx in itertools.product(*(a.level_ids for a in inst.context_axes)):
        where = dict(zip(AXES, ctx, strict=True))
        for item in inst.item_ids:
            for v in range(variants):
                rows.append({"source": "m", **where, "value": item, "variant": v,
                             "position": position(where, item, v)})  # fmt: skip
    return ans.frame(rows, context_columns(inst))


# On the odd scale (1..7, agree at 7) a position p scores (7 - p) / 6: 1 → 1, 4 → 0.5, 7 → 0.
BY_AUDIENCE = {"child": 1.0, "adult": 7.0, "elder": 4.0}


def test_context_columns_are_the_axis_ids(odd: Instrument) -> None:
    assert context_columns(odd) == AXES
    assert context_columns(load_instrument()) == ["country", "scenario"]
    assert list(ans.columns(AXES))[:5] == ["source", *AXES, "value"]
    assert "topic" not in ans.columns(context_columns(load_instrument()))


def test_the_planner_draws_people_within_each_three_axis_context(odd: Instrument) -> None:
    # Everyone in a context answers alike, by audience: child 1, adult 7, elder 4 (scores 1,
    # 0, 1/2). Any draw of people then gives exactly those cell means, so every simulated
    # study has the real distance. The model answers 4 (score 1/2) everywhere: cell distances
    # 1/2, 1/2 and 0 by audience, overall (4 + 4 + 0) × 9 items / 108 cells = 1/3. Merging
    # the audiences would pool 9 respondents a context and give |mean - 1/2| = 0.
    h = _people(odd, lambda c, i, r: BY_AUDIENCE[c["audience"]])
    m = _model(odd, lambda c, i, v: 4.0)
    a = align(h, m, odd)
    pilot = make_pilot(a, h, m)
    assert pilot.people.shape == (12, 3, 9)
    assert (pilot.n_people == 3).all()
    assert a.overall()["distance"] == pytest.approx(1 / 3)
    stats = simulate([pilot], people=5, samples=1, reps=20, seed=1)[0]
    np.testing.assert_allclose(stats["distance"], 1 / 3)


def test_sensitivity_keys_cells_by_every_axis(odd: Instrument) -> None:
    # Variant 1 answers one point higher than variant 0 in every cell (style b vs a), on a
    # base that moves with the audience: child 4 → 5, adult 6 → 7, elder 1 → 2. Within a cell
    # (region × setting × audience × item) the whole spread is the style: scores differ by
    # 1/6, total SS = 2 (1/12)² = style SS, so the style's share is exactly 1 and other 0.
    # Cells merged over the audience would put most of the spread in "other".
    base = {"child": 4.0, "adult": 6.0, "elder": 1.0}
    m = _model(odd, lambda c, i, v: base[c["audience"]] + v, variants=2)
    h = _people(odd, lambda c, i, r: 4.0)
    factors = factor_table({0: {"style": "a"}, 1: {"style": "b"}})
    shares = variance_shares(m, factors, None, odd).set_index("factor")["share"]
    assert shares["style"] == pytest.approx(1.0)
    assert shares["other"] == pytest.approx(0.0, abs=1e-12)
    # Labels (disagree where the score >= 1/2, i.e. p <= 4): child 4 | 5 flips, adult 6 | 7 and
    # elder 1 | 2 do not: a third of the 12 contexts flip, for every item.
    flips = label_flips(align(h, m, odd), m, factors).set_index("value")
    assert flips["flip_rate"].tolist() == pytest.approx([1 / 3] * 9)
    assert flips["n_contexts"].tolist() == [12] * 9


def test_irrelevance_rates_per_three_axis_cell(odd: Instrument) -> None:
    # p0 calls a1 irrelevant in the child contexts only: a1's rate is 1/3 in each of the 4
    # child cells and 0 elsewhere (12 cells × 9 items = 108 rows).
    h = _people(odd, lambda c, i, r: None if (c["audience"], i, r) == ("child", "a1", 0) else 3.0)
    rates = irrelevant_rates(h, (*context_columns(odd), "value"))
    assert len(rates) == 108
    key = rates.set_index([*AXES, "value"])["rate"]
    assert key[("north", "home", "child", "a1")] == pytest.approx(1 / 3)
    assert key[("north", "home", "adult", "a1")] == 0.0
    assert rates["irrelevant"].sum() == 4


def test_irrelevant_cli_by_context_on_three_axes(odd: Instrument, tmp_path: Path) -> None:
    h = _people(odd, lambda c, i, r: None if (c["audience"], r) == ("child", 0) else 3.0)
    m = _model(odd, lambda c, i, v: 2.0)
    axes = context_columns(odd)
    ans.write_csv(h, tmp_path / "h.csv", axes)
    ans.write_csv(m, tmp_path / "m.csv", axes)
    args = ["rigor", "irrelevant", "--humans", str(tmp_path / "h.csv"), "--llm",
            str(tmp_path / "m.csv"), "--instrument", str(ODD), "--by", "context",
            "--format", "csv"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:3]) == AXES and len(table) == 12
    # a child context: p0's 9 answers of the 27 are "irrelevant"
    child = table[table["audience"] == "child"]["people_rate"]
    assert child.tolist() == pytest.approx([9 / 27] * 4)
    assert (table[table["audience"] != "child"]["people_rate"] == 0).all()


def test_reliability_units_are_three_axis_contexts(odd: Instrument) -> None:
    rng = np.random.default_rng(3)
    h = _people(odd, lambda c, i, r: float(rng.integers(1, 8)))
    m = _model(odd, lambda c, i, v: float(rng.integers(1, 8)), variants=2)
    groups, order = value_grouping(odd, "cluster")
    axes = context_columns(odd)
    people = reliability(h, groups, order, contexts=axes).set_index("group")
    model = reliability(m, groups, order, contexts=axes).set_index("group")
    # units: 12 contexts × 3 respondents, 12 contexts × 2 variants (merged audiences: 12, 8)
    assert people.loc["all", "n_units"] == 36 and model.loc["all", "n_units"] == 24
    assert model.loc["all", "n_cells"] == 12 * 9  # cells × 2 variants as raters
    # alpha against pingouin on the same units, built by hand
    wide = h.pivot_table(index=[*AXES, "respondent"], columns="value", values="position")
    expect = pg.cronbach_alpha(wide[list(odd.item_ids)])[0]
    assert people.loc["all", "alpha"] == pytest.approx(expect)


def test_steerability_holds_both_other_axes_fixed(odd: Instrument) -> None:
    # People's scores by audience: adult north 1, south 0; child north 0, south 1; elder 1/2
    # both. The model told a region answers exactly as that region's people. In each block
    # (setting × audience), D[a, a] = 0 and D[a, b] = |north - south| = g, so S = g: 1, 1 and
    # 0 by audience; the mean over the 6 blocks is 2/3 for either region. With the audiences
    # merged, both regions' people average 1/2, and S would be 0.
    score = {("adult", "north"): 1.0, ("adult", "south"): 0.0, ("child", "north"): 0.0,
             ("child", "south"): 1.0, ("elder", "north"): 0.5, ("elder", "south"): 0.5}  # fmt: skip

    def at(c: dict[str, str]) -> float:
        return 7.0 - 6.0 * score[(c["audience"], c["region"])]

    h = _people(odd, lambda c, i, r: at(c), n=2)
    m = _model(odd, lambda c, i, v: at(c))
    table = steerability(align(h, m, odd), h, m, axis="region", permutations=20, resamples=20)
    steer = table.set_index("region")["steer"]
    assert steer.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3])  # north, south, overall
    by_setting = steerability(align(h, m, odd), h, m, axis="setting", permutations=5,
                              resamples=5)  # fmt: skip
    # the model's answer does not depend on the setting: exactly 0
    assert by_setting["steer"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="context axis"):
        steerability(align(h, m, odd), h, m, axis="cluster")


def test_distributions_by_context_over_three_axes(odd: Instrument) -> None:
    # People answer 1 (score 1) everywhere; the model answers 1 too, except 7 (score 0) in the
    # child contexts: Wasserstein 1 there (on the normalised support) and 0 elsewhere.
    h = _people(odd, lambda c, i, r: 1.0)
    m = _model(odd, lambda c, i, v: 7.0 if c["audience"] == "child" else 1.0)
    dist = distribution_distances(align(h, m, odd), h, m)
    assert len(dist.cells) == 12 * 9
    by_context = dist.by("context")
    assert list(by_context.columns[:3]) == AXES and len(by_context) == 12
    child = by_context["audience"] == "child"
    assert by_context.loc[child, "wasserstein"].tolist() == pytest.approx([1.0] * 4)
    assert by_context.loc[~child, "wasserstein"].tolist() == pytest.approx([0.0] * 8)
    by_region = dist.by("region").set_index("region")["wasserstein"]
    assert by_region.tolist() == pytest.approx([1 / 3, 1 / 3])


def _header(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def test_runs_export_header_is_source_then_the_axes(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "s.db")
    grid = ["--countries", "India", "--scenarios", "healthcare", "--values", "equality",
            "--variants", "0", "--no-progress"]  # fmt: skip
    assert runner.invoke(main, ["run", "--model", "mock", "--db", db, "--run", "vf", *grid])
    odd = ["run", "--model", "mock", "--db", db, "--run", "odd", "--instrument", str(ODD_RUN),
           "--prompts", str(DATA / "odd_prompts.yaml"), "--mode", "item", "--variants", "0",
           "--where", "tone=casual", "--no-progress"]  # fmt: skip
    made = runner.invoke(main, odd)
    assert made.exit_code == 0, made.output
    for run, start in (("vf", "source,country,scenario,value,"),
                       ("odd", "source,region,setting,tone,value,")):  # fmt: skip
        out = tmp_path / f"{run}.csv"
        result = runner.invoke(main, ["runs", "export", run, "--db", db, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert _header(out).startswith(start), _header(out)
        assert "topic" not in _header(out).split(",")


def test_an_old_csv_with_topic_still_reads_with_a_note(tmp_path: Path) -> None:
    form = load_instrument()
    old = tmp_path / "old.csv"
    old.write_text(
        "source,country,topic,value,respondent,variant,sample,raw,code,position,missing\n"
        "m,india,healthcare,equality,,0,0,1,1,1,\n"
        "m,india,Healthcare,wealth,,0,0,4,4,4,\n"
    )
    table, report = read_tidy(old, form)
    assert list(table.columns[:4]) == ["source", "country", "scenario", "value"]
    assert "topic" not in table.columns
    assert table["scenario"].tolist() == ["healthcare", "healthcare"]
    assert any("'topic' as the 'scenario' axis" in n for n in report.notes)
    assert "deprecated" in report.summary()
    # and through the command line, the note on standard error (people's file on their scale)
    people = tmp_path / "people.csv"
    people.write_text(
        "source,country,topic,value,respondent,variant,sample,raw,code,position,missing\n"
        "humans,india,healthcare,equality,p1,,0,,,2,\n"
        "humans,india,healthcare,wealth,p1,,0,,,4,\n"
    )
    args = ["align", "--humans", str(people), "--llm", str(old), "--format", "csv"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "deprecated" in result.stderr


def test_write_csv_writes_the_axis_columns(odd: Instrument, tmp_path: Path) -> None:
    h = _people(odd, lambda c, i, r: 2.0, n=1)
    ans.write_csv(h, tmp_path / "h.csv", context_columns(odd))
    assert _header(tmp_path / "h.csv") == (
        "source,region,setting,audience,value,respondent,variant,sample,raw,code,position,missing"
    )
    back, _ = read_tidy(tmp_path / "h.csv", odd)
    pd.testing.assert_frame_equal(back[h.columns], h, check_dtype=False)


def test_science_commands_take_any_grouping_and_axis(odd: Instrument, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    h = _people(odd, lambda c, i, r: float(rng.integers(1, 8)))
    m = _model(odd, lambda c, i, v: float(rng.integers(1, 8)), variants=2)
    axes = context_columns(odd)
    ans.write_csv(h, tmp_path / "h.csv", axes)
    ans.write_csv(m, tmp_path / "m.csv", axes)
    src = ["--humans", str(tmp_path / "h.csv"), "--llm", str(tmp_path / "m.csv"),
           "--instrument", str(ODD), "--format", "csv"]  # fmt: skip
    runner = CliRunner()
    rel = runner.invoke(main, ["rigor", "reliability", *src, "--by", "cluster"])
    assert rel.exit_code == 0, rel.output
    table = pd.read_csv(io.StringIO(rel.stdout))
    # the odd grouping's three clusters (circular order as listed) and "all", for both sides
    assert table["group"].tolist() == ["gamma", "alpha", "beta", "all"] * 2
    people = table[table["source"] == "people"].set_index("group")
    expect = reliability(h, *value_grouping(odd, "cluster"), contexts=axes).set_index("group")
    assert people["alpha"].tolist() == pytest.approx(expect["alpha"].tolist())
    steer = runner.invoke(main, ["rigor", "steer", *src, "--by", "audience",
                                 "--permutations", "5", "--resamples", "5"])  # fmt: skip
    assert steer.exit_code == 0, steer.output
    assert pd.read_csv(io.StringIO(steer.stdout))["audience"].tolist() == [
        "child", "adult", "elder", "overall",
    ]  # fmt: skip
    bad = runner.invoke(main, ["rigor", "steer", *src, "--by", "cluster"])
    assert bad.exit_code == 2 and "context axis" in bad.output
