"""What a backend with a provider's batch API offers the runner (``run --batch``).

A batch is a file of requests, each with a custom id, that the provider answers within a day
at a lower price. The runner writes the lines (:meth:`BatchAPI.batch_line`), sends them
(:meth:`BatchAPI.submit_batch`), polls (:meth:`BatchAPI.poll_batch`) and reads the results
(:meth:`BatchAPI.batch_results`) in whatever order they come. A batch whose provider id was
lost (a run killed as it was sent) is looked up with :meth:`BatchAPI.find_batch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from valuecompass.models._base import Completion, Request


@dataclass(frozen=True)
class BatchState:
    """A batch as its provider last described it."""

    id: str
    status: str  # the provider's own word: in_progress, completed, ended, expired, ...
    ended: bool = False  # nothing more will run; its results can be read
    refused: str | None = None  # the provider refused it whole (nothing ran): why
    results: tuple[str, ...] = field(default_factory=tuple)  # where its results are read


@dataclass(frozen=True)
class BatchResult:
    """One request's result: its completion, or why there is none; RETRY: worth sending again
    in a new batch (it expired, was cancelled, or met a server error)."""

    custom_id: str
    completion: Completion | None
    error: str | None = None
    retry: bool = False


#: The request of a custom id (for reading its reply: the options it was asked with).
RequestOf = Callable[[str], Request | None]


@runtime_checkable
class BatchAPI(Protocol):
    """A backend whose provider takes batches. ``provider`` names it in the store;
    ``max_batch_requests`` and ``max_batch_bytes`` are its limits per batch."""

    provider: str
    max_batch_requests: int
    max_batch_bytes: int

    def batch_line(self, custom_id: str, request: Request) -> bytes: ...

    def submit_batch(self, lines: Sequence[bytes], tag: str) -> BatchState: ...

    def find_batch(self, tag: str, since: float, count: int, taken: set[str]) -> str | None: ...

    def poll_batch(self, batch_id: str) -> BatchState: ...

    def batch_results(self, state: BatchState, request_of: RequestOf) -> Iterator[BatchResult]: ...
