"""``runs show``: the run's manifest, and the instrument and prompt design it stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.instrument import instrument_digest, load_instrument
from valuecompass.prompts import PromptSet, read_prompts
from valuecompass.runner import prompts_digest

GRID = ["--where", "country=india", "--where", "scenario=education", "--variants", "1,3"]


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _run(db: Path) -> None:
    _invoke("run", "--model", "mock", "--instrument", "moral_foundations", *GRID,
            "--db", str(db), "--run", "mf", "--no-progress")  # fmt: skip


def test_runs_show_says_what_the_run_used(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _run(db)
    inst = load_instrument("moral_foundations")
    text = _invoke("runs", "show", "mf", "--db", str(db))
    assert "run mf: mock:answer=hash (mock), mode item, finished" in text
    assert "prompts 48 (0 failed); answers 48, scored 48, missing: none" in text  # 24 items x 2
    assert f"instrument: moral_foundations ({inst.title}), version {inst.version}" in text
    assert f"  digest {instrument_digest(inst)}" in text
    assert "  items: 24 foundations: care_1, care_2," in text
    assert "  scales: human (5 points), describes (5 points)" in text
    assert "  axes: country (7 levels), scenario (4 levels)" in text
    assert f"  digest {prompts_digest(read_prompts())}" in text
    factors = "framing (a, b); style (svs, pvq); requirement (a, b); order (forward, reversed)"
    assert f"  factors: {factors}; layout (default)" in text
    assert "  variants: 8; this run asked 1, 3" in text
    shown = json.loads(_invoke("runs", "show", "mf", "--db", str(db), "--format", "json"))
    assert shown["instrument_spec"] == inst.to_data()  # whole
    assert PromptSet.model_validate(shown["prompt_design"]) == read_prompts()
    assert shown["scored"] == 48 and shown["grid"]["variants"] == [1, 3]


def test_a_run_made_before_schema_4_says_it_stored_neither(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _run(db)
    with sqlite3.connect(db) as conn:  # as a run made before migration 4 (not yet resumed)
        conn.execute("update runs set instrument_spec = null, prompt_design = null")
    conn.close()
    text = _invoke("runs", "show", "mf", "--db", str(db))
    digest = instrument_digest(load_instrument("moral_foundations"))
    assert f"instrument: not stored with this run (made before schema 4); digest {digest}" in text
    assert "prompt design: not stored with this run (made before schema 4); digest " in text
    shown = json.loads(_invoke("runs", "show", "mf", "--db", str(db), "--format", "json"))
    assert shown["instrument_spec"] is None and shown["prompt_design"] is None


def test_runs_show_sums_the_tokens_its_prompts_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _run(db)
    with sqlite3.connect(db) as conn:  # 48 prompts: 10 in and 3 out each, two without counts
        conn.execute("update prompts set prompt_tokens = 10, completion_tokens = 3")
        conn.execute(
            "update prompts set prompt_tokens = null, completion_tokens = null"
            " where id in (select id from prompts order by id limit 2)"
        )
    conn.close()
    text = _invoke("runs", "show", "mf", "--db", str(db))
    assert "  tokens: 460 in, 138 out (46 of 48 prompts counted)" in text  # 46 x 10, 46 x 3
    shown = json.loads(_invoke("runs", "show", "mf", "--db", str(db), "--format", "json"))
    assert shown["tokens"] == {"input": 460, "output": 138, "counted": 46}
