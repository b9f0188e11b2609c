"""A small OpenAI-compatible chat server on loopback, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` after ``delay`` seconds. A form prompt (value lines
starting with ``- Name:``) gets a JSON object naming every value; any other prompt gets one
option code, and, when the request asks for ``logprobs``, the top log-probabilities of that
first token: :data:`TOP_PROBS` (the answered code 0.5, each other code 0.1, a word that is no
option 0.2). ``plan`` scripts failures: a function from the request number (1-based) to one of
``"ok"``, ``"429"`` (with Retry-After), ``"500"``, ``"timeout"`` (no answer for
``hang`` seconds), ``"badjson"`` (a truncated body) or ``"401"``.

Given a :class:`~valuecompass.testing.BatchBook` (``batches=``), it also serves the Batch API as
OpenAI documents it: ``POST /v1/files`` (multipart, ``purpose=batch``, a JSONL file of
``{custom_id, method: POST, url: /v1/chat/completions, body}`` lines), ``POST /v1/batches``
(``input_file_id``, ``endpoint``, ``completion_window: 24h``, ``metadata``), ``GET
/v1/batches`` (newest first; ``limit``, ``after``), ``GET /v1/batches/{id}`` (``status``
``validating``, ``in_progress``, then ``completed`` or ``expired``, with ``output_file_id``,
``error_file_id`` and ``request_counts``) and ``GET /v1/files/{id}/content``. An output line is
``{id, custom_id, response: {status_code: 200, request_id, body}, error: null}``; an errored
request's line in the error file has ``status_code`` 500, an expired one ``response: null`` and
``error: {code: batch_expired, message}``.
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

from valuecompass.testing._batchbook import BatchBook, StubBatch

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

    def __init__(
        self,
        delay: float,
        plan: Plan | None,
        hang: float,
        port: int = 0,
        batches: BatchBook | None = None,
    ) -> None:
        self.delay = delay
        self.book = batches
        self.files: dict[str, bytes] = {}
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
        if self.book is not None:
            app.router.add_post("/v1/files", self._upload)
            app.router.add_get("/v1/files/{id}/content", self._content)
            app.router.add_post("/v1/batches", self._create)
            app.router.add_get("/v1/batches", self._list)
            app.router.add_get("/v1/batches/{id}", self._batch)
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

    # The Batch API (with a BatchBook).

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if form.get("purpose") != "batch" or not isinstance(upload, web.FileField):
            return _error(400, "purpose must be batch, with a file")
        data = upload.file.read()
        file_id = f"file-stub{len(self.files) + 1:04d}"
        self.files[file_id] = data
        return _json(200, orjson.dumps({"id": file_id, "object": "file", "bytes": len(data),
                                        "created_at": int(time.time()), "purpose": "batch",
                                        "filename": upload.filename}))  # fmt: skip

    async def _content(self, request: web.Request) -> web.StreamResponse:
        data = self.files.get(request.match_info["id"])
        if data is None:
            return _error(404, "No such File object")
        assert self.book is not None
        self.book.tell("results", request.match_info["id"])
        return await self.book.send_lines(request, data.splitlines())

    async def _create(self, request: web.Request) -> web.Response:
        assert self.book is not None
        body = orjson.loads(await request.read() or b"{}")
        data = self.files.get(str(body.get("input_file_id")))
        if data is None:
            return _error(400, "input_file_id: no such file")
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return _error(400, "endpoint must be /v1/chat/completions, completion_window 24h")
        lines = [orjson.loads(line) for line in data.splitlines() if line.strip()]
        ids = [str(line.get("custom_id")) for line in lines]
        if len(set(ids)) != len(ids) or any(line.get("method") != "POST" for line in lines):
            return _error(400, "custom_id must be unique within a batch; method POST")
        requests = [(str(line["custom_id"]), line["body"]) for line in lines]
        batch = self.book.make("batch_stub", requests, body.get("metadata") or {})
        return _json(200, orjson.dumps(self._batch_object(batch)))

    async def _list(self, request: web.Request) -> web.Response:
        assert self.book is not None
        limit = int(request.query.get("limit", "20"))
        after = request.query.get("after")
        found = self.book.newest_first()
        if after is not None:
            at = [b.id for b in found].index(after) if after in self.book.batches else -1
            found = found[at + 1 :]
        page = [self._batch_object(b) for b in found[:limit]]
        return _json(200, orjson.dumps({
            "object": "list", "data": page, "has_more": len(found) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None}))  # fmt: skip

    async def _batch(self, request: web.Request) -> web.Response:
        assert self.book is not None
        batch = self.book.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "No such Batch object")
        batch.polls += 1
        self.book.tell("poll", batch.id)
        return _json(200, orjson.dumps(self._batch_object(batch)))

    def _batch_object(self, batch: StubBatch) -> dict[str, Any]:
        """The batch as ``GET /v1/batches/{id}`` gives it; its files made when it ends."""
        status = "validating" if batch.polls < 1 else "in_progress"
        out: dict[str, Any] = {"id": batch.id, "object": "batch",
                               "endpoint": "/v1/chat/completions", "errors": None,
                               "completion_window": "24h", "created_at": int(batch.created),
                               "metadata": batch.metadata, "output_file_id": None,
                               "error_file_id": None,
                               "request_counts": {"total": len(batch.requests),
                                                  "completed": 0, "failed": 0}}  # fmt: skip
        if not batch.ended:
            out["status"] = status
            return out
        assert self.book is not None
        done = self.book.outcomes(batch, lambda body, n: orjson.loads(_reply(body, n)))
        good = [_output_line(cid, kind, body) for cid, kind, body in done if kind == "ok"]
        bad = [_output_line(cid, kind, body) for cid, kind, body in done if kind != "ok"]
        for name, lines in (("output_file_id", good), ("error_file_id", bad)):
            if lines:
                file_id = f"file-{batch.id}-{name[:-8]}"
                self.files.setdefault(file_id, b"\n".join(lines))
                out[name] = file_id
        out["status"] = "expired" if batch.expires else "completed"
        counts = {"total": len(done), "completed": len(good), "failed": len(bad)}
        out["request_counts"] = counts
        return out


def _output_line(cid: str, kind: str, body: dict[str, Any]) -> bytes:
    """One line of a batch's output or error file."""
    line: dict[str, Any] = {"id": f"batch_req_{cid}", "custom_id": cid}
    if kind == "ok":
        line |= {"response": {"status_code": 200, "request_id": f"req_{cid}", "body": body},
                 "error": None}  # fmt: skip
    elif kind == "errored":
        error = {"error": {"message": "The server had an error", "type": "server_error"}}
        line |= {"response": {"status_code": 500, "request_id": f"req_{cid}", "body": error},
                 "error": None}  # fmt: skip
    else:
        said = "This request could not be executed before the batch expired."
        line |= {"response": None, "error": {"code": "batch_expired", "message": said}}
    return orjson.dumps(line)


def _error(status: int, message: str) -> web.Response:
    return _json(status, orjson.dumps({"error": {"message": message, "type": "invalid_request"}}))


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
    delay: float = 0.0,
    plan: Plan | None = None,
    hang: float = 5.0,
    port: int = 0,
    batches: BatchBook | None = None,
) -> Iterator[StubServer]:
    """Run a :class:`StubServer` on an event loop in a background thread for the block (with
    the Batch API if given BATCHES)."""
    with serving(StubServer(delay, plan, hang, port, batches)) as server:
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
