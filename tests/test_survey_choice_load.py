"""Issue 21, items 2 and 3: 40 simulated participants take a choice study on a real ``survey
serve --actions SET`` process, rating and choosing in a known pattern; ``survey export
--choices`` writes their choices, and ``gap`` (people stated against people acted, from the
store and from the export) and ``align`` (people acted against a model's choice run) match a
hand computation from that pattern to 1e-12; and people acted against the REAL bundled model's
choice run on the same set (a small grid) matches the pattern and the model's stored choices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

import _survey_support as support
from _choice_support import ACTIONS, hand_set, truncate_actions
from valuecompass.api import align_sources, gap_sources
from valuecompass.cli import main
from valuecompass.store import open_store
from valuecompass.testing import survey_load as load

pg_database, store_url = support.pg_database, support.store_url
CELLS = [("India", "Politics"), ("India", "Religion"), ("Germany", "Politics"),
         ("Germany", "Religion")]  # fmt: skip
PLACE = {item: i for i, item in enumerate(ACTIONS.item_ids)}
CODES = ("2", "1", "0", "-1", "-2", "irrelevant")
#: The Value Form's people scale normalised: its positions 1, 2, 2.5, 3, 4 (the paper's, on the
#: models' four points) put at 0 for its agree end ("2") and 1 for the other ("-2").
NORMALISED = {"2": 0.0, "1": 1 / 3, "0": 0.5, "-1": 2 / 3, "-2": 1.0}


def rating(item: str, salt: int) -> str:
    return CODES[(salt + 2 * PLACE[item]) % len(CODES)]


def opposes(item: str, salt: int) -> bool:
    return (salt + PLACE[item]) % 3 == 0 or PLACE[item] % 4 == 0


def chooser(item: str, salt: int, texts: Mapping[str, str]) -> str:
    word = "I drop" if opposes(item, salt) else "I keep"
    return next(place for place, text in texts.items() if text.startswith(word))


@pytest.fixture
def study(store_url: str, tmp_path: Path) -> Iterator[int]:
    engine = open_store(store_url)
    truncate_actions(engine)
    engine.dispose()
    hand_set(store_url, tmp_path, CELLS)
    port = load.free_port()
    args = ["--instrument", ACTIONS.id, "--actions", "hand", "--quota", "10"]
    args += ["--no-access-log", "--min-form-seconds", "0", "--choices-per-page", "28"]
    args += load.NO_HOLD_LIMITS
    proc = load.start_server(store_url, port, *args, log=tmp_path / "server.log")
    yield port
    proc.terminate()
    proc.wait()


def _who(i: int) -> tuple[str, str]:
    """Participant I's country and topic: ten in each cell."""
    return ("india" if i < 20 else "germany"), ("politics" if i % 2 == 0 else "religion")


def _hand_cells() -> pd.DataFrame:
    """Per cell (country, topic, item): the mean normalised rating and the share opposing."""
    rows = []
    for country in ("india", "germany"):
        for topic in ("politics", "religion"):
            salts = [i for i in range(40) if _who(i) == (country, topic)]
            for item in ACTIONS.item_ids:
                said = [NORMALISED[c] for c in (rating(item, s) for s in salts) if c in NORMALISED]
                acted = [1.0 if opposes(item, s) else 0.0 for s in salts]
                cell = {"country": country, "topic": topic, "value": item}
                rows.append({**cell, "stated": sum(said) / len(said),
                             "acted": sum(acted) / len(acted)})  # fmt: skip
    return pd.DataFrame(rows)


def _f1(stated: np.ndarray, acted: np.ndarray) -> float:
    """F1 with 'disagree' (at or above 0.5) positive, acted predicting stated."""
    truth, guess = stated >= 0.5, acted >= 0.5
    tp = float(np.sum(truth & guess))
    fp, fn = float(np.sum(~truth & guess)), float(np.sum(truth & ~guess))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def test_forty_participants_give_their_own_gap_and_it_matches_the_hand_computation(
    study: int, store_url: str, tmp_path: Path
) -> None:
    async def crowd() -> list[str]:
        runs = []
        for i in range(40):
            country, topic = _who(i)
            runs.append(load.take_part(study, load.prolific_id("choice", i), country,
                                       instrument=ACTIONS, salt=i, pattern=rating,
                                       scenario=topic, chooser=chooser))  # fmt: skip
        return list(await asyncio.gather(*runs))

    assert asyncio.run(crowd()) == ["/done"] * 40
    out = tmp_path / "answers.csv"
    chosen_csv = tmp_path / "choices.csv"
    args = ["survey", "export", "--db", store_url, "--instrument", ACTIONS.id, "--out", str(out)]
    args += ["--choices", str(chosen_csv), "--participants", str(tmp_path / "people.csv")]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "2240 choices written" in done.output
    chosen = pd.read_csv(chosen_csv, dtype=str, keep_default_na=False)
    assert list(chosen.columns) == ["source", "country", "topic", "value", "respondent",
                                    "variant", "sample", "inclination", "option", "raw",
                                    "missing", "shown_first"]  # fmt: skip
    assert len(chosen) == 40 * 56 and chosen["respondent"].nunique() == 40
    people = pd.read_csv(tmp_path / "people.csv", dtype=str, keep_default_na=False)
    salt = {r: int(p[8:], 16) for r, p in zip(people["respondent"], people["prolific_pid"],
                                              strict=True)}  # fmt: skip
    assert sorted(salt.values()) == list(range(40))
    expected = ["opposes" if opposes(v, salt[r]) else "expresses"
                for v, r in zip(chosen["value"], chosen["respondent"], strict=True)]  # fmt: skip
    assert list(chosen["inclination"]) == expected
    # the place shown: option 1 is the action shown first
    first = chosen["option"] == "1"
    assert ((chosen["inclination"] == chosen["shown_first"]) == first).all()
    # each pair shown both ways in each cell: five participants each way
    per_way = chosen.groupby(["country", "topic", "value", "shown_first"]).size()
    assert set(per_way) == {5}

    hand = _hand_cells().set_index(["country", "topic", "value"]).sort_index()
    for acted in (store_url, str(chosen_csv)):  # the store, and the export, as --acted
        result = gap_sources(store_url, acted)
        assert result.gap.instrument.id == ACTIONS.id
        cells = result.gap.cells().set_index(["country", "topic", "value"]).sort_index()
        assert np.allclose(cells["stated"], hand["stated"], rtol=0, atol=1e-12)
        assert np.allclose(cells["acted"], hand["acted"], rtol=0, atol=1e-12)
        distance = (hand["stated"] - hand["acted"]).abs()
        assert np.allclose(cells["distance"], distance, rtol=0, atol=1e-12)
        by = result.gap.by("context").set_index(["country", "topic"])
        assert (by["f1"] > 0).all()  # the pattern gives both labels on both sides
        for (country, topic), group in hand.groupby(level=[0, 1]):
            f1 = _f1(group["stated"].to_numpy(), group["acted"].to_numpy())
            assert np.isclose(
                by.loc[(country, topic), "f1"], f1, rtol=0, atol=1e-12, equal_nan=True
            )
            mean = (group["stated"] - group["acted"]).abs().mean()
            assert abs(by.loc[(country, topic), "distance"] - mean) < 1e-12

    # people acted against a model's choices: a model that always opposes (acted = 1)
    run = ["run", "--task", "choice", "--instrument", ACTIONS.id, "--actions", "hand"]
    run += ["--model", "mock:pick=drop", "--db", store_url, "--run", "drop", "--no-progress"]
    assert CliRunner().invoke(main, run).exit_code == 0
    both = align_sources(store_url, f"{store_url}#drop")
    cells = both.alignment.cells().set_index(["country", "topic", "value"]).sort_index()
    assert np.allclose(cells["human"], hand["acted"], rtol=0, atol=1e-12)
    assert np.allclose(cells["model"], 1.0, rtol=0, atol=1e-12)
    assert np.allclose(cells["distance"], 1.0 - hand["acted"], rtol=0, atol=1e-12)

    # people acted against the REAL bundled model's choices on the same set: three items of
    # India x Politics, each pair in both orders (six prompts)
    asked = ["ambitious", "honest", "wealth"]
    run = ["run", "--task", "choice", "--instrument", ACTIONS.id, "--actions", "hand"]
    run += ["--model", "local", "--db", store_url, "--run", "smol", "--no-progress"]
    run += ["--countries", "India", "--where", "topic=Politics", "--items", ",".join(asked)]
    run += ["--temperature", "0"]
    made = CliRunner().invoke(main, run)
    assert made.exit_code == 0, made.output
    engine = open_store(store_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select a.country, a.scenario, a.value, a.code from answers a join runs r on "
                 "r.id = a.run_id where r.name = 'smol'")
        ).all()  # fmt: skip
    engine.dispose()
    assert len(rows) == 6 and {(r[0], r[1]) for r in rows} == {("india", "politics")}
    model: dict[str, list[float]] = {}
    for _, _, item, code in rows:  # the model's stored choices: 1 opposing, 0 expressing
        if code in ("expresses", "opposes"):
            model.setdefault(item, []).append(1.0 if code == "opposes" else 0.0)
    assert model, "the bundled model made no choice that could be read"
    print(f"\nbundled model: {sum(map(len, model.values()))}/6 choices read, {model}")
    real = align_sources(store_url, f"{store_url}#smol")
    cells = real.alignment.cells().set_index(["country", "topic", "value"]).sort_index()
    cells = cells[cells["model"].notna()]  # the cells the model was asked and answered
    assert sorted(cells.index) == [("india", "politics", item) for item in sorted(model)]
    for item, picks in model.items():
        row = cells.loc[("india", "politics", item)]
        human = hand.loc[("india", "politics", item), "acted"]
        assert abs(row["human"] - human) < 1e-12
        assert abs(row["model"] - sum(picks) / len(picks)) < 1e-12
        assert abs(row["distance"] - abs(human - sum(picks) / len(picks))) < 1e-12
