"""Issue 20, item 4: the choice task (``run --task choice --actions SET``) with the mock and
hand-written action sets: designs as data, the order counterbalanced and never fixed by
inclination, each stored choice naming its inclination and place, probabilities by
inclination, the always-"1" and always-expressing mocks against hand-computed figures, choice
runs read by gap and align (and refused elsewhere), SIGKILL, the odd instrument and bad input.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from _store_support import spawn, wait_for
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.prompts import (
    ChoiceDesign,
    PromptError,
    given_order,
    load_choice_design,
    read_choice_design,
    render_choice,
)
from valuecompass.store import open_store
from valuecompass.store import runs as store

ONE = ["--instrument", "value_actions", "--countries", "India", "--where", "topic=Politics"]
WARD = Path(__file__).parent / "data" / "ward_instrument.yaml"
WARD_PROMPTS = Path(__file__).parent / "data" / "ward_prompts.yaml"
VALUES = load_instrument("value_actions")


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _hand_set(path: Path, db: str, name: str = "hand", countries: tuple[str, ...] = ("India",),
              topics: tuple[str, ...] = ("Politics",)) -> None:  # fmt: skip
    """An action set written by hand: per item, 'I keep ...' expresses it, 'I drop ...'
    opposes it."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["country", "topic", "value", "inclination", "action"])
        for country in countries:
            for topic in topics:
                for item in VALUES.items:
                    out.writerow([country, topic, item.id, "expresses", f"I keep {item.name}."])
                    out.writerow([country, topic, item.id, "opposes", f"I drop {item.name}."])
    done = _cli("actions", "import", str(path), "--set", name, "--db", db,
                "--instrument", "value_actions")  # fmt: skip
    assert done.exit_code == 0, done.output


def _choice(db: str, *args: str) -> Any:
    return _cli("run", "--task", "choice", *ONE, "--db", db, "--no-progress", *args)


def _stored(db: str, run: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "select a.* , p.raw as prompt_raw from answers a join runs r on r.id = a.run_id "
            "join prompts p on p.run_id = a.run_id and p.cache_key = a.cache_key "
            "where r.name = ? order by a.id",
            (run,),
        ).fetchall()
    return [dict(r) for r in rows]


# --- designs ------------------------------------------------------------------------------


def test_the_bundled_designs() -> None:
    default = read_choice_design(None)
    assert [(v.index, v.order) for v in default.variants] == [(0, "given"), (1, "reversed")]
    paper = read_choice_design("paper")
    # the authors' 2 x 2 x 2: wording is bit 0, order bit 1 (2, 3, 6, 7 reversed), format bit 2
    assert len(paper.variants) == 8
    for v in paper.variants:
        assert v.wording == ("someone" if v.index & 1 else "suppose")
        assert v.order == ("reversed" if v.index & 2 else "given")
        assert v.format == ("explained" if v.index & 4 else "action")
    assert default.reply_schema(default.variants[0]) is None  # the number alone: scored by probs
    schema = paper.reply_schema(paper.variant(5))
    assert schema is not None and schema["required"] == ["action", "explanation"]
    assert schema["properties"]["action"]["enum"] == ["Option 1", "Option 2"]


def test_the_given_order_is_balanced_and_never_by_inclination() -> None:
    firsts = Counter()
    for context in VALUES.contexts():
        where = tuple(context.items())
        for item in VALUES.item_ids:
            firsts[given_order(where, item)[0]] += 1
    n = sum(firsts.values())
    assert n == 12 * 11 * 56
    # a fair coin per pair: the share of expressing-first pairs is within 3 sd of a half
    assert abs(firsts["expresses"] / n - 0.5) < 3 * (0.25 / n) ** 0.5
    # the same pair always in the same order (a stored prompt never changes)
    where = (("country", "india"), ("topic", "politics"))
    assert given_order(where, "wealth") == given_order(where, "wealth")


def test_a_pair_is_shown_both_ways_and_the_texts_follow_the_order() -> None:
    design = read_choice_design("paper")
    texts = {"expresses": "I keep it.", "opposes": "I drop it."}
    context = {"country": "india", "topic": "politics"}
    shown = {}
    for v in design.variants:
        prompt = render_choice(VALUES, design, context, "wealth", texts, v)
        assert prompt.texts == (texts[prompt.order[0]], texts[prompt.order[1]])
        assert f"Option 1: {prompt.texts[0]}\nOption 2: {prompt.texts[1]}" in prompt.user
        assert "India" in prompt.user and "Politics" in prompt.user and '"Wealth"' in prompt.user
        shown[v.index] = prompt.order
    for v in range(8):
        flipped = shown[v ^ 2]
        assert shown[v] == (flipped[1], flipped[0])  # reversed is the given order swapped


def test_a_design_from_a_file_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nversion: '1'\nwordings:\n  w: 'In {planet}, pick one.'\nformats:\n"
        "  n: {text: 'Say 1 or 2.'}\nvariants:\n  - {index: 0, wording: w, order: given, "
        "format: n}\n",
        encoding="utf-8",
    )
    with pytest.raises(PromptError, match=r"unknown placeholder \{planet\}"):
        load_choice_design(path, VALUES)
    path.write_text(path.read_text().replace("{planet}", "{country}"), encoding="utf-8")
    assert isinstance(load_choice_design(path, VALUES), ChoiceDesign)
    path.write_text(path.read_text().replace("format: n", "format: z"), encoding="utf-8")
    with pytest.raises(PromptError, match="format 'z' is not defined"):
        read_choice_design(path)


# --- runs with the mock -------------------------------------------------------------------


def test_each_stored_choice_names_its_inclination_and_place(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    _hand_set(tmp_path / "hand.csv", db)
    done = _choice(db, "--actions", "hand", "--model", "mock", "--run", "c")
    assert done.exit_code == 0, done.output
    assert "112 prompts; 0 already stored, 0 from cache, 112 asked, 0 failed" in done.output
    rows = _stored(db, "c")
    assert len(rows) == 112
    design = read_choice_design(None)
    for r in rows:
        context = {"country": r["country"], "topic": r["scenario"]}
        item = VALUES.item(r["value"])
        texts = {"expresses": f"I keep {item.name}.", "opposes": f"I drop {item.name}."}
        prompt = render_choice(VALUES, design, context, item.id, texts,
                               design.variant(r["variant"]))  # fmt: skip
        place = int(r["raw"])  # the mock's reply is the option's number
        assert r["place"] == place and r["code"] == prompt.order[place - 1]
        assert r["position"] == (1.0 if r["code"] == "opposes" else 0.0)
        # the mock peaks its distribution on the option it wrote: 0.8 to it, 0.2 to the other
        probs = json.loads(r["probs"])
        assert probs[r["code"]] == pytest.approx(0.8) and r["expected"] == probs["opposes"]
    # asked again: nothing asked, nothing changes
    again = _choice(db, "--actions", "hand", "--model", "mock", "--run", "c")
    assert "112 already stored, 0 from cache, 0 asked" in again.output
    assert _stored(db, "c") == rows
    engine = open_store(db, create=False)
    record = store.get_run(engine, "c")
    assert record is not None and (record.task, record.action_set) == ("choice", "hand")
    table = store.run_choices(engine, record)
    engine.dispose()
    assert list(table["inclination"]) == [r["code"] for r in rows]
    assert list(table["option"]) == [r["place"] for r in rows]


def _gap(db: str, stated: str, acted: str) -> dict[str, Any]:
    done = _cli("gap", "--stated", f"{db}#{stated}", "--acted", f"{db}#{acted}",
                "--format", "json")  # fmt: skip
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_an_always_option_one_mock_is_flagged_and_agrees_half(tmp_path: Path) -> None:
    db = str(tmp_path / "one.db")
    _hand_set(tmp_path / "hand.csv", db)
    assert (
        _choice(db, "--actions", "hand", "--model", "mock:answer=1", "--run", "one").exit_code == 0
    )
    stated = _cli("run", *ONE, "--model", "mock", "--db", db, "--run", "said", "--no-progress")
    assert stated.exit_code == 0
    overall = _gap(db, "said", "one")["overall"]
    # each pair shown both ways, option 1 always: one choice of each inclination per pair
    assert overall["variant_agreement"] == 0.5 and overall["n_pairs"] == 56
    assert overall["first_option_share"] == 1.0 and overall["position_biased"] is True
    assert overall["position_p_value"] < 1e-3
    assert overall["position_p_value"] == pytest.approx(binomtest(112, 112, 0.5).pvalue)


def test_gap_by_probabilities_on_both_sides(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    _hand_set(tmp_path / "hand.csv", db)
    assert (
        _choice(db, "--actions", "hand", "--model", "mock:answer=1", "--run", "one").exit_code == 0
    )
    assert _cli("run", *ONE, "--model", "mock", "--db", db, "--run", "said",
                "--no-progress").exit_code == 0  # fmt: skip
    done = _cli("gap", "--stated", f"{db}#said", "--acted", f"{db}#one", "--score", "probs",
                "--format", "json")  # fmt: skip
    assert done.exit_code == 0, done.output
    overall = json.loads(done.stdout)["overall"]
    # acted: option 1 always, at 0.8; each pair is shown once with each inclination first, so
    # the opposing action's probability is 0.8 once and 0.2 once: every cell sits at 0.5
    # stated: each answer's expected position (1 .. 4) on [0, 1], averaged per item
    with sqlite3.connect(db) as conn:
        said = conn.execute(
            "select a.value, avg((a.expected - 1) / 3.0) from answers a join runs r on "
            "r.id = a.run_id where r.name = 'said' group by a.value"
        ).fetchall()
    assert overall["distance"] == pytest.approx(np.mean([abs(s - 0.5) for _, s in said]))
    assert overall["n_cells"] == 56


def test_an_always_expressing_mock_has_no_position_bias(tmp_path: Path) -> None:
    db = str(tmp_path / "keep.db")
    _hand_set(tmp_path / "hand.csv", db)
    keep = _choice(db, "--actions", "hand", "--model", "mock:pick=keep", "--run", "keep")
    assert keep.exit_code == 0, keep.output
    assert {r["code"] for r in _stored(db, "keep")} == {"expresses"}
    stated = _cli("run", *ONE, "--model", "mock", "--db", db, "--run", "said", "--no-progress")
    assert stated.exit_code == 0
    overall = _gap(db, "said", "keep")["overall"]
    # both orders of every pair asked: the expressing action is first exactly half the time
    assert overall["first_option_share"] == 0.5 and overall["position_biased"] is False
    assert overall["position_p_value"] == pytest.approx(1.0)
    assert overall["variant_agreement"] == 1.0
    # acted always agrees, so the gap is the stated disagree share, by hand from the store
    with sqlite3.connect(db) as conn:
        said = conn.execute(
            "select a.value, sum(a.position), count(*) from answers a join runs r on "
            "r.id = a.run_id where r.name = 'said' and a.position is not null group by a.value"
        ).fetchall()
    # positions 1 (strongly agree) .. 4: a mean at or past 2.5 (0.5 normalised) disagrees;
    # in whole numbers, so a mean of exactly 2.5 is not lost to rounding
    disagree = np.mean([2 * total >= 5 * n for _, total, n in said])
    assert overall["disagree_agree"] == pytest.approx(disagree, abs=1e-12)
    assert overall["agree_disagree"] == 0.0 and overall["f1"] == 0.0


def test_choices_align_against_choices_and_by_probabilities(tmp_path: Path) -> None:
    db = str(tmp_path / "al.db")
    _hand_set(tmp_path / "hand.csv", db)
    for name, model in (("keep", "mock:pick=keep"), ("drop", "mock:pick=drop")):
        assert _choice(db, "--actions", "hand", "--model", model, "--run", name).exit_code == 0
    # align reads a choice run on either side only against another choice source
    from valuecompass.api import align_sources

    result = align_sources(f"{db}#keep", f"{db}#drop", VALUES)
    overall = result.alignment.overall()
    # every cell: one side always expresses (0), the other always opposes (1)
    assert overall["distance"] == pytest.approx(1.0)
    probs = align_sources(f"{db}#keep", f"{db}#drop", VALUES, score="probs")
    # by probabilities the opposing side sits at p_opposes = 0.8: |0 - 0.8| per cell
    assert probs.alignment.overall()["distance"] == pytest.approx(0.8)


def test_a_choice_run_is_read_where_choices_are_and_refused_elsewhere(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    _hand_set(tmp_path / "hand.csv", db)
    assert _choice(db, "--actions", "hand", "--model", "mock", "--run", "c").exit_code == 0
    assert _cli("run", *ONE, "--model", "mock", "--db", db, "--run", "s",
                "--no-progress").exit_code == 0  # fmt: skip
    cases = [
        (["gap", "--stated", f"{db}#c", "--acted", f"{db}#s"], "a choice run, not stated"),
        (["gap", "--stated", f"{db}#s", "--acted", f"{db}#s"], "a rating run; holds ratings"),
        (["profile", "--llm", f"{db}#c"], "a choice run (run --task choice)"),
    ]
    for args, message in cases:
        done = _cli(*args)
        assert done.exit_code == 2, done.output
        assert message in done.output and "Traceback" not in done.output
    shown = _cli("runs", "show", "c", "--db", db)
    assert "choices between the actions of set hand" in shown.output
    assert "variants (wording, order, format): 0: plain, given, number" in shown.output
    exported = _cli("runs", "export", "c", "--db", db)
    header = exported.output.splitlines()[0].split(",")
    assert header[:4] == ["source", "country", "topic", "value"] and "inclination" in header
    assert len(exported.output.splitlines()) == 113


def test_a_dry_run_shows_the_choice_prompts_and_stores_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    _hand_set(tmp_path / "hand.csv", db)
    done = _choice(db, "--actions", "hand", "--model", "mock", "--dry-run", "--show-prompts", "1")
    assert done.exit_code == 0, done.output
    assert "dry run: 112 prompts, 112 distinct model calls" in done.output
    assert "Option 1: I " in done.output and "Option 2: I " in done.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] == 0


def test_pairs_lacking_an_action_are_left_out(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    gen = ["actions", "generate", *ONE, "--set", "g", "--db", db, "--no-progress"]
    assert _cli(*gen, "--items", "Equality,Wealth", "--model", "mock").exit_code == 0
    kept = _cli(*gen, "--items", "Honest", "--model", "mock:answer=nonsense")
    assert "missing: no_json 2" in kept.output  # honest's two places are kept missing
    done = _choice(db, "--actions", "g", "--model", "mock", "--run", "t")
    assert done.exit_code == 0, done.output
    assert "4 prompts" in done.output  # two items in both orders; honest has no action
    assert {r["value"] for r in _stored(db, "t")} == {"equality", "wealth"}


def test_a_pair_whose_actions_read_the_same_keeps_both_orders(tmp_path: Path) -> None:
    db = str(tmp_path / "same.db")
    path = tmp_path / "same.csv"
    path.write_text(
        "country,topic,value,inclination,action\n"
        "India,Politics,wealth,expresses,I save.\nIndia,Politics,wealth,opposes,I save.\n",
        encoding="utf-8",
    )
    assert _cli("actions", "import", str(path), "--set", "same", "--db", db,
                "--instrument", "value_actions").exit_code == 0  # fmt: skip
    done = _choice(db, "--actions", "same", "--model", "mock:answer=1", "--run", "same")
    assert "2 prompts; 0 already stored, 0 from cache, 2 asked" in done.output, done.output
    rows = _stored(db, "same")
    # the same text in both orders, yet each order keeps its own answer: option 1 is each
    # order's first inclination
    assert sorted(r["variant"] for r in rows) == [0, 1] and all(r["place"] == 1 for r in rows)
    assert {r["code"] for r in rows} == {"expresses", "opposes"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--task choice needs --actions SET"),
        (["--actions", "nothing"], "no action set of that name"),
        (["--actions", "hand", "--mode", "all"], "asks one item per prompt"),
        (["--actions", "hand", "--prompts", "nowhere.yaml"], "no such choice design"),
        (["--actions", "hand", "--variants", "7"], "no variant 7"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    db = str(tmp_path / "b.db")
    _hand_set(tmp_path / "hand.csv", db)
    assert _choice(db, "--actions", "hand", "--model", "mock", "--run", "kept").exit_code == 0
    before = _stored(db, "kept")
    done = _choice(db, "--model", "mock", *args)
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
    assert len([line for line in done.output.splitlines() if line.strip()]) == 1
    assert _stored(db, "kept") == before  # nothing stored is lost


def test_actions_without_the_choice_task_and_a_set_of_another_instrument(tmp_path: Path) -> None:
    db = str(tmp_path / "o.db")
    _hand_set(tmp_path / "hand.csv", db)
    plain = _cli("run", *ONE, "--model", "mock", "--db", db, "--actions", "hand")
    assert plain.exit_code == 2 and "add --task choice" in plain.output
    other = _cli("run", "--task", "choice", "--instrument", str(WARD), "--model", "mock",
                 "--db", db, "--actions", "hand", "--no-progress")  # fmt: skip
    assert other.exit_code == 2, other.output
    assert "holds actions of instrument 'value_actions'" in other.output


# --- SIGKILL --------------------------------------------------------------------------------


def test_sigkill_mid_choice_run_loses_nothing_and_asks_nothing_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    topics = tuple(level.name for level in VALUES.axis("topic").levels)
    _hand_set(tmp_path / "hand.csv", db, topics=topics)
    # India x 11 topics x 56 values x 2 variants = 1,232 prompts
    args = ["run", "--task", "choice", "--actions", "hand", "--instrument", "value_actions",
            "--countries", "India", "--model", "mock:delay=0.004", "--db", db, "--run", "k",
            "--concurrency", "2", "--no-progress"]  # fmt: skip
    proc = spawn(*args)

    def count() -> int:
        try:
            with sqlite3.connect(db) as conn:
                return int(conn.execute("select count(*) from answers").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    wait_for(lambda: count() >= 100, proc)
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {(r["scenario"], r["value"], r["variant"]): r for r in _stored(db, "k")}
    assert 100 <= len(before) < 1232
    again = _cli(*args)
    assert again.exit_code == 0, again.output
    n = len(before)
    assert f"1232 prompts; {n} already stored, 0 from cache, {1232 - n} asked" in again.output
    after = {(r["scenario"], r["value"], r["variant"]): r for r in _stored(db, "k")}
    assert len(after) == 1232 and all(after[k] == v for k, v in before.items())


# --- another instrument ---------------------------------------------------------------------


def test_the_ward_instrument_goes_through_generation_choice_and_gap(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    ward = ["--instrument", str(WARD)]
    made = _cli("actions", "generate", *ward, "--model", "mock", "--set", "w", "--db", db,
                "--no-progress")  # fmt: skip
    assert made.exit_code == 0, made.output
    chose = _cli("run", "--task", "choice", *ward, "--actions", "w", "--model", "mock",
                 "--db", db, "--run", "wc", "--no-progress")  # fmt: skip
    assert chose.exit_code == 0, chose.output
    said = _cli("run", *ward, "--prompts", str(WARD_PROMPTS), "--model", "mock", "--db", db,
                "--run", "ws", "--no-progress")  # fmt: skip
    assert said.exit_code == 0, said.output
    instrument = load_instrument(WARD)
    rows = _stored(db, "wc")
    assert len(rows) == len(list(instrument.contexts())) * len(instrument.items) * 2
    assert {r["code"] for r in rows} <= {"expresses", "opposes"} and all(r["place"] for r in rows)
    done = _cli("gap", "--stated", f"{db}#ws", "--acted", f"{db}#wc", *ward, "--format", "json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    axis = instrument.axes[0].id
    assert "country" not in out["rows"][0] and axis in out["rows"][0]
    assert out["overall"]["n_cells"] == len(list(instrument.contexts())) * len(instrument.items)


def test_a_variant_named_twice_is_asked_once(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    done = _cli("run", *ONE, "--model", "mock", "--db", db, "--run", "v", "--variants", "0",
                "--variants", "0,1", "--no-progress")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "112 prompts; 0 already stored, 0 from cache, 112 asked" in done.output
