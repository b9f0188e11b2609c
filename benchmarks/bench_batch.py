"""Batch runs (``run --batch``): the client's CPU for the paper's grid and for 100,000 results.

The provider is left out, so that what is measured is ours: the openai backend with its Batch
API calls answered in memory (a batch "ends" at once; its results are the OpenAI stub's
replies, with log-probabilities, made before the clock starts and given back shuffled). All
the rest is the real run: ``run_model(RunConfig(batch=True, ...))`` plans and renders every
prompt, writes every batch line, records each batch in a new SQLite store before "sending"
it, then reads every result line, parses it (option probabilities included) and stores it
through the runner's one writer.

* the paper's grid, 28 contexts x 8 variants x 56 values = 12,544 prompts: planning and
  writing the batch file alone, then the whole batch run (target: at most 5 s of CPU);
* 100,352 results (the same grid, 8 samples; 3 batches at OpenAI's 50,000): the whole run, and
  ingesting alone: reading, parsing and storing the results (target: at most 10 s of CPU).

CPU is this process's (every thread), from ``time.process_time``.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_batch.py
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from valuecompass.instrument import load_instrument
from valuecompass.models import BatchState
from valuecompass.models.openai import OpenAIBackend
from valuecompass.prompts import load_prompts
from valuecompass.runner import RunConfig, _batch_run, plan, run_model
from valuecompass.store.batches import custom_id
from valuecompass.testing.openai_stub import _output_line, _reply


class InMemory(OpenAIBackend):
    """The openai backend with its Batch API answered in memory (RESULTS: custom id -> line)."""

    def __init__(self, results: Mapping[str, bytes]) -> None:
        super().__init__("bench", base_url="http://127.0.0.1:9/v1", logprobs=True)
        self.results = results
        self.sent: dict[str, list[bytes]] = {}

    def submit_batch(self, lines: Sequence[bytes], tag: str) -> BatchState:
        batch_id = f"batch_{len(self.sent) + 1}"
        out = [self.results[line[14:65].decode()] for line in lines]
        random.Random(len(self.sent)).shuffle(out)
        self.sent[batch_id] = out
        return BatchState(batch_id, "validating")

    def poll_batch(self, batch_id: str) -> BatchState:
        return BatchState(batch_id, "completed", True, None, (batch_id,))

    def lines(self, url: str, headers: Mapping[str, str] | None = None) -> Iterator[bytes]:
        yield from self.sent[url.rsplit("/", 2)[-2]]


def _config(db: Path, samples: int) -> RunConfig:
    return RunConfig(model="openai:bench", db=str(db), run="bench", samples=samples,
                     batch=True, batch_poll=0.001, progress=False,
                     backend_options={"logprobs": True})  # fmt: skip


def _results(config: RunConfig) -> tuple[dict[str, bytes], int]:
    """Every request's result line, as the stub would answer it (made before timing)."""
    form = load_instrument(None)
    probe = OpenAIBackend("bench", base_url="http://127.0.0.1:9/v1", logprobs=True)
    jobs, _ = plan(config, form, load_prompts(None, form), probe)
    out: dict[str, bytes] = {}
    for n, job in enumerate(jobs, 1):
        cid = custom_id("bench", job.key)
        body = orjson.loads(_reply(orjson.loads(probe._body(job.request)), n))
        out[cid] = _output_line(cid, "ok", body)
    return out, len(jobs)


def _plan_and_write(config: RunConfig) -> tuple[float, int, int]:
    """CPU of planning the grid and writing its batch lines; the lines and their bytes."""
    start = time.process_time()
    form = load_instrument(None)
    backend = OpenAIBackend("bench", base_url="http://127.0.0.1:9/v1", logprobs=True)
    jobs, _ = plan(config, form, load_prompts(None, form), backend)
    lines = [backend.batch_line(custom_id("bench", j.key), j.request) for j in jobs]
    cpu = time.process_time() - start
    return cpu, len(lines), sum(len(line) + 1 for line in lines)


def _whole_run(config: RunConfig, results: Mapping[str, bytes]) -> tuple[float, float, Any]:
    """CPU of the whole batch run, and of its ingesting alone; the summary."""
    spent = [0.0]
    ingest = _batch_run.BatchRun.ingest

    def timed(self: Any, record: Any, state: Any) -> Any:
        start = time.process_time()
        try:
            return ingest(self, record, state)
        finally:
            spent[0] += time.process_time() - start

    _batch_run.BatchRun.ingest = timed  # type: ignore[method-assign]
    backend = InMemory(results)
    try:
        start = time.process_time()
        summary = run_model(config, backend=backend)
        cpu = time.process_time() - start
    finally:
        _batch_run.BatchRun.ingest = ingest  # type: ignore[method-assign]
        backend.close()
    assert summary.asked == summary.total and summary.failed == 0, summary.text()
    return cpu, spent[0], summary


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paper = _config(Path(tmp) / "paper.db", samples=1)
        cpu, n, size = _plan_and_write(paper)
        print(f"paper's grid: {n} prompts planned and written as batch lines "
              f"({size / 1e6:.1f} MB) in {cpu:.2f} s CPU")  # fmt: skip
        results, n = _results(paper)
        whole, ingested, summary = _whole_run(paper, results)
        print(f"  whole batch run (plan, write, record, ingest {summary.answers} answers, "
              f"store): {whole:.2f} s CPU (target <= 5 s); ingesting {ingested:.2f} s; "
              f"{summary.batches} batch(es)")  # fmt: skip
        big = _config(Path(tmp) / "big.db", samples=8)
        results, n = _results(big)
        whole, ingested, summary = _whole_run(big, results)
        print(f"{n} results: ingesting (read, parse, store) {ingested:.2f} s CPU "
              f"(target <= 10 s); whole batch run {whole:.2f} s CPU; "
              f"{summary.batches} batches")  # fmt: skip


if __name__ == "__main__":
    main()
