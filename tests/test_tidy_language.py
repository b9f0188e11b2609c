"""A tidy CSV with the language axis's column (``runs export`` of a run in several languages)
reads back as ``--llm`` with the numbers the store gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.cli import main

INST = ["--instrument", "value_form_multilingual"]
PEOPLE = """source,country,scenario,value,respondent,position
humans,germany,healthcare,ambitious,p1,1
humans,germany,healthcare,ambitious,p2,3
humans,germany,healthcare,humble,p1,2
humans,germany,healthcare,humble,p2,4
"""


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result.stdout


def test_a_multilingual_export_reads_back_with_the_stores_numbers(tmp_path: Path) -> None:
    db, csv, humans = str(tmp_path / "s.db"), tmp_path / "m.csv", tmp_path / "h.csv"
    humans.write_text(PEOPLE)
    _cli("run", *INST, "--model", "mock", "--db", db, "--run", "m", "--countries", "Germany",
         "--scenarios", "healthcare", "--variants", "0", "--values", "ambitious,humble",
         "--where", "language=de,fr", "--no-progress")  # fmt: skip
    _cli("runs", "export", "m", "--db", db, "--out", str(csv))
    got = {}
    for llm in (str(csv), f"{db}#m"):
        side = ["--humans", str(humans), "--llm", llm, *INST, "--format", "json"]
        got[llm] = (
            json.loads(_cli("align", *side, "--by", "value")),
            json.loads(_cli("rigor", "ranks", *side, "--resamples", "20"))["rows"],
        )
    (by_value, ranked), (store_by_value, store_ranked) = got.values()
    assert by_value == store_by_value and ranked == store_ranked
    # By hand: people ambitious (1, 3) → (0, 2/3), mean 1/3; humble (2, 4) → 2/3. The mock's
    # answers in the file: ambitious de 1, fr 1 → 0; humble de 2, fr 1 → (1/3 + 0)/2 = 1/6.
    lines = csv.read_text().splitlines()
    assert sorted([*line.split(",")[3:5], line.split(",")[10]] for line in lines[1:]) == [
        ["de", "ambitious", "1.0"], ["de", "humble", "2.0"],
        ["fr", "ambitious", "1.0"], ["fr", "humble", "1.0"],
    ]  # fmt: skip
    distances = {r["value"]: r["distance"] for r in by_value["rows"] if r["distance"] is not None}
    assert distances == pytest.approx({"ambitious": 1 / 3, "humble": 1 / 2})
    assert by_value["overall"]["distance"] == pytest.approx(5 / 12)
    known = {r["value"]: r["distance"] for r in ranked if r["distance"] is not None}
    assert known == pytest.approx(distances)


def test_the_same_answer_twice_in_one_language_is_still_refused(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    row = "m,germany,healthcare,de,humble,,0,0,2,2,2.0,"
    csv.write_text("source,country,scenario,language,value,respondent,variant,sample,raw,code,"
                   f"position,missing\n{row}\n{row.replace(',de,', ',fr,')}\n{row}\n")  # fmt: skip
    (tmp_path / "h.csv").write_text(PEOPLE)
    result = CliRunner().invoke(
        main, ["align", "--humans", str(tmp_path / "h.csv"), "--llm", str(csv), *INST]
    )
    assert result.exit_code == 2
    assert f"{csv} line 4: the same answer as line 2" in result.stderr
    assert "language" in result.stderr
