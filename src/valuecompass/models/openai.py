"""Any OpenAI-compatible chat endpoint: OpenAI, Groq, Together, vLLM, llama.cpp, Ollama, ...

Settings come from options, else from the environment (read in :mod:`valuecompass.settings`):
``base_url`` / ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``) and ``api_key`` /
``OPENAI_API_KEY``. A loopback endpoint needs no key. Rate limits (429), server errors (5xx),
timeouts and dropped connections are retried by the runner; 401 and 403 stop the run; other
4xx answers are kept as missing with the server's message.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

import httpx

from valuecompass.models._base import (
    BackendError,
    Completion,
    ConfigError,
    FatalBackendError,
    Request,
    TransientError,
    renormalise,
)
from valuecompass.settings import env

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend:
    """Chat completions over HTTP; many requests at once (bounded by the runner)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        logprobs: bool = False,
        max_concurrency: int = 64,
    ) -> None:
        if not model:
            raise ConfigError("openai: name the model, e.g. --model openai:gpt-4o-mini")
        self.model = model
        self.base_url = (base_url or env("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        try:
            host = urlparse(self.base_url).hostname or ""
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket
            raise ConfigError(f"openai: {self.base_url!r} is not a valid URL ({exc})") from exc
        if not urlparse(self.base_url).scheme.startswith("http") or not host:
            raise ConfigError(f"openai: {self.base_url!r} is not an http(s) URL")
        key = api_key or env("OPENAI_API_KEY")
        if not key and host not in LOOPBACK:
            raise ConfigError(
                f"openai: no API key for {self.base_url}; pass --api-key or set OPENAI_API_KEY"
            )
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.logprobs = logprobs
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        # Answers asked with log-probabilities hold more than those without: not one cache entry.
        self.identity = f"openai:{self.base_url}#{model}" + ("+logprobs" if logprobs else "")
        self._limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        self._client = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, limits=self._limits
        )
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> OpenAIBackend:
        return cls(arg, **options)

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
        }
        if self.logprobs and request.options:
            body.update(logprobs=True, top_logprobs=20)
        return body

    def complete(self, request: Request) -> Completion:
        try:
            response = self._client.post("/chat/completions", json=self._body(request))
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out after {self.timeout} s") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"cannot reach {self.base_url}: {exc}") from exc
        return self._read(response, request)

    def _read(self, response: httpx.Response, request: Request) -> Completion:
        self._check(response)
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TransientError(f"malformed response body: {response.text[:200]!r}") from exc
        usage = data.get("usage") or {}
        probs, mass = self._option_probs(choice, request.options)
        return Completion(
            text=str(text),
            option_probs=probs,
            option_mass=mass,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = response.text[:300]
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(f"HTTP {status}: {detail}", _retry_after(response))
        if status in (401, 403):
            raise FatalBackendError(
                f"{self.base_url} refused the credentials (HTTP {status}): {detail}"
            )
        if status == 404:
            raise FatalBackendError(
                f"{self.base_url}: no such endpoint or model {self.model!r} (HTTP 404): {detail}"
            )
        raise BackendError(f"HTTP {status}: {detail}")

    def _option_probs(
        self, choice: dict[str, Any], options: tuple[str, ...]
    ) -> tuple[dict[str, float] | None, float | None]:
        """Option distribution from the first answer token's top log-probabilities."""
        content = (choice.get("logprobs") or {}).get("content") or []
        if not (options and content):
            return None, None
        for token in content:
            if token.get("token", "").strip() in options:
                top = {t["token"].strip(): t["logprob"] for t in token.get("top_logprobs", [])}
                found = {code: top[code] for code in options if code in top}
                probs, mass = renormalise({c: found.get(c, float("-inf")) for c in options})
                return (probs or None), mass
        return None, None

    def close(self) -> None:
        with self._lock:
            self._client.close()
