"""Scoring a model by its option probabilities (``--score probs``) instead of its answers."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass import answers as ans
from valuecompass.answers import normalise
from valuecompass.api import align_sources
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.runner import RunConfig, run_model
from valuecompass.sources import SourceError, load_source, score_by_probs

GRID = {"countries": ["India", "France"], "scenarios": ["healthcare"], "progress": False}


def _table(rows: list[dict[str, object]]) -> pd.DataFrame:
    table = ans.frame(
        ({"source": "m", "country": "india", "scenario": "healthcare", **r} for r in rows),
        ["country", "scenario"],
    )
    table["expected"] = [r.get("expected") for r in rows]
    return table


POSITIONS = {"1": 1.0, "2": 2.0, "3": 3.0, "4": 4.0}


def test_positions_become_expected_positions_and_missing_is_explained() -> None:
    table = _table([
        {"value": "wealth", "position": 1.0, "code": "1", "expected": 1.75},
        {"value": "humble", "position": np.nan, "missing": "unrecognised", "expected": 3.2},
        {"value": "devout", "position": 2.0, "code": "2", "expected": None},
        {"value": "honest", "position": np.nan, "missing": "irrelevant", "expected": None},
    ])  # fmt: skip
    table["probs"] = ['{"1": 0.5, "2": 0.25, "3": 0.25, "9": 0.5}', None, None, None]
    scored = score_by_probs(table, "m", POSITIONS)
    assert scored["position"].tolist()[:2] == [1.75, 3.2]
    assert scored["position"].iloc[2:].isna().all()
    # An unreadable answer with probabilities is scored; an answer without them is missing,
    # keeping the reason it already had.
    assert scored["missing"].tolist() == ["", "", "no_probs", "irrelevant"]
    # The distribution over positions, renormalised over the scale's options ("9" is none).
    assert scored["probs"].iloc[0] == {1.0: 0.5, 2.0: 0.25, 3.0: 0.25}
    assert table["position"].iloc[0] == 1.0  # the input is left as it was


def test_a_source_without_probabilities_is_refused_by_name() -> None:
    table = _table([{"value": "wealth", "position": 1.0, "expected": None}])
    with pytest.raises(SourceError, match=r"^here\.csv: no option probabilities"):
        score_by_probs(table, "here.csv", POSITIONS)
    with pytest.raises(SourceError, match="no option probabilities"):
        score_by_probs(table.drop(columns="expected"), "x", POSITIONS)


@pytest.fixture(scope="module")
def item_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("scoring") / "item.db"
    run_model(RunConfig(model="mock", db=str(db), run="item", variants=[0, 2], **GRID))
    return db


def _stored_expectations(db: Path) -> dict[tuple[str, str, int], float]:
    """Expected positions recomputed from the stored option probabilities and the positions
    the instrument's scale gives the options (SVS variants agree, PVQ variants are portraits)."""
    form = load_instrument()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select value, country, variant, probs from answers").fetchall()
    out = {}
    for value, country, variant, probs in rows:
        scale = form.scale("portrait" if variant in (2, 3, 6, 7) else "agreement")
        positions = dict(zip(scale.codes, scale.positions, strict=True))
        dist = {c: p for c, p in json.loads(probs).items() if c in positions}
        mass = sum(dist.values())
        out[(value, country, variant)] = sum(p * positions[c] for c, p in dist.items()) / mass
    return out


def test_store_scored_by_probs_matches_a_hand_computation(item_store: Path) -> None:
    form = load_instrument()
    table, report = load_source(f"{item_store}#item", form, "llm", score="probs")
    expected = _stored_expectations(item_store)
    assert len(table) == len(expected) == 2 * 2 * 56
    got = {(r.value, r.country, r.variant): r.position for r in table.itertuples()}
    assert got == pytest.approx(expected)
    # Each answer's distribution over positions has the expected position as its mean.
    means = [sum(p * x for x, p in d.items()) for d in table["probs"]]
    assert means == pytest.approx(table["position"].tolist())
    assert report.scoring == "probs" and not report.missing
    assert "scored by option probabilities" in report.summary()
    # The mock peaks its distribution on the option it answered, so the expected position
    # is pulled from the answer towards the middle of the scale, never past it.
    answered, _ = load_source(f"{item_store}#item", form, "llm")
    middle = 2.5  # of the 1..4 axis
    assert ((table["position"] - answered["position"]).abs() > 0).all()
    assert ((table["position"] - middle).abs() <= (answered["position"] - middle).abs()).all()


def test_exported_csv_keeps_probabilities(item_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "item.csv"
    cli = CliRunner().invoke(main, ["runs", "export", "item", "--db", str(item_store),
                                    "--out", str(out)])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    form = load_instrument()
    from_csv, _ = load_source(out, form, "llm", score="probs")
    from_store, _ = load_source(item_store, form, "llm", score="probs")
    assert from_csv["position"].to_numpy() == pytest.approx(from_store["position"].to_numpy())


def test_cli_align_and_profile_score_by_probs(item_store: Path, released: Path) -> None:
    cli = CliRunner()
    src = f"{item_store}#item"
    by_answer = cli.invoke(main, ["align", "--humans", str(released), "--llm", src,
                                  "--format", "json"])  # fmt: skip
    by_probs = cli.invoke(main, ["align", "--humans", str(released), "--llm", src,
                                 "--format", "json", "--score", "probs"])  # fmt: skip
    assert by_answer.exit_code == by_probs.exit_code == 0, by_probs.output
    answer = json.loads(by_answer.stdout)["overall"]
    probs = json.loads(by_probs.stdout)["overall"]
    assert answer["n_contexts"] == probs["n_contexts"] == 2
    assert probs["distance"] != pytest.approx(answer["distance"])
    # The distance by hand: people's and the model's cell means, normalised, Manhattan / 56.
    form = load_instrument()
    people, _ = load_source(released, form, "humans")
    model, _ = load_source(src, form, "llm", score="probs")
    gaps = []
    for country in ("india", "france"):
        h = people[(people.country == country) & (people.scenario == "healthcare")]
        m = model[(model.country == country) & (model.scenario == "healthcare")]
        hv = h.groupby("value")["position"].mean().reindex(form.item_ids).to_numpy()
        mv = m.groupby("value")["position"].mean().reindex(form.item_ids).to_numpy()
        gaps.append(np.nanmean(np.abs(normalise(hv) - normalise(mv))))
    assert probs["distance"] == pytest.approx(np.mean(gaps))

    shown = cli.invoke(main, ["profile", "--llm", src, "--score", "probs"])
    assert shown.exit_code == 0 and "scored by option probabilities" in shown.output


def test_score_probs_on_a_run_without_them_fails_cleanly(tmp_path: Path, released: Path) -> None:
    db = tmp_path / "form.db"
    run_model(RunConfig(model="mock", db=str(db), mode="all", **GRID))
    for args in (["profile", "--llm", str(db), "--score", "probs"],
                 ["rigor", "irrelevant", "--humans", str(released), "--llm", str(db),
                  "--score", "probs"]):  # fmt: skip
        bad = CliRunner().invoke(main, args)
        assert bad.exit_code == 2 and "no option probabilities" in bad.output, bad.output


def test_report_records_the_scoring(item_store: Path, released: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    cli = CliRunner().invoke(main, ["report", "--humans", str(released), "--llm",
                                    f"mock={item_store}#item", "--out", str(out),
                                    "--score", "probs", "--jobs", "1"])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    with (tmp_path / "r_files" / "sources.csv").open() as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert rows["mock"]["scored_by"] == "option probabilities"
    assert rows["people"]["scored_by"] == "answers"
    assert "--score probs" in out.read_text()


def test_distribution_distances_use_the_token_distributions(
    item_store: Path, released: Path
) -> None:
    from scipy.stats import wasserstein_distance

    from valuecompass.stats import distribution_distances

    form = load_instrument()
    result = align_sources(released, f"{item_store}#item", form, score="probs")
    assert result.human_answers is not None and result.model_answers is not None
    dist = distribution_distances(result.alignment, result.human_answers, result.model_answers)
    cell = dist.cells.set_index(["country", "scenario", "value"]).loc[
        ("india", "healthcare", "wealth")
    ]
    people = result.human_answers
    people = people[(people.country == "india") & (people.scenario == "healthcare")
                    & (people.value == "wealth") & people.position.notna()]  # fmt: skip
    model = result.model_answers
    model = model[(model.country == "india") & (model.scenario == "healthcare")
                  & (model.value == "wealth")]  # fmt: skip
    mass: dict[float, float] = {}
    for d in model["probs"]:
        for x, p in d.items():
            mass[x] = mass.get(x, 0.0) + p / len(model)
    by_scipy = wasserstein_distance(
        people["position"], list(mass), v_weights=list(mass.values())
    ) / 3  # fmt: skip
    assert cell["wasserstein"] == pytest.approx(by_scipy)


def test_openai_logprobs_become_option_probabilities(tmp_path: Path) -> None:
    from valuecompass.testing import serve_stub
    from valuecompass.testing.openai_stub import TOP_PROBS

    db = str(tmp_path / "api.db")
    cli = CliRunner()
    args = ["run", "--model", "openai:stub", "--countries", "India", "--topics", "education",
            "--variants", "0", "--values", "wealth,humble,honest", "--db", db]  # fmt: skip
    with serve_stub() as stub:
        plain = cli.invoke(main, [*args, "--base-url", stub.base_url, "--run", "plain"])
        asked = cli.invoke(main, [*args, "--base-url", stub.base_url, "--run", "lp", "--logprobs"])
    assert plain.exit_code == asked.exit_code == 0, asked.output
    assert "3 asked" in asked.output  # not served from the plain run's cache
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select a.code, a.probs, a.option_mass, a.expected from answers a"
            " join runs r on r.id = a.run_id where r.name = 'lp'"
        ).fetchall()
    assert len(rows) == 3
    options = TOP_PROBS["answer"] + 3 * TOP_PROBS["other"]
    for code, probs, mass, expected in rows:
        dist = json.loads(probs)
        assert dist[code] == pytest.approx(TOP_PROBS["answer"] / options)
        assert sum(dist.values()) == pytest.approx(1.0) and set(dist) == {"1", "2", "3", "4"}
        assert mass == pytest.approx(options)  # the non-option token "I" took the rest
        assert expected == pytest.approx(sum(int(c) * p for c, p in dist.items()))
    shown = cli.invoke(main, ["profile", "--llm", f"{db}#lp", "--score", "probs"])
    assert shown.exit_code == 0 and "3/3 answers scored" in shown.output
    refused = cli.invoke(main, ["profile", "--llm", f"{db}#plain", "--score", "probs"])
    assert refused.exit_code == 2 and "no option probabilities" in refused.output
    wrong = cli.invoke(main, ["run", "--model", "mock", "--logprobs", "--db", db])
    assert wrong.exit_code == 2 and "mock backend has no option 'logprobs'" in wrong.output
