"""Issue 20, items 3 and 4 with the real bundled model (SmolLM2-135M-Instruct through
llama.cpp): actions for one country x one topic x all 56 values, both inclinations, held to the
design's JSON schema by a grammar, every reply parsed; then the choice task on those actions in
every variant of both choice designs, and gap and report on the result."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.answers import parse_action
from valuecompass.cli import main
from valuecompass.models import Request, get_backend
from valuecompass.models._grammar import Constraint, schema_grammar
from valuecompass.models.local import LocalBackend
from valuecompass.prompts import read_design
from valuecompass.runner import (
    GenerateConfig,
    GenerateSummary,
    RunConfig,
    generate_actions,
    run_model,
)
from valuecompass.store import actions as store
from valuecompass.store import open_store

pytestmark = pytest.mark.slow

#: Tokens per action: room for the default design's bounded object (its limits are set so a
#: whole reply fits). Measured: all 112 closed before it; 96 s on 2 quiet cores (BF16), about
#: 350 s while another test suite ran beside it.
MAX_TOKENS = 160


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    model = get_backend("local")
    assert isinstance(model, LocalBackend)
    return model


def test_the_grammar_masks_what_the_schema_forbids(backend: LocalBackend) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}},
              "required": ["a"], "additionalProperties": False}  # fmt: skip
    assert 'root ::= "{" space a-kv "}" space' in schema_grammar(schema)
    model = backend.model
    held = Constraint(model.vocab, model.n_vocab, schema_grammar(schema))
    try:
        brace = model.tokenize("{", special=False)
        word = model.tokenize("hello", special=False)
        assert held.allows(brace[0]) and not held.allows(word[0])
        import numpy as np

        masked = held.mask(np.zeros(model.n_vocab, dtype=np.float32))
        allowed = np.flatnonzero(np.isfinite(masked))
        assert brace[0] in allowed and 0 < len(allowed) < model.n_vocab / 100
    finally:
        held.close()


@dataclass(frozen=True)
class Generated:
    """The store the bundled model's actions went to, its config, the summary and the time."""

    db: str
    config: GenerateConfig
    summary: GenerateSummary
    took: float


@pytest.fixture(scope="module")
def generated(backend: LocalBackend, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The bundled model's actions for India x Politics x all 56 values, both inclinations
    (generated once: the choice task below answers on them)."""
    db = str(tmp_path_factory.mktemp("gen") / "gen.db")
    config = GenerateConfig(model="local", db=db, name="smol", instrument_path=Path(
        "value_actions"), countries=["India"], where={"topic": ["Politics"]}, temperature=0.0,
        max_tokens=MAX_TOKENS, progress=False)  # fmt: skip
    start = time.perf_counter()
    summary = generate_actions(config, backend)
    return Generated(db, config, summary, time.perf_counter() - start)


def test_bundled_model_generates_every_value_of_one_context(
    backend: LocalBackend, generated: Generated
) -> None:
    db, config, summary = generated.db, generated.config, generated.summary
    assert (summary.total, summary.asked, summary.failed) == (112, 112, 0)
    print(f"\n112 actions in {generated.took:.1f} s ({summary.text()})")
    engine = open_store(db, create=False)
    try:
        found = store.get_set(engine, "smol")
        assert found is not None
        table = store.set_actions(engine, found)
    finally:
        engine.dispose()
    assert len(table) == 112 and table["value"].nunique() == 56
    assert sorted(table["inclination"].value_counts().items()) == [("expresses", 56),
                                                                   ("opposes", 56)]  # fmt: skip
    # grammar-constrained: every reply is one whole JSON object of the schema's keys ...
    design = read_design(None)
    keys = list(design.reply_schema(design.variant())["properties"])
    for detail in table["source_detail"]:
        data = json.loads(detail["reply"])
        assert list(data) == keys and data["action"].startswith("I ")
        assert detail["completion_tokens"] < MAX_TOKENS  # it closed before the limit
    # ... so 100% parse: none missing, each action the reply's own
    assert (table["missing"] == "").all()
    for _, row in table.iterrows():
        assert parse_action(row["source_detail"]["reply"]).text == row["action"]
    # asked again: nothing is asked, nothing changes
    again = generate_actions(config, backend)
    assert (again.skipped, again.asked) == (112, 0)


def _choices(db: str, run: str) -> list[tuple[str, int, str | None, int | None, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select a.value, a.variant, a.code, a.place, a.probs from answers a join runs r"
            " on r.id = a.run_id where r.name = ? order by a.id",
            (run,),
        ).fetchall()


def test_the_bundled_model_chooses_on_its_own_actions_then_gap_and_report(
    backend: LocalBackend, generated: Generated, tmp_path: Path
) -> None:
    db = generated.db
    grid = dict(countries=["India"], where={"topic": ["Politics"]}, temperature=0.0,
                progress=False, instrument_path=Path("value_actions"))  # fmt: skip
    # the default design: every pair in both orders, the option's number scored by its
    # probabilities
    number = run_model(RunConfig(model="local", db=db, run="choose", task="choice",
                                 actions="smol", **grid), backend)  # fmt: skip
    assert (number.total, number.asked, number.failed) == (112, 112, 0)
    rows = _choices(db, "choose")
    assert len(rows) == 112 and {r[1] for r in rows} == {0, 1}
    for _, _, code, place, probs in rows:
        assert probs is not None and set(json.loads(probs)) == {"expresses", "opposes"}
        assert sum(json.loads(probs).values()) == pytest.approx(1.0)
        if code is not None:  # a parsed reply names its place and the inclination shown there
            assert place in (1, 2) and code in ("expresses", "opposes")
    parsed = sum(r[2] is not None for r in rows)
    print(f"\nchoices parsed: {parsed}/112 in {number.wall:.1f} s")
    # the paper's design, all 8 variants, held to its JSON schema: every reply parses
    paper = run_model(RunConfig(model="local", db=db, run="paper", task="choice",
                                actions="smol", prompts_path=Path("paper"),
                                items=["Equality", "Wealth", "Honest"], **grid),
                      backend)  # fmt: skip
    assert (paper.total, paper.failed) == (24, 0)
    rows = _choices(db, "paper")
    assert {r[1] for r in rows} == set(range(8))
    assert all(r[2] in ("expresses", "opposes") and r[3] in (1, 2) for r in rows)
    # the stated side: the same model's ratings of the same context; then gap and report
    stated = run_model(RunConfig(model="local", db=db, run="said", variants=[0], **grid),
                       backend)  # fmt: skip
    assert stated.failed == 0
    out = CliRunner().invoke(main, ["gap", "--stated", f"{db}#said", "--acted", f"{db}#choose",
                                    "--format", "json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    overall = json.loads(out.stdout)["overall"]
    assert overall["n_pairs"] == 56 and 0.0 <= overall["first_option_share"] <= 1.0
    assert overall["n_positions"] == parsed
    page = tmp_path / "gap.html"
    made = CliRunner().invoke(main, ["report", "--llm", f"smol={db}#said", "--acted",
                                     f"{db}#choose", "--out", str(page)])  # fmt: skip
    assert made.exit_code == 0, made.output
    text = page.read_text(encoding="utf-8")
    assert "Stated and enacted values" in text


def test_a_schema_request_one_at_a_time_matches_the_batch(backend: LocalBackend) -> None:
    design = read_design(None)
    schema = design.reply_schema(design.variant())
    asks = [f"Give one action about {w} as JSON." for w in ("family", "work", "sport")]
    requests = [
        Request([{"role": "user", "content": a}], 0.0, 60, 0, json_schema=schema) for a in asks
    ]
    batch = backend.complete_batch(requests)
    alone = [backend.complete(r) for r in requests]
    for b, a in zip(batch, alone, strict=True):
        assert b.text.startswith("{") and '"action"' in b.text
        # greedy under one grammar: the same first tokens (kernels may differ further on)
        assert b.text[:20] == a.text[:20]
