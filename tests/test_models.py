"""Backends: option probabilities, the registry, the mock, and the openai backend on loopback."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.models import (
    BackendError,
    ConfigError,
    FatalBackendError,
    Request,
    TransientError,
    expected_position,
    get_backend,
    plugins,
    renormalise,
)
from valuecompass.models.mock import MockBackend
from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import backoff_delay, call_with_retries
from valuecompass.store import open_store
from valuecompass.store import runs as store
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
    with pytest.raises(
        ConfigError, match="known backends: local, openai, anthropic, transformers, mock"
    ):
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
                   value_names=("Ambitious", "Capable"), codes=("a", "b", "c"))  # fmt: skip
    answered = __import__("json").loads(a.complete(form).text)
    assert set(answered) == {"Ambitious", "Capable"} and set(answered.values()) <= {"a", "b", "c"}
    free = Request(messages=ITEM.messages, temperature=0, max_tokens=9, seed=1)
    assert a.complete(free).text.startswith("mock reply ")  # no scale assumed: free text
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


def test_unknown_option_is_refused_naming_the_backend_and_its_options() -> None:
    with pytest.raises(ConfigError) as refused:
        get_backend("openai:m", base_url="http://127.0.0.1:9/v1", colour="blue")
    message = str(refused.value)
    assert "the openai backend has no option 'colour'" in message
    assert "base_url, api_key, timeout, logprobs, max_concurrency" in message
    # local declares nothing: its options are its constructor's keywords (no model is loaded).
    with pytest.raises(ConfigError, match=r"local backend has no option 'gpu'.*threads"):
        get_backend("local", gpu=True)
    with pytest.raises(ConfigError, match="must be a positive number"):
        get_backend("openai:m", base_url="http://127.0.0.1:9/v1", timeout="soon")
    mock = get_backend("mock", answer=3, delay=0)  # -M answer=3 arrives as the JSON number 3
    assert isinstance(mock, MockBackend) and mock.complete(ITEM).text == "3"


def test_backend_options_come_from_the_cli_as_json_or_text(tmp_path: Path) -> None:
    from valuecompass.cli.run import parse_model_options

    parsed = parse_model_options(("a=2", "b=0.5", "c=true", "d=http://x:1/v1", 'e="7"', "f="))
    assert parsed == {"a": 2, "b": 0.5, "c": True, "d": "http://x:1/v1", "e": "7", "f": ""}
    # the old flags are sugar for options
    assert parse_model_options((), base_url="http://h/v1", api_key=None, logprobs=True) == {
        "base_url": "http://h/v1",
        "logprobs": True,
    }
    db = str(tmp_path / "s.db")
    cli = CliRunner()
    for args, message in [
        (["-M", "answer"], "-M takes KEY=VALUE, got 'answer'"),
        (["-M", "colour=red"], "the mock backend has no option 'colour'; its options: answer"),
        (["-M", "delay=soon"], "mock: delay must be a number"),
    ]:
        bad = cli.invoke(main, ["run", "--model", "mock", *args, "--db", db])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)
    ok = cli.invoke(main, ["run", "--model", "mock", "-M", "answer=2", "--countries", "India",
                           "--scenarios", "education", "--variants", "0", "--db", db])  # fmt: skip
    assert ok.exit_code == 0 and "56 asked" in ok.output, ok.output
    engine = open_store(db)
    table = store.run_answers(engine, store.list_runs(engine)[0])
    assert set(table["code"]) == {"2"}


PLUGIN = '''
from valuecompass.models import Completion


class EchoBackend:
    """Answers every prompt with its word, WORD times."""

    max_concurrency = 4

    def __init__(self, word: str, times: int = 1) -> None:
        self.word, self.times = word or "2", times
        self.identity = f"echo:{self.word}x{times}"

    @classmethod
    def from_spec(cls, arg, **options):
        return cls(arg, **options)

    def complete(self, request):
        return Completion(text=" ".join([self.word] * self.times))

    def close(self):
        return None
'''


def _distribution(root: Path, name: str, entry: str, source: str) -> None:
    """A tiny installed distribution: a module and its dist-info with an entry point."""
    (root / f"{name}.py").write_text(source)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[valuecompass.backends]\n{entry}\n")


def test_a_plugin_backend_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "vc_echo", "echo = vc_echo:EchoBackend", PLUGIN)
    _distribution(site, "vc_broken", "broken = vc_broken:Nothing", "raise ImportError('gone')\n")
    monkeypatch.syspath_prepend(str(site))
    assert {"echo", "broken"} <= set(plugins())
    backend = get_backend("echo:3", times=2)
    assert backend.identity == "echo:3x2" and backend.complete(ITEM).text == "3 3"
    with pytest.raises(ConfigError, match=r"echo backend has no option 'loud'; its options: times"):
        get_backend("echo", loud=True)
    with pytest.raises(ConfigError, match=r"broken backend .*vc_broken 0.1.*ImportError: gone"):
        get_backend("broken")
    with pytest.raises(ConfigError, match=r"known backends: local, openai, .*broken, echo"):
        get_backend("nope")
    # The command finds it too, in a process of its own, with the plugin only on PYTHONPATH.
    db = tmp_path / "s.db"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    exe = Path(sys.executable).parent / "valuecompass"
    done = subprocess.run(
        [str(exe), "run", "--model", "echo:4", "-M", "times=1", "--countries", "India",
         "--scenarios", "education", "--variants", "1", "--db", str(db), "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "56 asked" in done.stdout and "56/56 answers scored" in done.stdout


def test_the_async_runner_keeps_concurrency_requests_in_flight(tmp_path: Path) -> None:
    from valuecompass.runner import RunConfig, run_model

    grid = {"countries": ["India"], "scenarios": ["education"], "variants": [0]}
    config = RunConfig(
        model="openai:stub", db=str(tmp_path / "s.db"), concurrency=5, progress=False, **grid
    )
    with serve_stub(delay=0.05) as stub:
        backend = OpenAIBackend("stub", base_url=stub.base_url)
        summary = run_model(config, backend=backend)
        assert stub.peak == 5 and stub.count == 56  # never more than asked, and all of them
        # the same backend still answers a caller without an event loop, then closes
        assert backend.complete(ITEM).text in {"1", "2", "3", "4"}
        backend.close()
    assert (summary.asked, summary.failed, summary.scored) == (56, 0, 56)
