"""What the stubs' batch endpoints share: the batches they hold, and how each one ends.

A batch ends ``seconds`` after it was made. Its results come back shuffled (not in the order
sent). Of the requests a stub meets for the first time, every ``1 / errored``-th comes back
errored with a server error (2% by default), so a retry of it in a new batch succeeds. The
batches numbered in ``expire`` (1-based, in the order made) expire: their second half never
runs. ``hook(event, batch_id)`` is told of each ``create`` (after the batch is made, before the
reply goes), ``poll`` and ``results``; a test may kill its client there. Results are sent
``chunk`` lines at a time, ``pause`` seconds apart.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Hook = Callable[[str, str], None]


@dataclass
class StubBatch:
    """One batch the stub holds: its requests (custom id, body), when it was made and ends."""

    id: str
    number: int
    requests: list[tuple[str, dict[str, Any]]]
    created: float  # time.time()
    ends: float
    expires: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    outcomes: list[tuple[str, str, dict[str, Any]]] | None = None  # (custom id, kind, body)
    polls: int = 0

    @property
    def ended(self) -> bool:
        return time.time() >= self.ends


class BatchBook:
    """The batches of one stub, and the rules they end by (see the module's doc)."""

    def __init__(
        self,
        seconds: float = 0.2,
        errored: float = 0.02,
        expire: Iterable[int] = (2,),
        seed: int = 0,
        hook: Hook | None = None,
        chunk: int = 1000,
        pause: float = 0.0,
    ) -> None:
        self.seconds, self.errored, self.expire = seconds, errored, set(expire)
        self.hook, self.chunk, self.pause = hook, chunk, pause
        self.rng = random.Random(seed)
        self.batches: dict[str, StubBatch] = {}
        self.seen: dict[str, int] = {}  # custom id -> times it was run
        self.met = 0  # requests met for the first time
        self._lock = threading.Lock()

    def make(
        self, prefix: str, requests: list[tuple[str, dict[str, Any]]], metadata: dict[str, Any]
    ) -> StubBatch:
        with self._lock:
            number = len(self.batches) + 1
            now = time.time()
            expires = number in self.expire
            batch = StubBatch(f"{prefix}{number:04d}", number, requests, now,
                              now + self.seconds, expires, dict(metadata))  # fmt: skip
            self.batches[batch.id] = batch
        self.tell("create", batch.id)
        return batch

    def tell(self, event: str, batch_id: str) -> None:
        if self.hook is not None:
            self.hook(event, batch_id)

    def newest_first(self) -> list[StubBatch]:
        return sorted(self.batches.values(), key=lambda b: -b.number)

    def outcomes(
        self, batch: StubBatch, run: Callable[[dict[str, Any], int], dict[str, Any]]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Each request's (custom id, ``ok``/``errored``/``expired``, reply body from RUN),
        worked out once, the first time the ended batch is read, in a shuffled order."""
        with self._lock:
            if batch.outcomes is None:
                out: list[tuple[str, str, dict[str, Any]]] = []
                half = (len(batch.requests) + 1) // 2
                every = round(1 / self.errored) if self.errored > 0 else 0
                for i, (cid, body) in enumerate(batch.requests):
                    if batch.expires and i >= half:
                        out.append((cid, "expired", {}))
                        continue
                    first = cid not in self.seen
                    self.seen[cid] = self.seen.get(cid, 0) + 1
                    if first:
                        self.met += 1
                        if every and self.met % every == 0:
                            out.append((cid, "errored", {}))
                            continue
                    out.append((cid, "ok", run(body, len(self.seen))))
                self.rng.shuffle(out)
                batch.outcomes = out
            return batch.outcomes

    async def send_lines(self, request: web.Request, lines: list[bytes]) -> web.StreamResponse:
        """LINES as a JSONL body, ``chunk`` lines at a time, ``pause`` seconds apart."""
        resp = web.StreamResponse(headers={"Content-Type": "application/x-jsonl"})
        await resp.prepare(request)
        for start in range(0, len(lines), self.chunk):
            await resp.write(b"".join(line + b"\n" for line in lines[start : start + self.chunk]))
            if self.pause:
                await asyncio.sleep(self.pause)
        await resp.write_eof()
        return resp
