"""Backends: option probabilities, the registry, the mock, and the openai backend on loopback."""

from __future__ import annotations

import math
import random

import pytest

from valuecompass.models import (
    BackendError,
    ConfigError,
    FatalBackendError,
    Request,
    TransientError,
    expected_position,
    get_backend,
    renormalise,
)
from valuecompass.models.mock import MockBackend
from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import backoff_delay, call_with_retries
from valuecompass.testing import serve_stub

ITEM = Request(
    messages=[{"role": "user", "content": "Ambitious?"}],
    temperature=0.2,
    max_tokens=8,
    seed=0,
    options=("1", "2", "3", "4"),
)


def test_renormalise_hand_computed() -> None:
    # p = 0.4, 0.1, 0.05 and 0 (absent): mass 0.55; renormalised 0.4/0.55 = 0.7273, ...
    lp = {"1": math.log(0.4), "2": math.log(0.1), "3": math.log(0.05), "4": float("-inf")}
    probs, mass = renormalise(lp)
    assert mass == pytest.approx(0.55)
    assert probs == pytest.approx({"1": 0.4 / 0.55, "2": 0.1 / 0.55, "3": 0.05 / 0.55, "4": 0.0})
    # expected position: (1*0.4 + 2*0.1 + 3*0.05) / 0.55 = 0.75 / 0.55 = 1.3636
    positions = {"1": 1.0, "2": 2.0, "3": 3.0, "4": 4.0}
    assert expected_position(probs, positions) == pytest.approx(0.75 / 0.55)
    assert renormalise({"1": float("-inf")}) == ({}, 0.0)
    assert expected_position({}, positions) is None


def test_registry_names_known_backends() -> None:
    with pytest.raises(ConfigError, match="known backends: local, openai, transformers, mock"):
        get_backend("gpt5")
    assert isinstance(get_backend("mock:answer=3"), MockBackend)
    with pytest.raises(ConfigError, match="unknown setting"):
        get_backend("mock:colour=blue")


def test_mock_is_deterministic_and_scriptable() -> None:
    a, b = MockBackend(), MockBackend()
    assert a.complete(ITEM).text == b.complete(ITEM).text
    probs = a.complete(ITEM).option_probs
    assert probs is not None and sum(probs.values()) == pytest.approx(1.0)
    form = Request(messages=ITEM.messages, temperature=0, max_tokens=9, seed=1,
                   value_names=("Ambitious", "Capable"))  # fmt: skip
    assert set(__import__("json").loads(a.complete(form).text)) == {"Ambitious", "Capable"}
    scripted = MockBackend(script=lambda r: "like me")
    assert scripted.complete(ITEM).text == "like me"


def test_openai_needs_a_key_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match=r"no API key.*OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    with pytest.raises(ConfigError, match="not an http"):
        OpenAIBackend("m", base_url="ftp://example.org")


def test_openai_backend_answers_and_classifies_failures() -> None:
    actions = {1: "ok", 2: "429", 3: "500", 4: "badjson", 5: "401", 6: "timeout"}
    with serve_stub(plan=lambda n: actions.get(n, "ok"), hang=2.0) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url, timeout=0.5)
        assert backend.complete(ITEM).text in {"1", "2", "3", "4"}
        with pytest.raises(TransientError) as rate:
            backend.complete(ITEM)
        assert rate.value.retry_after == pytest.approx(0.05)
        with pytest.raises(TransientError, match="HTTP 500"):
            backend.complete(ITEM)
        with pytest.raises(TransientError, match="malformed"):
            backend.complete(ITEM)
        with pytest.raises(FatalBackendError, match="credentials"):
            backend.complete(ITEM)
        with pytest.raises(TransientError, match="timed out"):
            backend.complete(ITEM)
        backend.close()


def test_unreachable_endpoint_is_transient() -> None:
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", timeout=0.5)
    with pytest.raises(TransientError, match="cannot reach"):
        backend.complete(ITEM)


def test_retries_honour_retry_after_then_succeed() -> None:
    waits: list[float] = []
    plan = {1: "429", 2: "500"}
    with serve_stub(plan=lambda n: plan.get(n, "ok")) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        outcome = call_with_retries(backend, ITEM, 5, 0.2, random.Random(0), sleep=waits.append)
    assert outcome.error is None and outcome.attempts == 3
    assert waits[0] == pytest.approx(0.05)  # the server's Retry-After
    assert 0.4 <= waits[1] <= 0.5  # second attempt failed: 0.2 * 2, plus at most 25% jitter


def test_retries_give_up_with_the_reason() -> None:
    with serve_stub(plan=lambda n: "500") as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        outcome = call_with_retries(backend, ITEM, 2, 0.0, random.Random(0), sleep=lambda s: None)
    assert outcome.completion is None and outcome.attempts == 3
    assert outcome.error is not None and "gave up after 3 attempts" in outcome.error


def test_backoff_doubles_and_caps() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(k, 1.0, None, rng) for k in (1, 2, 3, 10)]
    assert 1.0 <= delays[0] <= 1.25 and 2.0 <= delays[1] <= 2.5 and 4.0 <= delays[2] <= 5.0
    assert delays[3] == 60.0
    assert backoff_delay(1, 1.0, 7.0, rng) == 7.0


def test_permanent_backend_error_is_kept_not_retried() -> None:
    def refuse(request: Request) -> str:
        raise BackendError("HTTP 400: context too long")

    outcome = call_with_retries(MockBackend(script=refuse), ITEM, 5, 0.0, random.Random(0))
    assert outcome.attempts == 1 and outcome.error == "HTTP 400: context too long"
