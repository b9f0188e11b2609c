"""The real bundled model (SmolLM2-135M-Instruct through llama.cpp) on a small grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from valuecompass.api import align_sources
from valuecompass.models import Request, get_backend
from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.runner import RunConfig, run_model
from valuecompass.store import open_store
from valuecompass.store import runs as store


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    model = get_backend("local")
    assert isinstance(model, LocalBackend)
    return model


def test_bundled_model_is_found_and_identified(backend: LocalBackend) -> None:
    assert bundled_model_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert backend.identity.startswith("local:SmolLM2-135M-Instruct.Q4_1.gguf@")


def test_thread_count_bounds_prompt_evaluation_too() -> None:
    # A one-thread worker must not evaluate prompts on every core (Ray packs one per CPU).
    model = LocalBackend(bundled_model_path(), threads=1)
    try:
        assert model._llm.n_threads == model._llm.n_threads_batch == 1
    finally:
        model.close()


def test_one_context_all_values_all_variants(
    backend: LocalBackend, tmp_path: Path, released: Path
) -> None:
    db = tmp_path / "local.db"
    config = RunConfig(model="local", db=str(db), countries=["India"], topics=["healthcare"],
                       mode="item", progress=False)  # fmt: skip
    summary = run_model(config, backend=backend)
    assert summary.total == summary.asked == 8 * 56 and summary.failed == 0
    engine = open_store(db)
    table = store.run_answers(engine, store.list_runs(engine)[0])
    assert len(table) == 448 and table["variant"].nunique() == 8
    assert table["value"].nunique() == 56
    # A small model still mostly answers with an option: the parse rate is kept honest here.
    parse_rate = table["position"].notna().mean()
    assert parse_rate > 0.5, table["missing"].value_counts()
    # Token probabilities: every item answer carries an expected position inside the scale.
    expected = table["expected"].to_numpy(dtype=float)
    assert np.isfinite(expected).all() and ((expected >= 1) & (expected <= 4)).all()
    # And the run aligns with the released people's answers for that context.
    result = align_sources(released, db)
    overall = result.alignment.overall()
    assert overall["n_contexts"] == 1 and 0.0 <= overall["f1"] <= 1.0


def test_option_probabilities_and_determinism(backend: LocalBackend) -> None:
    request = Request(
        messages=[{"role": "user", "content": "Pick one option.\n1: yes\n2: no\nAnswer: "}],
        temperature=0.0,
        max_tokens=4,
        seed=0,
        options=("1", "2", "3", "4"),
    )
    first, second = backend.complete(request), backend.complete(request)
    assert first.text == second.text
    assert first.option_probs is not None and first.option_mass is not None
    assert sum(first.option_probs.values()) == pytest.approx(1.0)
    assert first.option_probs == pytest.approx(second.option_probs)
    assert 0.0 < first.option_mass <= 1.0
    # Prefix reuse must not change the answer: the same prompt in a fresh context agrees.
    backend.llama.reset()
    assert backend.complete(request).option_probs == pytest.approx(first.option_probs, abs=1e-4)
