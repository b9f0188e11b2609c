"""Any OpenAI-compatible chat endpoint: OpenAI, Groq, Together, vLLM, llama.cpp, Ollama, ...

Settings come from options (``-M key=value``), else from the environment (read in
:mod:`valuecompass.settings`): ``base_url`` / ``OPENAI_BASE_URL`` (default
``https://api.openai.com/v1``) and ``api_key`` / ``OPENAI_API_KEY``. A loopback endpoint needs
no key. A request with a JSON schema asks for a reply that follows it (``response_format``;
option ``schema_format``). Rate limits (429), server errors (5xx), timeouts and dropped
connections are retried by the runner; a 429 also slows every later request down; 401, 403
and a 429 saying the quota is used up stop the run; other 4xx answers are kept as missing with
the server's message. ``rpm`` and ``tpm`` set budgets per minute.

The client is the HTTP backends' one (:mod:`valuecompass.models._http`): asyncio on aiohttp,
one session and connection pool per event loop, bodies serialised with orjson.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

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
from valuecompass.models._batches import BatchResult, BatchState, RequestOf
from valuecompass.models._http import (
    COMMON_OPTIONS,
    LOOPBACK,
    HTTPBackend,
    check_url,
    plain,
    retry_after,
)
from valuecompass.settings import env

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: A batch's statuses after which nothing more runs (``failed``: refused whole, nothing ran).
ENDED = ("completed", "expired", "cancelled", "failed")
#: The metadata key a batch's tag is sent under (to find a batch whose id was lost).
TAG_KEY = "valuecompass_tag"
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


def _check_types(logprobs: Any) -> None:
    """Options arrive from ``-M key=value`` as JSON or strings: refuse the wrong kinds."""
    if not isinstance(logprobs, bool):
        raise ConfigError(f"openai: option logprobs must be true or false, got {logprobs!r}")


class OpenAIBackend(HTTPBackend):
    """Chat completions over HTTP; many requests at once (bounded by the runner)."""

    name: ClassVar[str] = "openai"

    #: What ``-M key=value`` may set.
    options: ClassVar[dict[str, str]] = {
        "base_url": "the endpoint, e.g. http://127.0.0.1:8000/v1 (OPENAI_BASE_URL)",
        "api_key": "the key (OPENAI_API_KEY); a loopback endpoint needs none",
        "timeout": COMMON_OPTIONS["timeout"],
        "logprobs": "true: also ask for the first answer token's top log-probabilities",
        "max_concurrency": COMMON_OPTIONS["max_concurrency"],
        "schema_format": "how a JSON schema is sent: json_schema (OpenAI's response_format, "
        "the default), json_object (response_format json_object with a schema, as "
        "llama-cpp-python's server takes it) or none",
        "rpm": COMMON_OPTIONS["rpm"],
        "tpm": COMMON_OPTIONS["tpm"],
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
        rpm: float | None = None,
        tpm: float | None = None,
    ) -> None:
        if not model:
            raise ConfigError("openai: name the model, e.g. --model openai:gpt-4o-mini")
        _check_types(logprobs)
        if schema_format not in SCHEMA_FORMATS:
            raise ConfigError(
                f"openai: option schema_format must be one of {', '.join(SCHEMA_FORMATS)}, "
                f"got {schema_format!r}"
            )
        self.schema_format = schema_format
        self.model = model
        self.base_url = str(base_url or env("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        host = check_url(self.name, self.base_url)
        key = api_key or env("OPENAI_API_KEY")
        if not key and host not in LOOPBACK:
            raise ConfigError(
                f"openai: no API key for {self.base_url}; pass -M api_key=KEY or set OPENAI_API_KEY"
            )
        headers = {**_JSON, **({"Authorization": f"Bearer {key}"} if key else {})}
        self.logprobs = logprobs
        self._start_http(self.base_url + "/chat/completions", headers, key, timeout,
                         max_concurrency, rpm, tpm)  # fmt: skip
        # Answers asked with log-probabilities hold more than those without: not one cache entry.
        self.identity = f"openai:{self.base_url}#{model}" + ("+logprobs" if logprobs else "")

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
        return orjson.dumps(body, default=plain)

    def _read(self, payload: bytes, request: Request) -> Completion:
        try:
            data = orjson.loads(payload)
        except ValueError as exc:
            raise self.malformed(payload) from exc
        return self._completion(data, request, payload)

    def _completion(self, data: Any, request: Request, payload: bytes = b"") -> Completion:
        """A chat completion's reply DATA (parsed JSON) as a completion; PAYLOAD, for the
        message if it is not one."""
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise self.malformed(payload or orjson.dumps(data)) from exc
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
        detail = self.detail(payload)
        if status == 429 and b"insufficient_quota" in payload:
            raise FatalBackendError(f"{self.base_url}: the account's quota is used up: {detail}")
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(f"HTTP {status}: {detail}", retry_after(headers))
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

    # The Batch API: a JSONL file of chat completion requests, answered within 24 hours.

    provider: ClassVar[str] = "openai"
    max_batch_requests: ClassVar[int] = 50_000
    max_batch_bytes: ClassVar[int] = 100 * 1024 * 1024

    def batch_line(self, custom_id: str, request: Request) -> bytes:
        """One request of a batch file, as the Batch API takes it."""
        head = b'{"custom_id":"' + custom_id.encode()
        return (
            head
            + b'","method":"POST","url":"/v1/chat/completions","body":'
            + (self._body(request) + b"}")
        )

    def submit_batch(self, lines: Sequence[bytes], tag: str) -> BatchState:
        """Upload LINES as a batch file and start a batch of it, TAG in its metadata."""
        form = aiohttp.MultipartWriter("form-data")
        form.append("batch").set_content_disposition("form-data", name="purpose")
        part = form.append(b"\n".join(lines) + b"\n", {"Content-Type": "application/jsonl"})
        part.set_content_disposition("form-data", name="file", filename="batch.jsonl")
        # the session's JSON content type is the completions'; a file goes as multipart
        headers = {"Content-Type": form.content_type}
        uploaded = self._json(self.call("POST", self.base_url + "/files", form, headers))
        body = {"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions",
                "completion_window": "24h", "metadata": {TAG_KEY: tag}}  # fmt: skip
        return self._state(self._json(self.call("POST", self.base_url + "/batches",
                                                orjson.dumps(body))))  # fmt: skip

    def find_batch(self, tag: str, since: float, count: int, taken: set[str]) -> str | None:
        """The id of the batch sent with TAG in its metadata, if the provider has one."""
        after = ""
        while True:
            page = self._json(self.call("GET", f"{self.base_url}/batches?limit=100{after}"))
            for batch in page.get("data") or ():
                if (batch.get("metadata") or {}).get(TAG_KEY) == tag:
                    return str(batch["id"])
                if float(batch.get("created_at") or 0) < since:
                    return None  # newest first: the rest are older than the tag
            if not page.get("has_more") or not page.get("last_id"):
                return None
            after = f"&after={page['last_id']}"

    def poll_batch(self, batch_id: str) -> BatchState:
        """The batch as the provider describes it now."""
        return self._state(self._json(self.call("GET", f"{self.base_url}/batches/{batch_id}")))

    def batch_results(self, state: BatchState, request_of: RequestOf) -> Iterator[BatchResult]:
        """Every result in the batch's output and error files, in the order they come."""
        for file_id in state.results:
            for line in self.lines(f"{self.base_url}/files/{file_id}/content"):
                yield self._result(line, request_of)

    def _json(self, payload: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(payload)
        except ValueError as exc:
            raise self.malformed(payload) from exc
        if not isinstance(data, dict):
            raise self.malformed(payload)
        return data

    def _state(self, batch: dict[str, Any]) -> BatchState:
        status = str(batch.get("status", ""))
        refused = None
        if status == "failed":
            errors = (batch.get("errors") or {}).get("data") or [{}]
            refused = self.redact(str(errors[0].get("message") or "the batch failed")[:300])
        files = tuple(str(batch[k]) for k in ("output_file_id", "error_file_id") if batch.get(k))
        return BatchState(str(batch["id"]), status, status in ENDED, refused, files)

    def _result(self, line: bytes, request_of: RequestOf) -> BatchResult:
        try:
            row = orjson.loads(line)
            cid = str(row["custom_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise self.malformed(line) from exc
        response, error = row.get("response"), row.get("error")
        request = request_of(cid)
        if request is None:
            return BatchResult(cid, None, "not a request of this run")
        if response and int(response.get("status_code", 0)) < 400:
            try:
                return BatchResult(cid, self._completion(response.get("body"), request))
            except TransientError as exc:
                return BatchResult(cid, None, str(exc), retry=True)
        if response:
            status = int(response.get("status_code", 0))
            try:
                self._check(status, {}, orjson.dumps(response.get("body")))
            except TransientError as exc:
                return BatchResult(cid, None, str(exc), retry=True)
            except BackendError as exc:
                return BatchResult(cid, None, str(exc))
        code = str((error or {}).get("code") or "error")
        said = self.redact(f"{code}: {(error or {}).get('message') or 'no answer'}"[:300])
        return BatchResult(cid, None, said, retry=code in ("batch_expired", "batch_cancelled"))
