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
from collections import Counter
from collections.abc import Iterator, Mapping
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
DATA = Path(__file__).parent / "data"
SCENARIO = "healthcare"
HEALTH = f"scenario={SCENARIO}"
PEOPLE = 12
METRICS = ("f1", "accuracy", "precision", "recall", "kappa", "distance", "ties_share", "n_contexts")


@dataclass(frozen=True)
class Study:
    """One instrument's study, and what the test knows about it independently of our code."""

    id: str
    asked: tuple[str, str]  # the axis participants are asked, and every participant's level
    where: tuple[str, ...]  # AXIS=LEVEL: the run's contexts (the asked level among them)
    grouping: str  # an item grouping whose rates are computed by hand
    people_ends: tuple[float, float]  # people scale: positions of (agree end, other end)
    # the scale the model answers each variant on: one for variant 0, or variant -> its ends
    model_ends: tuple[float, float] | Mapping[int, tuple[float, float]]
    languages: tuple[str, ...] = ()  # the model's languages; participants' cycle through them
    postgres: bool = False  # the store on the PostgreSQL test server, else a SQLite file
    score: str = "answer"  # how the model is scored: its answer, or option probabilities
    per_group: int = 0  # the model is asked the first N items of each group (0: every item)
    path: Path | None = None  # a test-only instrument's file (else the bundled id)
    prompts: Path | None = None  # its prompt design's file (else the bundled default)
    quota: int = 2 * PEOPLE  # participants per full context cell

    @property
    def instrument(self) -> str:
        """What ``--instrument`` is given: the bundled id or the file."""
        return str(self.path) if self.path else self.id

    @property
    def variants(self) -> tuple[int, ...]:
        """The prompt variants the model is asked."""
        return tuple(self.model_ends) if isinstance(self.model_ends, Mapping) else (0,)

    @property
    def levels(self) -> list[str]:
        """``survey serve``'s ``--level`` options: the run's levels of the assigned axes."""
        assigned = [w for w in self.where if w.split("=")[0] != self.asked[0]]
        return [arg for w in assigned for arg in ("--level", w)]

    def __str__(self) -> str:
        return self.id


STUDIES = [
    # 6 likeness points, 1 = very much like me (agree end); the model's pvq wording: same shape
    Study("schwartz_refined", ("country", "india"), ("country=india", HEALTH), "value", (1, 6),
          (1, 6)),
    # 5 "describes" points, 5 = describes extremely well (agree end is the last)
    Study("moral_foundations", ("country", "canada"), ("country=canada", HEALTH), "foundation",
          (5, 1), (5, 1), postgres=True),
    # people: strongly agree 1 .. strongly disagree 4 (neutral 2.5); model (svs): 1 .. 4. The
    # small model's two tokens in German or French are words, not options: scored by its
    # option probabilities (the expected position), and asked 3 values of each group
    Study("value_form_multilingual", ("country", "germany"), ("country=germany", HEALTH),
          "higher_order", (1, 4), (1, 4), languages=("de", "fr"), score="probs", per_group=3),
    # test-only, of an odd shape: axes region x setting x tone, no country; people on 7 letter
    # points agreeing at the last (g = 7); the model's variant 0 (plain wording, scale 'seven')
    # agrees at 7, variant 2 (story, reversed 'likeness7') at 1. The survey asks the region
    # (the first axis) and assigns setting x tone by quota: 3 people in each of the 4 cells.
    # The small model echoes the story line rather than a number: scored by its option
    # probabilities, so both variants (both scales, opposite ways) count in every cell
    Study("odd_test", ("region", "north"), ("region=north",), "cluster", (7, 1),
          {0: (7, 1), 2: (1, 7)}, path=DATA / "odd_instrument.yaml",
          prompts=DATA / "odd_prompts.yaml", quota=3, score="probs"),
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
    args = ["--instrument", study.instrument, "--asked-axis", study.asked[0], *study.levels]
    args += ["--quota", str(study.quota)]
    args += ["--min-form-seconds", "0", "--no-access-log", *load.NO_HOLD_LIMITS]
    log = ARTIFACTS / study.id / "server.log"
    server = load.start_server(store, port, *args, log=log)
    inst = load_instrument(study.instrument)
    languages = (*study.languages, "en") if study.languages else (None,)

    async def one(salt: int) -> str:
        lang = languages[salt % len(languages)]
        pid = load.prolific_id("sim", salt)
        return await load.take_part(
            port, pid, study.asked[1], instrument=inst, lang=lang, salt=salt, pattern=answer
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
    table: pd.DataFrame,
    axes: list[str],
    ends: tuple[float, float] | Mapping[int, tuple[float, float]],
    column: str = "position",
) -> pd.Series:
    """Mean normalised score per (context, value): (COLUMN - agree end) / (other - agree), over
    the answers with a COLUMN (the position answered, or the ``expected`` position); ENDS for
    every answer, or each answer's by its ``variant``."""
    scored = table[table[column].notna()]
    keys = [scored[_column(scored, a)].rename(a) for a in axes]
    if isinstance(ends, Mapping):
        agree = scored["variant"].map(lambda v: ends[int(v)][0])
        other = scored["variant"].map(lambda v: ends[int(v)][1])
    else:
        agree, other = pd.Series(ends[0], scored.index), pd.Series(ends[1], scored.index)
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
    people: pd.DataFrame, who: pd.DataFrame, study: Study, answer: load.Pattern, axes: list[str]
) -> set[Any]:
    """The export holds what each participant gave, in their language, at the asked level, the
    people spread evenly over the contexts the survey assigned. Returns those contexts."""
    assert len(who) == PEOPLE and set(who["exclusion"]) == {""}
    salt = {
        r: int(pid[8:], 16) for r, pid in zip(who["respondent"], who["prolific_pid"], strict=True)
    }
    given = [answer(v, salt[r]) for r, v in zip(people["respondent"], people["value"], strict=True)]
    assert list(people["raw"].astype(str)) == given
    axis, level = study.asked
    assert set(people[_column(people, axis)]) == {level}
    seats = Counter(_contexts(people.drop_duplicates("respondent"), axes, unique=False))
    assert set(seats.values()) == {PEOPLE // len(seats)}  # the quota balances the cells
    if study.languages:
        assert sorted(set(who["language"])) == sorted({*study.languages, "en"})
    return set(seats)


def _contexts(table: pd.DataFrame, axes: list[str], unique: bool = True) -> list[Any]:
    """The context of each of TABLE's rows (once each if UNIQUE): a tuple of levels over AXES."""
    rows = table[[_column(table, a) for a in axes]]
    return list((rows.drop_duplicates() if unique else rows).itertuples(index=False, name=None))


@pytest.mark.parametrize("study", STUDIES, ids=str)
def test_an_instrument_goes_through_the_whole_study(study: Study, store: str) -> None:
    out = ARTIFACTS / study.id
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    spec = json.loads(_cli("form", "show", study.instrument, "--format", "json"))
    assert spec["id"] == study.id
    items = [i["id"] for i in spec["items"]]
    axes = [a["id"] for a in spec["axes"] if a.get("role") != "language"]
    answer = pattern_for(spec)
    groups = {i["id"]: i["groups"][study.grouping] for i in spec["items"]}

    # 1. the bundled model answers one item per prompt, in the run's contexts (and languages)
    asked = _asked(items, groups, study.per_group)
    where = [arg for w in study.where for arg in ("--where", w)]
    where += ["--where", "language=" + ",".join(study.languages)] if study.languages else []
    where += ["--values", ",".join(asked)] if study.per_group else []
    where += ["--prompts", str(study.prompts)] if study.prompts else []
    variants = ",".join(map(str, study.variants))
    run = ["run", "--instrument", study.instrument, "--model", "local", "--mode", "item",
           "--db", store, "--run", "smol", "--variants", variants, "--max-tokens", "2",
           "--no-progress", *where]  # fmt: skip
    assert "0 failed" in _cli(*run)
    _cli("runs", "export", "smol", "--db", store, "--out", str(out / "model.csv"))
    model = pd.read_csv(out / "model.csv", dtype={"raw": str, "code": str})
    contexts = set(_contexts(model, axes))
    prompts = len(study.variants) * max(1, len(study.languages))  # answers per cell
    assert len(model) == len(contexts) * len(asked) * prompts
    assert sorted(set(model["variant"])) == list(study.variants)
    if study.languages:  # the file keeps the language axis (as standard output does)
        assert sorted(set(model["language"])) == sorted(study.languages)

    # 2. the survey, served for the instrument, taken by simulated participants
    _participants(study, store, answer)
    export = ["survey", "export", "--db", store, "--instrument", study.instrument]
    _cli(*export, "--out", str(out / "people.csv"), "--participants", str(out / "participants.csv"))
    people = pd.read_csv(out / "people.csv", dtype={"raw": str, "code": str})
    who = pd.read_csv(out / "participants.csv", dtype=str, keep_default_na=False)
    assert len(people) == PEOPLE * len(items)
    assert _check_people(people, who, study, answer, axes) == contexts  # the model's contexts

    # 3. align from the store, against the hand computation from the exported CSVs
    h = cell_scores(people, axes, study.people_ends).rename("human")
    column = "expected" if study.score == "probs" else "position"
    m = cell_scores(model, axes, study.model_ends, column).rename("model")
    cells = pd.concat([h, m], axis=1, join="inner").reset_index()
    # people score every item in each context, the model those it answered on the scale
    assert len(h) == len(contexts) * len(items)
    assert set(h.groupby(level="value").size()) == {len(contexts)}
    answered = model[model[column].notna()]
    assert set(_contexts(cells, [*axes, "value"])) == set(_contexts(answered, [*axes, "value"]))
    assert len(cells) >= len(contexts) * len(asked) // 2
    cells["group"] = cells["value"].map(groups)
    side = ["--humans", store, "--llm", f"{store}#smol", "--instrument", study.instrument]
    side += ["--score", study.score]
    by_group = json.loads(_cli("align", *side, "--by", study.grouping, "--format", "json"))
    rows = {_key(r): r for r in by_group["rows"]}
    shared = set(cells["value"])  # rows in the order the instrument's items first list them
    assert list(rows) == list(dict.fromkeys(groups[i] for i in items if i in shared))
    for level, part in cells.groupby("group"):
        expect = hand_rates(part)
        for name, value in expect.items():
            assert rows[str(level)][name] == pytest.approx(value, abs=1e-12), (level, name)
    # overall: each rate the mean of its contexts' rates, the distance over all cells
    per_context = [hand_rates(part) for _, part in cells.groupby(axes)]
    overall = {k: float(np.mean([r[k] for r in per_context])) for k in ("f1", "accuracy")}
    overall["distance"] = hand_rates(cells)["distance"]
    for name, value in overall.items():
        assert by_group["overall"][name] == pytest.approx(value, abs=1e-12), name
    axis, level = study.asked  # every shared cell is at the asked level: one row, overall's
    by_asked = json.loads(_cli("align", *side, "--by", axis, "--format", "json"))
    assert [r[axis] for r in by_asked["rows"]] == [level]
    assert by_asked["rows"][0]["f1"] == pytest.approx(overall["f1"], abs=1e-12)
    (out / "align.json").write_text(json.dumps(by_group, indent=2))
    _profile_rigor_report(study, spec, store, cells, out, len(contexts))


def _profile_rigor_report(
    study: Study, spec: dict[str, Any], store: str, cells: pd.DataFrame, out: Path, contexts: int
) -> None:
    """profile, rigor ranks and report, each checked against the cells or the instrument."""
    model = ["--llm", f"{store}#smol", "--instrument", study.instrument, "--score", study.score]
    profile = json.loads(_cli("profile", *model, "--by", study.grouping, "--format", "json"))
    scores = cells.groupby("group", sort=False)["model"].mean()
    assert {_key_of(r): r["score"] for r in profile["rows"]} == pytest.approx(scores.to_dict())

    ranks = ["rigor", "ranks", "--humans", store, *model, "--resamples", "50", "--top-k", "3"]
    ranked = json.loads(_cli(*ranks, "--format", "json"))["rows"]
    # a value's distance: the mean |model - people| over its shared cells (contexts)
    distance = (cells["model"] - cells["human"]).abs().groupby(cells["value"]).mean()
    assert sorted(r["value"] for r in ranked) == sorted(i["id"] for i in spec["items"])
    known = [r for r in ranked if r["distance"] is not None]  # a value with no shared cell: none
    # where a cell holds a model answer per language too (a unit is a language's answer)
    assert {r["value"]: r["distance"] for r in known} == pytest.approx(distance.to_dict())
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    # a percentile interval of resampled ranks: ordered and on the ranks' range, but it need
    # not hold the point rank (a distance near 0 is pushed up by resampling, so its ranks are)
    assert all(1 <= r["rank_low"] <= r["rank_high"] <= len(ranked) for r in known)
    assert all(0 <= r["p_top_3"] <= 1 for r in known)

    report = ["report", "--humans", store, "--llm", f"smol={store}#smol", "--jobs", "1"]
    report += ["--instrument", study.instrument, "--score", study.score]
    _cli(*report, "--out", str(out / "report.html"))
    page = html.unescape((out / "report.html").read_text())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert spec["title"] in text
    prompts = len(study.variants) * max(1, len(study.languages))  # one sample each
    people = PEOPLE // contexts  # the quota spreads them evenly
    assert f"With {people} people per context and {prompts} prompt answers per cell" in text
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
