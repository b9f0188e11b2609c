"""Action sets: imported from the value–action study's release (every row kept, counted from
the raw file with the standard library only), from hand-written files (on the Value Form and
on the odd test instrument), exported and read back as they were; bad files refused with
file, line and column, leaving the store as it was; on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import _survey_support as support
from _gap_support import ACTIONS, REPO
from _survey_support import BACKENDS
from valuecompass.cli import main
from valuecompass.store import actions as store
from valuecompass.store import open_store

pg_database = support.pg_database

RELEASE = ACTIONS
ODD = REPO / "tests" / "data" / "odd_instrument.yaml"

HAND = """country,scenario,value,inclination,action,spans,explanation
India,healthcare,Social Power,expresses,I ask to be in charge.,be in charge|I ask,It seeks control.
India,healthcare,Social Power,opposes,I let them decide.,"[""let them decide""]",It shares.
India,healthcare,helpful,positive,I carry an old man's bags to the ward.,,It helps.
India,healthcare,helpful,negative,I walk past a patient who has fallen.,walk past,It refuses help.
"""


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: a SQLite file, or the session's PostgreSQL database, its action sets
    emptied."""
    if request.param == "sqlite":
        yield str(tmp_path / "actions.db")
        return
    url: str = request.getfixturevalue("pg_database")
    engine = open_store(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE actions, action_sets RESTART IDENTITY CASCADE")
    engine.dispose()
    yield url


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _table(db: str, name: str) -> pd.DataFrame:
    engine = open_store(db, create=False)
    try:
        found = store.get_set(engine, name)
        assert found is not None
        return store.set_actions(engine, found)
    finally:
        engine.dispose()


def _sizes(db: str) -> dict[str, int]:
    engine = open_store(db)
    try:
        return {s.name: s.size for s in store.list_sets(engine)}
    finally:
        engine.dispose()


def _reply_by_hand(text: str) -> dict[str, object] | None:
    """A release reply read with json, then as a Python literal, after its code fence."""
    body = re.sub(r"^```(json)?|```$", "", text.strip()).strip()
    for read in (json.loads, ast.literal_eval):
        try:
            data = read(body)
        except (ValueError, SyntaxError):
            continue
        if isinstance(data, dict):
            return data
    return None


def test_the_release_imports_whole(db: str, tmp_path: Path) -> None:
    with RELEASE.open(encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    code, _, err = _run("actions", "import", str(RELEASE), "--set", "release", "--db", db)
    assert code == 0, err
    assert "14784 actions added" in err
    table = _table(db, "release")
    assert len(table) == len(raw) == 14784
    assert list(table.columns[:2]) == ["country", "topic"]  # the value_actions grid's axes
    for ours, theirs in (("country", "country"), ("topic", "topic"), ("value", "value")):
        assert table[ours].nunique() == len({r[theirs] for r in raw})
    assert (table["country"].nunique(), table["topic"].nunique()) == (12, 11)
    assert (table["value"].nunique(), table["inclination"].nunique()) == (56, 2)
    polarity = {"positive": "expresses", "negative": "opposes"}
    assert table["inclination"].value_counts().to_dict() == {
        polarity[p]: sum(r["polarity"] == p for r in raw) for p in polarity
    }
    # No row lost: each stored action points at its own row of the file, once.
    rows = [d["row"] for d in table["source_detail"]]
    assert sorted(rows) == list(range(len(raw)))
    # A refusal ("I'm sorry ...") has no action: kept, missing, its reply in the detail.
    refused = {i for i, r in enumerate(raw) if "Human Action" not in r["generation_prompt"]}
    missing = table[table["missing"] != ""]
    assert {d["row"] for d in missing["source_detail"]} == refused and len(refused) == 61
    assert set(missing["missing"]) == {"no_json"} and set(missing["action"]) == {""}
    # Every reply the standard library reads gives the stored text, spans and explanation.
    checked = 0
    for (_, got), row in zip(table.iterrows(), rows, strict=True):
        data = _reply_by_hand(raw[row]["generation_prompt"])
        if data is None or "Human Action" not in data:
            continue
        checked += 1
        assert got["action"] == str(data["Human Action"]).strip()
        assert got["explanation"] == str(data.get("Natural Language Explanation") or "").strip()
        if isinstance(data.get("Feature Attributions"), list):
            assert got["spans"] == [str(s).strip() for s in data["Feature Attributions"]]
    assert checked > 14_600
    # Again: nothing new; exported and imported, the same actions.
    code, _, err = _run("actions", "import", str(RELEASE), "--set", "release", "--db", db)
    assert code == 0 and "0 actions added" in err
    out = tmp_path / "release.csv"
    assert _run("actions", "export", "release", "--out", str(out), "--db", db)[0] == 0
    code, _, err = _run("actions", "import", str(out), "--set", "back",
                        "--instrument", "value_actions", "--db", db)  # fmt: skip
    assert code == 0, err
    pd.testing.assert_frame_equal(_table(db, "back"), table)


def test_a_hand_written_file_imports_and_round_trips(db: str, tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    path.write_text(HAND, encoding="utf-8")
    code, _, err = _run("actions", "import", str(path), "--set", "hand", "--db", db)
    assert code == 0, err
    table = _table(db, "hand")
    assert list(table.columns[:2]) == ["country", "scenario"]  # the Value Form's axes
    assert table[["country", "scenario", "value", "inclination"]].values.tolist() == [
        ["india", "healthcare", "social_power", "expresses"],
        ["india", "healthcare", "social_power", "opposes"],
        ["india", "healthcare", "helpful", "expresses"],
        ["india", "healthcare", "helpful", "opposes"],
    ]
    assert table["spans"].tolist() == [
        ["be in charge", "I ask"], ["let them decide"], [], ["walk past"],
    ]  # fmt: skip
    assert set(table["source"]) == {"imported"}
    assert table["source_detail"][2] == {"file": str(path), "line": 4}
    out = tmp_path / "out.csv"
    assert _run("actions", "export", "hand", "--out", str(out), "--db", db)[0] == 0
    assert _run("actions", "import", str(out), "--set", "again", "--db", db)[0] == 0
    pd.testing.assert_frame_equal(_table(db, "again"), table)
    code, shown, _ = _run("actions", "show", "hand", "--db", db, "--format", "json")
    summary = json.loads(shown)
    assert summary["inclinations"] == {"expresses": 2, "opposes": 2}
    assert summary["axes"] == {"country": {"india": 4}, "scenario": {"healthcare": 4}}
    assert summary["items"] == 2 and len(summary["examples"]) == 3
    listed = json.loads(_run("actions", "list", "--db", db, "--format", "json")[1])
    assert [(s["name"], s["actions"]) for s in listed] == [("hand", 4), ("again", 4)]


def test_the_odd_instrument_takes_a_jsonl_file_with_no_country(db: str, tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        {"region": "the North", "setting": "shop", "tone": "casual", "value": "Warm",
         "inclination": i, "action": f"I {verb} the customer.", "spans": [verb],
         "source": "person", "source_detail": {"by": "a tester"}}
        for i, verb in (("expresses", "greet"), ("opposes", "ignore"))
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    code, _, err = _run("actions", "import", str(path), "--set", "odd",
                        "--instrument", str(ODD), "--db", db)  # fmt: skip
    assert code == 0, err
    table = _table(db, "odd")
    assert list(table.columns[:4]) == ["region", "setting", "tone", "value"]
    assert table[["region", "setting", "tone", "value"]].values.tolist() == [
        ["north", "shop", "casual", "warm"]] * 2  # fmt: skip
    assert table["source"].tolist() == ["person"] * 2
    assert table["source_detail"][0] == {"by": "a tester"}
    out = tmp_path / "odd.csv"
    assert _run("actions", "export", "odd", "--out", str(out), "--db", db)[0] == 0
    code, _, err = _run("actions", "import", str(out), "--set", "odd2",
                        "--instrument", str(ODD), "--db", db)  # fmt: skip
    assert code == 0, err
    pd.testing.assert_frame_equal(_table(db, "odd2"), table)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


#: The start of HAND's last line (line 5 of the file).
LAST = "India,healthcare,helpful,negative"

#: Bad files, each made from HAND: (name, file text or bytes, what the one line says).
BAD: list[tuple[str, str | bytes | None, str]] = [
    ("missing_inclination", "".join(_lines(HAND)[:4]),
     r"line 4, column 'inclination': the pair india/healthcare/helpful has no 'opposes'"),
    ("unknown_level", HAND.replace(LAST, "Atlantis" + LAST.removeprefix("India")),
     r"line 5, column 'country': .*Atlantis"),
    ("unknown_item", HAND.replace("helpful,negative", "Wobbly,negative"),
     r"line 5, column 'value': .*Wobbly"),
    ("duplicate", HAND + _lines(HAND)[4],
     r"line 6, column 'inclination': a second 'opposes' action .* first is on line 5"),
    ("bad_spans", HAND.replace("walk past", "[walk past"),
     r"line 5, column 'spans': not valid JSON"),
    ("not_utf8", HAND.replace("fallen", "f\x00llen").encode().replace(b"\x00", b"\xff"),
     r"line 5: not UTF-8 text"),
    ("missing_file", None, r"no such file"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "said"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_refused_and_nothing_is_stored(
    db: str, tmp_path: Path, name: str, text: str | bytes | None, said: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HAND, encoding="utf-8")
    assert _run("actions", "import", str(good), "--set", "kept", "--db", db)[0] == 0
    before = _sizes(db)
    path = tmp_path / f"{name}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    for target in ("new", "kept"):  # into a new set, and into one that holds actions
        code, out, err = _run("actions", "import", str(path), "--set", target, "--db", db)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1
        assert err.startswith(f"error: {path}") and re.search(said, err), err
        assert _sizes(db) == before


def test_a_different_action_for_a_stored_place_is_refused(db: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HAND, encoding="utf-8")
    assert _run("actions", "import", str(good), "--set", "kept", "--db", db)[0] == 0
    before = _table(db, "kept")
    other = tmp_path / "other.csv"
    other.write_text(HAND.replace("fallen", "slipped"), encoding="utf-8")
    code, _, err = _run("actions", "import", str(other), "--set", "kept", "--db", db)
    assert code == 2 and "a different action for india/healthcare/helpful/opposes" in err
    pd.testing.assert_frame_equal(_table(db, "kept"), before)
    code, _, err = _run("actions", "show", "nope", "--db", db)
    assert code == 2 and "no action set 'nope' (sets: kept)" in err


def test_a_refused_file_makes_no_store(tmp_path: Path) -> None:
    """A file that is refused leaves no new store file behind (the store is opened only once
    the file has been read)."""
    bad = tmp_path / "bad.csv"
    bad.write_text("country,scenario\nindia\n", encoding="utf-8")
    where = tmp_path / "new.db"
    result = CliRunner().invoke(
        main, ["actions", "import", str(bad), "--set", "s", "--db", str(where)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(bad) in result.stderr and not where.exists()
