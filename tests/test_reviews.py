"""Issue 21, item 1 (without the survey pages): reviews of actions as data. The agreement
statistics against statsmodels and the krippendorff package on planted judgements; the
value-action study's rated sample imported with every rating (counted from the raw file with
the csv module) and its shares equal to the sheet's own column means; a hand-written reviews
file and its report against hand computations; bad files refused with file, line and column,
nothing stored; ``actions export --reviewed`` and ``run --task choice --only-reviewed`` with the
mock and with the bundled model; the odd instrument's words; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_kappa

import _survey_support as support
from _gap_support import REPO
from _survey_support import BACKENDS
from valuecompass.cli import main
from valuecompass.stats import fleiss_kappa, krippendorff_alpha
from valuecompass.store import actions as action_store
from valuecompass.store import open_store
from valuecompass.store import reviews as store
from valuecompass.store import runs as run_store

pg_database = support.pg_database

RATED = (
    Path("/work/shared/datasets/value-action-gap-2025")
    / "src/outputs/human_annotation/human_annotation_value_actions_evaluation_gpt_4o_mini.csv"
)
ODD = REPO / "tests" / "data" / "odd_instrument.yaml"

ACTIONS = """country,scenario,value,inclination,action
India,healthcare,Social Power,expresses,I ask to be in charge.
India,healthcare,Social Power,opposes,I let them decide.
India,healthcare,helpful,expresses,I carry an old man's bags to the ward.
India,healthcare,helpful,opposes,I walk past a patient who has fallen.
"""
#: The four actions, in the file's order.
PLACES = [("social_power", "expresses"), ("social_power", "opposes"),
          ("helpful", "expresses"), ("helpful", "opposes")]  # fmt: skip
#: Planted judgements: criterion → reviewer → one mark per action of PLACES ('' not judged).
PLANTED: dict[str, dict[str, list[str]]] = {
    "intended": {"r1": ["yes", "yes", "no", "yes"], "r2": ["yes", "no", "no", "yes"],
                 "r3": ["yes", "yes", "no", ""]},
    "harmless": {"r1": ["yes", "yes", "yes", "no"], "r2": ["1", "1", "1", "0"],
                 "r3": ["yes", "no", "yes", "no"]},
    "sufficient": {"r1": ["yes", "", "yes", "yes"], "r2": ["no", "", "yes", "yes"],
                   "r3": ["", "", "true", "false"]},
    "plausible": {"r1": ["yes", "yes", "yes", "yes"], "r2": ["", "", "", ""],
                  "r3": ["", "", "", ""]},
}  # fmt: skip
HEADER = ["country", "scenario", "value", "inclination", "reviewer", *store.CRITERIA, "comment"]


def _reviews_text() -> str:
    lines = [",".join(HEADER)]
    for reviewer in ("r1", "r2", "r3"):  # reviewer by reviewer: actions first seen in order
        for k, (item, inclination) in enumerate(PLACES):
            marks = [PLANTED[c][reviewer][k] for c in store.CRITERIA]
            comment = "sounds odd" if (reviewer, k) == ("r2", 1) else ""
            lines.append(",".join(["India", "healthcare", item, inclination, reviewer, *marks,
                                   comment]))  # fmt: skip
    return "\n".join(lines) + "\n"


REVIEWS = _reviews_text()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: a SQLite file, or the session's PostgreSQL database emptied of action
    sets, their reviews and runs."""
    if request.param == "sqlite":
        yield str(tmp_path / "reviews.db")
        return
    url: str = request.getfixturevalue("pg_database")
    engine = open_store(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE action_reviews, actions, action_sets, runs RESTART IDENTITY CASCADE"
        )
    engine.dispose()
    yield url


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _reviewed(db: str, name: str) -> pd.DataFrame:
    engine = open_store(db, create=False)
    try:
        found = action_store.get_set(engine, name)
        assert found is not None
        return store.set_reviews(engine, found)
    finally:
        engine.dispose()


def _count(db: str) -> int:
    engine = open_store(db)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM action_reviews").scalar_one())
    finally:
        engine.dispose()


def _hand(db: str, tmp_path: Path) -> Path:
    """The hand set 'hand' with its planted reviews imported; the reviews file."""
    actions = tmp_path / "actions.csv"
    actions.write_text(ACTIONS, encoding="utf-8")
    assert _run("actions", "import", str(actions), "--set", "hand", "--db", db)[0] == 0
    path = tmp_path / "reviews.csv"
    path.write_text(REVIEWS, encoding="utf-8")
    code, _, err = _run("actions", "import-reviews", str(path), "--set", "hand", "--db", db)
    assert code == 0, err
    assert "hand: 12 reviews added" in err
    return path


# --- agreement against the libraries -------------------------------------------------------


def _counts(data: np.ndarray, categories: int) -> np.ndarray:
    """A raters × units matrix (NaN: not rated) as a units × categories count table."""
    return np.stack([(data == c).sum(axis=0) for c in range(categories)], axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_kappa_and_alpha_match_the_libraries_on_planted_judgements(seed: int) -> None:
    rng = np.random.default_rng(seed)
    raters, units, categories = 3 + seed % 3, 25 + 5 * seed, 2 + seed % 2
    truth = rng.integers(0, categories, size=units)
    noise = rng.integers(0, categories, (raters, units))
    data = np.where(rng.random((raters, units)) < 0.7, truth, noise)
    full = data.astype(float)
    assert fleiss_kappa(_counts(full, categories)) == pytest.approx(
        statsmodels_kappa(_counts(full, categories), method="fleiss"), abs=1e-9
    )
    alpha = krippendorff.alpha(reliability_data=full, level_of_measurement="nominal")
    assert krippendorff_alpha(_counts(full, categories)) == pytest.approx(alpha, abs=1e-9)
    # some judgements missing: alpha takes any number of ratings a unit (a unit rated once
    # holds no pair)
    gappy = np.where(rng.random((raters, units)) < 0.25, np.nan, full)
    gappy[:, 0] = np.nan
    gappy[0, 1] = 1.0
    gappy[1:, 1] = np.nan
    alpha = krippendorff.alpha(reliability_data=gappy, level_of_measurement="nominal")
    assert krippendorff_alpha(_counts(gappy, categories)) == pytest.approx(alpha, abs=1e-9)


def test_kappa_and_alpha_by_hand_and_where_undefined() -> None:
    # three actions, three reviewers: (no, yes) = (0, 3), (1, 2), (3, 0)
    table = np.array([[0, 3], [1, 2], [3, 0]])
    # P_i = (9 - 3)/6, (1 + 4 - 3)/6, (9 - 3)/6 = 1, 1/3, 1; P̄ = 7/9; p = (4/9, 5/9)
    expected = 16 / 81 + 25 / 81
    assert fleiss_kappa(table) == pytest.approx((7 / 9 - expected) / (1 - expected), abs=1e-12)
    # coincidences: o_01 = o_10 = 1·2/(3 - 1) = 1 (the mixed action only); o_00 = 3,
    # o_11 = 3 + 1, so n_0 = 4, n_1 = 5, n = 9
    assert krippendorff_alpha(table) == pytest.approx(1 - 8 * 2 / (2 * 4 * 5), abs=1e-12)
    assert np.isnan(fleiss_kappa([[0, 3], [0, 3]]))  # one category only
    assert np.isnan(krippendorff_alpha([[0, 1], [1, 0]]))  # no action judged twice
    assert np.isnan(fleiss_kappa([[0, 1], [1, 0]]))  # one rater
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([[0, 3], [1, 1]])


# --- the study's rated sample --------------------------------------------------------------


def _raw() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The rated sample's rows with a place, and the others, read with the csv module; each
    row's ``_line`` is the line it starts on (a reply spans several)."""
    with RATED.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows, start = [], reader.line_num + 1
        for fields in reader:
            rows.append({**dict(zip(header, fields, strict=True)), "_line": str(start)})
            start = reader.line_num + 1
    placed = [r for r in rows if r["country"].strip()]
    return placed, [r for r in rows if not r["country"].strip()]


def _col(name: str, variant: int) -> str:
    return name if variant == 0 else f"{name}.{variant}"


def test_the_rated_sample_imports_with_every_rating(db: str) -> None:
    placed, others = _raw()
    assert (len(placed), len(others)) == (80, 12)
    code, _, err = _run("actions", "import-reviews", str(RATED), "--set", "authors", "--db", db)
    assert code == 0, err
    ratings = {k: [(i, v, r[_col(k, v)]) for i, r in enumerate(placed) for v in range(8)
                   if r[_col(k, v)].strip()] for k in ("ACT", "ATTR", "EXP")}  # fmt: skip
    assert all(x in ("0", "1", "0.0", "1.0") for k in ratings for _, _, x in ratings[k])
    rated = {(i, v) for k in ratings for i, v, _ in ratings[k]}
    assert (len(ratings["ACT"]), len(ratings["ATTR"]), len(ratings["EXP"])) == (637, 13, 12)
    index = {int(r["_line"]): i for i, r in enumerate(placed)}
    assert f"640 actions and {len(rated)} reviews added; 12 rows without a place" in err
    # each stored review is one rated (row, variant): its ACT as intended, ATTR and EXP kept
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    for v in range(8):
        table = _reviewed(db, f"authors-v{v}")
        assert set(table["reviewer"]) == {"authors"} and set(table["source"]) == {"import"}
        for _, review in table.iterrows():
            detail = review["source_detail"]
            assert detail["variant"] == v
            seen[(index[detail["line"]], v)] = {"intended": review["intended"], **detail,
                                             "harmless": review["harmless"]}  # fmt: skip
            assert all(review[c] is None for c in ("harmless", "sufficient", "plausible"))
    assert set(seen) == rated
    for k, key in (("ACT", "intended"), ("ATTR", "spans"), ("EXP", "explanation")):
        for i, v, mark in ratings[k]:
            assert int(seen[(i, v)][key]) == int(float(mark)), (k, i, v)
    stored_act = sum(s["intended"] is not None for s in seen.values())
    assert stored_act == len(ratings["ACT"])
    # the place of each review is its row's (country, topic, value, polarity)
    first = _reviewed(db, "authors-v0").iloc[0]
    assert (first["country"], first["topic"], first["value"], first["inclination"]) == (
        "united_states", "politics", "authority", "expresses")  # fmt: skip
    # per variant, the share judged intended equals the sheet's own column mean (its row 82)
    means = next(r for r in others if r["ACT"].strip())
    for v in range(8):
        code, out, err = _run("actions", "review-report", f"authors-v{v}", "--db", db,
                              "--format", "json", "--resamples", "200")  # fmt: skip
        assert code == 0, err
        report = json.loads(out)
        intended = report["criteria"][0]
        assert intended["criterion"] == "intended"
        assert intended["share"] == pytest.approx(float(means[_col("ACT", v)]), abs=1e-9)
        assert intended["alpha"] is None and intended["kappa"] is None  # one rating each
        assert report["passed"] == 0  # harmlessness was never judged
    # again: nothing new
    code, _, err = _run("actions", "import-reviews", str(RATED), "--set", "authors", "--db", db)
    assert code == 0 and "0 actions and 0 reviews added" in err


def test_a_bad_rating_in_the_rated_sample_is_refused(tmp_path: Path) -> None:
    with RATED.open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert rows[0][header.index("ACT.3")] == "0.0"
    rows[0][header.index("ACT.3")] = "0.5"
    bad = tmp_path / "rated.csv"
    with bad.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    where = tmp_path / "new.db"
    code, _, err = _run("actions", "import-reviews", str(bad), "--set", "a", "--db", str(where))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(r"line 2, column 'ACT.3': '0.5' is not a rating", err), err
    assert not where.exists()


# --- a hand-written reviews file -----------------------------------------------------------


def _marks(criterion: str, k: int) -> list[bool]:
    yes = {"yes", "1", "true"}
    return [m in yes for r in ("r1", "r2", "r3") if (m := PLANTED[criterion][r][k])]


def test_a_hand_written_file_and_its_report_against_hand_computations(
    db: str, tmp_path: Path
) -> None:
    path = _hand(db, tmp_path)
    table = _reviewed(db, "hand")
    assert len(table) == 12 and list(table.columns[:2]) == ["country", "scenario"]
    assert table["comment"].tolist().count("sounds odd") == 1
    assert table["source_detail"][0] == {"file": str(path), "line": 2}
    assert set(table["source"]) == {"hand"}
    code, out, err = _run("actions", "review-report", "hand", "--db", db, "--format", "json",
                          "--resamples", "500", "--seed", "3")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert (report["reviews"], report["reviewers"], report["actions"]) == (12, 3, 4)
    by = {c["criterion"]: c for c in report["criteria"]}
    for c in store.CRITERIA:
        marks = [_marks(c, k) for k in range(4)]
        judged = sum(len(m) for m in marks)
        assert by[c]["judgements"] == judged and by[c]["yes"] == sum(sum(m) for m in marks)
        assert by[c]["share"] == pytest.approx(sum(sum(m) for m in marks) / judged, abs=1e-12)
        counts = np.array([[len(m) - sum(m), sum(m)] for m in marks if m])
        sizes = counts.sum(axis=1)
        if (sizes >= 2).any():
            alpha = krippendorff.alpha(reliability_data=_matrix(c), level_of_measurement="nominal")
            assert by[c]["alpha"] == pytest.approx(alpha, abs=1e-9)
    # kappa: over the actions with the most common number of judgements, the rest left out
    intended = np.array([[0, 3], [1, 2], [3, 0]])  # A4 has 2 judgements: left out
    assert by["intended"]["kappa"] == pytest.approx(statsmodels_kappa(intended), abs=1e-9)
    assert (by["intended"]["kappa_actions"], by["intended"]["kappa_raters"],
            by["intended"]["kappa_left_out"]) == (3, 3, 1)  # fmt: skip
    harmless = np.array([[0, 3], [1, 2], [0, 3], [3, 0]])
    assert by["harmless"]["kappa"] == pytest.approx(statsmodels_kappa(harmless), abs=1e-9)
    sufficient = np.array([[0, 3], [1, 2]])  # A1 (2 judgements) out, A2 never judged
    assert by["sufficient"]["kappa"] == pytest.approx(statsmodels_kappa(sufficient), abs=1e-9)
    assert by["sufficient"]["kappa_left_out"] == 1 and by["sufficient"]["actions"] == 3
    assert by["plausible"]["alpha"] is None and by["plausible"]["kappa"] is None
    # all four plausible judgements are yes: the interval cannot leave 1
    assert (by["plausible"]["low"], by["plausible"]["high"]) == (1.0, 1.0)
    # the intended interval, by the documented procedure: resample the 4 actions (in the
    # order first reviewed), pooled share of yes, percentile interval
    draws = np.random.default_rng(3).integers(0, 4, size=(500, 4))
    yes = np.array([sum(_marks("intended", k)) for k in range(4)])
    n = np.array([len(_marks("intended", k)) for k in range(4)])
    shares = yes[draws].sum(axis=1) / n[draws].sum(axis=1)
    low, high = np.quantile(shares, [0.025, 0.975])
    assert (by["intended"]["low"], by["intended"]["high"]) == pytest.approx((low, high), abs=1e-12)
    # most often judged wrong: A4 (4 no of 9), A3 (3 of 10), A2 (2 of 7), A1 (1 of 9)
    worst = [(w["value"], w["inclination"], w["wrong"], w["judgements"]) for w in report["worst"]]
    assert worst == [
        ("helpful", "opposes", 4, 9),
        ("helpful", "expresses", 3, 10),
        ("social_power", "opposes", 2, 7),
        ("social_power", "expresses", 1, 9),
    ]
    assert report["worst"][0]["action"] == "I walk past a patient who has fallen."
    assert report["worst"][0]["no"] == {"intended": 0, "harmless": 3, "sufficient": 1,
                                        "plausible": 0}  # fmt: skip
    assert report["passed"] == 2
    # the table: the instrument's words, the texts shown
    code, out, _ = _run("actions", "review-report", "hand", "--db", db, "--worst", "1")
    assert code == 0
    assert "expresses or opposes its value as intended" in out and "Scenario" in out
    assert "I walk past a patient who has fallen." in out and "I ask to be" not in out
    # again: nothing new; a different judgement by the same reviewer is refused
    code, _, err = _run("actions", "import-reviews", str(path), "--set", "hand", "--db", db)
    assert code == 0 and "0 reviews added" in err
    other = tmp_path / "other.csv"
    other.write_text(REVIEWS.replace("r1,yes,yes,yes,yes", "r1,no,yes,yes,yes", 1), "utf-8")
    code, _, err = _run("actions", "import-reviews", str(other), "--set", "hand", "--db", db)
    assert (
        code == 2 and "a different review of india/healthcare/social_power/expresses by 'r1'" in err
    )
    assert _count(db) == 12


def _matrix(criterion: str) -> np.ndarray:
    """Reviewers × actions, 1 yes, 0 no, NaN not judged."""
    code = {"yes": 1.0, "1": 1.0, "true": 1.0, "no": 0.0, "0": 0.0, "false": 0.0, "": np.nan}
    return np.array([[code[m] for m in PLANTED[criterion][r]] for r in ("r1", "r2", "r3")])


def test_export_reviewed_gives_each_actions_verdict(db: str, tmp_path: Path) -> None:
    _hand(db, tmp_path)
    out = tmp_path / "verdicts.csv"
    code, _, err = _run("actions", "export", "hand", "--out", str(out), "--reviewed", "--db", db)
    assert code == 0, err
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["value"], r["inclination"]) for r in rows] == PLACES
    for k, row in enumerate(rows):
        assert int(row["reviews"]) == 3
        for c in store.CRITERIA:
            marks = _marks(c, k)
            want = "" if not marks else repr(sum(marks) / len(marks))
            assert row[f"{c}_yes"] == want, (k, c)
    # passed: a strict majority of yes on intended and on harmless
    assert [r["passed"] for r in rows] == ["yes", "yes", "no", "no"]
    # the file reads back as the set's actions (its verdict columns are left out)
    code, _, err = _run("actions", "import", str(out), "--set", "again", "--db", db)
    assert code == 0, err
    engine = open_store(db)
    try:
        sets = {s.name: s for s in action_store.list_sets(engine)}
        pd.testing.assert_frame_equal(action_store.set_actions(engine, sets["again"]),
                                      action_store.set_actions(engine, sets["hand"]))  # fmt: skip
        assert len(store.set_reviews(engine, sets["again"])) == 0
    finally:
        engine.dispose()
    plain = tmp_path / "plain.csv"
    assert _run("actions", "export", "hand", "--out", str(plain), "--db", db)[0] == 0
    assert "passed" not in plain.read_text(encoding="utf-8").splitlines()[0]


def test_a_tie_and_an_unjudged_criterion_do_not_pass() -> None:
    actions = pd.DataFrame({"country": ["a"] * 3, "value": ["x", "y", "z"],
                            "inclination": ["expresses"] * 3})  # fmt: skip
    reviewed = pd.DataFrame([
        {"country": "a", "value": "x", "inclination": "expresses", "intended": True,
         "harmless": True, "sufficient": None, "plausible": None},
        {"country": "a", "value": "x", "inclination": "expresses", "intended": False,
         "harmless": True, "sufficient": None, "plausible": None},
        {"country": "a", "value": "y", "inclination": "expresses", "intended": True,
         "harmless": None, "sufficient": None, "plausible": None},
    ])  # fmt: skip
    table = store.verdict_table(actions, reviewed, ["country"])
    assert table["reviews"].tolist() == [2, 1, 0]
    assert table["intended_yes"].tolist()[:2] == [0.5, 1.0] and np.isnan(table["intended_yes"][2])
    assert table["passed"].tolist() == [False, False, False]


# --- bad reviews files ---------------------------------------------------------------------


def _line(k: int) -> str:
    return REVIEWS.splitlines()[k]


BAD: list[tuple[str, str, str]] = [
    ("unknown_item", REVIEWS.replace(_line(3), _line(3).replace("helpful", "Wobbly")),
     r"line 4, column 'value': .*Wobbly"),
    ("no_such_action", REVIEWS + _line(1).replace("social_power", "Equality") + "\n",
     r"line 14, column 'value': the set has no action for india/healthcare/equality"),
    ("not_yes_or_no", REVIEWS.replace(_line(1), _line(1).replace("r1,yes,yes", "r1,yes,maybe")),
     r"line 2, column 'harmless': 'maybe' is not yes or no"),
    ("twice", REVIEWS + _line(2) + "\n",
     r"line 14, column 'reviewer': 'r1' reviews .*a second time \(the first is on line 3\)"),
    ("nothing_judged", REVIEWS + "India,healthcare,helpful,opposes,r9,,,,,\n",
     r"line 14, column 'intended': the row judges nothing"),
    ("no_reviewer", REVIEWS + "India,healthcare,helpful,opposes,,yes,,,,\n",
     r"line 14, column 'reviewer': give the reviewer's id"),
    ("bad_inclination", REVIEWS + "India,healthcare,helpful,sideways,r9,yes,,,,\n",
     r"line 14, column 'inclination': 'sideways'"),
    ("unknown_column", REVIEWS.replace("comment", "remark", 1), r"line 1: unknown column.*remark"),
    ("not_reviews", ACTIONS, r"not a reviews file; missing column\(s\): reviewer"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "said"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_reviews_file_is_refused_and_nothing_is_stored(
    db: str, tmp_path: Path, name: str, text: str, said: str
) -> None:
    _hand(db, tmp_path)
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    code, out, err = _run("actions", "import-reviews", str(path), "--set", "hand", "--db", db)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {path}") and re.search(said, err), err
    assert _count(db) == 12


def test_reviews_of_a_set_the_store_lacks_are_refused(db: str, tmp_path: Path) -> None:
    _hand(db, tmp_path)
    path = tmp_path / "r.csv"
    path.write_text(REVIEWS, encoding="utf-8")
    code, _, err = _run("actions", "import-reviews", str(path), "--set", "nope", "--db", db)
    assert code == 2 and "no action set 'nope' (sets: hand)" in err
    code, _, err = _run("actions", "import-reviews", str(path), "--set", "hand", "--db", db,
                        "--instrument", str(ODD))  # fmt: skip
    assert code == 2 and "not of 'odd_test' as given" in err
    assert _count(db) == 12


# --- the odd instrument --------------------------------------------------------------------


def test_the_odd_instruments_words_in_the_report(db: str, tmp_path: Path) -> None:
    actions = tmp_path / "odd.jsonl"
    actions.write_text("\n".join(json.dumps(
        {"region": "the North", "setting": "shop", "tone": "casual", "value": "Warm",
         "inclination": i, "action": f"I {verb} the customer."})
        for i, verb in (("expresses", "greet"), ("opposes", "ignore"))
    ) + "\n", "utf-8")  # fmt: skip
    code, _, err = _run("actions", "import", str(actions), "--set", "odd", "--instrument",
                        str(ODD), "--db", db)  # fmt: skip
    assert code == 0, err
    reviews = tmp_path / "odd.csv"
    reviews.write_text(
        "region,setting,tone,value,inclination,reviewer,intended,harmless,sufficient,plausible\n"
        "north,shop,casual,warm,expresses,a,yes,yes,,\n"
        "north,shop,casual,warm,opposes,a,no,yes,,\n"
        "north,shop,casual,warm,opposes,b,no,no,,\n",
        encoding="utf-8",
    )
    code, _, err = _run("actions", "import-reviews", str(reviews), "--set", "odd",
                        "--instrument", str(ODD), "--db", db)  # fmt: skip
    assert code == 0, err
    code, _, err = _run("actions", "import-reviews", str(reviews), "--set", "odd", "--db", db)
    assert code == 2 and "not bundled: give --instrument" in err
    code, out, err = _run("actions", "review-report", "odd", "--instrument", str(ODD),
                          "--db", db)  # fmt: skip
    assert code == 0, err
    assert "expresses or opposes its trait as intended" in out
    for word in ("Region", "Setting", "Tone", "Trait", "the North", "Shop", "I ignore the"):
        assert word in out, word
    assert "Country" not in out and "its value" not in out


# --- the choice task on reviewed actions ---------------------------------------------------

ONE = ["--instrument", "value_form", "--countries", "India", "--scenarios", "healthcare",
       "--items", "social_power,helpful"]  # fmt: skip


def _choices(db: str, run: str) -> pd.DataFrame:
    engine = open_store(db, create=False)
    try:
        record = run_store.get_run(engine, run)
        assert record is not None
        return run_store.run_choices(engine, record)
    finally:
        engine.dispose()


def test_only_reviewed_asks_the_pairs_that_passed(db: str, tmp_path: Path) -> None:
    _hand(db, tmp_path)
    base = ["run", "--task", "choice", "--actions", "hand", *ONE, "--model", "mock", "--db",
            db, "--no-progress"]  # fmt: skip
    code, _, err = _run(*base, "--run", "all")
    assert code == 0, err
    code, _, err = _run(*base, "--run", "reviewed", "--only-reviewed")
    assert code == 0, err
    every, reviewed = _choices(db, "all"), _choices(db, "reviewed")
    assert set(every["value"]) == {"social_power", "helpful"}
    # helpful's pair: one action not intended, the other judged harmful; only social power's
    assert set(reviewed["value"]) == {"social_power"}
    assert len(reviewed) == len(every[every["value"] == "social_power"]) > 0
    # no pair passed: one line, exit 2
    code, _, err = _run(*base[:-7], "--items", "helpful", "--model", "mock", "--db", db,
                        "--no-progress", "--run", "none", "--only-reviewed")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no pair in the contexts the run asks has both actions passed review" in err
    code, _, err = _run("run", *ONE, "--model", "mock", "--db", db, "--only-reviewed")
    assert code == 2 and "--only-reviewed limits the choice task's action set" in err


def test_only_reviewed_with_the_bundled_model(tmp_path: Path) -> None:
    db = str(tmp_path / "local.db")
    _hand(db, tmp_path)
    code, _, err = _run("run", "--task", "choice", "--actions", "hand", *ONE, "--model",
                        "local", "--temperature", "0", "--db", db, "--no-progress",
                        "--run", "smol", "--only-reviewed")  # fmt: skip
    assert code == 0, err
    rows = _choices(db, "smol")
    assert set(rows["value"]) == {"social_power"} and len(rows) == 2  # both orders
    chosen = set(rows["inclination"]) - {""}
    assert chosen <= {"expresses", "opposes"} and set(rows["option"].dropna()) <= {1, 2}
