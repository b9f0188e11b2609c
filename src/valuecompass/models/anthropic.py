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
from collections.abc import Mapping, Sequence
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
            if data.get("type") != "message":
                raise ValueError("not a message")
            text = "".join(
                str(block["text"]) for block in data["content"] if block.get("type") == "text"
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.malformed(payload) from exc
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
