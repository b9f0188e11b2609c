"""The transformers backend on CPU, with the bundled SmolLM2 GGUF dequantised by transformers."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.instrument import Instrument
from valuecompass.models import ConfigError, Request, get_backend
from valuecompass.models.transformers import TransformersBackend, common_prefix
from valuecompass.prompts import load_prompts, render_grid
from valuecompass.runner import RunConfig, run_model
from valuecompass.store import open_store
from valuecompass.store import runs as store

pytestmark = pytest.mark.slow
OPTIONS = ("1", "2", "3", "4")
VALUES = ["ambitious", "wealth", "obedient", "humble", "creativity", "honest"]


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    model = get_backend("transformers:bundled")
    assert isinstance(model, TransformersBackend)
    return model


def _requests(form: Instrument, temperature: float = 0.0) -> list[Request]:
    """Item prompts for one context and variant: they share everything before the value."""
    design = load_prompts(None, form)
    prompts = render_grid(form, design, [("India", "healthcare")], "item", [0], VALUES)
    return [
        Request(p.messages(), temperature=temperature, max_tokens=3, seed=7, options=OPTIONS)
        for p in prompts
    ]


def _fresh(backend: TransformersBackend) -> None:
    """Forget the kept prefix, so the next prompt is evaluated from its first token."""
    backend._prefix, backend._last = None, []


def test_identity_and_bad_specs(backend: TransformersBackend) -> None:
    assert backend.identity.startswith("transformers:SmolLM2-135M-Instruct.Q4_1.gguf@")
    assert backend.identity.endswith("/fp32") and backend.device.type == "cpu"
    with pytest.raises(ConfigError, match="transformers:DIR"):
        TransformersBackend.from_spec("")
    with pytest.raises(ConfigError, match="neither a GGUF file nor a model directory"):
        TransformersBackend.from_spec("/nonexistent/model")
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix([[5], [6]]) == 0


def test_option_probabilities_and_greedy_determinism(
    backend: TransformersBackend, form: Instrument
) -> None:
    request = _requests(form)[0]
    first, second = backend.complete(request), backend.complete(request)
    assert first.text == second.text and first.text
    assert first.option_probs is not None and first.option_mass is not None
    assert sum(first.option_probs.values()) == pytest.approx(1.0)
    assert first.option_probs == pytest.approx(second.option_probs, abs=1e-6)
    assert 0.0 < first.option_mass <= 1.0
    assert (
        first.prompt_tokens == len(backend.tokens(request))
        and 1 <= (first.completion_tokens or 0) <= 3
    )


def test_batches_and_shared_prefix_change_nothing(
    backend: TransformersBackend, form: Instrument
) -> None:
    requests = _requests(form)[:4]
    backend.reuse_prefix = False
    try:
        alone = []
        for r in requests:  # every prompt from its first token, one at a time
            alone.append(backend.complete(r))
    finally:
        backend.reuse_prefix = True
    _fresh(backend)
    batched = backend.complete_batch(requests)  # one prefix, left-padded suffixes
    for a, b in zip(alone, batched, strict=True):
        assert a.text == b.text
        assert a.option_probs == pytest.approx(b.option_probs, abs=1e-4)
        assert a.option_mass == pytest.approx(b.option_mass, rel=1e-4)


def test_sampling_follows_each_requests_seed(
    backend: TransformersBackend, form: Instrument
) -> None:
    requests = _requests(form, temperature=1.0)
    alone = [backend.complete(r).text for r in requests[:3]]
    together = [c.text for c in backend.complete_batch(requests[:3])]
    assert alone == together  # a request's draw does not depend on its batch


def test_agrees_with_llama_cpp_on_the_same_file(
    backend: TransformersBackend, form: Instrument
) -> None:
    """Both engines read the same Q4_1 file, but transformers dequantises it to float32 while
    llama.cpp computes with the quantised blocks, so their probabilities differ a little.
    Measured on 56 item prompts (2 contexts x 2 variants x 14 values): total variation between
    the option distributions at most 0.06 (mean 0.02), the same most likely option in 54, and
    expected positions correlated at 0.995. Asserted here on 6 prompts with some margin."""
    local = get_backend("local", threads=1)
    try:
        requests = _requests(form)
        same_top = 0
        for r, ours in zip(requests, backend.complete_batch(requests), strict=True):
            theirs = local.complete(r)
            assert ours.option_probs is not None and theirs.option_probs is not None
            distance = sum(abs(ours.option_probs[c] - theirs.option_probs[c]) for c in OPTIONS)
            assert distance / 2 < 0.1, (ours.option_probs, theirs.option_probs)
            assert ours.option_mass == pytest.approx(theirs.option_mass, abs=0.1)
            top = max(OPTIONS, key=ours.option_probs.__getitem__)
            same_top += top == max(OPTIONS, key=theirs.option_probs.__getitem__)
        assert same_top >= len(requests) - 1
    finally:
        local.close()


def test_runner_sends_batches_and_stores_every_answer(
    backend: TransformersBackend, tmp_path: Path
) -> None:
    db = tmp_path / "t.db"
    config = RunConfig(model="transformers:bundled", db=str(db), countries=["India"],
                       scenarios=["healthcare"], variants=[0, 3], items=VALUES, temperature=0.0,
                       progress=False)  # fmt: skip
    summary = run_model(config, backend=backend)
    assert (summary.total, summary.asked, summary.failed) == (12, 12, 0)
    engine = open_store(db)
    table = store.run_answers(engine, store.list_runs(engine)[0])
    assert len(table) == 12 and table["expected"].notna().all()
    assert table["position"].notna().mean() > 0.5
