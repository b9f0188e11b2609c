"""A small stub of Anthropic's Messages API on loopback, for tests and benchmarks.

Written from the API's public documentation: ``POST /v1/messages`` with the headers
``x-api-key``, ``anthropic-version`` and ``content-type: application/json``, and a body with
``model``, ``max_tokens``, ``messages`` (roles ``user`` and ``assistant`` only; the system prompt
is the top-level ``system``), and optionally ``system``, ``temperature`` (0 to 1) and
``stop_sequences``. A reply is ``{id, type: "message", role: "assistant", model, content:
[{type: "text", text}], stop_reason, stop_sequence, usage: {input_tokens, output_tokens}}``;
an error is ``{type: "error", error: {type, message}}`` with its status (400
``invalid_request_error``, 401 ``authentication_error``, 429 ``rate_limit_error`` with
``retry-after``, 500 ``api_error``, 529 ``overloaded_error``).

It answers what :func:`valuecompass.testing.openai_stub.answer` answers (a JSON object for a
form prompt, else one option code), or what ``answerer`` (a function of the request's body)
says, such as a real model's reply, cut at the first stop sequence it holds. Token counts are
the words (split at whitespace) of the prompt's texts and of the answer. ``plan`` scripts
failures by request number (1-based): ``"ok"``, ``"429"`` and ``"529"`` (with ``retry-after``),
``"500"``, ``"400"``, ``"401"``, ``"badjson"`` (a truncated body), ``"timeout"`` (no answer for
``hang`` seconds) or ``"echo_key"`` (a 400 whose message repeats the key it was sent, as a
careless proxy might). ``limit=(N, SECONDS)`` makes it a rate-limited server: a request with N
others in the last SECONDS gets a 429 whose ``retry-after`` says when there will be room. Every
request is kept in ``received`` (its arrival time on :func:`time.monotonic`, headers and body).

Given a :class:`~valuecompass.testing.BatchBook` (``batches=``), it also serves Message Batches
as Anthropic documents them: ``POST /v1/messages/batches`` (``{requests: [{custom_id,
params}]}``, at most 100,000), ``GET /v1/messages/batches`` (newest first; ``limit``,
``after_id``), ``GET /v1/messages/batches/{id}`` (``{id, type: message_batch,
processing_status: in_progress | ended, request_counts: {processing, succeeded, errored,
canceled, expired}, created_at, ended_at, expires_at, results_url}``) and the ``results_url``:
JSONL lines ``{custom_id, result: {type: succeeded, message} | {type: errored, error: {type:
error, error: {type, message}}} | {type: expired}}``. A request whose params the Messages API
would refuse comes back errored with ``invalid_request_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from valuecompass.testing._batchbook import BatchBook, StubBatch
from valuecompass.testing.openai_stub import answer, serving

Plan = Callable[[int], str]
DEFAULT_KEY = "sk-ant-stub-key"

_FAILURES: dict[str, tuple[int, str, str]] = {
    "429": (429, "rate_limit_error", "Number of requests has exceeded your rate limit"),
    "529": (529, "overloaded_error", "Overloaded"),
    "500": (500, "api_error", "Internal server error"),
    "400": (400, "invalid_request_error", "prompt is too long"),
    "401": (401, "authentication_error", "invalid x-api-key"),
}


@dataclass(frozen=True)
class Received:
    """One request as the stub got it: when (``time.monotonic``), its headers (lower-cased
    names) and its body (None when it was not JSON)."""

    time: float
    headers: dict[str, str]
    body: dict[str, Any] | None


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    payload = {"type": "error", "error": {"type": kind, "message": message}}
    return web.Response(status=status, body=orjson.dumps(payload), headers=headers,
                        content_type="application/json")  # fmt: skip


def _words(text: str) -> int:
    return len(text.split())


def _invalid(body: Any) -> str | None:
    """What is wrong with a request BODY, as the API would say it; None if nothing."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    tokens = body.get("max_tokens")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        return "max_tokens: Field required (a whole number >= 1)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            role = m.get("role") if isinstance(m, dict) else None
            return (f'messages.{i}.role: Input should be "user" or "assistant", got {role!r} '
                    '(use the top-level "system" parameter for a system prompt)')  # fmt: skip
        if not isinstance(m.get("content"), str | list):
            return f"messages.{i}.content: Field required"
    if "system" in body and not isinstance(body["system"], str | list):
        return "system: Input should be a string or a list of text blocks"
    temperature = body.get("temperature", 1.0)
    if not isinstance(temperature, int | float) or not 0.0 <= temperature <= 1.0:
        return "temperature: Input should be between 0 and 1"
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        return "stop_sequences: Input should be a list of strings"
    return None


def _reply(body: dict[str, Any], count: int, text: str | None = None) -> bytes:
    """The API's reply to BODY: TEXT (default: the stub's :func:`answer`) cut at the first stop
    sequence it holds, with the usage counted in words."""
    messages = body["messages"]
    text = answer(messages) if text is None else text
    stop_reason, stop_sequence = "end_turn", None
    for seq in body.get("stop_sequences", []):
        at = text.find(seq)
        if at >= 0:
            text, stop_reason, stop_sequence = text[:at], "stop_sequence", seq
            break
    system = body.get("system") or ""
    prompt = " ".join([str(system), *(str(m["content"]) for m in messages)])
    reply = {
        "id": f"msg_stub{count:06d}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": _words(prompt), "output_tokens": max(1, _words(text))},
    }
    return orjson.dumps(reply)


class AnthropicStub:
    """The stub's state: its address, key, plan and limit, and what it got (``received``,
    ``outcomes``, ``peak``: the most requests it held at once)."""

    def __init__(
        self,
        delay: float = 0.0,
        plan: Plan | None = None,
        hang: float = 5.0,
        port: int = 0,
        key: str | None = DEFAULT_KEY,
        retry_after: str = "0.05",
        limit: tuple[int, float] | None = None,
        answerer: Callable[[dict[str, Any]], str] | None = None,
        batches: BatchBook | None = None,
    ) -> None:
        self.book = batches
        self.delay, self.hang, self.key = delay, hang, key
        self.plan = plan or (lambda n: "ok")
        self.retry_after, self.limit = retry_after, limit
        self.answerer = answerer
        self.received: list[Received] = []
        self.outcomes: list[str] = []
        self.in_flight = self.peak = 0
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", port), backlog=1024)
        self.server_address: tuple[str, int] = self._sock.getsockname()[:2]

    @property
    def base_url(self) -> str:
        """What ``-M base_url=`` takes (requests go to BASE_URL/v1/messages)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def count(self) -> int:
        return len(self.received)

    @property
    def times(self) -> list[float]:
        """When each request arrived (``time.monotonic``), in order."""
        return [r.time for r in self.received]

    def _limited(self, now: float) -> float | None:
        """Seconds until there is room, when the server's limit is reached; else None (and
        the request is counted)."""
        if self.limit is None:
            return None
        most, seconds = self.limit
        while self._window and self._window[0] <= now - seconds:
            self._window.popleft()
        if len(self._window) >= most:
            return self._window[0] + seconds - now
        self._window.append(now)
        return None

    def _take(self, request: web.Request, raw: bytes) -> tuple[int, str, float | None]:
        """Record a request; its number, what to do with it, and the wait a limit asks for."""
        now = time.monotonic()
        try:
            body = orjson.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.received.append(Received(now, headers, body))
            n = len(self.received)
            action = self.plan(n)
            wait = self._limited(now) if action == "ok" else None
            self.outcomes.append("limited" if wait is not None else action)
        return n, action, wait

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        n, action, wait = self._take(request, raw)
        if self.key is not None and request.headers.get("x-api-key") != self.key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if wait is not None:
            return _error(429, "rate_limit_error", _FAILURES["429"][2],
                          {"retry-after": f"{wait:.3f}"})  # fmt: skip
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if action == "timeout":
            await asyncio.sleep(self.hang)
            return web.Response(status=200, body=b"{}", content_type="application/json")
        if action == "badjson":
            return web.Response(status=200, body=b'{"type": "message", "content": [',
                                content_type="application/json")  # fmt: skip
        if action == "echo_key":
            said = f"invalid request from key {request.headers.get('x-api-key')}"
            return _error(400, "invalid_request_error", said)
        if action in _FAILURES:
            status, kind, message = _FAILURES[action]
            retry = {"retry-after": self.retry_after} if status in (429, 529) else None
            return _error(status, kind, message, retry)
        if request.content_type != "application/json":
            return _error(400, "invalid_request_error", "content-type must be application/json")
        body = orjson.loads(raw) if raw else None
        problem = _invalid(body)
        if problem is not None:
            return _error(400, "invalid_request_error", problem)
        assert isinstance(body, dict)
        text = self.answerer(body) if self.answerer is not None else None
        return web.Response(status=200, body=_reply(body, n, text), content_type="application/json")

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(404, "not_found_error", f"{request.method} {request.path}: not found")

    async def serve(self, started: threading.Event | None = None) -> None:
        """Serve on the running loop until cancelled."""
        app = web.Application()
        app.router.add_post("/v1/messages", self._handle)
        if self.book is not None:
            app.router.add_post("/v1/messages/batches", self._create)
            app.router.add_get("/v1/messages/batches", self._list)
            app.router.add_get("/v1/messages/batches/{id}", self._batch)
            app.router.add_get("/v1/messages/batches/{id}/results", self._results)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        await web.SockSite(runner, self._sock).start()
        if started is not None:
            started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    # Message Batches (with a BatchBook).

    def _denied(self, request: web.Request) -> web.Response | None:
        if self.key is not None and request.headers.get("x-api-key") != self.key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    async def _create(self, request: web.Request) -> web.Response:
        assert self.book is not None
        denied = self._denied(request)
        if denied is not None:
            return denied
        try:
            body = orjson.loads(await request.read())
            requests = [(str(r["custom_id"]), r["params"]) for r in body["requests"]]
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request_error", "requests: a list of {custom_id, params}")
        ids = [cid for cid, _ in requests]
        if not 1 <= len(ids) <= 100_000 or len(set(ids)) != len(ids):
            return _error(400, "invalid_request_error",
                          "requests: 1 to 100,000, each custom_id unique")  # fmt: skip
        batch = self.book.make("msgbatch_stub", requests, {})
        return _ok(self._batch_object(batch, request))

    async def _list(self, request: web.Request) -> web.Response:
        assert self.book is not None
        denied = self._denied(request)
        if denied is not None:
            return denied
        limit = int(request.query.get("limit", "20"))
        found = self.book.newest_first()
        after = request.query.get("after_id")
        if after is not None:
            ids = [b.id for b in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        page = [self._batch_object(b, request) for b in found[:limit]]
        return _ok({"data": page, "has_more": len(found) > limit,
                    "first_id": page[0]["id"] if page else None,
                    "last_id": page[-1]["id"] if page else None})  # fmt: skip

    async def _batch(self, request: web.Request) -> web.Response:
        assert self.book is not None
        denied = self._denied(request)
        if denied is not None:
            return denied
        batch = self.book.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "not_found_error", "no such message batch")
        batch.polls += 1
        self.book.tell("poll", batch.id)
        return _ok(self._batch_object(batch, request))

    async def _results(self, request: web.Request) -> web.StreamResponse:
        assert self.book is not None
        denied = self._denied(request)
        if denied is not None:
            return denied
        batch = self.book.batches.get(request.match_info["id"])
        if batch is None or not batch.ended:
            return _error(404, "not_found_error", "no results for this batch (yet)")
        self.book.tell("results", batch.id)
        lines = [_result_line(cid, kind, body) for cid, kind, body in self._outcomes(batch)]
        return await self.book.send_lines(request, lines)

    def _outcomes(self, batch: StubBatch) -> list[tuple[str, str, dict[str, Any]]]:
        def run(params: dict[str, Any], n: int) -> dict[str, Any]:
            problem = _invalid(params)
            if problem is not None:
                return {"invalid": problem}
            text = self.answerer(params) if self.answerer is not None else None
            return dict(orjson.loads(_reply(params, n, text)))

        assert self.book is not None
        return self.book.outcomes(batch, run)

    def _batch_object(self, batch: StubBatch, request: web.Request) -> dict[str, Any]:
        """The batch as ``GET /v1/messages/batches/{id}`` gives it."""
        made = datetime.fromtimestamp(batch.created, UTC)
        out: dict[str, Any] = {
            "id": batch.id, "type": "message_batch", "processing_status": "in_progress",
            "request_counts": {"processing": len(batch.requests), "succeeded": 0, "errored": 0,
                               "canceled": 0, "expired": 0},
            "created_at": made.isoformat().replace("+00:00", "Z"),
            "expires_at": (made + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
            "ended_at": None, "archived_at": None, "cancel_initiated_at": None,
            "results_url": None,
        }  # fmt: skip
        if not batch.ended:
            return out
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        for _, kind, body in self._outcomes(batch):
            kind = "errored" if kind == "ok" and "invalid" in body else kind
            counts["succeeded" if kind == "ok" else kind] += 1
        ended = datetime.fromtimestamp(batch.ends, UTC).isoformat().replace("+00:00", "Z")
        base = f"{request.scheme}://{request.host}"
        out |= {"processing_status": "ended", "request_counts": counts, "ended_at": ended,
                "results_url": f"{base}/v1/messages/batches/{batch.id}/results"}  # fmt: skip
        return out


def _ok(data: dict[str, Any]) -> web.Response:
    return web.Response(status=200, body=orjson.dumps(data), content_type="application/json")


def _result_line(cid: str, kind: str, body: dict[str, Any]) -> bytes:
    """One line of a batch's results."""
    result: dict[str, Any]
    if kind == "ok" and "invalid" in body:
        error = {"type": "invalid_request_error", "message": body["invalid"]}
        result = {"type": "errored", "error": {"type": "error", "error": error}}
    elif kind == "ok":
        result = {"type": "succeeded", "message": body}
    elif kind == "errored":
        error = {"type": "api_error", "message": "Internal server error"}
        result = {"type": "errored", "error": {"type": "error", "error": error}}
    else:
        result = {"type": kind}
    return orjson.dumps({"custom_id": cid, "result": result})


@contextmanager
def serve_anthropic_stub(**settings: Any) -> Iterator[AnthropicStub]:
    """Run an :class:`AnthropicStub` (SETTINGS: its keywords) in a background thread for the
    block."""
    with serving(AnthropicStub(**settings)) as stub:
        yield stub


def main() -> None:
    """``python -m valuecompass.testing.anthropic_stub --delay 0.1``: serve until killed.

    Prints the base URL on its first line, so a parent process can read it; the key it takes
    is ``--key`` (default sk-ant-stub-key).
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the x-api-key it accepts")
    args = parser.parse_args()
    stub = AnthropicStub(args.delay, port=args.port, key=args.key)
    print(stub.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(stub.serve())


if __name__ == "__main__":
    main()
