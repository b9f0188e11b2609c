"""Batching backends: the runner hands them blocks of one context and variant, and a failed
batch costs only the prompts that fail on their own."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from valuecompass.models import BackendError, Completion, Request
from valuecompass.models.mock import MockBackend
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._batch import batches

GRID = {"countries": ["India"], "scenarios": ["healthcare"], "variants": [0, 3], "progress": False}


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


def _cells(prompts: Sequence[Sequence[int]], generate: int) -> int:
    """Cache cells by definition: the shared prefix (leaving each prompt its last token) once,
    then every suffix and its generated tokens."""
    n = min(len(p) for p in prompts)
    shared = next((i for i in range(n) if len({p[i] for p in prompts}) > 1), n)
    shared = min(shared, n - 1)
    return shared + sum(len(p) - shared + generate for p in prompts)


def test_local_batches_are_cut_to_fit_the_context() -> None:
    from valuecompass.models._llama_batch import chunks

    prefix = list(range(10))
    prompts = [[*prefix, 100 + i, 200 + i] for i in range(5)]  # 12 tokens, 10 shared
    # Together: 10 + 5 * (2 + 1) = 25 cells with one token generated each.
    assert chunks(prompts, 1, 25, 8) == [(0, 5)]
    # 24 cells: the first four (10 + 4 * 3 = 22) fit, the fifth starts a new range.
    assert chunks(prompts, 1, 24, 8) == [(0, 4), (4, 5)]
    assert chunks(prompts, 1, 100, 2) == [(0, 2), (2, 4), (4, 5)]  # at most max_batch
    with pytest.raises(BackendError, match="prompt of 12 tokens plus 2 to generate exceeds"):
        chunks(prompts, 2, 13, 8)
    # Against the definition on random prompts: each range fits, and the next prompt would not.
    rng = random.Random(0)
    for _ in range(500):
        base = [rng.randrange(4) for _ in range(rng.randrange(1, 10))]
        group = [base[: rng.randrange(len(base) + 1)] + [rng.randrange(4)] * rng.randrange(1, 5)
                 for _ in range(rng.randrange(1, 9))]  # fmt: skip
        generate, limit, most = rng.randrange(1, 3), rng.randrange(16, 50), rng.randrange(1, 5)
        if any(len(p) + generate > limit for p in group):
            continue
        ranges = chunks(group, generate, limit, most)
        assert [a for a, _ in ranges] == [0] + [b for _, b in ranges[:-1]]
        assert ranges[-1][1] == len(group)
        for a, b in ranges:
            assert b - a <= most and _cells(group[a:b], generate) <= limit
            if b < len(group) and b - a < most:
                assert _cells(group[a : b + 1], generate) > limit
