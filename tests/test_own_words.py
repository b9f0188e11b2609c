"""The ward instrument in its own words (issue 22, defects 5, 6 and 7): its missing codes each
keep their own id from the survey store to the report (tests/data/ward_instrument.yaml: axes
persona and domain, no country; people agree at 5 of 1..5, with missing codes ``dk`` "Don't
know" and ``na`` "Prefer not to say"; items are "principles")."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

import _survey_support as support
from _survey_support import Walker, client
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.survey import load_content

DATA = Path(__file__).parent / "data"
WARD_FILE = DATA / "ward_instrument.yaml"
WARD_PROMPTS = DATA / "ward_prompts.yaml"
WARD = load_instrument(WARD_FILE)
ITEMS = WARD.item_ids
CHECKS = {c.id: c.expected(WARD.people_scale) for c in load_content().attention_checks}

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def _invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _ok(*args: object) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


# Person n answers item i (in the order shown) with PLAN[(n + i) % 7]: both missing codes and
# every point of 1..5.
PLAN = ("dk", "1", "na", "2", "3", "dk", "5")


def _rater(n: int) -> support.Rater:
    def rate(item: str, index: int) -> str:
        return CHECKS.get(item, PLAN[(n + index) % len(PLAN)])

    return rate


def _plant(engine: Engine, people: int = 3) -> list[dict[str, str]]:
    """PEOPLE participants of the ward survey, students and retirees in turn; what each gave,
    by item."""
    given = []
    for n in range(people):
        walker = Walker(client(engine, instrument=WARD))
        walker.complete(("student", "retiree")[n % 2], rate=_rater(n))
        given.append({k: v for k, v in walker.given.items() if k in set(ITEMS)})
    return given


# --- defect 7: each missing code keeps its own id ---------------------------------------------


def test_each_missing_code_keeps_its_id_through_export_align_and_rigor(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    given = _plant(engine)
    codes = [c for person in given for c in person.values()]
    assert {"dk", "na"} <= set(codes)  # the plan used both
    out = tmp_path / "people.csv"
    said = _ok("survey", "export", "--db", store_url, "--out", out)
    assert said.startswith(f"{3 * len(ITEMS)} answers from 3 participants")
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    # each answer's code as given; a missing code's own id as its missing reason
    for row in table.itertuples():
        person = int(row.respondent.removeprefix("survey-")) - 1
        assert row.raw == given[person][row.value]
        if row.raw in ("dk", "na"):
            assert (row.code, row.missing, row.position) == (row.raw, row.raw, "")
        else:
            assert row.missing == "" and float(row.position) == int(row.raw)
    assert "irrelevant" not in set(table["missing"])
    counts = {c: codes.count(c) for c in ("dk", "na")}
    assert table["missing"].value_counts().to_dict() == {"": len(codes) - sum(counts.values()),
                                                         **counts}  # fmt: skip
    # align's import summary names each code with its count, read from the file and the store
    run = tmp_path / "m.db"
    _ok("run", "--instrument", WARD_FILE, "--prompts", WARD_PROMPTS, "--model", "mock",
        "--mode", "item", "--db", run, "--run", "w", "--no-progress")  # fmt: skip
    scored = len(codes) - sum(counts.values())
    first, second = ("dk", "na") if counts["dk"] >= counts["na"] else ("na", "dk")
    missing = f"missing: {first} {counts[first]}, {second} {counts[second]}"
    for humans in (out, store_url):
        result = _invoke("align", "--humans", humans, "--llm", f"{run}#w")
        assert result.exit_code == 0, result.output
        assert f"{len(codes)} answers, {scored} scored; {missing}" in result.stderr, result.stderr
    # an older export (reason 'irrelevant' beside the code) reads each code's id too
    old = table.assign(missing=table["missing"].where(table["missing"] == "", "irrelevant"))
    old.to_csv(tmp_path / "old.csv", index=False)
    result = _invoke("align", "--humans", tmp_path / "old.csv", "--llm", f"{run}#w")
    assert result.exit_code == 0 and missing in result.stderr, result.stderr
    # rigor irrelevant still counts both codes as people's answers with no position
    got = pd.read_csv(io.StringIO(_ok("rigor", "irrelevant", "--humans", out, "--llm",
                                      f"{run}#w", "--format", "csv")))  # fmt: skip
    per_item = table.assign(m=table["missing"] != "").groupby("value")["m"].mean()
    assert dict(zip(got["value"], got["people_rate"], strict=True)) == per_item.to_dict()


# --- defect 5: the report in the instrument's words -------------------------------------------

FOREIGN = re.compile(r"\b(countr(y|ies)|values?|schwartz|irrelevant)\b", re.IGNORECASE)


def _visible(page: str) -> str:
    """The text a reader sees: no scripts, styles, tags or attributes, entities read."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_report_of_the_ward_study_speaks_its_words_and_counts_each_code(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    given = _plant(engine, 6)
    people = tmp_path / "people.csv"
    _ok("survey", "export", "--db", store_url, "--out", people)
    run = tmp_path / "m.db"
    _ok("run", "--instrument", WARD_FILE, "--prompts", WARD_PROMPTS, "--model", "mock",
        "--mode", "item", "--db", run, "--run", "w", "--no-progress")  # fmt: skip
    out = tmp_path / "r.html"
    _ok("report", "--humans", people, "--llm", f"m={run}#w", "--jobs", "1", "--out", out)
    text = _visible(out.read_text())
    # the words: no Value Form's, the instrument's own
    found = sorted({m.group(0).lower() for m in FOREIGN.finditer(text.replace(
        "rigor irrelevant-prompts", ""))})  # fmt: skip
    assert not found, [text[max(m.start() - 60, 0) : m.end() + 60] for m in FOREIGN.finditer(text)]
    for words in ("on 4 principles in contexts made of 2 personas (a student, a retiree) × "
                  "2 domains (Housing, Transit)", "context axis (persona × domain)",
                  "Heatmaps of principles", "Ten most misaligned principles",
                  "principles ranked by alignment distance, per persona",
                  "Alignment rate (F1) per persona with its interval",
                  "changes across the 4 variants", "Does naming the persona help?",
                  "Steerability by persona", "closer to the persona named",
                  "people of the persona it is told", "principles differing",
                  "Civic life Private life", "such as 'Don't know' or 'Prefer not to say'",
                  "dk (Don't know)", "na (Prefer not to say)"):  # fmt: skip
        assert words in text, words
    assert "civic private" not in text  # the legend names the grouping's levels
    assert "national_security" not in text and "National security" not in text
    # the Sources table: 6 respondents, 24 answers, each code counted in the exclusions
    files = out.parent / "r_files"
    sources = pd.read_csv(files / "sources.csv").set_index("role")
    assert sources.loc["people", "respondents"] == 6
    assert sources.loc["people", "answers"] == 6 * len(ITEMS)
    codes = [c for person in given for c in person.values()]
    exclusions = pd.read_csv(files / "exclusions.csv")
    said = dict(zip(exclusions["reason"], exclusions["count"], strict=True))
    assert said == {
        "dk (Don't know)": codes.count("dk"),
        "na (Prefer not to say)": codes.count("na"),
    }
    # each code's share per principle, by hand: of each principle's 6 answers
    shares = pd.read_csv(files / "rigor-irrelevant.csv").set_index("value")
    for item in ITEMS:
        mine = [person[item] for person in given]
        assert shares.loc[item, "dk"] == pytest.approx(mine.count("dk") / 6, abs=1e-12), item
        assert shares.loc[item, "na"] == pytest.approx(mine.count("na") / 6, abs=1e-12), item
        assert shares.loc[item, "people_n"] == 6 and shares.loc[item, "m"] == 0.0
    assert (shares[["dk", "na"]].to_numpy() > 0).any()
    total = shares["dk"] + shares["na"]
    assert total.is_monotonic_decreasing  # the most missing first
    row = shares.index[0]
    name = WARD.item(row).name
    pct = f"{shares.loc[row, 'dk']:.1%} {shares.loc[row, 'na']:.1%} 6 0.0%"
    assert f"principle Don't know Prefer not to say people n m {name} {pct}" in text


# --- defect 6: the survey's pages in the instrument's words -----------------------------------

SURVEY_FOREIGN = re.compile(r"\b(countr(y|ies)|values?|schwartz|irrelevant)\b", re.IGNORECASE)


def test_every_page_of_the_ward_survey_speaks_its_words(engine: Engine) -> None:
    """Each page a participant (and the admin) sees, through the server's test client."""
    pages: dict[str, str] = {}
    walker = Walker(client(engine, instrument=WARD, quota=1))
    pages["consent"] = walker.arrive().text
    walker.post("/consent", {"consent": "yes"})
    pages["about"] = walker.get("/demographics").text
    wrong = {"country": "nowhere", "age_band": "25-34", "gender": ""}
    pages["about, refused"] = walker.post("/demographics", wrong).text
    assert walker.demographics("student").headers["location"] == "/vignette"
    pages["scenario"] = walker.get("/vignette").text
    walker.post("/vignette", {})
    pages["statements"] = walker.get("/page/1").text
    walker.form(_rater(0))
    pages["views"] = walker.get("/open").text
    pages["views, refused"] = walker.post("/open", {}).text
    assert walker.finish().headers["location"] == "/done"
    pages["done"] = walker.get("/done").text
    # quota 1 per persona x domain: a second student takes the other domain, a third is
    # turned away
    Walker(client(engine, instrument=WARD, quota=1)).complete("student", rate=_rater(1))
    late = Walker(client(engine, instrument=WARD, quota=1))
    late.consent()
    assert late.demographics("student").headers["location"] == "/full"
    pages["full"] = late.get("/full").text
    admin = client(engine, instrument=WARD, quota=1)
    pages["admin"] = admin.get("/admin", headers={"authorization": f"Bearer {support.TOKEN}"}).text
    shown = {name: _visible(page) for name, page in pages.items()}
    for name, text in shown.items():
        found = [text[max(m.start() - 50, 0) : m.end() + 50] for m in SURVEY_FOREIGN.finditer(text)]
        assert not found, (name, found)
        assert "Principles for AI systems" in text, name
    said = '"Don\'t know" or "Prefer not to say"'
    expect = {
        "consent": ["which principles people want", "each of 4 principles", "your persona,"],
        "about": ["Persona Choose one… a student a retiree Other"],
        "about, refused": ["Choose your persona from the list (or 'Other')."],
        "scenario": ["The ward plans new housing." if "housing" in shown["scenario"].lower()
                     else "The ward plans a bus line.",
                     f"uphold each principle. If you cannot or would rather not answer, choose "
                     f"{said}.", "Continue to the principles"],
        "statements": ["Which principles should the AI system uphold?",
                       f"should uphold the principle. If you cannot or would rather not answer, "
                       f"choose {said}.", "Strongly disagree Disagree Neither Agree Strongly agree "
                       "Don't know Prefer not to say"],
        "views": [f"Why did you answer some of the principles with {said}?",
                  f"Required if you answered any principle with {said}; otherwise optional.",
                  "conflicts with your own views?"],
        # the plan gave 'dk' and 'na': the question about them is required
        "views, refused": ["Please answer this question."],
        "full": ["all the participants it needs from your group for now"],
        "admin": ["Quota: 1 per cell of Persona × Domain.", "Housing", "Transit"],
    }  # fmt: skip
    for name, words in expect.items():
        for w in words:
            assert w in shown[name], (name, w, shown[name])
