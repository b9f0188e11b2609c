"""The real bundled model (SmolLM2-135M-Instruct through llama.cpp) on a small grid."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from valuecompass.answers import parse_item
from valuecompass.api import align_sources
from valuecompass.instrument import load_instrument
from valuecompass.models import BackendError, Request, _kernels, get_backend
from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.prompts import load_prompts
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._batch import BatchBackend, batch_size
from valuecompass.runner._run import plan
from valuecompass.settings import model_cache_dir
from valuecompass.store import open_store
from valuecompass.store import runs as store

pytestmark = pytest.mark.slow

#: Batched and one-at-a-time scoring agree within this total variation per answer; llama.cpp
#: takes other kernels for one token than for many. Float weights (BF16): at most 0.003
#: measured on 16 prompts. Quantised weights are multiplied with activations rounded to 8 bits
#: (the AMX kernels' Q4_1 and the plain Q4_1 path alike), so those small differences move some
#: roundings: at most 0.049 measured for Q4_1 with AMX, 0.040 for plain Q4_1.
TV_FLOAT, TV_QUANTISED = 0.02, 0.08


def tv_tolerance(backend: LocalBackend) -> float:
    """The batching tolerance for BACKEND's weight format."""
    return TV_FLOAT if backend.format in ("bf16", "f16", "f32") else TV_QUANTISED


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    model = get_backend("local")
    assert isinstance(model, LocalBackend)
    return model


def _requests(backend: LocalBackend, countries: list[str], values: int) -> list[Request]:
    """Item prompts of COUNTRIES (healthcare, variant 0), the first VALUES values each."""
    config = RunConfig(model="local", countries=countries, scenarios=["healthcare"],
                       variants=[0], mode="item", max_tokens=2)  # fmt: skip
    instrument = load_instrument()
    jobs, _ = plan(config, instrument, load_prompts(None, load_instrument()), backend)
    by_context: dict[str, list[Request]] = {}
    for job in jobs:
        by_context.setdefault(job.prompt.country, []).append(job.request)
    return [r for group in by_context.values() for r in group[:values]]


def _tv(a: dict[str, float] | None, b: dict[str, float] | None) -> float:
    assert a is not None and b is not None and a.keys() == b.keys()
    return 0.5 * sum(abs(a[k] - b[k]) for k in a)


def test_bundled_model_is_found_and_identified(backend: LocalBackend) -> None:
    assert bundled_model_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    # The bundled Q4_1 is evaluated by the AMX kernels where they work (test_local_kernels.py),
    # else as BF16 (it has no other fast CPU path); the identity says which, and that an item
    # answer stops at its option code (the default).
    amx = _kernels.amx_usable(bundled_model_path(), model_cache_dir())
    expected = "q4_1-amx" if amx else "bf16"
    assert backend.identity.startswith("local:SmolLM2-135M-Instruct.Q4_1.gguf@")
    assert backend.identity.endswith(f"/{expected}+stop") and backend.format == expected
    # The runner hands it whole blocks (56 values of a context and variant) in one call.
    assert isinstance(backend, BatchBackend) and batch_size(backend) == 64


def test_thread_count_bounds_prompt_evaluation_too(tmp_path: Path) -> None:
    # A one-thread worker must not evaluate prompts on every core (Ray packs one per CPU).
    model = LocalBackend(bundled_model_path(), threads=1, cache_dir=tmp_path, weights="keep")
    try:
        ctx = model.context.ctx
        assert llama_cpp.llama_n_threads(ctx) == llama_cpp.llama_n_threads_batch(ctx) == 1
    finally:
        model.close()


def test_one_context_all_values_all_variants(
    backend: LocalBackend, tmp_path: Path, released: Path
) -> None:
    db = tmp_path / "local.db"
    config = RunConfig(model="local", db=str(db), countries=["India"], scenarios=["healthcare"],
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
    backend.context.clear_sequences(0)
    first, second, third = (backend.complete(request) for _ in range(3))
    assert first.text == second.text == third.text
    assert first.option_probs is not None and first.option_mass is not None
    assert sum(first.option_probs.values()) == pytest.approx(1.0)
    assert 0.0 < first.option_mass <= 1.0
    # The first call evaluates the whole prompt in one decode; the next ones reuse its prefix
    # and evaluate only the last token, which llama.cpp computes with its one-token kernels:
    # equal within the batching tolerance, and exactly equal from the same state.
    assert _tv(first.option_probs, second.option_probs) <= tv_tolerance(backend)
    assert second.option_probs == pytest.approx(third.option_probs, abs=1e-9)
    backend.context.clear_sequences(0)
    assert backend.complete(request).option_probs == pytest.approx(first.option_probs, abs=1e-9)


def test_batched_and_sequential_scoring_agree(backend: LocalBackend) -> None:
    # Two contexts, 8 values each: one batch per context against one prompt at a time.
    requests = _requests(backend, ["India", "Germany"], 8)
    batched = backend.complete_batch(requests[:8]) + backend.complete_batch(requests[8:])
    backend.context.clear_sequences(0)
    alone = [backend.complete(r) for r in requests]
    tvs = [_tv(a.option_probs, b.option_probs) for a, b in zip(batched, alone, strict=True)]
    assert max(tvs) <= tv_tolerance(backend), tvs
    assert np.mean(tvs) <= tv_tolerance(backend) / 2, tvs
    same = sum(a.text == b.text for a, b in zip(batched, alone, strict=True))
    assert same >= len(requests) - 1, [
        (a.text, b.text) for a, b in zip(batched, alone, strict=True)
    ]
    assert all(a.prompt_tokens == b.prompt_tokens for a, b in zip(batched, alone, strict=True))


def test_stopping_at_the_option_changes_only_the_raw_text(backend: LocalBackend) -> None:
    # One block of the main job (India x healthcare, variant 0: 56 values, two tokens each)
    # with and without stop_at_option. The option distribution is read at the first token, so
    # it is the same; the parsed option is the same; the text stops at the code ("1", not
    # "1:"), so most answers take one token instead of two.
    assert backend.stop_at_option
    two = LocalBackend(bundled_model_path(), stop_at_option="false")
    try:
        config = RunConfig(model="local", countries=["India"], scenarios=["healthcare"],
                           variants=[0], mode="item", max_tokens=2)  # fmt: skip
        instrument = load_instrument()
        jobs, _ = plan(config, instrument, load_prompts(None, instrument), two)
        requests = [j.request for j in jobs]
        full = two.complete_batch(requests)
        assert two.identity.endswith(f"/{backend.format}") and two.file == backend.file
    finally:
        two.close()
    backend.context.clear_sequences(0)
    short = backend.complete_batch(requests)
    scale = instrument.scale(jobs[0].prompt.scale)
    assert len(requests) == 56
    for a, b in zip(full, short, strict=True):
        assert a.option_probs is not None and b.option_probs is not None
        assert b.option_probs == pytest.approx(a.option_probs, abs=1e-9)
        assert a.text.startswith(b.text)
        assert parse_item(a.text, scale).code == parse_item(b.text, scale).code, (a.text, b.text)
    stopped = sum(b.completion_tokens == 1 for b in short)
    assert stopped >= len(short) // 2, [b.text for b in short]
    assert all(a.completion_tokens == 2 for a in full)


def test_an_answer_does_not_depend_on_its_batch(backend: LocalBackend) -> None:
    # Sampling at temperature 1 from each request's own generator: the same request drawn in
    # other batches, in another order, gives the same text (a generator shared by the batch
    # would change most draws). One may flip: the logits move in the last digits with the
    # batch (see tv_tolerance), which can carry a draw across a boundary.
    base = _requests(backend, ["India"], 12)
    hot = [replace(r, temperature=1.0, max_tokens=3) for r in base]
    whole = [c.text for c in backend.complete_batch(hot)]
    parts = backend.complete_batch(hot[6:]) + backend.complete_batch(hot[:6])
    moved = [c.text for c in parts[6:] + parts[:6]]
    assert sum(a != b for a, b in zip(whole, moved, strict=True)) <= 1, (whole, moved)
    assert [c.text for c in backend.complete_batch(hot)] == whole  # the same batch: exactly
    reseeded = [replace(r, seed=r.seed + 1) for r in hot]
    others = [c.text for c in backend.complete_batch(reseeded)]
    assert sum(a != b for a, b in zip(whole, others, strict=True)) >= 3, (whole, others)


def test_too_long_a_prompt_fails_alone(tmp_path: Path) -> None:
    model = LocalBackend(bundled_model_path(), n_ctx=256, cache_dir=tmp_path, weights="keep")
    try:
        short = Request(messages=[{"role": "user", "content": "Say 1."}], temperature=0.0,
                        max_tokens=2, seed=0, options=("1", "2"))  # fmt: skip
        long = replace(short, messages=[{"role": "user", "content": "a " * 400}])
        assert model.complete(short).option_probs is not None
        with pytest.raises(BackendError, match="exceeds the context of 256"):
            model.complete_batch([short, long])
        assert model.complete(short).option_probs is not None  # the context is still usable
    finally:
        model.close()
