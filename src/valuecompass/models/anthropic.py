"""Anthropic's Messages API: ``--model anthropic:MODEL`` (e.g. ``anthropic:claude-sonnet-4-5``).

Each request is one ``POST {base_url}/v1/messages`` with the headers ``x-api-key`` and
``anthropic-version: 2023-06-01``. The prompt's system messages go in the top-level ``system``
field, the others in ``messages``; ``temperature`` (0 to 1 in this API) and ``max_tokens`` are
the run's, ``stop_sequences`` the option's. The API takes no seed: samples differ by the
model's own sampling (the sample index is still part of each answer's cache key).

Settings come from options (``-M key=value``), else the environment (read in
:mod:`valuecompass.settings`): ``api_key`` / ``ANTHROPIC_API_KEY`` (always needed) and
``base_url`` (default ``https://api.anthropic.com``). The key is sent in a header only, and
taken out of every message the backend makes.

The API gives no log-probabilities, so a run says so once and its answers are scored by their
text. A request with a JSON schema (``actions generate``) asks for it in words: the schema is
added to the system prompt with the instruction to reply with one JSON object that follows it,
and the reply is parsed as any other (the parsers take the object out of surrounding text or a
code fence); no tool or other API field is used for it.

Rate limits (429) and overload (529), server errors (5xx), timeouts and dropped connections are
retried by the runner, honouring ``retry-after``; a 429 also slows every later request down
(:mod:`valuecompass.models._ratelimit`; ``rpm`` and ``tpm`` set budgets). 401 and 403 stop the
run, as does a 404 (no such model); other 4xx answers are kept as missing with the API's
message. The token counts the API reports (``usage``) are kept with each answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import orjson

from valuecompass.models._base import (
    BackendError,
    Completion,
    ConfigError,
    FatalBackendError,
    Request,
    TransientError,
)
from valuecompass.models._batches import BatchResult, BatchState, RequestOf
from valuecompass.models._http import COMMON_OPTIONS, HTTPBackend, check_url, plain, retry_after
from valuecompass.settings import env

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"

#: What a run says once about this backend's answers.
NO_LOGPROBS = (
    "anthropic: the Messages API gives no log-probabilities; answers are scored by their text"
)


def schema_instruction(schema: Mapping[str, Any]) -> str:
    """The words that ask for a reply following SCHEMA (added to the system prompt)."""
    return (
        "Reply with one JSON object and nothing else: no code fence, no text before or after "
        "it. The object must follow this JSON schema:\n"
        + json.dumps(dict(schema), ensure_ascii=False, sort_keys=True)
    )


def split_system(
    messages: Sequence[Mapping[str, str]],
) -> tuple[str | None, list[dict[str, str]]]:
    """The system messages' text (joined by blank lines; None without any), and the rest."""
    system = [str(m["content"]) for m in messages if m.get("role") == "system"]
    rest = [{"role": str(m["role"]), "content": str(m["content"])}
            for m in messages if m.get("role") != "system"]  # fmt: skip
    return ("\n\n".join(system) if system else None), rest


def _stops(value: Any) -> tuple[str, ...]:
    """``-M stop_sequences=...``: one string, or a JSON list of them."""
    if value is None:
        return ()
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list | tuple) or not all(isinstance(s, str) and s for s in given):
        raise ConfigError(
            "anthropic: option stop_sequences must be a string or a JSON list of non-empty "
            f"strings (-M 'stop_sequences=[\"\\n\\n\"]'), got {value!r}"
        )
    return tuple(given)


class AnthropicBackend(HTTPBackend):
    """The Messages API over HTTP; many requests at once (bounded by the runner)."""

    name: ClassVar[str] = "anthropic"

    #: What a run says once: these answers are scored by their text.
    notes: ClassVar[tuple[str, ...]] = (NO_LOGPROBS,)

    #: What ``-M key=value`` may set.
    options: ClassVar[dict[str, str]] = {
        "api_key": "the key (ANTHROPIC_API_KEY); always needed",
        "base_url": f"the endpoint (default {DEFAULT_BASE_URL}); requests go to "
        "BASE_URL/v1/messages",
        "stop_sequences": 'text that ends an answer: one string, or a JSON list (["\\n\\n"])',
        **COMMON_OPTIONS,
    }

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        stop_sequences: Any = None,
        timeout: float = 120.0,
        max_concurrency: int = 1024,
        rpm: float | None = None,
        tpm: float | None = None,
    ) -> None:
        if not model:
            raise ConfigError("anthropic: name the model, e.g. --model anthropic:claude-haiku-4-5")
        key = api_key if isinstance(api_key, str) and api_key else env("ANTHROPIC_API_KEY")
        if api_key is not None and not isinstance(api_key, str):
            raise ConfigError("anthropic: option api_key must be text")
        if not key:
            raise ConfigError("anthropic: no API key; pass -M api_key=KEY or set ANTHROPIC_API_KEY")
        self.model = model
        self.base_url = str(base_url or DEFAULT_BASE_URL).rstrip("/")
        check_url(self.name, self.base_url)
        self.stop_sequences = _stops(stop_sequences)
        headers = {"x-api-key": key, "anthropic-version": API_VERSION,
                   "content-type": "application/json"}  # fmt: skip
        self._start_http(self.base_url + "/v1/messages", headers, key, timeout,
                         max_concurrency, rpm, tpm)  # fmt: skip
        # Stop sequences change the answers: not one cache entry with and without them.
        stops = "+stop=" + json.dumps(list(self.stop_sequences)) if self.stop_sequences else ""
        self.identity = f"anthropic:{self.base_url}#{model}{stops}"

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> AnthropicBackend:
        return cls(arg, **options)

    def _body(self, request: Request) -> bytes:
        if not 0.0 <= request.temperature <= 1.0:
            raise FatalBackendError(
                f"anthropic: the Messages API takes a temperature from 0 to 1, got "
                f"{request.temperature:g} (--temperature)"
            )
        system, messages = split_system(request.messages)
        if request.json_schema is not None:
            asked = schema_instruction(request.json_schema)
            system = f"{system}\n\n{asked}" if system else asked
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "temperature": request.temperature,
        }
        if system:
            body["system"] = system
        if self.stop_sequences:
            body["stop_sequences"] = list(self.stop_sequences)
        return orjson.dumps(body, default=plain)

    def _read(self, payload: bytes, request: Request) -> Completion:
        try:
            data = orjson.loads(payload)
        except ValueError as exc:
            raise self.malformed(payload) from exc
        return self._completion(data, payload)

    def _completion(self, data: Any, payload: bytes = b"") -> Completion:
        """A message (parsed JSON) as a completion; PAYLOAD, for the message if it is not one."""
        try:
            if data.get("type") != "message":
                raise ValueError("not a message")
            text = "".join(
                str(block["text"]) for block in data["content"] if block.get("type") == "text"
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.malformed(payload or orjson.dumps(data)) from exc
        usage = data.get("usage") or {}
        given = usage.get("input_tokens")
        # What the prompt cost in all: read from and written to the prompt cache included.
        cached = (usage.get("cache_creation_input_tokens") or 0) + (
            usage.get("cache_read_input_tokens") or 0
        )
        return Completion(
            text=text,
            prompt_tokens=given + cached if isinstance(given, int) else None,
            completion_tokens=usage.get("output_tokens"),
        )

    def _message(self, status: int, payload: bytes) -> str:
        """The API's error, ``HTTP 429 rate_limit_error: ...``, from its error shape."""
        try:
            error = orjson.loads(payload)["error"]
            said = f"{error['type']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            return f"HTTP {status}: {self.detail(payload)}"
        return self.redact(f"HTTP {status} {said}"[:400])

    def _check(self, status: int, headers: Any, payload: bytes) -> None:
        if status < 400:
            return
        message = self._message(status, payload)
        if status in (408, 429) or status >= 500:  # 529: the API is overloaded
            raise TransientError(message, retry_after(headers))
        if status in (401, 403):
            raise FatalBackendError(f"{self.base_url} refused the credentials ({message})")
        if status == 404:
            raise FatalBackendError(
                f"{self.base_url}: no such endpoint or model {self.model!r} ({message})"
            )
        raise BackendError(message)

    # Message Batches: up to 100,000 requests (256 MB) answered within 24 hours.

    provider: ClassVar[str] = "anthropic"
    max_batch_requests: ClassVar[int] = 100_000
    max_batch_bytes: ClassVar[int] = 256 * 1000 * 1000

    def batch_line(self, custom_id: str, request: Request) -> bytes:
        """One request of a Message Batch: its custom id and the Messages API body."""
        return b'{"custom_id":"' + custom_id.encode() + b'","params":' + self._body(request) + b"}"

    def submit_batch(self, lines: Sequence[bytes], tag: str) -> BatchState:
        """Create a Message Batch of LINES (the API keeps no metadata: TAG is not sent)."""
        body = b'{"requests":[' + b",".join(lines) + b"]}"
        return self._state(self._json(self.call("POST", self._batches, body)))

    def find_batch(self, tag: str, since: float, count: int, taken: set[str]) -> str | None:
        """The batch of COUNT requests created since SINCE (Unix seconds, the run's record of
        it, a minute's clock skew allowed) that the store has not recorded: the API keeps no
        metadata, so this is how a batch whose id was lost is known. The oldest if several."""
        found: str | None = None
        after = ""
        while True:
            page = self._json(self.call("GET", f"{self._batches}?limit=100{after}"))
            for batch in page.get("data") or ():
                created = _seconds(batch.get("created_at"))
                if created is not None and created < since - 60:
                    return found  # newest first: the rest are older
                total = sum(int(v) for v in (batch.get("request_counts") or {}).values())
                if total == count and str(batch["id"]) not in taken:
                    found = str(batch["id"])
            if not page.get("has_more") or not page.get("last_id"):
                return found
            after = f"&after_id={page['last_id']}"

    def poll_batch(self, batch_id: str) -> BatchState:
        """The batch as the API describes it now."""
        return self._state(self._json(self.call("GET", f"{self._batches}/{batch_id}")))

    def batch_results(self, state: BatchState, request_of: RequestOf) -> Iterator[BatchResult]:
        """Every result of an ended batch, in the order the API gives them."""
        for url in state.results:
            for line in self.lines(url):
                yield self._result(line)

    @property
    def _batches(self) -> str:
        return self.base_url + "/v1/messages/batches"

    def _json(self, payload: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(payload)
        except ValueError as exc:
            raise self.malformed(payload) from exc
        if not isinstance(data, dict):
            raise self.malformed(payload)
        return data

    def _state(self, batch: dict[str, Any]) -> BatchState:
        status = str(batch.get("processing_status", ""))
        url = batch.get("results_url")
        ended = status == "ended"
        results = (str(url),) if ended and url else ()
        return BatchState(str(batch["id"]), status, ended, None, results)

    def _result(self, line: bytes) -> BatchResult:
        try:
            row = orjson.loads(line)
            cid, result = str(row["custom_id"]), row["result"]
            kind = str(result["type"])
        except (ValueError, KeyError, TypeError) as exc:
            raise self.malformed(line) from exc
        if kind == "succeeded":
            try:
                return BatchResult(cid, self._completion(result.get("message")))
            except TransientError as exc:
                return BatchResult(cid, None, str(exc), retry=True)
        if kind == "errored":
            error = (result.get("error") or {}).get("error") or {}
            what = str(error.get("type") or "error")
            said = self.redact(f"{what}: {error.get('message') or 'no answer'}"[:300])
            return BatchResult(cid, None, said, retry=what in RETRIED)
        return BatchResult(cid, None, f"{kind}: the batch ended before this request ran", True)


#: The errors of a batch's request worth sending again.
RETRIED = ("api_error", "overloaded_error", "rate_limit_error", "timeout_error")


def _seconds(when: Any) -> float | None:
    """An RFC 3339 time as Unix seconds (None if it is not one)."""
    try:
        return datetime.fromisoformat(str(when).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
