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

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def _answer(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    names = _ITEM_LINE.findall(user)
    digest = hashlib.sha256(json.dumps(body["messages"]).encode()).digest()
    if names:
        return json.dumps({n: str(1 + (digest[i % 32] + i) % 4) for i, n in enumerate(names)})
    return str(1 + digest[0] % 4)


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, delay: float, plan: Plan | None, hang: float, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.delay = delay
        self.plan = plan or (lambda n: "ok")
        self.hang = hang
        self.count = 0
        self.outcomes: list[str] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_action(self) -> str:
        with self._lock:
            self.count += 1
            action = self.plan(self.count)
            self.outcomes.append(action)
            return action


class _Handler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for ACKs

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up waiting (a timeout test)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        action = self.server.next_action()
        time.sleep(self.server.delay)
        if action == "429":
            self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0.05"})
        elif action == "500":
            self._send(500, b'{"error": {"message": "internal error"}}')
        elif action == "401":
            self._send(401, b'{"error": {"message": "invalid api key"}}')
        elif action == "timeout":
            time.sleep(self.server.hang)
            self._send(200, b"{}")
        elif action == "badjson":
            self._send(200, b'{"choices": [{"message": {"content": ')
        else:
            text = _answer(body)
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
            }
            if body.get("logprobs") and len(text) == 1:
                choice["logprobs"] = _logprobs(text)
            reply = {
                "id": f"stub-{self.server.count}",
                "object": "chat.completion",
                "model": body.get("model", "stub"),
                "choices": [choice],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2},
            }
            self._send(200, json.dumps(reply).encode())


@contextmanager
def serve_stub(
    delay: float = 0.0, plan: Plan | None = None, hang: float = 5.0, port: int = 0
) -> Iterator[StubServer]:
    """Run a :class:`StubServer` in a background thread for the ``with`` block."""
    server = StubServer(delay, plan, hang, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


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
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
