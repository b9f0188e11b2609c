"""Analysis reads the instrument: scales drive the numbers, groupings come from one place.

Every bundled instrument goes through align and the bootstrap with no special case; the
test-only instruments here change only the scales.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass import answers as ans
from valuecompass import metrics as al
from valuecompass.answers import ScaleError, model_scale
from valuecompass.cli import main
from valuecompass.instrument import (
    Instrument,
    bundled_ids,
    context_columns,
    group_rule,
    group_rules,
    instrument_digest,
    load_instrument,
)
from valuecompass.metrics import align
from valuecompass.sources import IncomparableError, check_comparable, check_run, run_instrument
from valuecompass.stats import bootstrap, distribution_distances


@pytest.mark.parametrize("inst_id", bundled_ids())
def test_each_scale_ends_normalise_to_0_and_1(inst_id: str) -> None:
    inst = load_instrument(inst_id)
    for scale in inst.rating_scales:
        pos = np.array(scale.positions)
        got = al.normalise(pos, scale)
        agree_end = 0 if scale.agree == "first" else -1
        assert got[agree_end] == 0.0
        assert got[-1 - agree_end] == 1.0
        # the vectorised map is RatingScale's own, point for point
        np.testing.assert_array_equal(got, [scale.normalised[c] for c in scale.codes])


def _twins(inst: Instrument) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People (two a context) at their scale's ends, and a model at the same ends of its own
    scale: item i is disagreed with when i is odd, agreed with otherwise."""
    people, model = inst.people_scale, model_scale(inst)
    ends = {s.id: (al.scale_ends(s)) for s in (people, model)}
    columns = context_columns(inst)
    h_rows, m_rows = [], []
    for ctx in itertools.product(*(a.level_ids for a in inst.context_axes)):
        where = dict(zip(columns, ctx, strict=True))
        for i, item in enumerate(inst.item_ids):
            side = i % 2
            for r in range(2):
                h_rows.append({**where, "source": "humans", "value": item, "respondent": f"p{r}",
                               "position": ends[people.id][side]})  # fmt: skip
            m_rows.append({**where, "source": "m", "value": item, "variant": 0,
                           "position": ends[model.id][side]})  # fmt: skip
    return ans.frame(h_rows, columns), ans.frame(m_rows, columns)


@pytest.mark.parametrize("inst_id", bundled_ids())
def test_a_model_answering_like_the_people_scores_rate_1_distance_0(inst_id: str) -> None:
    inst = load_instrument(inst_id)
    h, m = _twins(inst)
    a = align(h, m, inst)
    overall = a.overall()
    assert overall["f1"] == 1.0 and overall["distance"] == 0.0
    n_contexts = int(np.prod([len(x.levels) for x in inst.context_axes]))
    assert overall["n_contexts"] == n_contexts
    for rule in group_rules(inst).values():
        table = a.by(rule.id)
        assert (table["distance"] == 0.0).all(), rule.id
        if rule.kind != "context":
            assert list(table[rule.column]) == list(rule.order), rule.id


@pytest.mark.parametrize("inst_id", bundled_ids())
def test_both_grouping_implementations_agree_on_every_grouping(inst_id: str) -> None:
    """compare.Alignment.by (pandas) and the bootstrap's point estimates (numpy) read the same
    rules: every grouping the instrument declares gives the same numbers both ways."""
    inst = load_instrument(inst_id)
    h, m = _twins(inst)
    rng = np.random.default_rng(5)
    h = h.assign(position=rng.choice(inst.people_scale.positions, len(h)))
    m = m.assign(position=rng.choice(model_scale(inst).positions, len(m)))
    a = align(h, m, inst)
    ids = list(group_rules(inst))
    boot = bootstrap(a, h, m, resamples=2, seed=0, groups=(*ids, "overall"), rank_groups=())
    for group in ids:
        ref, got = a.by(group), boot.table(group)
        for stat in (*al.METRICS, "distance"):
            np.testing.assert_allclose(got[stat], ref[stat].astype(float), equal_nan=True)


def test_a_scale_whose_agree_end_is_last() -> None:
    # Moral Foundations: 1..5, agree ("describes me") at 5. People at 4: (4 - 5) / (1 - 5) =
    # 0.25 (agree); the model at 2: (2 - 5) / (1 - 5) = 0.75 (disagree); distance 0.5.
    inst = load_instrument("moral_foundations")
    item = inst.item_ids[0]
    ctx = {"country": inst.axis("country").level_ids[0], "scenario": "healthcare"}
    h = ans.frame([{**ctx, "source": "humans", "value": item, "respondent": "a", "position": 4}],
                  list(ctx))  # fmt: skip
    m = ans.frame([{**ctx, "source": "m", "value": item, "variant": 0, "position": 2}], list(ctx))
    cells = align(h, m, inst).cells().dropna(subset=["human"])
    assert cells[["human", "model", "distance"]].iloc[0].tolist() == [0.25, 0.75, 0.5]
    assert cells[["human_label", "model_label"]].iloc[0].tolist() == [0.0, 1.0]


def _two_scale_form() -> Instrument:
    """The Value Form with its PVQ wording on a 7-point scale whose agree end is last."""
    data = load_instrument().to_data()
    for scale in data["scales"]:
        if scale["id"] == "portrait":
            scale["agree"] = "last"
            scale["points"] = [{"code": str(i), "label": f"p{i}"} for i in range(1, 8)]
    return Instrument.model_validate(data)


def test_each_answer_is_normalised_on_the_scale_it_was_given_on() -> None:
    inst = _two_scale_form()
    ctx = {"country": "united_states", "scenario": "healthcare"}
    h = ans.frame(
        (
            {**ctx, "source": "humans", "value": v, "respondent": "a", "position": p}
            for v, p in [("equality", 1.0), ("wealth", 4.0)]
        ),
        list(ctx),
    )
    rows = [("equality", "agreement", 1.0), ("equality", "portrait", 7.0),
            ("wealth", "agreement", 4.0), ("wealth", "portrait", 3.0)]  # fmt: skip
    m = ans.frame(({**ctx, "source": "m", "value": v, "variant": 0, "position": p}
                   for v, _, p in rows), list(ctx))  # fmt: skip
    m["scale"] = [s for _, s, _ in rows]
    a = align(h, m, inst)
    # equality: svs 1 → 0 and pvq 7 (agree end) → 0, mean 0; wealth: svs 4 → 1 and pvq 3 →
    # (3 - 7) / (1 - 7) = 2/3, mean 5/6. People: equality 0, wealth 1.
    assert a.model.loc[("united_states", "healthcare"), "equality"] == 0.0
    assert a.model.loc[("united_states", "healthcare"), "wealth"] == pytest.approx(5 / 6)
    assert a.overall()["distance"] == pytest.approx(1 / 12)  # (0 + 1/6) / 2
    with pytest.raises(ScaleError, match="must say which scale"):
        align(h, m.drop(columns="scale"), inst)


def test_distribution_support_comes_from_both_scales() -> None:
    # Value Form: people's 0, 1/3, 1/2, 2/3, 1 and the model's 0, 1/3, 2/3, 1. People all
    # neutral (1/2), the model all "agree" (1/3): Wasserstein 1/6 on a support of range 1.
    inst = load_instrument()
    ctx = {"country": "united_states", "scenario": "healthcare"}
    h = ans.frame([{**ctx, "source": "humans", "value": "equality", "respondent": "a",
                    "position": 2.5}], list(ctx))  # fmt: skip
    m = ans.frame([{**ctx, "source": "m", "value": "equality", "variant": 0, "position": 2.0}],
                  list(ctx))  # fmt: skip
    dist = distribution_distances(align(h, m, inst), h, m)
    cell = dist.cells.dropna(subset=["wasserstein"])
    assert cell["wasserstein"].tolist() == [pytest.approx(1 / 6)]


def test_group_rules_come_from_the_instrument() -> None:
    form = load_instrument()
    assert list(group_rules(form)) == [
        "context", "country", "scenario", "value",
        "type", "display_type", "higher_order", "authors_type",
    ]  # fmt: skip
    assert group_rule(form, "topic").id == "scenario"
    refined = load_instrument("schwartz_refined")
    # its items are grouped into values: "value" is that grouping, the items are "item"
    assert group_rule(refined, "value").kind == "items"
    assert group_rule(refined, "item").kind == "item"
    assert group_rule(load_instrument("moral_foundations"), "foundation").kind == "items"


def _csvs(tmp_path: Path) -> tuple[Path, Path]:
    h, m = _twins(load_instrument())
    rng = np.random.default_rng(2)
    m = m.assign(position=rng.choice([1.0, 2.0, 3.0, 4.0], len(m)))
    axes = context_columns(load_instrument())
    ans.write_csv(h, tmp_path / "people.csv", axes)
    ans.write_csv(m, tmp_path / "model.csv", axes)
    return tmp_path / "people.csv", tmp_path / "model.csv"


def test_align_by_any_grouping_the_instrument_declares(tmp_path: Path) -> None:
    people, model = _csvs(tmp_path)
    runner = CliRunner()
    base = ["align", "--humans", str(people), "--llm", str(model), "--format", "csv"]
    out = {}
    for by in ("higher_order", "scenario", "topic"):
        result = runner.invoke(main, [*base, "--by", by])
        assert result.exit_code == 0, result.output
        out[by] = result.stdout
    assert out["higher_order"].splitlines()[0].startswith("higher_order,f1,")
    assert len(out["higher_order"].splitlines()) == 1 + 4  # Schwartz's four higher-order values
    assert out["topic"] == out["scenario"]  # the deprecated alias
    assert out["scenario"].splitlines()[0].startswith("scenario,f1,")
    bad = runner.invoke(main, [*base, "--by", "colour"])
    assert bad.exit_code == 2
    assert "unknown grouping 'colour'" in bad.output and "higher_order" in bad.output


def test_profile_writes_json_shaped_as_align_and_csv(tmp_path: Path) -> None:
    _, model = _csvs(tmp_path)
    runner = CliRunner()
    base = ["profile", "--llm", str(model)]
    result = runner.invoke(main, [*base, "--format", "json", "--by", "higher_order"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"rows", "overall"}
    assert [r["higher_order"] for r in payload["rows"]] == list(
        group_rule(load_instrument(), "higher_order").order
    )
    table = pd.read_csv(model)
    # the overall score is the mean of the normalised cells: (position - 1) / 3 here
    cells = table.groupby(["country", "scenario", "value"])["position"].mean()
    assert payload["overall"]["score"] == pytest.approx(((cells - 1) / 3).mean())
    csv = runner.invoke(main, [*base, "--format", "csv", "--by", "topic"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0] == "scenario,score,n_cells"
    assert runner.invoke(main, [*base, "--by", "planet"]).exit_code == 2


def test_instrument_group_and_its_deprecated_form_alias() -> None:
    runner = CliRunner()
    new = runner.invoke(main, ["instrument", "list", "--format", "json"])
    old = runner.invoke(main, ["form", "list", "--format", "json"])
    assert new.exit_code == 0 and new.stdout == old.stdout
    assert [r["id"] for r in json.loads(new.stdout)] == bundled_ids()
    shown = runner.invoke(main, ["instrument", "show", "moral_foundations", "--format", "json"])
    assert json.loads(shown.stdout)["id"] == "moral_foundations"
    assert "Deprecated alias of 'instrument'" in runner.invoke(main, ["--help"]).stdout


def test_rigor_commands_take_any_grouping(tmp_path: Path) -> None:
    people, model = _csvs(tmp_path)
    runner = CliRunner()
    src = ["--humans", str(people), "--llm", str(model), "--format", "csv"]
    ceiling = ["rigor", "ceiling", *src, "--by", "higher_order", "--splits", "3"]
    result = runner.invoke(main, ceiling)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("higher_order,")
    assert len(result.stdout.splitlines()) == 1 + 4
    dist = runner.invoke(main, ["rigor", "distributions", *src, "--by", "scenario"])
    assert dist.exit_code == 0, dist.output
    assert dist.stdout.splitlines()[0].startswith("scenario,")
    bad = runner.invoke(main, ["rigor", "ceiling", *src, "--by", "planet"])
    assert bad.exit_code == 2 and "unknown grouping 'planet'" in bad.output


def test_a_run_made_with_other_items_or_scales_is_refused() -> None:
    form, mfq = load_instrument(), load_instrument("moral_foundations")
    # a manifest with only the digest: a bundled digest names its instrument
    assert run_instrument({"instrument": instrument_digest(mfq)}) == mfq
    assert run_instrument({"instrument": instrument_digest(form)}) == form
    assert run_instrument({"instrument": "sha256:unknown"}) is None
    assert run_instrument(None) is None
    # a manifest carrying the whole instrument (as JSON, or nested in params)
    assert run_instrument({"instrument_spec": json.dumps(mfq.to_data())}) == mfq
    assert run_instrument({"params": {"instrument": form.to_data()}}) == form
    check_run({"instrument": instrument_digest(form)}, form, "store#r")  # same: fine
    with pytest.raises(IncomparableError, match=r"store#r: the run used instrument 'moral_f"):
        check_run({"instrument": instrument_digest(mfq)}, form, "store#r")
    with pytest.raises(IncomparableError, match=r"scale for wording.*pvq"):
        check_comparable(_two_scale_form(), form, "store#r")


def test_align_refuses_a_stored_run_of_another_instrument(tmp_path: Path) -> None:
    """A real mock run in SQLite, whose manifest is then made to name Moral Foundations."""
    import sqlite3

    db = tmp_path / "r.db"
    runner = CliRunner()
    grid = ["--countries", "India", "--topics", "healthcare", "--values", "equality,wealth"]
    made = runner.invoke(main, ["run", "--model", "mock", "--db", str(db), "--run", "r", *grid,
                                "--no-progress"])  # fmt: skip
    assert made.exit_code == 0, made.output
    people, _ = _csvs(tmp_path)
    align_cmd = ["align", "--humans", str(people), "--llm", f"{db}#r", "--format", "json"]
    assert runner.invoke(main, align_cmd).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET instrument = ?",
            (instrument_digest(load_instrument("moral_foundations")),),
        )
    refused = runner.invoke(main, align_cmd)
    assert refused.exit_code == 2
    assert "the run used instrument 'moral_foundations'" in refused.output
    assert "their items differ" in refused.output


def test_tidy_csvs_of_another_instrument_keyed_by_its_axes(tmp_path: Path) -> None:
    """Moral Foundations (1..5, agree at 5; six foundations) from tidy CSVs whose contexts are
    keyed by the axis ids (``scenario``, not the older ``topic``), through align and profile."""
    inst = load_instrument("moral_foundations")
    h, m = _twins(inst)
    rng = np.random.default_rng(4)
    m = m.assign(position=rng.choice(model_scale(inst).positions, len(m)))
    for table, name in ((h, "people.csv"), (m, "model.csv")):
        table.to_csv(tmp_path / name, index=False)
    runner = CliRunner()
    src = ["--humans", str(tmp_path / "people.csv"), "--llm", str(tmp_path / "model.csv")]
    opts = ["--instrument", "moral_foundations", "--format", "json"]
    result = runner.invoke(main, ["align", *src, *opts, "--by", "foundation"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    ref = align(h, m, inst)
    assert [r["foundation"] for r in payload["rows"]] == list(group_rule(inst, "foundation").order)
    assert payload["overall"]["f1"] == pytest.approx(ref.overall()["f1"])
    assert payload["overall"]["distance"] == pytest.approx(ref.overall()["distance"])
    prof = runner.invoke(main, ["profile", "--llm", src[3], *opts, "--by", "scenario"])
    assert prof.exit_code == 0, prof.output
    assert len(json.loads(prof.stdout)["rows"]) == len(inst.axis("scenario").levels)
    # read as the Value Form, the file is refused, naming the line and the unknown item
    wrong = runner.invoke(main, ["align", *src, "--format", "json"])
    assert wrong.exit_code == 2 and "people.csv line 2, column 'value': unknown value" in (
        wrong.output
    )


def test_the_report_on_another_instrument(tmp_path: Path) -> None:
    """Moral Foundations (no Value Form view at all) through the whole report, from CSVs."""
    inst = load_instrument("moral_foundations")
    h, m = _twins(inst)
    rng = np.random.default_rng(6)
    h = h.assign(position=rng.choice(inst.people_scale.positions, len(h)))
    m = m.assign(position=rng.choice(model_scale(inst).positions, len(m)))
    h.to_csv(tmp_path / "people.csv", index=False)
    m.to_csv(tmp_path / "model.csv", index=False)
    out = tmp_path / "r.html"
    args = ["report", "--humans", str(tmp_path / "people.csv"), "--llm",
            f"m={tmp_path / 'model.csv'}", "--out", str(out), "--instrument",
            "moral_foundations", "--jobs", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    for level in inst.grouping("foundation").levels:
        assert level.name in html
    by_foundation = pd.read_csv(tmp_path / "r_files" / "f1-type.csv")
    assert list(by_foundation.columns[1:]) == list(group_rule(inst, "foundation").order)
    assert by_foundation.iloc[0, 1:].tolist() == pytest.approx(
        align(h, m, inst).by("foundation")["f1"].tolist()
    )


ODD = Path(__file__).parent / "data" / "odd_instrument_analysis.yaml"


def _odd_csvs(tmp_path: Path) -> tuple[Instrument, list[str]]:
    """Simulated people (three a context) and a model (two wordings) of the odd instrument, as
    tidy CSVs keyed by its three axes; returns the instrument and the sources' CLI options."""
    inst = load_instrument(ODD)
    rng = np.random.default_rng(9)
    axes = [a.id for a in inst.context_axes]
    h_rows, m_rows = [], []
    for ctx in itertools.product(*(a.level_ids for a in inst.context_axes)):
        where = dict(zip(axes, ctx, strict=True))
        for item in inst.item_ids:
            for r in range(3):
                h_rows.append({"source": "humans", **where, "value": item, "respondent": f"p{r}",
                               "position": int(rng.integers(1, 8))})  # fmt: skip
            for variant in range(2):
                m_rows.append({"source": "m", **where, "value": item, "variant": variant,
                               "position": int(rng.integers(1, 8))})  # fmt: skip
    pd.DataFrame(h_rows).to_csv(tmp_path / "people.csv", index=False)
    pd.DataFrame(m_rows).to_csv(tmp_path / "model.csv", index=False)
    src = ["--humans", str(tmp_path / "people.csv"), "--llm", str(tmp_path / "model.csv")]
    return inst, [*src, "--instrument", str(ODD)]


def test_an_odd_instrument_through_align_profile_and_rigor(tmp_path: Path) -> None:
    """Three axes, a 7-point scale with its agree end last, 9 items in 3 groups, two wordings:
    no special case for it anywhere, every grouping it declares works."""
    _, src = _odd_csvs(tmp_path)
    runner = CliRunner()
    people = pd.read_csv(tmp_path / "people.csv")
    model = pd.read_csv(tmp_path / "model.csv")
    axes = ["region", "setting", "audience"]
    # by hand: normalise (7 - p) / 6, mean per cell, then per region the mean of the cells'
    # distances (every context has every item, so no cell is missing)
    h = ((7 - people["position"]) / 6).groupby([people[a] for a in [*axes, "value"]]).mean()
    m = ((7 - model["position"]) / 6).groupby([model[a] for a in [*axes, "value"]]).mean()
    distance = (m - h).abs()
    for by in ("context", "region", "setting", "audience", "value", "cluster"):
        result = runner.invoke(main, ["align", *src, "--by", by, "--format", "json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["overall"]["n_contexts"] == 12
        assert payload["overall"]["distance"] == pytest.approx(distance.mean())
        if by == "region":
            expect = distance.groupby(level="region").mean()
            got = {r["region"]: r["distance"] for r in payload["rows"]}
            assert got == pytest.approx(expect.to_dict())
        if by == "cluster":
            # levels come in the order the items first list them (as the Value Form's types)
            assert [r["cluster"] for r in payload["rows"]] == ["alpha", "beta", "gamma"]
    # with no --by, align and rigor ceiling group by the instrument's first axis (region)
    plain = runner.invoke(main, ["align", *src, "--format", "json"])
    assert plain.exit_code == 0, plain.output
    assert sorted(r["region"] for r in json.loads(plain.stdout)["rows"]) == ["north", "south"]
    ceiling = runner.invoke(main, ["rigor", "ceiling", *src, "--splits", "3", "--format", "csv"])
    assert ceiling.exit_code == 0, ceiling.output
    assert ceiling.stdout.splitlines()[0].startswith("region,")
    prof = runner.invoke(main, ["profile", "--llm", src[3], *src[4:], "--by", "audience",
                                "--format", "json"])  # fmt: skip
    assert prof.exit_code == 0, prof.output
    assert [r["audience"] for r in json.loads(prof.stdout)["rows"]] == ["child", "adult", "elder"]
    for command in (["rigor", "ceiling", "--by", "cluster", "--splits", "3"],
                    ["rigor", "distributions", "--by", "setting"]):  # fmt: skip
        result = runner.invoke(main, [*command, *src, "--format", "csv"])
        assert result.exit_code == 0, result.output
        assert len(result.stdout.splitlines()) == 1 + (3 if "cluster" in command else 2)


def test_the_report_on_the_odd_instrument_covers_every_axis(tmp_path: Path) -> None:
    _, src = _odd_csvs(tmp_path)
    out = tmp_path / "r.html"
    args = ["report", "--humans", src[1], "--llm", f"m={src[3]}", "--out", str(out),
            "--instrument", str(ODD), "--jobs", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    files = tmp_path / "r_files"
    for axis in ("region", "setting", "audience"):  # heatmaps and rankings over every axis
        assert (files / f"heatmap-{axis}-m.svg").is_file()
        assert (files / f"ranking-{axis}-m.svg").is_file()
    f1 = pd.read_csv(files / "f1-region.csv").set_index("model")
    reference = CliRunner().invoke(main, ["align", *src, "--by", "region", "--format", "json"])
    expect = {r["region"]: r["f1"] for r in json.loads(reference.stdout)["rows"]}
    assert f1.loc["m", ["north", "south"]].tolist() == pytest.approx(
        [expect["north"], expect["south"]]
    )
    assert "Gamma" in out.read_text()  # the grouping's level names
