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
from typing import Any

import orjson
from aiohttp import web

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
    ) -> None:
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
