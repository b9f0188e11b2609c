"""Each bundled instrument through the whole study, as a user runs it from the command line.

For each instrument: the bundled model (SmolLM2 GGUF, run by llama-cpp-python) answers it into a
store (``valuecompass run``); the survey is served for it by a real ``survey serve`` process and
a dozen of the load driver's simulated participants (for the multilingual form, in German,
French and English) take it with answers of a known pattern; ``survey export`` and ``runs
export`` write the tidy CSVs; ``align`` is checked against a hand computation from those CSVs
(numpy/pandas/scikit-learn, not our alignment code); ``profile``, ``rigor ranks`` (a quick
bootstrap) and ``report`` write their output. The report and the CSVs are kept under
tests/artifacts/instrument-study/<id>/ for people to look at.

Another instrument is one more :class:`Study` in ``STUDIES``.
"""

from __future__ import annotations

import asyncio
import html
import io
import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import f1_score

import _survey_support as support
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.testing import survey_load as load

ARTIFACTS = Path(__file__).parent / "artifacts" / "instrument-study"
SCENARIO = "healthcare"
PEOPLE = 12
METRICS = ("f1", "accuracy", "precision", "recall", "kappa", "distance", "n_contexts")


@dataclass(frozen=True)
class Study:
    """One instrument's study, and what the test knows about it independently of our code."""

    id: str
    country: str  # the one country of the model's run and of every participant
    grouping: str  # an item grouping whose rates are computed by hand
    people_ends: tuple[float, float]  # people scale: positions of (agree end, other end)
    model_ends: tuple[float, float]  # the scale the model answers variant 0 on
    languages: tuple[str, ...] = ()  # the model's languages; participants' cycle through them
    postgres: bool = False  # the store on the PostgreSQL test server, else a SQLite file
    score: str = "answer"  # how the model is scored: its answer, or option probabilities
    per_group: int = 0  # the model is asked the first N items of each group (0: every item)

    def __str__(self) -> str:
        return self.id


STUDIES = [
    # 6 likeness points, 1 = very much like me (agree end); the model's pvq wording: same shape
    Study("schwartz_refined", "india", "value", (1, 6), (1, 6)),
    # 5 "describes" points, 5 = describes extremely well (agree end is the last)
    Study("moral_foundations", "canada", "foundation", (5, 1), (5, 1), postgres=True),
    # people: strongly agree 1 .. strongly disagree 4 (neutral 2.5); model (svs): 1 .. 4. The
    # small model's two tokens in German or French are words, not options: scored by its
    # option probabilities (the expected position), and asked 3 values of each group
    Study("value_form_multilingual", "germany", "higher_order", (1, 4), (1, 4),
          languages=("de", "fr"), score="probs", per_group=3),
]  # fmt: skip


def _cli(*args: str) -> str:
    """Run ``valuecompass ARGS``; assert it succeeded; its standard output."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result.stdout


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The study's store: the model's run and the survey's participants, in one database."""
    study: Study = request.node.callspec.params["study"]
    if not study.postgres:
        yield str(tmp_path / "study.db")
        return
    with load.fresh_postgres(support.postgres_url(), "vc_study") as url:
        yield url


def pattern_for(spec: dict[str, Any]) -> load.Pattern:
    """The known answers: participant SALT gives item p (its place in the instrument) the
    scale's point p mod n, moved by SALT mod 3 - 1 and kept on the scale, and 'irrelevant'
    where (p + SALT) mod 7 == 0. Over a dozen people each cell's mean sits near point p mod n,
    so the people agree with some items and disagree with others."""
    scale = next(s for s in spec["scales"] if s["id"] == spec["roles"]["people"])
    codes = [p["code"] for p in scale["points"]]
    missing = scale["missing"][0]["code"]
    place = {item["id"]: i for i, item in enumerate(spec["items"])}

    def answer(item: str, salt: int) -> str:
        p = place[item]
        if (p + salt) % 7 == 0:
            return missing
        return codes[min(max(p % len(codes) + salt % 3 - 1, 0), len(codes) - 1)]

    return answer


def _participants(study: Study, store: str, answer: load.Pattern) -> None:
    """Serve the survey for the instrument and let PEOPLE simulated participants take it."""
    port = load.free_port()
    args = ["--instrument", study.id, "--scenario", SCENARIO, "--quota", str(2 * PEOPLE)]
    args += ["--min-form-seconds", "0", "--no-access-log", *load.NO_HOLD_LIMITS]
    log = ARTIFACTS / study.id / "server.log"
    server = load.start_server(store, port, *args, log=log)
    inst = load_instrument(study.id)
    languages = (*study.languages, "en") if study.languages else (None,)

    async def one(salt: int) -> str:
        lang = languages[salt % len(languages)]
        pid = f"sim{salt:02d}"
        return await load.take_part(
            port, pid, study.country, instrument=inst, lang=lang, salt=salt, pattern=answer
        )

    async def crowd() -> list[str]:
        return list(await asyncio.gather(*(one(s) for s in range(PEOPLE))))

    try:
        assert asyncio.run(crowd()) == ["/done"] * PEOPLE
    finally:
        server.terminate()
        server.wait()


def _column(table: pd.DataFrame, axis: str) -> str:
    """The tidy CSV's column for AXIS: its id (``topic`` still accepted for ``scenario``)."""
    if axis in table.columns:
        return axis
    assert axis == "scenario" and "topic" in table.columns, (axis, list(table.columns))
    return "topic"


def cell_scores(
    table: pd.DataFrame, axes: list[str], ends: tuple[float, float], column: str = "position"
) -> pd.Series:
    """Mean normalised score per (context, value): (COLUMN - agree end) / (other - agree), over
    the answers with a COLUMN (the position answered, or the ``expected`` position)."""
    scored = table[table[column].notna()]
    keys = [scored[_column(scored, a)].rename(a) for a in axes]
    agree, other = ends
    score = (scored[column].astype(float) - agree) / (other - agree)
    return score.groupby([*keys, scored["value"]]).mean()


def hand_rates(cells: pd.DataFrame) -> dict[str, float]:
    """F1 (disagree = 1 is the positive class; a score of 0.5 or more disagrees), accuracy and
    the mean |model - people| over CELLS (columns human, model; both present)."""
    h = (cells["human"] >= 0.5).astype(int).to_numpy()
    m = (cells["model"] >= 0.5).astype(int).to_numpy()
    tp, fp = int(((h == 1) & (m == 1)).sum()), int(((h == 0) & (m == 1)).sum())
    fn = int(((h == 1) & (m == 0)).sum())
    f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    assert f1 == pytest.approx(f1_score(h, m, zero_division=0))
    return {
        "f1": f1,
        "accuracy": float((h == m).mean()),
        "distance": float(np.abs(cells["model"] - cells["human"]).mean()),
    }


def _key(row: dict[str, Any]) -> str:
    """A JSON row's group id (the one field that is not a metric)."""
    (name,) = [k for k in row if k not in METRICS]
    return str(row[name])


def _check_people(
    people: pd.DataFrame, who: pd.DataFrame, study: Study, answer: load.Pattern
) -> None:
    """The export holds what each participant gave, in their language, in the one context."""
    assert len(who) == PEOPLE and set(who["exclusion"]) == {""}
    salt = {r: int(pid[3:]) for r, pid in zip(who["respondent"], who["prolific_pid"], strict=True)}
    given = [answer(v, salt[r]) for r, v in zip(people["respondent"], people["value"], strict=True)]
    assert list(people["raw"].astype(str)) == given
    assert set(people[_column(people, "country")]) == {study.country}
    assert set(people[_column(people, "scenario")]) == {SCENARIO}
    if study.languages:
        assert sorted(set(who["language"])) == sorted({*study.languages, "en"})


@pytest.mark.parametrize("study", STUDIES, ids=str)
def test_an_instrument_goes_through_the_whole_study(study: Study, store: str) -> None:
    out = ARTIFACTS / study.id
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    spec = json.loads(_cli("form", "show", study.id, "--format", "json"))
    items = [i["id"] for i in spec["items"]]
    axes = [a["id"] for a in spec["axes"] if a.get("role") != "language"]
    answer = pattern_for(spec)
    groups = {i["id"]: i["groups"][study.grouping] for i in spec["items"]}

    # 1. the bundled model answers one item per prompt, in one context (and two languages)
    asked = _asked(items, groups, study.per_group)
    where = ["--where", "language=" + ",".join(study.languages)] if study.languages else []
    where += ["--values", ",".join(asked)] if study.per_group else []
    run = ["run", "--instrument", study.id, "--model", "local", "--mode", "item", "--db", store,
           "--run", "smol", "--countries", study.country, "--scenarios", SCENARIO,
           "--variants", "0", "--max-tokens", "2", "--no-progress", *where]  # fmt: skip
    assert "0 failed" in _cli(*run)
    _cli("runs", "export", "smol", "--db", store, "--out", str(out / "model.csv"))
    model = pd.read_csv(out / "model.csv", dtype={"raw": str, "code": str})
    assert len(model) == len(asked) * max(1, len(study.languages))
    if study.languages:  # the file keeps the language axis (as standard output does)
        assert sorted(set(model["language"])) == sorted(study.languages)

    # 2. the survey, served for the instrument, taken by simulated participants
    _participants(study, store, answer)
    export = ["survey", "export", "--db", store, "--instrument", study.id]
    _cli(*export, "--out", str(out / "people.csv"), "--participants", str(out / "participants.csv"))
    people = pd.read_csv(out / "people.csv", dtype={"raw": str, "code": str})
    who = pd.read_csv(out / "participants.csv", dtype=str, keep_default_na=False)
    assert len(people) == PEOPLE * len(items)
    _check_people(people, who, study, answer)

    # 3. align from the store, against the hand computation from the exported CSVs
    h = cell_scores(people, axes, study.people_ends).rename("human")
    column = "expected" if study.score == "probs" else "position"
    m = cell_scores(model, axes, study.model_ends, column).rename("model")
    cells = pd.concat([h, m], axis=1, join="inner").reset_index()
    # one context; people score every item, the model those it answered on the scale
    assert list(h.index.get_level_values("value")) == sorted(items)
    assert set(cells["value"]) == set(model.loc[model[column].notna(), "value"])
    assert len(cells) >= len(asked) // 2
    cells["group"] = cells["value"].map(groups)
    side = ["--humans", store, "--llm", f"{store}#smol", "--instrument", study.id]
    side += ["--score", study.score]
    by_group = json.loads(_cli("align", *side, "--by", study.grouping, "--format", "json"))
    rows = {_key(r): r for r in by_group["rows"]}
    shared = set(cells["value"])  # rows in the order the instrument's items first list them
    assert list(rows) == list(dict.fromkeys(groups[i] for i in items if i in shared))
    for level, part in cells.groupby("group"):
        expect = hand_rates(part)
        for name, value in expect.items():
            assert rows[str(level)][name] == pytest.approx(value, abs=1e-12), (level, name)
    overall = hand_rates(cells)
    for name, value in overall.items():
        assert by_group["overall"][name] == pytest.approx(value, abs=1e-12), name
    by_country = json.loads(_cli("align", *side, "--by", "country", "--format", "json"))
    assert [r["country"] for r in by_country["rows"]] == [study.country]
    assert by_country["rows"][0]["f1"] == pytest.approx(overall["f1"], abs=1e-12)
    (out / "align.json").write_text(json.dumps(by_group, indent=2))
    _profile_rigor_report(study, spec, store, cells, out)


def _profile_rigor_report(
    study: Study, spec: dict[str, Any], store: str, cells: pd.DataFrame, out: Path
) -> None:
    """profile, rigor ranks and report, each checked against the cells or the instrument."""
    model = ["--llm", f"{store}#smol", "--instrument", study.id, "--score", study.score]
    profile = json.loads(_cli("profile", *model, "--by", study.grouping, "--format", "json"))
    scores = cells.groupby("group", sort=False)["model"].mean()
    assert {_key_of(r): r["score"] for r in profile["rows"]} == pytest.approx(scores.to_dict())

    ranks = ["rigor", "ranks", "--humans", store, *model, "--resamples", "50", "--top-k", "3"]
    ranked = json.loads(_cli(*ranks, "--format", "json"))["rows"]
    distance = (cells["model"] - cells["human"]).abs().set_axis(cells["value"])
    assert sorted(r["value"] for r in ranked) == sorted(i["id"] for i in spec["items"])
    known = [r for r in ranked if r["distance"] is not None]  # a value with no shared cell: none
    # where a cell holds a model answer per language too (a unit is a language's answer)
    assert {r["value"]: r["distance"] for r in known} == pytest.approx(distance.to_dict())
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r["rank_low"] <= r["rank"] <= r["rank_high"] for r in known)
    assert all(0 <= r["p_top_3"] <= 1 for r in known)

    report = ["report", "--humans", store, "--llm", f"smol={store}#smol", "--jobs", "1"]
    report += ["--instrument", study.id, "--score", study.score]
    _cli(*report, "--out", str(out / "report.html"))
    page = html.unescape((out / "report.html").read_text())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert spec["title"] in text
    prompts = max(1, len(study.languages))  # one variant, one sample (in each language)
    assert f"With {PEOPLE} people per context and {prompts} prompt answers per cell" in text
    missing = [i["name"] for i in spec["items"] if html.unescape(i["name"]) not in text]
    assert not missing, f"items not named in the report: {missing}"
    grouping = spec["groupings"][0]  # the report shows the items by the instrument's first
    name = grouping["name"]
    assert f"By {name[:1].lower()}{name[1:]}" in text  # its section names the grouping
    absent = [lv["name"] for lv in grouping["levels"] if lv["name"] not in text]
    assert not absent, f"{grouping['id']} levels not named in the report: {absent}"


def _asked(items: list[str], groups: dict[str, str], per_group: int) -> list[str]:
    """The items the model is asked: the first PER_GROUP of each group, or every item."""
    if not per_group:
        return items
    return [i for i in items if [j for j in items if groups[j] == groups[i]].index(i) < per_group]


def _key_of(row: dict[str, Any]) -> str:
    (name,) = [k for k in row if k not in ("score", "n_cells")]
    return str(row[name])


def test_runs_export_to_a_file_keeps_every_axis(tmp_path: Path) -> None:
    """--out writes the columns standard output does: the language axis too."""
    db, out = str(tmp_path / "s.db"), tmp_path / "m.csv"
    _cli("run", "--instrument", "value_form_multilingual", "--model", "mock", "--db", db,
         "--run", "m", "--countries", "Germany", "--scenarios", SCENARIO, "--variants", "0",
         "--values", "ambitious,humble", "--where", "language=de,fr", "--no-progress")  # fmt: skip
    shown = pd.read_csv(io.StringIO(_cli("runs", "export", "m", "--db", db)), dtype=str)
    _cli("runs", "export", "m", "--db", db, "--out", str(out))
    written = pd.read_csv(out, dtype=str)
    assert list(written.columns) == list(shown.columns) and "language" in written.columns
    assert sorted(written["language"]) == ["de", "de", "fr", "fr"]
    pd.testing.assert_frame_equal(written, shown)


def test_rigor_ranks_the_items_where_a_grouping_is_called_value(tmp_path: Path) -> None:
    """Schwartz's refined theory groups its 57 items into 19 values (the grouping ``value``):
    ``rigor ranks`` ranks the items, with the same distances as ``align --by item``."""
    inst = load_instrument("schwartz_refined")
    rows = []
    for s, item in itertools.product(range(3), inst.item_ids):  # 3 people, 2 prompts in India
        p = inst.item_ids.index(item)
        rows.append({"source": "humans", "country": "india", "topic": SCENARIO, "value": item,
                     "respondent": f"p{s}", "position": 1 + (p + s) % 6})  # fmt: skip
        if s < 2:
            rows.append({"source": "m", "country": "india", "topic": SCENARIO, "value": item,
                         "variant": s, "position": 1 + (2 * p + s) % 6})  # fmt: skip
    for side, name in (("humans", "h.csv"), ("m", "m.csv")):
        pd.DataFrame([r for r in rows if r["source"] == side]).to_csv(tmp_path / name, index=False)
    src = ["--humans", str(tmp_path / "h.csv"), "--llm", str(tmp_path / "m.csv")]
    src += ["--instrument", "schwartz_refined", "--format", "json"]
    ranked = json.loads(_cli("rigor", "ranks", *src, "--resamples", "20"))["rows"]
    by_item = json.loads(_cli("align", *src, "--by", "item"))["rows"]
    assert sorted(r["value"] for r in ranked) == sorted(inst.item_ids)
    assert {r["value"]: r["distance"] for r in ranked} == pytest.approx(
        {r["value"]: r["distance"] for r in by_item}
    )
    assert all(r["distance_low"] <= r["distance_high"] for r in ranked)
