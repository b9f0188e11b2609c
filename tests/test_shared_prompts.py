"""Contexts whose prompts read the same: each is stored, the model is asked once, and the axis
the design never shows is named once (issue 22, defect 1)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from _store_support import pg_database as pg_database
from _store_support import run_store as run_store
from valuecompass.cli import main
from valuecompass.models.mock import MockBackend
from valuecompass.runner import RunConfig, run_model
from valuecompass.store import open_store
from valuecompass.store import runs as store

#: The Value Form with a third axis, ``tone``, that the default prompt design never mentions.
TONE = """\
format: 2
base: value_form
id: value_form_tone
title: Value Form with a tone
extend_axes:
  - id: tone
    name: Tone
    levels:
      - {id: formal, name: Formal}
      - {id: casual, name: Casual}
"""
GRID = ["--countries", "India", "--scenarios", "healthcare", "--no-progress"]


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _per_level(db: str) -> dict[str, tuple[int, int]]:
    """Context column → (prompts, answers) the store holds."""
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            p = dict(
                conn.execute(
                    select(store.prompts.c.context, func.count()).group_by(store.prompts.c.context)
                ).all()
            )
            a = dict(
                conn.execute(
                    select(store.answers.c.context, func.count()).group_by(store.answers.c.context)
                ).all()
            )
    finally:
        engine.dispose()
    return {k: (int(p[k]), int(a.get(k, 0))) for k in p}


def test_every_context_is_stored_and_the_blind_axis_named_once(
    tmp_path: Path, run_store: str
) -> None:
    tone = tmp_path / "tone.yaml"
    tone.write_text(TONE)
    args = ["run", "--model", "mock", "--instrument", str(tone), "--db", run_store, *GRID]
    code, out, err = _cli(*args, "--run", "r")
    assert code == 0, err
    assert "896 prompts; 0 already stored, 0 from cache, 448 asked" in out, out
    assert "448 shared an identical prompt's call" in out, out
    assert err.count("warning") == 1 and "axis 'tone'" in err, err
    assert _per_level(run_store) == {"tone=formal": (448, 448), "tone=casual": (448, 448)}

    code, out, err = _cli(*args, "--run", "r")
    assert code == 0 and "896 prompts; 896 already stored, 0 from cache, 0 asked" in out, out
    assert _per_level(run_store) == {"tone=formal": (448, 448), "tone=casual": (448, 448)}

    code, out, err = _cli("profile", "--llm", f"{run_store}#r", "--by", "tone", "--format", "csv")
    assert code == 0, err
    rows = pd.read_csv(io.StringIO(out)).set_index("tone")
    assert rows.loc["formal", "n_cells"] == rows.loc["casual", "n_cells"] == 56
    # the mock answers by the prompt's text, and both tones read the same: one score
    assert rows.loc["formal", "score"] == pytest.approx(rows.loc["casual", "score"], abs=1e-12)

    code, out, _ = _cli("runs", "export", "r", "--db", run_store)
    table = pd.read_csv(io.StringIO(out))
    formal = table[table["tone"] == "formal"].drop(columns="tone").set_index(["value", "variant"])
    casual = table[table["tone"] == "casual"].drop(columns="tone").set_index(["value", "variant"])
    assert len(formal) == len(casual) == 448
    pd.testing.assert_series_equal(
        formal["position"].sort_index(), casual["position"].sort_index(), check_names=False
    )


def test_a_second_run_copies_each_context_under_its_own_labels(tmp_path: Path) -> None:
    """Another run's answer to the same text serves every context that renders it, each kept
    with its own levels; a formal-only run then serves a run of both tones."""
    tone = tmp_path / "tone.yaml"
    tone.write_text(TONE)
    db = str(tmp_path / "s.db")
    backend = MockBackend()
    base = {"model": "mock", "db": db, "instrument_path": tone, "countries": ["India"],
            "scenarios": ["healthcare"], "progress": False, "variants": [0]}  # fmt: skip
    first = run_model(RunConfig(**base, run="formal", where={"tone": ["formal"]}), backend)
    assert (first.total, first.asked, first.shared) == (56, 56, 0)
    calls = backend.calls
    both = run_model(RunConfig(**base, run="both"), backend)
    assert backend.calls == calls  # nothing asked: every text was answered by "formal"
    assert (both.total, both.cached, both.asked, both.shared) == (112, 112, 0, 0)
    engine = open_store(db, create=False)
    record = store.get_run(engine, "both")
    assert record is not None
    table = store.run_answers(engine, record)
    engine.dispose()
    assert sorted(table["tone"].value_counts().items()) == [("casual", 56), ("formal", 56)]
    assert table.groupby("tone")["value"].nunique().to_dict() == {"casual": 56, "formal": 56}


def test_the_warning_names_each_blind_axis_once(tmp_path: Path) -> None:
    tone = tmp_path / "tone.yaml"
    tone.write_text(TONE)
    said: list[str] = []
    config = RunConfig(model="mock", db=str(tmp_path / "s.db"), instrument_path=tone,
                       countries=["India"], scenarios=["healthcare"], progress=False,
                       variants=[0, 1])  # fmt: skip
    summary = run_model(config, warn=said.append)
    assert (summary.total, summary.asked, summary.shared) == (224, 112, 112)
    assert len(said) == 1 and summary.warnings == said
    assert "axis 'tone'" in said[0] and "formal, casual" in said[0], said


def test_a_run_of_the_bundled_model_keeps_both_tones(tmp_path: Path) -> None:
    """The bundled model, two items: one call per text, the same answer under both tones."""
    tone = tmp_path / "tone.yaml"
    tone.write_text(TONE)
    db = str(tmp_path / "s.db")
    config = RunConfig(model="local", db=db, instrument_path=tone, countries=["India"],
                       scenarios=["healthcare"], items=["ambitious", "influential"], variants=[0],
                       progress=False)  # fmt: skip
    summary = run_model(config)
    assert (summary.total, summary.asked, summary.shared, summary.failed) == (4, 2, 2, 0)
    engine = open_store(db, create=False)
    record = store.get_run(engine, summary.run.name)
    assert record is not None
    table = store.run_answers(engine, record)
    engine.dispose()
    assert len(table) == 4 and (table["raw"] != "").all()
    by = table.set_index(["tone", "value"])
    for item in ("ambitious", "influential"):
        assert by.loc[("formal", item), "raw"] == by.loc[("casual", item), "raw"]
        assert json.loads(by.loc[("formal", item), "probs"]) == json.loads(
            by.loc[("casual", item), "probs"]
        )


def test_a_run_stored_before_the_fix_is_mended(tmp_path: Path) -> None:
    """A run that kept one context's answer under a key another context leads (as runs made
    before every context was kept did) drops that row and stores each context under its own."""
    tone = tmp_path / "tone.yaml"
    tone.write_text(TONE)
    db = str(tmp_path / "s.db")
    config = RunConfig(model="mock", db=db, instrument_path=tone, run="r", countries=["India"],
                       scenarios=["healthcare"], variants=[0], progress=False)  # fmt: skip
    run_model(config)
    engine = open_store(db)
    p, a = store.prompts, store.answers
    with engine.begin() as conn:  # the old way: the casual row under the formal (leading) key
        key = conn.execute(select(p.c.cache_key).where(p.c.context == "tone=formal")).first()[0]
        item = conn.execute(select(p.c.item).where(p.c.cache_key == key)).scalar_one()
        gone = (p.c.context == "tone=casual") & (p.c.item == item)
        follower = conn.execute(select(p.c.cache_key).where(gone)).scalar_one()
        conn.execute(a.delete().where(a.c.cache_key == follower))
        conn.execute(p.delete().where(p.c.cache_key == follower))
        conn.execute(p.update().where(p.c.cache_key == key).values(context="tone=casual"))
        conn.execute(a.update().where(a.c.cache_key == key).values(context="tone=casual"))
    engine.dispose()
    assert _per_level(db) == {"tone=formal": (55, 55), "tone=casual": (56, 56)}
    again = run_model(config)
    assert (again.skipped, again.asked, again.shared) == (110, 1, 1), again.text()
    assert _per_level(db) == {"tone=formal": (56, 56), "tone=casual": (56, 56)}
