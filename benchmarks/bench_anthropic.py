"""The anthropic backend's throughput: the paper's grid through the real runner against the
Messages API stub answering in 100 ms.

As ``bench_api.py`` measures the ``openai`` backend: the stub
(valuecompass.testing.anthropic_stub, on aiohttp) runs in its own process, as a real endpoint
would; every run goes through the anthropic backend, its retries and budgets' code and a SQLite
store (on Linux the requests go out from the runner's request process). What is timed is
``run_model(config)`` from the call to its return, with a store that does not exist yet.

* item mode: 28 contexts x 8 variants x 56 values = 12,544 requests at concurrency 64. The
  ideal wall time is requests x 100 ms / 64 = 19.6 s (target: at most 1.15x); also printed:
  the runner's CPU per request (this process and its request process; target at most 0.6 ms)
  and the stub's, to show the stub is not the limit.
* form mode: 224 requests at concurrency 32, ``--repeat`` rounds, against the ideal
  ceil(224 / 32) x 100 ms = 0.7 s (target at most 1.15x; the best round and the median).

Each run also prints a floor measured right after it: a bare aiohttp loop with the same
requests in flight and no runner, what loopback and this machine's load allow.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_anthropic.py [--only item|form]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from bench_api import _cpu_seconds, _runner_cpu

from valuecompass.runner import RunConfig, run_model
from valuecompass.testing.anthropic_stub import DEFAULT_KEY

DELAY = 0.1
STUB = "from valuecompass.testing.anthropic_stub import main; main()"


def _floor(base_url: str, requests: int, concurrency: int) -> float:
    """A bare aiohttp loop with CONCURRENCY requests in flight, no runner: the machine's floor."""
    body = orjson.dumps({"model": "stub", "max_tokens": 3,
                         "messages": [{"role": "user", "content": "x"}]})  # fmt: skip
    headers = {"x-api-key": DEFAULT_KEY, "anthropic-version": "2023-06-01",
               "content-type": "application/json"}  # fmt: skip

    async def run() -> float:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            todo = iter(range(requests))

            async def worker() -> None:
                for _ in todo:
                    async with session.post(base_url + "/v1/messages", data=body) as r:
                        await r.read()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - start

    return asyncio.run(run())


def _run(base_url: str, stub_pid: int, mode: str, concurrency: int, tmp: str, rep: int) -> float:
    options = {"base_url": base_url, "api_key": DEFAULT_KEY}
    config = RunConfig(model="anthropic:stub", backend_options=options,
                       db=str(Path(tmp) / f"{mode}{rep}.db"), mode=mode,
                       concurrency=concurrency, progress=False)  # fmt: skip
    stub_cpu, cpu, start = _cpu_seconds(stub_pid), _runner_cpu(), time.perf_counter()
    summary = run_model(config)
    wall = time.perf_counter() - start
    cpu = tuple(after - before for after, before in zip(_runner_cpu(), cpu, strict=True))
    stub_cpu = _cpu_seconds(stub_pid) - stub_cpu
    assert summary.failed == 0 and summary.asked == summary.total, summary.text()
    n = summary.asked
    ideal = math.ceil(n / concurrency) * DELAY
    floor = _floor(base_url, n, concurrency)
    total = sum(cpu)
    print(f"{mode} mode: {n} requests at concurrency {concurrency}, {summary.answers} answers "
          f"stored, {wall:.3f} s wall")  # fmt: skip
    print(f"  floor (bare aiohttp loop, same requests in flight, no runner): {floor:.3f} s; "
          f"runner wall/floor: {wall / floor:.3f}")  # fmt: skip
    print(f"  ideal {ideal:.2f} s (ceil(requests / {concurrency}) x {DELAY * 1000:.0f} ms); "
          f"ratio wall/ideal: {wall / ideal:.3f} (target <= 1.15)")  # fmt: skip
    print(f"  runner CPU {total:.3f} s = {total / n * 1000:.3f} ms per request (target <= 0.6): "
          f"{cpu[0]:.3f} s planning, parsing and storing, {cpu[1]:.3f} s in the request "
          f"process; stub CPU {stub_cpu / n * 1000:.3f} ms per request")  # fmt: skip
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["item", "form"], default=None)
    parser.add_argument("--repeat", type=int, default=5, help="form-mode rounds")
    args = parser.parse_args()
    stub = subprocess.Popen([sys.executable, "-c", STUB, "--delay", str(DELAY)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    print("load average at start: {:.2f} {:.2f} {:.2f} on {} CPUs".format(
        *os.getloadavg(), os.cpu_count()))  # fmt: skip
    try:
        assert stub.stdout is not None
        base_url = stub.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            if args.only in (None, "item"):
                _run(base_url, stub.pid, "item", 64, tmp, 0)
            if args.only in (None, "form"):
                walls = [_run(base_url, stub.pid, "all", 32, tmp, k) for k in range(args.repeat)]
                ideal = math.ceil(224 / 32) * DELAY
                for name, wall in (("best", min(walls)), ("median", statistics.median(walls))):
                    print(f"form mode {name} of {len(walls)}: {wall:.3f} s, wall/ideal "
                          f"{wall / ideal:.3f} (target <= 1.15)")  # fmt: skip
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
