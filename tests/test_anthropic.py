"""Issue 25, items 1 and 4: the anthropic backend against a stub of the Messages API, and the
request and token budgets (rpm, tpm) of the HTTP backends, with 429s that slow a run down."""

from __future__ import annotations

import math
import random
import shlex
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.models import ConfigError, FatalBackendError, Request, get_backend
from valuecompass.models._ratelimit import RateLimiter, estimate_tokens
from valuecompass.models.anthropic import NO_LOGPROBS, AnthropicBackend, schema_instruction
from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import RunConfig, call_with_retries, run_model
from valuecompass.testing import serve_anthropic_stub, serve_stub
from valuecompass.testing.anthropic_stub import DEFAULT_KEY, _reply

REPO = Path(__file__).resolve().parents[1]
#: One context, one variant: 56 item prompts.
GRID = ["--countries", "India", "--scenarios", "healthcare", "--variants", "0", "--no-progress"]
KEY = "sk-ant-api03-Secret-Do-Not-Show-0123456789"


def _cli(stub_url: str, db: Path, *args: str, key: str = KEY) -> list[str]:
    return ["run", "--model", "anthropic:claude-test", "-M", f"base_url={stub_url}",
            "-M", f"api_key={key}", *GRID, "--db", str(db), *args]  # fmt: skip


def _prompts(db: Path) -> list[tuple[str, str | None, int | None, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select raw, error, prompt_tokens, completion_tokens from prompts order by id"
        ).fetchall()


def _usage(body: dict[str, Any]) -> tuple[int, int]:
    """What the stub reported for BODY (its words), recomputed from the request it got."""
    import orjson

    usage = orjson.loads(_reply(body, 0))["usage"]
    return usage["input_tokens"], usage["output_tokens"]


def test_a_run_stores_every_answer_and_the_usage(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with serve_anthropic_stub(key=KEY) as stub:
        result = CliRunner().invoke(main, _cli(stub.base_url, db))
        assert result.exit_code == 0, result.output
        assert "56 prompts; 0 already stored, 0 from cache, 56 asked, 0 failed" in result.output
        assert "56/56 answers scored" in result.output
        assert result.output.count(NO_LOGPROBS) == 1  # said once
        bodies = [r.body for r in stub.received]
        # every prompt of the default design has a system message: it went as `system`
        assert all(b is not None and b["system"] and len(b["messages"]) == 1 for b in bodies)
        sent = sorted(_usage(b) for b in bodies if b is not None)
        form = CliRunner().invoke(main, _cli(stub.base_url, db, "--mode", "all", "--run", "f"))
        assert form.exit_code == 0 and "56/56 answers scored" in form.output, form.output
        assert NO_LOGPROBS not in form.output  # no option probabilities are asked in mode all
    rows = _prompts(db)
    assert len(rows) == 57 and all(error is None for _, error, _, _ in rows)
    item = rows[:56]
    assert all(raw in {"1", "2", "3", "4"} for raw, *_ in item)
    assert sorted((p, c) for _, _, p, c in item) == sent  # the API's usage, as it said it
    assert all(p is not None and p > 20 and c == 1 for _, _, p, c in item)


def test_the_request_reaches_the_api_as_sent() -> None:
    with serve_anthropic_stub() as stub:
        backend = AnthropicBackend("claude-x", api_key=DEFAULT_KEY, base_url=stub.base_url,
                                   stop_sequences=["\n\n", "END"])  # fmt: skip
        messages = [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Rate: Ambitious?"}]  # fmt: skip
        request = Request(messages=messages, temperature=0.7, max_tokens=5, seed=3,
                          options=("1", "2"))  # fmt: skip
        completion = backend.complete(request)
        schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
        backend.complete(Request(messages=messages, temperature=0.0, max_tokens=9, seed=0,
                                 json_schema=schema))  # fmt: skip
        backend.close()
    first, second = stub.received
    assert first.body == {
        "model": "claude-x",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "Rate: Ambitious?"}],
        "temperature": 0.7,
        "system": "Be brief.",
        "stop_sequences": ["\n\n", "END"],
    }  # no seed: the API has none
    assert first.headers["x-api-key"] == DEFAULT_KEY
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert first.headers["content-type"] == "application/json"
    assert completion.text in {"1", "2", "3", "4"} and completion.option_probs is None
    assert (completion.prompt_tokens, completion.completion_tokens) == (4, 1)  # 2 + 2 words
    # a JSON schema is asked for in words, in the system prompt; no other field is sent
    assert second.body is not None and set(second.body) == set(first.body)
    assert second.body["system"] == "Be brief.\n\n" + schema_instruction(schema)
    assert '"required": ["a"]' in second.body["system"]


def test_cli_parameters_reach_the_api(tmp_path: Path) -> None:
    with serve_anthropic_stub(key=KEY) as stub:
        args = _cli(stub.base_url, tmp_path / "s.db", "--temperature", "0.6", "--max-tokens", "4",
                    "--items", "Ambitious", "-M", "stop_sequences=[\"\\n\"]")  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        [got] = stub.received
        hot = CliRunner().invoke(main, [*args, "--temperature", "1.5", "--run", "hot"])
    assert got.body is not None
    assert (got.body["temperature"], got.body["max_tokens"]) == (0.6, 4)
    assert got.body["stop_sequences"] == ["\n"] and got.body["model"] == "claude-test"
    assert hot.exit_code == 2
    assert hot.output.strip().splitlines()[-1] == (
        "error: anthropic: the Messages API takes a temperature from 0 to 1, got 1.5 "
        "(--temperature)"
    )


def test_retries_on_429_and_529_honour_retry_after() -> None:
    waits: list[float] = []
    plan = {1: "429", 2: "529", 3: "500"}
    item = Request(messages=[{"role": "user", "content": "x"}], temperature=0, max_tokens=3,
                   seed=0)  # fmt: skip
    with serve_anthropic_stub(plan=lambda n: plan.get(n, "ok"), retry_after="0.25") as stub:
        backend = AnthropicBackend("m", api_key=DEFAULT_KEY, base_url=stub.base_url)
        outcome = call_with_retries(backend, item, 5, 0.2, random.Random(0), sleep=waits.append)
        backend.close()
    assert outcome.error is None and outcome.attempts == 4
    assert waits[:2] == [0.25, 0.25]  # the API's retry-after, on the 429 and on the 529
    assert 0.8 <= waits[2] <= 1.0  # a 500 without one: 0.2 * 2**2, plus at most 25% jitter
    assert stub.outcomes == ["429", "529", "500", "ok"]


def test_a_run_through_429s_529s_and_errors_stores_every_answer_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cycle = ["ok", "429", "ok", "529", "badjson", "ok", "500", "ok"]
    plan = lambda n: cycle[n % len(cycle)] if n <= 32 else "ok"  # noqa: E731
    with serve_anthropic_stub(plan=plan, retry_after="0.01") as stub:
        backend = AnthropicBackend("m", api_key=DEFAULT_KEY, base_url=stub.base_url)
        config = RunConfig(model="anthropic:m", db=str(db), retries=8, backoff=0.01,
                           concurrency=8, countries=["India"], scenarios=["healthcare"],
                           variants=[0], progress=False)  # fmt: skip
        said: list[str] = []
        summary = run_model(config, backend=backend, say=said.append)
        assert {"429", "529", "500", "badjson"} <= set(stub.outcomes)
    assert (summary.asked, summary.failed, summary.scored) == (56, 0, 56)
    assert said == [NO_LOGPROBS] == summary.notes
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(distinct cache_key) from prompts").fetchone()[0] == 56


def test_a_missing_key_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["run", "--model", "anthropic:claude-test", *GRID,
                                       "--db", str(db)])  # fmt: skip
    assert result.exit_code == 2
    assert result.output == (
        "error: anthropic: no API key; pass -M api_key=KEY or set ANTHROPIC_API_KEY\n"
    )
    assert not db.exists()  # nothing made, nothing lost
    with pytest.raises(ConfigError, match="name the model"):
        get_backend("anthropic", api_key="k")
    with pytest.raises(ConfigError, match="option rpm must be a positive number, got 'fast'"):
        get_backend("anthropic:m", api_key="k", rpm="fast")
    with pytest.raises(ConfigError, match="stop_sequences must be a string or a JSON list"):
        get_backend("anthropic:m", api_key="k", stop_sequences=[""])
    # the key from the environment
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with serve_anthropic_stub(key=KEY) as stub:
        ok = CliRunner().invoke(main, ["run", "--model", "anthropic:claude-test", "-M",
                                       f"base_url={stub.base_url}", *GRID, "--items", "Ambitious",
                                       "--db", str(db)])  # fmt: skip
    assert ok.exit_code == 0 and "1 asked, 0 failed" in ok.output, ok.output


def test_the_key_never_appears_in_the_store_or_the_output(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cli = CliRunner()
    with serve_anthropic_stub(key=KEY, plan=lambda n: "echo_key" if n in (3, 9) else "ok") as stub:
        result = cli.invoke(main, [*_cli(stub.base_url, db), "--run", "r"])
        assert result.exit_code == 0 and "56 asked, 2 failed" in result.output, result.output
        refused = cli.invoke(main, [*_cli(stub.base_url, db, key=KEY + "x"), "--run", "w"])
        assert refused.exit_code == 2 and "refused the credentials" in refused.output
        echoed = [r for r in stub.received if r.headers.get("x-api-key") == KEY]
        assert len(echoed) == 56  # the stub did get the key, and said it back twice
    shown = [cli.invoke(main, ["runs", cmd, "r", "--db", str(db)]) for cmd in ("show", "export")]
    said = result.output + refused.output + "".join(s.output for s in shown)
    errors = [e for _, e, _, _ in _prompts(db) if e]
    assert len(errors) == 2 and all("invalid request from key ***" in e for e in errors)
    assert KEY not in said and KEY[:-1] not in said
    for path in tmp_path.iterdir():  # the store, its journal, anything written beside it
        assert KEY.encode() not in path.read_bytes(), path
    assert repr(AnthropicBackend("m", api_key=KEY)).count("sk-") == 0


def test_bundled_model_answers_through_the_messages_api(tmp_path: Path) -> None:
    """The real model (SmolLM2 through llama.cpp) behind the stub: its replies come through the
    anthropic backend into the store word for word."""
    local = get_backend("local")
    asked: list[tuple[list[dict[str, str]], str]] = []

    def real(body: dict[str, Any]) -> str:
        messages = [{"role": "system", "content": body["system"]}, *body["messages"]]
        text = local.complete(Request(messages=messages, temperature=body["temperature"],
                                      max_tokens=body["max_tokens"], seed=0)).text  # fmt: skip
        asked.append((messages, text))
        return text

    db = tmp_path / "s.db"
    items = ["--items", "Ambitious,Capable,Honest", "--temperature", "0", "--max-tokens", "2"]
    try:
        with serve_anthropic_stub(key=KEY, answerer=real) as stub:
            result = CliRunner().invoke(main, _cli(stub.base_url, db, *items))
            assert result.exit_code == 0 and "3 asked, 0 failed" in result.output, result.output
        again = [local.complete(Request(messages=m, temperature=0, max_tokens=2, seed=0)).text
                 for m, _ in asked]  # fmt: skip
    finally:
        local.close()
    stored = sorted(raw for raw, *_ in _prompts(db))
    assert stored == sorted(text for _, text in asked) == sorted(again)  # greedy: the same
    assert len(stored) == 3 and all(raw.strip() for raw in stored)


# Budgets and 429s: the limiter itself, on a clock of the test's.


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _starts(limiter: RateLimiter, n: int, tokens: int = 1) -> list[float]:
    return [round(limiter.reserve(tokens)[0].sent, 6) for _ in range(n)]


def test_the_requests_bucket_lets_a_second_go_at_once_then_its_rate() -> None:
    clock = Clock()
    # rpm 600: 10 a second, a burst of 10: requests 0-9 at once, then one every 0.1 s
    limiter = RateLimiter(rpm=600, clock=clock)
    assert _starts(limiter, 13) == [0.0] * 10 + [0.1, 0.2, 0.3]
    # rpm 60: one a second, a burst of one
    assert _starts(RateLimiter(rpm=60, clock=clock), 3) == [0.0, 1.0, 2.0]
    ticket, wait = RateLimiter(clock=clock).reserve(10**6)
    assert (ticket.sent, wait) == (0.0, 0.0)  # no budget: nothing waits


def test_the_tokens_bucket_charges_the_estimate_and_settles_with_the_usage() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=600, clock=clock)  # 10 tokens a second, a burst of 10
    big, _ = limiter.reserve(30)
    assert big.sent == 0.0  # the budget's tokens run 3 s ahead now
    assert limiter.reserve(10)[0].sent == 3.0
    limiter.settle(big, 10)  # it used 10 of its 30: 2 s given back
    assert limiter.reserve(10)[0].sent == 2.0
    # the estimate: characters / 4, rounded up, plus max_tokens
    assert estimate_tokens([{"role": "user", "content": "x" * 9}], 3) == 3 + 3


def test_a_429_pauses_every_request_and_halves_the_rate_once_per_round() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=60, clock=clock)
    early, _ = limiter.reserve(1)  # at 0; the bucket's next place is 1.0
    also, _ = limiter.reserve(1)  # at 1.0
    clock.now = 0.5
    limiter.limited(early, retry_after=2.0)
    assert limiter.factor == 0.5 and limiter.rpm == 30
    clock.now = 1.1
    limiter.limited(also, retry_after=None)  # placed before the cut: no second cut
    assert limiter.factor == 0.5
    # paused until 2.5, the bucket empty then: it refills one request in 2 s at half the rate
    assert _starts(limiter, 2) == [4.5, 6.5]
    later, _ = limiter.reserve(1)  # placed at 1.1, after the cut, to go at 8.5
    assert later.sent == 8.5
    clock.now = 7.0
    limiter.limited(later, retry_after=None)  # placed after the cut: cut again
    assert limiter.factor == 0.25
    for _ in range(140):  # each answer gives back 1%: 0.25 * 1.01**140 > 1, kept at 1
        limiter.settle(later, None)
    assert limiter.factor == 1.0 and limiter.rpm == 60


def test_without_a_budget_a_429_sets_one_at_half_the_rate_seen() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    tickets = []
    for k in range(40):  # 20 a second for 2 s
        clock.now = k * 0.05
        tickets.append(limiter.reserve(1)[0])
    limiter.limited(tickets[-1], retry_after=None)
    assert limiter.rpm == pytest.approx(40 / 1.95 * 60 / 2)  # half the 20.5/s seen
    for _ in range(70):  # 0.5 * 1.01**70 ≈ 1.003: back to the rate seen
        limiter.settle(tickets[-1], None)
    assert limiter.rpm is not None and limiter.rpm > 40 / 1.95 * 60
    for _ in range(70):  # at twice the rate seen, the learned budget is dropped
        limiter.settle(tickets[-1], None)
    assert limiter.rpm is None


# Budgets and 429s through a run: the stubs' arrival times.


@pytest.mark.parametrize("backend", ["anthropic", "openai"])
def test_a_run_under_rpm_takes_at_least_the_buckets_time(backend: str, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    rpm = 1200  # 20 a second, a burst of 20: 56 requests take at least (56 - 20) / 20 s
    serve = serve_anthropic_stub(key=KEY) if backend == "anthropic" else serve_stub()
    with serve as stub:
        spec = "anthropic:claude-test" if backend == "anthropic" else "openai:stub"
        args = ["run", "--model", spec, "-M", f"base_url={stub.base_url}", "-M", f"rpm={rpm}",
                *(["-M", f"api_key={KEY}"] if backend == "anthropic" else []),
                *GRID, "--concurrency", "8", "--db", str(db)]  # fmt: skip
        start = time.monotonic()
        result = CliRunner().invoke(main, args)
        times = list(stub.times)
    assert result.exit_code == 0 and "56 asked, 0 failed" in result.output, result.output
    assert len(times) == 56
    assert times[-1] - start >= (56 - 20) / 20  # 1.8 s: a lower bound, whatever the load


def test_a_run_under_tpm_takes_at_least_the_buckets_time(tmp_path: Path) -> None:
    tpm = 120_000  # 2,000 tokens a second, a burst of 2,000
    with serve_anthropic_stub(key=KEY) as stub:
        start = time.monotonic()
        result = CliRunner().invoke(main, [*_cli(stub.base_url, tmp_path / "s.db"),
                                           "-M", f"tpm={tpm}", "--concurrency", "4"])  # fmt: skip
        received = list(stub.received)
    assert result.exit_code == 0 and "56 asked, 0 failed" in result.output, result.output
    # each request held, at any time, its estimate or (once answered) its usage: the least of
    # the two, over all requests, less one burst, at the rate, is a bound on the last start
    least = 0
    for r in received:
        assert r.body is not None
        text = [{"content": r.body["system"]}, *r.body["messages"]]
        estimate = estimate_tokens(text, r.body["max_tokens"])
        least += min(estimate, sum(_usage(r.body)))
    bound = (least - tpm / 60) / (tpm / 60)
    assert bound > 1.0  # the test means something: at least a second of budget
    assert received[-1].time - start >= bound


def test_429s_slow_the_run_down_instead_of_failing_it(tmp_path: Path) -> None:
    """A server that takes 10 requests each half second, and a run of 16 in flight with 3
    retries: its first 429s pause it and set its rate below the server's; every answer is
    stored."""
    db = tmp_path / "s.db"
    with serve_anthropic_stub(key=KEY, limit=(10, 0.5)) as stub:
        result = CliRunner().invoke(main, [*_cli(stub.base_url, db), "--variants", "0,1",
                                           "--concurrency", "16", "--retries", "3"])  # fmt: skip
        limited = stub.outcomes.count("limited")
    assert result.exit_code == 0, result.output
    assert "112 asked, 0 failed" in result.output, result.output
    assert limited >= 1  # the server did refuse some
    assert len(_prompts(db)) == 112


# The documented OpenAI-compatible endpoints of other providers.


def _documented(host: str) -> list[str]:
    """The user guide's command whose base URL is on HOST, as arguments."""
    text = (REPO / "docs" / "user-guide.md").read_text()
    [line] = [ln for ln in text.splitlines() if ln.startswith("valuecompass run") and host in ln]
    return shlex.split(line.split("  # needs:")[0])[1:]


@pytest.mark.parametrize(
    ("host", "url", "model"),
    [
        ("generativelanguage.googleapis.com",
         "https://generativelanguage.googleapis.com/v1beta/openai/", "gemini-2.5-flash"),
        ("api.together.xyz", "https://api.together.xyz/v1",
         "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ],
)  # fmt: skip
def test_the_documented_providers_parse_and_run_against_the_stub(
    host: str, url: str, model: str, tmp_path: Path
) -> None:
    from valuecompass.cli.run import parse_model_options

    args = _documented(host)
    at = args.index("--model")
    assert args[at + 1] == f"openai:{model}"
    pairs = tuple(args[i + 1] for i, a in enumerate(args) if a == "-M")
    options = parse_model_options(pairs)
    assert options["base_url"] == url and str(options["api_key"]).startswith("$")
    built = get_backend(args[at + 1], **{**options, "api_key": "k"})
    assert isinstance(built, OpenAIBackend)
    assert built._url == url.rstrip("/") + "/chat/completions"  # where the provider answers
    with serve_stub() as stub:
        swapped = [f"base_url={stub.base_url}" if a.startswith("base_url=") else a for a in args]
        result = CliRunner().invoke(main, [*swapped, "--db", str(tmp_path / "s.db"),
                                           "--items", "Ambitious", *GRID])  # fmt: skip
        body = stub.last_body
    assert result.exit_code == 0 and "1 asked, 0 failed" in result.output, result.output
    assert body is not None and body["model"] == model


def test_a_fatal_error_names_no_key() -> None:
    with serve_anthropic_stub(key="other") as stub:
        backend = AnthropicBackend("m", api_key=KEY, base_url=stub.base_url)
        with pytest.raises(FatalBackendError) as refused:
            backend.complete(Request(messages=[{"role": "user", "content": "x"}],
                                     temperature=0, max_tokens=1, seed=0))  # fmt: skip
        backend.close()
    assert "HTTP 401 authentication_error: invalid x-api-key" in str(refused.value)
    assert KEY not in str(refused.value)
    assert math.isclose(stub.count, 1)
