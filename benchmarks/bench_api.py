"""API throughput: the paper's grid in form mode against a loopback stub answering in 100 ms.

28 contexts x 8 variants = 224 requests at concurrency 32 through the real runner (openai
backend, retries, SQLite store). The baseline is the ideal wall time, requests x 100 ms / 32;
the printed ratio is measured wall time over it (target: at most 1.25).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from valuecompass.models.openai import OpenAIBackend
from valuecompass.runner import RunConfig, run_model

DELAY, CONCURRENCY = 0.1, 32


def main() -> None:
    # The stub runs in its own process, as a real endpoint would, so it takes no time from
    # the runner's interpreter.
    stub = subprocess.Popen(
        [sys.executable, "-m", "valuecompass.testing.openai_stub", "--delay", str(DELAY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stub.stdout is not None
        _measure(stub.stdout.readline().strip())
    finally:
        stub.terminate()
        stub.wait()


def _measure(base_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = OpenAIBackend("stub", base_url=base_url, max_concurrency=CONCURRENCY)
        config = RunConfig(
            model="openai:stub",
            db=str(Path(tmp) / "bench.db"),
            mode="form",
            concurrency=CONCURRENCY,
            progress=False,
        )
        start = time.perf_counter()
        summary = run_model(config, backend=backend)
        wall = time.perf_counter() - start
    assert summary.asked == 224 and summary.failed == 0, summary.text()
    ideal = summary.asked * DELAY / CONCURRENCY
    print(f"{summary.asked} requests, {summary.answers} answers stored, {wall:.2f} s wall")
    print(f"ideal {ideal:.2f} s (requests x {DELAY * 1000:.0f} ms / {CONCURRENCY})")
    print(f"ratio wall/ideal: {wall / ideal:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()
