"""Any OpenAI-compatible chat endpoint: OpenAI, Groq, Together, vLLM, llama.cpp, Ollama, ...

Settings come from options (``-M key=value``), else from the environment (read in
:mod:`valuecompass.settings`): ``base_url`` / ``OPENAI_BASE_URL`` (default
``https://api.openai.com/v1``) and ``api_key`` / ``OPENAI_API_KEY``. A loopback endpoint needs
no key. A request with a JSON schema asks for a reply that follows it (``response_format``;
option ``schema_format``). Rate limits (429), server errors (5xx), timeouts and dropped
connections are retried by the runner; 401 and 403 stop the run; other 4xx answers are kept
as missing with the server's message.

The client is asyncio on aiohttp: one session and connection pool per event loop, bodies
serialised with orjson. The runner drives :meth:`OpenAIBackend.acomplete` from one event loop
for the whole run; :meth:`OpenAIBackend.complete` (for callers without a loop) runs the same
coroutine on a loop thread of the backend's own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlparse

import aiohttp
import orjson

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
_JSON = {"Content-Type": "application/json"}


#: How a request's JSON schema is sent (option ``schema_format``).
SCHEMA_FORMATS = ("json_schema", "json_object", "none")


def response_format(schema: Mapping[str, Any], how: str) -> dict[str, Any]:
    """The ``response_format`` that holds a reply to SCHEMA: OpenAI's structured outputs
    (``json_schema``, strict), or ``json_object`` with the schema beside it (llama-cpp-python's
    server and others that follow it)."""
    if how == "json_object":
        return {"type": "json_object", "schema": dict(schema)}
    strict = _without(schema, STRICT_UNSUPPORTED)
    return {"type": "json_schema",
            "json_schema": {"name": "reply", "schema": strict, "strict": True}}  # fmt: skip


#: Schema keywords OpenAI's strict structured outputs refuse: string lengths (the reply's
#: length is still bounded by max_tokens).
STRICT_UNSUPPORTED = ("minLength", "maxLength")


def _without(node: Any, keys: tuple[str, ...]) -> Any:
    """NODE (a schema, or part of one) without KEYS at any depth (property names are kept)."""
    if isinstance(node, Mapping):
        out = {}
        for k, v in node.items():
            if k == "properties" and isinstance(v, Mapping):
                out[k] = {name: _without(sub, keys) for name, sub in v.items()}
            elif k not in keys:
                out[k] = _without(v, keys)
        return out
    if isinstance(node, list):
        return [_without(v, keys) for v in node]
    return node


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _plain(obj: Any) -> Any:
    """orjson's fallback: a message given as another kind of mapping is sent as a dict."""
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot send a {type(obj).__name__} in a request body")


def _check_url(base_url: str) -> str:
    try:
        parsed = urlparse(base_url)
        host = parsed.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(f"openai: {base_url!r} is not a valid URL ({exc})") from exc
    if not parsed.scheme.startswith("http") or not host:
        raise ConfigError(f"openai: {base_url!r} is not an http(s) URL")
    return host


def _check_types(timeout: Any, logprobs: Any, max_concurrency: Any) -> None:
    """Options arrive from ``-M key=value`` as JSON or strings: refuse the wrong kinds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"openai: option timeout must be a positive number, got {timeout!r}")
    if not isinstance(logprobs, bool):
        raise ConfigError(f"openai: option logprobs must be true or false, got {logprobs!r}")
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise ConfigError(
            f"openai: option max_concurrency must be a whole number, got {max_concurrency!r}"
        )
    if max_concurrency < 1:
        raise ConfigError(f"openai: option max_concurrency must be >= 1, got {max_concurrency}")


class OpenAIBackend:
    """Chat completions over HTTP; many requests at once (bounded by the runner)."""

    #: What ``-M key=value`` may set.
    options: ClassVar[dict[str, str]] = {
        "base_url": "the endpoint, e.g. http://127.0.0.1:8000/v1 (OPENAI_BASE_URL)",
        "api_key": "the key (OPENAI_API_KEY); a loopback endpoint needs none",
        "timeout": "seconds before a request is given up and retried (default 120)",
        "logprobs": "true: also ask for the first answer token's top log-probabilities",
        "max_concurrency": "most requests in flight, whatever --concurrency says (default 1024)",
        "schema_format": "how a JSON schema is sent: json_schema (OpenAI's response_format, "
        "the default), json_object (response_format json_object with a schema, as "
        "llama-cpp-python's server takes it) or none",
    }

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        logprobs: bool = False,
        max_concurrency: int = 1024,
        schema_format: str = "json_schema",
    ) -> None:
        if not model:
            raise ConfigError("openai: name the model, e.g. --model openai:gpt-4o-mini")
        _check_types(timeout, logprobs, max_concurrency)
        if schema_format not in SCHEMA_FORMATS:
            raise ConfigError(
                f"openai: option schema_format must be one of {', '.join(SCHEMA_FORMATS)}, "
                f"got {schema_format!r}"
            )
        self.schema_format = schema_format
        self.model = model
        self.base_url = str(base_url or env("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        host = _check_url(self.base_url)
        key = api_key or env("OPENAI_API_KEY")
        if not key and host not in LOOPBACK:
            raise ConfigError(
                f"openai: no API key for {self.base_url}; pass -M api_key=KEY or set OPENAI_API_KEY"
            )
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._url = self.base_url + "/chat/completions"
        self.logprobs = logprobs
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        # Answers asked with log-probabilities hold more than those without: not one cache entry.
        self.identity = f"openai:{self.base_url}#{model}" + ("+logprobs" if logprobs else "")
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._lock = threading.Lock()
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._own_thread: threading.Thread | None = None

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> OpenAIBackend:
        return cls(arg, **options)

    def _body(self, request: Request) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
        }
        if self.logprobs and request.options:
            body["logprobs"] = True
            body["top_logprobs"] = 20
        if request.json_schema is not None and self.schema_format != "none":
            body["response_format"] = response_format(request.json_schema, self.schema_format)
        return orjson.dumps(body, default=_plain)

    def _session(self) -> aiohttp.ClientSession:
        """The running loop's session (one connection pool per loop), made on first use."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_concurrency, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            with self._lock:
                self._sessions[loop] = session
        return session

    async def acomplete(self, request: Request) -> Completion:
        """One chat completion, on the running event loop."""
        session = self._session()
        try:
            async with session.post(self._url, data=self._body(request), headers=_JSON) as resp:
                status, headers = resp.status, resp.headers
                payload = await resp.read()
        except TimeoutError as exc:
            raise TransientError(f"timed out after {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise TransientError(f"cannot reach {self.base_url}: {exc}") from exc
        self._check(status, headers, payload)
        return self._read(payload, request)

    def _read(self, payload: bytes, request: Request) -> Completion:
        try:
            data = orjson.loads(payload)
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TransientError(f"malformed response body: {payload[:200]!r}") from exc
        usage = data.get("usage") or {}
        probs, mass = self._option_probs(choice, request.options)
        return Completion(
            text=str(text),
            option_probs=probs,
            option_mass=mass,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    def _check(self, status: int, headers: Any, payload: bytes) -> None:
        if status < 400:
            return
        detail = payload[:300].decode("utf-8", errors="replace")
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(f"HTTP {status}: {detail}", _retry_after(headers))
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
        """Option distribution from the top log-probabilities of the first answer token that
        has an option among them (the first token, unless the answer starts with whitespace
        or markup), renormalised over the options; an option not in the top ones gets 0."""
        content = (choice.get("logprobs") or {}).get("content") or []
        if not (options and content):
            return None, None
        wanted = set(options)
        for token in content:
            top: dict[str, float] = {}
            for t in token.get("top_logprobs") or ():
                code = str(t.get("token", "")).strip()
                if code in wanted and code not in top:  # " 2" and "2": the likelier one
                    top[code] = float(t["logprob"])
            if top:
                probs, mass = renormalise({c: top.get(c, float("-inf")) for c in options})
                return (probs or None), mass
        return None, None

    async def aclose(self) -> None:
        """Close the running loop's session (the runner calls it as its loop ends)."""
        with self._lock:
            session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def _loop(self) -> asyncio.AbstractEventLoop:
        """The backend's own loop thread, for :meth:`complete`; started on first use."""
        with self._lock:
            if self._own_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="vc-openai", daemon=True)
                thread.start()
                self._own_loop, self._own_thread = loop, thread
            return self._own_loop

    def complete(self, request: Request) -> Completion:
        """One chat completion from a caller without an event loop (blocks until answered)."""
        return asyncio.run_coroutine_threadsafe(self.acomplete(request), self._loop()).result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._own_loop, self._own_thread
            self._own_loop = self._own_thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
