"""Issue 20, item 3 with the real bundled model (SmolLM2-135M-Instruct through llama.cpp):
actions for one country x one topic x all 56 values, both inclinations, held to the design's
JSON schema by a grammar, every reply parsed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from valuecompass.answers import parse_action
from valuecompass.models import Request, get_backend
from valuecompass.models._grammar import Constraint, schema_grammar
from valuecompass.models.local import LocalBackend
from valuecompass.prompts import read_design
from valuecompass.runner import GenerateConfig, generate_actions
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


def test_bundled_model_generates_every_value_of_one_context(
    backend: LocalBackend, tmp_path: Path
) -> None:
    db = str(tmp_path / "gen.db")
    config = GenerateConfig(model="local", db=db, name="smol", instrument_path=Path(
        "value_actions"), countries=["India"], where={"topic": ["Politics"]}, temperature=0.0,
        max_tokens=MAX_TOKENS, progress=False)  # fmt: skip
    start = time.perf_counter()
    summary = generate_actions(config, backend)
    took = time.perf_counter() - start
    assert (summary.total, summary.asked, summary.failed) == (112, 112, 0)
    print(f"\n112 actions in {took:.1f} s ({summary.text()})")
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
