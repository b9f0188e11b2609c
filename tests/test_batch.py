"""Batching backends: the runner hands them blocks of one context and variant, and a failed
batch costs only the prompts that fail on their own."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from valuecompass.models import BackendError, Completion, Request
from valuecompass.models.mock import MockBackend
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._batch import batches

GRID = {"countries": ["India"], "topics": ["healthcare"], "variants": [0, 3], "progress": False}


class BatchingMock(MockBackend):
    """The mock, answering lists of requests; a batch holding a BAD value's prompt fails, and
    that prompt fails alone too."""

    max_batch = 5

    def __init__(self, bad: str | None = None) -> None:
        super().__init__()
        self.bad = bad
        self.batches: list[list[str]] = []  # each batch's user messages

    def _is_bad(self, request: Request) -> bool:
        return self.bad is not None and self.bad in request.messages[-1]["content"]

    def complete(self, request: Request) -> Completion:
        if self._is_bad(request):
            raise BackendError("refused")
        return super().complete(request)

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        self.batches.append([r.messages[-1]["content"] for r in requests])
        if any(self._is_bad(r) for r in requests):
            raise BackendError("one of these is refused")
        return [super(BatchingMock, self).complete(r) for r in requests]


def test_batches_are_consecutive_jobs_of_one_block() -> None:
    class P:
        def __init__(self, variant: int) -> None:
            self.context = (("country", "india"), ("scenario", "healthcare"))
            self.variant = variant

    class J:
        def __init__(self, variant: int, i: int) -> None:
            self.prompt, self.name = P(variant), f"{variant}-{i}"

    jobs = [J(0, 0), J(0, 1), J(0, 2), J(3, 0), J(0, 3)]
    assert [[j.name for j in b] for b in batches(jobs, 2)] == [
        ["0-0", "0-1"],
        ["0-2"],
        ["3-0"],
        ["0-3"],
    ]


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select value, variant, raw, code, probs from answers order by value, variant"
        ).fetchall()


def test_batches_stay_inside_a_block_and_answers_match(tmp_path: Path) -> None:
    backend = BatchingMock()
    summary = run_model(RunConfig(model="mock", db=str(tmp_path / "b.db"), **GRID), backend)
    assert (summary.total, summary.asked, summary.failed) == (112, 112, 0)
    # 56 values per block in batches of 5: 11 full batches and one of 1, per block.
    assert sorted(len(b) for b in backend.batches) == [1, 1] + [5] * 22
    run_model(RunConfig(model="mock", db=str(tmp_path / "m.db"), **GRID), MockBackend())
    assert _rows(tmp_path / "b.db") == _rows(tmp_path / "m.db")


def test_a_failed_batch_is_asked_one_by_one(tmp_path: Path) -> None:
    backend = BatchingMock(bad="Wealth")
    summary = run_model(RunConfig(model="mock", db=str(tmp_path / "b.db"), **GRID), backend)
    assert (summary.asked, summary.failed) == (112, 2)  # the one value, in both variants
    with sqlite3.connect(tmp_path / "b.db") as conn:
        errors = conn.execute("select error from prompts where error is not null").fetchall()
    assert [e[0] for e in errors] == ["refused", "refused"]
