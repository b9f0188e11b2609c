"""A stored run of an instrument whose wordings are on scales that score positions differently
(the odd instrument: ``plain`` on a 7-point scale agreeing at 7, ``story`` on a likeness scale
agreeing at 1) aligns from the store: each answer is read on its variant's wording's scale."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass.cli import main

DATA = Path(__file__).parent / "data"
ODD = ["--instrument", str(DATA / "odd_instrument.yaml")]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result.stdout


def test_a_run_over_two_wordings_aligns_from_the_store(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    _cli("run", *ODD, "--prompts", str(DATA / "odd_prompts.yaml"), "--mode", "item",
         "--model", "mock", "--db", db, "--run", "m", "--variants", "0,2",
         "--where", "region=north", "--where", "setting=shop", "--where", "tone=casual",
         "--no-progress")  # fmt: skip
    model = pd.read_csv(io.StringIO(_cli("runs", "export", "m", "--db", db)))
    assert sorted(set(model["variant"])) == [0, 2]
    people = model[["region", "setting", "tone", "value"]].drop_duplicates()
    rows = [{"source": "humans", **r, "respondent": f"p{k}", "position": 1 + (i + k) % 7}
            for i, r in enumerate(people.to_dict("records")) for k in range(2)]  # fmt: skip
    humans = pd.DataFrame(rows)
    humans.to_csv(tmp_path / "h.csv", index=False)
    # By hand: people and variant 0 (plain, scale 'seven') agree at 7: score (7 - p) / 6;
    # variant 2 (story, 'likeness7') agrees at 1: score (p - 1) / 6. Cell means, then the
    # mean |model - people| over the cells.
    pairs = zip(model["position"], model["variant"], strict=True)
    model["score"] = [(7 - p) / 6 if v == 0 else (p - 1) / 6 for p, v in pairs]
    humans["score"] = (7 - humans["position"]) / 6
    m, h = model.groupby("value")["score"].mean(), humans.groupby("value")["score"].mean()
    expect = float((m - h.reindex(m.index)).abs().mean())
    got = json.loads(_cli("align", "--humans", str(tmp_path / "h.csv"), "--llm", f"{db}#m",
                          *ODD, "--format", "json"))  # fmt: skip
    assert got["overall"]["distance"] == pytest.approx(expect, abs=1e-12)
    # rigor and the report read the same answers: a model's rows on the reversed likeness
    # scale are put on the first wording's scale (exact), so the bootstrap's point distances
    # are align's, value by value
    src = ["--humans", str(tmp_path / "h.csv"), "--llm", f"{db}#m", *ODD]
    ranked = json.loads(_cli("rigor", "ranks", *src, "--resamples", "20", "--format", "json"))
    by_value = (m - h.reindex(m.index)).abs()
    assert {r["value"]: r["distance"] for r in ranked["rows"]} == pytest.approx(
        by_value.to_dict(), abs=1e-12
    )
    _cli("rigor", "ceiling", *src, "--splits", "3", "--format", "csv")
    _cli("report", *src, "--out", str(tmp_path / "report.html"))
    assert "Tidy" in (tmp_path / "report.html").read_text()
