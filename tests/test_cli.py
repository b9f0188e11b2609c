"""The ``valuecompass`` command: output shapes and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.cli import main

MODEL = "gemma2-9b-it"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        ("country", ["country"]),
        ("scenario", ["scenario"]),
        ("topic", ["scenario"]),  # the deprecated alias of scenario
        ("context", ["country", "scenario"]),
        ("value", ["value"]),
        ("type", ["type"]),
    ],
)
def test_align_json_contract(released: Path, by: str, keys: list[str]) -> None:
    code, out, _ = _run(
        "align", "--humans", str(released), "--llm", str(released / "llm_outputs" / MODEL),
        "--by", by, "--format", "json",
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    metrics = ["f1", "accuracy", "precision", "recall", "kappa", "distance", "n_contexts"]
    for row in payload["rows"]:
        assert set(keys + metrics) <= set(row)
    assert set(metrics) <= set(payload["overall"])
    assert payload["overall"]["n_contexts"] == 28
    assert payload["overall"]["f1"] == pytest.approx(0.516, abs=0.0005)
    rows = {"country": 7, "scenario": 4, "topic": 4, "context": 28, "value": 56, "type": 11}
    expected_rows = rows[by]
    assert len(payload["rows"]) == expected_rows


def test_align_table_and_csv(released: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    code, out, err = _run("align", "--humans", str(released / "humans"), "--llm", llm)
    assert code == 0 and "overall" in out and "germany" in out
    assert "6272 answers" in err
    code, out, _ = _run(
        "align", "--humans", str(released), "--llm", llm, "--by", "scenario", "--format", "csv"
    )
    assert code == 0
    assert out.splitlines()[0].startswith("scenario,f1,accuracy")
    assert len(out.splitlines()) == 5


def test_form_show(tmp_path: Path) -> None:
    code, out, _ = _run("form", "show", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert len(data["items"]) == 56
    code, out, _ = _run("form", "show")
    assert code == 0 and "National Security" in out


def _copy_humans(released: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "humans"
    shutil.copytree(released / "humans", dst)
    return dst


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.write_text(""), "the file is empty"),
        (lambda p: p.write_text("location,Ambitious\nIndia,1\n"), "missing column(s) PID"),
        (lambda p: p.write_text("PID,location,Ambitiousness,Kindness\nP1,India,1,2\n"),
         "unknown value column(s): 'Ambitiousness', 'Kindness'"),
        (lambda p: p.write_text("PID,location,Ambitious\nP1,India,1\nP2,India,5\n"),
         "line 3, column 'Ambitious': rating '5' is not on the scale"),
    ],
)  # fmt: skip
def test_bad_human_files(released: Path, tmp_path: Path, mutate: object, expected: str) -> None:
    humans = _copy_humans(released, tmp_path)
    target = humans / "human_S2_Healthcare.csv"
    mutate(target)  # type: ignore[operator]
    code, out, err = _run(
        "align", "--humans", str(humans), "--llm", str(released / "llm_outputs" / MODEL)
    )
    assert code == 2
    assert expected in err and str(target) in err
    assert "Traceback" not in err + out


def test_bad_sources(released: Path, tmp_path: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    code, _, err = _run("align", "--humans", str(tmp_path / "nope"), "--llm", llm)
    assert code == 2 and "no such file or folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _run("align", "--humans", str(tmp_path / "empty"), "--llm", llm)
    assert code == 2 and "no known layout" in err
    code, _, err = _run("align", "--humans", str(released), "--llm", str(released))
    assert code == 2 and "holds 5 models; pass one of" in err
    code, _, err = _run("align", "--humans", str(released), "--llm", llm, "--by", "planet")
    assert code == 2 and "unknown grouping 'planet'" in err and "higher_order" in err


def test_no_overlap(released: Path, tmp_path: Path) -> None:
    humans = tmp_path / "human_S2_Healthcare.csv"
    humans.write_text("PID,location,Ambitious\nP1,India,1\n")
    other = tmp_path / "llm"
    other.mkdir()
    src = released / "llm_outputs" / MODEL
    for f in src.glob("value_eval_c0_*"):  # United States only
        shutil.copy(f, other / f.name)
    code, _, err = _run("align", "--humans", str(humans), "--llm", str(other))
    assert code == 2 and "share no context" in err
