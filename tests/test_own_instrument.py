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
from sqlalchemy import Engine

import _survey_support as support
from _survey_support import Walker, client
from valuecompass import answers as ans
from valuecompass.cli import main
from valuecompass.instrument import context_columns, load_instrument
from valuecompass.metrics import align
from valuecompass.stats import permutation_test
from valuecompass.survey import load_content

DATA = Path(__file__).parent / "data"
WARD_FILE = DATA / "ward_instrument.yaml"
WARD_PROMPTS = DATA / "ward_prompts.yaml"
WARD = load_instrument(WARD_FILE)
ITEMS = WARD.item_ids
ODD_FILE = DATA / "odd_instrument.yaml"
ODD = load_instrument(ODD_FILE)

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


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


# --- defect 3: a run read with an instrument whose items or scales differ ---------------------


def _ward_copy(root: Path, name: str, edit: dict[str, str]) -> Path:
    """The ward instrument's file with each OLD text of EDIT replaced by its new one."""
    text = WARD_FILE.read_text()
    for old, new in edit.items():
        assert old in text, old
        text = text.replace(old, new)
    path = root / name
    path.write_text(text)
    return path


def test_a_run_read_with_a_changed_scale_is_refused_and_a_reworded_copy_is_not(
    ward: dict[str, Path],
) -> None:
    from valuecompass.sources import IncomparableError, load_source

    run = f"{ward['db']}#w"
    flipped = _ward_copy(ward["root"], "flipped.yaml", {"agree: first": "agree: last"})
    refused = _invoke("align", "--humans", ward["people"], "--llm", run,
                      "--instrument", flipped)  # fmt: skip
    assert refused.exit_code == 2, refused.output
    line = refused.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {run}: the run used another version")
    assert "'plain'" in line and "'letters'" in line and "agree first" in line, line
    assert "agree last" in line, line
    with pytest.raises(IncomparableError, match="agree first"):
        load_source(run, load_instrument(flipped), "llm")
    # other items (one renamed id) are refused too
    other = _ward_copy(ward["root"], "other.yaml", {"id: thrift": "id: frugality"})
    refused = _invoke("profile", "--llm", run, "--instrument", other)
    assert refused.exit_code == 2 and "their items differ" in refused.stderr, refused.output
    assert "thrift" in refused.stderr
    # names, definitions, wording texts, labels and the title are words, not scoring: a
    # translated or reworded copy reads the run alike
    reworded = _ward_copy(
        ward["root"],
        "reworded.yaml",
        {
            "title: A ward study (test-only)": "title: Eine Bezirksstudie",
            "name: Fairness": "name: Gerechtigkeit",
            "Everyone in the ward is treated alike.": "Alle im Bezirk werden gleich behandelt.",
            "strongly agree}": "stimme voll zu}",
        },
    )
    same = ["align", "--humans", ward["people"], "--llm", run, "--format", "json"]
    assert json.loads(_ok(*same, "--instrument", reworded)) == json.loads(
        _ok(*same, "--instrument", WARD_FILE)
    )


# --- defect 4: with no --instrument, a run is read on its own ---------------------------------


def test_with_no_instrument_given_every_command_reads_the_runs_own(ward: dict[str, Path]) -> None:
    run = f"{ward['db']}#w"
    model = pd.read_csv(io.StringIO(_ok("runs", "export", "w", "--db", ward["db"])))
    keys = ["persona", "domain", "value"]
    cells = model.assign(s=(model["position"] - 1) / 4).groupby(keys)["s"].mean()
    by_persona = cells.groupby(level="persona").mean()
    got = json.loads(_ok("profile", "--llm", run, "--by", "persona", "--format", "json"))
    assert {r["persona"]: r["score"] for r in got["rows"]} == pytest.approx(
        by_persona.to_dict(), abs=1e-12
    )
    assert "Most endorsed" in _ok("profile", "--llm", run)  # the table view too
    plain = ["align", "--humans", ward["people"], "--llm", run, "--format", "json"]
    aligned = json.loads(_ok(*plain))
    assert aligned == json.loads(_ok(*plain, "--instrument", WARD_FILE))
    assert aligned["overall"]["distance"] == pytest.approx(
        _by_hand_distances(ward).mean(), abs=1e-12
    )
    ranks = json.loads(_ok("rigor", "ranks", *plain[1:5], "--resamples", "20", "--format",
                           "json"))  # fmt: skip
    assert {r["value"] for r in ranks["rows"]} == set(ITEMS)
    out = ward["root"] / "own.html"
    _ok("report", "--humans", ward["people"], "--llm", run, "--jobs", "1", "--out", out)
    assert "Fairness" in out.read_text()  # the run's own item names


def test_a_real_conflict_of_instruments_is_one_line_naming_the_run_and_both(
    ward: dict[str, Path], tmp_path: Path
) -> None:
    run = f"{ward['db']}#w"
    refused = _invoke("profile", "--llm", run, "--instrument", "value_form")
    assert refused.exit_code == 2, refused.output
    line = refused.stderr.strip()
    assert "\n" not in line and run in line
    assert "'ward_study'" in line and "'value_form'" in line, line
    # two runs of different instruments in one report, with no --instrument to settle it
    db = tmp_path / "vf.db"
    _ok("run", "--model", "mock", "--db", db, "--run", "vf", "--countries", "India",
        "--scenarios", "healthcare", "--variants", "0", "--no-progress")  # fmt: skip
    refused = _invoke("report", "--llm", run, "--llm", f"{db}#vf", "--out", tmp_path / "r.html")
    assert refused.exit_code == 2, refused.output
    line = refused.stderr.strip()
    assert "\n" not in line and f"{db}#vf" in line and run in line, line
    assert "'ward_study'" in line and "'value_form'" in line, line
    assert not (tmp_path / "r.html").exists()


# --- defect 9: a run's own prompt design gives the factors ------------------------------------


def test_sensitivity_factors_of_a_run_read_its_stored_design(ward: dict[str, Path]) -> None:
    src = ["--humans", ward["people"], "--llm", f"{ward['db']}#w", "--instrument", WARD_FILE]
    own = json.loads(_ok("rigor", "sensitivity", *src, "--view", "factors", "--format", "json"))
    named = json.loads(_ok("rigor", "sensitivity", *src, "--view", "factors", "--format", "json",
                           "--prompts", WARD_PROMPTS))  # fmt: skip
    assert own == named
    assert [r["factor"] for r in own["rows"]] == ["framing", "requirement", "other"]
    assert sum(r["share"] for r in own["rows"]) == pytest.approx(1.0)


# --- defect 8: a survey store knows the instrument its study was served with ------------------


def _odd_rate(item: str, index: int) -> str:
    """Attention checks as asked; the odd instrument's items over its 7 letters and 'skip'."""
    checks = {c.id: c.expected(ODD.people_scale) for c in load_content().attention_checks}
    return checks.get(item, ("a", "b", "c", "d", "e", "f", "g", "skip")[index % 8])


def test_survey_export_with_no_instrument_reads_the_studys_own(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    walker = Walker(client(engine, instrument=ODD))
    walker.complete("south", rate=_odd_rate)
    out = tmp_path / "people.csv"
    said = _ok("survey", "export", "--db", store_url, "--out", out)
    assert said.startswith("9 answers from 1 participants")
    table = pd.read_csv(out, dtype={"raw": str})
    assert len(table) == 9 and set(table["value"]) == set(ODD.item_ids)
    assert {"region", "setting", "tone"} <= set(table.columns) and "country" not in table.columns
    assert set(table["region"]) == {"south"}
    # each answer as given: letters a..g at positions 1..7, 'skip' missing
    given = {k: v for k, v in walker.given.items() if k in set(ODD.item_ids)}
    assert dict(zip(table["value"], table["raw"], strict=True)) == given
    for raw, position in zip(table["raw"], table["position"], strict=True):
        assert (pd.isna(position) and raw == "skip") or position == "abcdefg".index(raw) + 1
    # an instrument that conflicts with the study's is refused in one line naming both
    refused = _invoke("survey", "export", "--db", store_url, "--out", tmp_path / "vf.csv",
                      "--instrument", "value_form")  # fmt: skip
    assert refused.exit_code == 2, refused.output
    line = refused.stderr.strip()
    assert "\n" not in line and "'odd_test'" in line and "'value_form'" in line, line
    assert not (tmp_path / "vf.csv").exists()


def test_the_bundled_model_s_run_is_read_on_its_own_instrument(ward: dict[str, Path]) -> None:
    """The real bundled model asked the ward instrument (one context, one variant, item mode):
    profile and align with no --instrument read its answers on the run's own scales."""
    db = ward["root"] / "local.db"
    _ok("run", "--instrument", WARD_FILE, "--prompts", WARD_PROMPTS, "--model", "local",
        "--mode", "item", "--variants", "0", "--where", "persona=student", "--where",
        "domain=housing", "--db", db, "--run", "smol", "--no-progress")  # fmt: skip
    model = pd.read_csv(io.StringIO(_ok("runs", "export", "smol", "--db", db)))
    assert len(model) == len(ITEMS) and (model["raw"].astype(str) != "").all()
    scored = model.dropna(subset=["position"])
    assert len(scored) > 0 and scored["position"].isin([1, 2, 3, 4, 5]).all()
    own = (scored.set_index("value")["position"] - 1) / 4  # A (1) agrees: score 0
    got = json.loads(_ok("profile", "--llm", f"{db}#smol", "--by", "value", "--format", "json"))
    rows = {r["value"]: r["score"] for r in got["rows"] if r["score"] is not None}
    assert rows == pytest.approx(own.to_dict(), abs=1e-12)
    people = pd.read_csv(ward["people"])
    here = people[(people["persona"] == "student") & (people["domain"] == "housing")]
    h = ((5 - here["position"]) / 4).groupby(here["value"]).mean()
    aligned = json.loads(_ok("align", "--humans", ward["people"], "--llm", f"{db}#smol",
                             "--by", "value", "--format", "json"))  # fmt: skip
    expect = (own - h.reindex(own.index)).abs()
    assert {r["value"]: r["distance"] for r in aligned["rows"] if r["value"] in own.index} == (
        pytest.approx(expect.to_dict(), abs=1e-12)
    )


def test_a_run_of_a_bundled_instrument_is_read_with_todays_copy_where_alike(
    ward: dict[str, Path], tmp_path: Path
) -> None:
    import sqlite3

    from valuecompass.sources import choose_instrument

    assert choose_instrument(None, [(f"{ward['db']}#w", "llm")]) == WARD
    assert choose_instrument(None, [(ward["people"], "humans")]) == load_instrument()
    db = tmp_path / "old.db"
    _ok("run", "--model", "mock", "--db", db, "--run", "vf", "--countries", "India",
        "--scenarios", "healthcare", "--variants", "0", "--no-progress")  # fmt: skip
    form = load_instrument()
    older = form.to_data()  # as an older version kept it: one grouping fewer
    older["groupings"] = [g for g in older["groupings"] if g["id"] != "higher_order"]
    for item in older["items"]:
        item["groups"].pop("higher_order", None)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET instrument_spec = ?", (json.dumps(older),))
    assert choose_instrument(None, [(f"{db}#vf", "llm")]) == form
    # a kept copy whose model scale scores otherwise is its own instrument
    older["scales"] = [
        {**s, "agree": "last" if s["agree"] == "first" else "first"}
        if s["id"] == "agreement"
        else s
        for s in older["scales"]
    ]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET instrument_spec = ?", (json.dumps(older),))
    kept = choose_instrument(None, [(f"{db}#vf", "llm")])
    assert kept != form and kept.scale("agreement").agree != form.scale("agreement").agree


def test_instrument_show_lists_groupings_roles_and_normalised_points() -> None:
    text = _ok("instrument", "show", WARD_FILE)
    assert "Grouping theme (Theme): civic (Civic life), private (Private life)" in text
    assert "Roles: people answer on agree5; a model answers plain on letters" in text
    data = json.loads(_ok("instrument", "show", WARD_FILE, "--format", "json"))
    points = {s["id"]: {p["code"]: p["normalised"] for p in s["points"]} for s in data["scales"]}
    # the people's scale agrees at 5, the model's at A: each point on [0, 1], 0 the agree end
    assert points["agree5"] == {"1": 1.0, "2": 0.75, "3": 0.5, "4": 0.25, "5": 0.0}
    assert points["letters"] == {"A": 0.0, "B": 0.25, "C": 0.5, "D": 0.75, "E": 1.0}


def test_rigor_ranks_speaks_of_the_item_noun_and_fits_top_k_to_the_items(
    ward: dict[str, Path],
) -> None:
    args = ["rigor", "ranks", "--humans", str(ward["people"]), "--llm", f"{ward['db']}#w",
            "--resamples", "50"]  # fmt: skip
    shown = _invoke(*args)
    assert shown.exit_code == 0, shown.output
    header = next(line for line in shown.stdout.splitlines() if "p_top_2" in line)
    assert "principle" in header and "value" not in header
    # four principles: the default top k is half of them, so the chance is not always 1
    table = json.loads(_ok(*args, "--format", "json"))
    rows = table["rows"] if isinstance(table, dict) else table
    assert all("p_top_2" in r for r in rows) and sum(r["p_top_2"] for r in rows) == pytest.approx(2)
    everything = _invoke(*args, "--top-k", "4")
    assert "takes in all 4 principles, so every p_top_4 is 1" in everything.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["rigor", "ceiling"],
        ["rigor", "distributions"],
        ["rigor", "irrelevant"],
        ["rigor", "reliability"],
        ["rigor", "structure", "--permutations", "200"],
        ["rigor", "steer", "--permutations", "200", "--resamples", "50"],
        ["plan", "--half-width", "0.2", "--resamples", "50"],
    ],
)
def test_every_science_command_takes_the_ward_instrument(
    ward: dict[str, Path], command: list[str]
) -> None:
    done = _invoke(*command, "--humans", str(ward["people"]), "--llm", f"{ward['db']}#w")
    assert done.exit_code == 0, done.output
    words = done.output.lower()
    assert "country" not in words and "schwartz" not in words and "Traceback" not in done.output
    # the rows name the instrument's own items, levels or groups (plan: its statistics)
    assert any(word in words for word in ("kinship", "student", "civic", "people", "distance"))


def test_a_run_of_the_whole_form_at_once_on_the_ward_instrument(ward: dict[str, Path]) -> None:
    db = ward["root"] / "all.db"
    _ok("run", "--instrument", WARD_FILE, "--prompts", WARD_PROMPTS, "--model", "mock",
        "--mode", "all", "--db", db, "--run", "a", "--no-progress")  # fmt: skip
    table = pd.read_csv(io.StringIO(_ok("runs", "export", "a", "--db", db)))
    # every principle of every context and variant, each read on the letters scale (A..E)
    assert len(table) == 4 * len(ITEMS) * 4 and set(table["value"]) == set(ITEMS)
    assert set(table["code"].dropna()) <= set("ABCDE")
    profile = _ok("profile", "--llm", f"{db}#a", "--format", "json")
    assert "country" not in profile
