"""A small OpenAI-compatible chat server on loopback, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` after ``delay`` seconds. A form prompt (value lines
starting with ``- Name:``) gets a JSON object naming every value; any other prompt gets one
option code, and, when the request asks for ``logprobs``, the top log-probabilities of that
first token: :data:`TOP_PROBS` (the answered code 0.5, each other code 0.1, a word that is no
option 0.2). ``plan`` scripts failures: a function from the request number (1-based) to one of
``"ok"``, ``"429"`` (with Retry-After), ``"500"``, ``"timeout"`` (no answer for
``hang`` seconds), ``"badjson"`` (a truncated body) or ``"401"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import orjson
from aiohttp import web

Plan = Callable[[int], str]
_ITEM_LINE = re.compile(r"^- ([^:]+):", re.MULTILINE)


#: The first token's distribution in a logprobs reply: the answered code, each other option
#: code ("1".."4"), and a token that is no option.
TOP_PROBS = {"answer": 0.5, "other": 0.1, "I": 0.2}


def _logprobs(code: str) -> dict[str, Any]:
    top = [{"token": code, "logprob": math.log(TOP_PROBS["answer"])}]
    top += [{"token": c, "logprob": math.log(TOP_PROBS["other"])} for c in "1234" if c != code]
    top.append({"token": "I", "logprob": math.log(TOP_PROBS["I"])})
    return {"content": [{"token": code, "logprob": top[0]["logprob"], "top_logprobs": top}]}


def answer(messages: list[dict[str, Any]]) -> str:
    """The stub's answer to MESSAGES: a JSON object naming every value of a form prompt (its
    lines ``- Name:``), else one option code, each drawn from a hash of the messages."""
    user = messages[-1]["content"]
    names = _ITEM_LINE.findall(user)
    digest = hashlib.sha256(json.dumps(messages).encode()).digest()
    if names:
        return json.dumps({n: str(1 + (digest[i % 32] + i) % 4) for i, n in enumerate(names)})
    return str(1 + digest[0] % 4)


class StubServer:
    """The stub's state: its address, the plan, and what it did (``count``, ``outcomes``,
    ``times``, ``last_body``).

    It serves on an aiohttp event loop (in a thread of :func:`serve_stub`, or in the process of
    :func:`main`), so that many requests waiting out their delay cost next to nothing.
    """

    def __init__(self, delay: float, plan: Plan | None, hang: float, port: int = 0) -> None:
        self.delay = delay
        self.plan = plan or (lambda n: "ok")
        self.hang = hang
        self.count = 0
        self.outcomes: list[str] = []
        self.times: list[float] = []  # each request's arrival, on time.monotonic
        self.last_body: dict[str, Any] | None = None
        self.in_flight = 0
        self.peak = 0  # the most requests it held at once
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", port), backlog=1024)
        self.server_address: tuple[str, int] = self._sock.getsockname()[:2]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_action(self) -> str:
        with self._lock:
            self.count += 1
            self.times.append(time.monotonic())
            action = self.plan(self.count)
            self.outcomes.append(action)
            return action

    async def _handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read() or b"{}")
        self.last_body = body
        action = self.next_action()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if action == "timeout":
            await asyncio.sleep(self.hang)
            return _json(200, b"{}")
        if action in _FAILURES:
            status, payload, headers = _FAILURES[action]
            return _json(status, payload, headers)
        return _json(200, _reply(body, self.count))

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json(404, b'{"error": {"message": "not found"}}')

    async def serve(self, started: threading.Event | None = None) -> None:
        """Serve on the running loop until cancelled."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
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


_FAILURES: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "429": (429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0.05"}),
    "500": (500, b'{"error": {"message": "internal error"}}', {}),
    "401": (401, b'{"error": {"message": "invalid api key"}}', {}),
    "badjson": (200, b'{"choices": [{"message": {"content": ', {}),
}


def _json(status: int, payload: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=payload, content_type="application/json", headers=headers
    )


def _reply(body: dict[str, Any], count: int) -> bytes:
    text = answer(body["messages"])
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
    if body.get("logprobs") and len(text) == 1:
        choice["logprobs"] = _logprobs(text)
    reply = {
        "id": f"stub-{count}",
        "object": "chat.completion",
        "model": body.get("model", "stub"),
        "choices": [choice],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
    }
    return orjson.dumps(reply)


@contextmanager
def serve_stub(
    delay: float = 0.0, plan: Plan | None = None, hang: float = 5.0, port: int = 0
) -> Iterator[StubServer]:
    """Run a :class:`StubServer` on an event loop in a background thread for the block."""
    with serving(StubServer(delay, plan, hang, port)) as server:
        yield server


class Serves(Protocol):
    """A stub: anything that serves on the running loop until cancelled."""

    async def serve(self, started: threading.Event | None = None) -> None: ...


S = TypeVar("S", bound=Serves)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """SERVER, serving on an event loop in a background thread for the block."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    task = loop.create_task(server.serve(started))
    thread = threading.Thread(target=_run_until_cancelled, args=(loop, task), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join()


def _run_until_cancelled(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()


def main() -> None:
    """``python -m valuecompass.testing.openai_stub --delay 0.1``: serve until killed.

    Prints the base URL on its first line, so a parent process can read it.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    args = parser.parse_args()
    server = StubServer(args.delay, None, 5.0, args.port)
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())


if __name__ == "__main__":
    main()
