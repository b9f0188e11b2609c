"""API throughput: the paper's grid through the real runner against a stub answering in 100 ms.

The stub (valuecompass.testing.openai_stub, on aiohttp) runs in its own process, as a real
endpoint would. Every run goes through the openai backend, its retries and a SQLite store (on
Linux the requests go out from the runner's request process). Each run also prints a floor
measured right after it: a bare aiohttp loop with the same requests in flight and no runner,
what loopback and this machine's load allow.

* item mode: 28 contexts x 8 variants x 56 values = 12,544 requests at concurrency 64. The
  baseline is the ideal wall time, requests x 100 ms / 64 = 19.6 s (target: at most 1.15x);
  also printed: the runner's CPU per request (all its threads; target at most 0.6 ms) and the
  stub's, to show the stub is not the limit.
* form mode: 224 requests at concurrency 32, against (a) the ideal, ceil(224 / 32) x 100 ms =
  0.7 s (target at most 1.15x), and (b) the authors' runner design measured in the same run: 4
  threads, each sending a prompt and sleeping 1 s after it (target: at least 75x faster). That
  design's time is linear in the prompts (each thread is sequential), so it runs on the first
  ``--baseline-prompts`` form prompts (default 56) and is scaled to 224.

What is timed, in both modes: ``run_model(config)`` from the call to its return, as the CLI's
``run`` calls it, with a store that does not exist yet: building the backend from its spec,
loading the instrument and prompt design (read from disk in the first round; later rounds in
this process get them from its cache, as any long-lived caller would), planning and rendering
every prompt, forking the request process, making and migrating the store, the run's lease,
every request, parsing every answer, storing every row, recording the run's end and closing the
store. Not timed: starting the interpreter and importing the package. Form mode runs
``--repeat`` rounds, each with a fresh store, and prints each, the best and the median, with
the CPU seconds of this process and of the request process, and the load average before and
after (on a shared machine the best round is the closest to what the code costs).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_api.py [--only item|form]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import orjson

from valuecompass.instrument import load_instrument
from valuecompass.models.openai import OpenAIBackend
from valuecompass.prompts import load_prompts
from valuecompass.runner import RunConfig, plan, run_model

DELAY = 0.1
AUTHORS_THREADS, AUTHORS_SLEEP = 4, 1.0
STUB = "from valuecompass.testing.openai_stub import main; main()"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process PID so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime, stime in clock ticks


def _runner_cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its children reaped so far (the request process;
    the stub, a child too, is reaped only at the end)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _run(base_url: str, stub_pid: int, mode: str, concurrency: int, tmp: str, rep: int) -> float:
    config = RunConfig(model="openai:stub", backend_options={"base_url": base_url},
                       db=str(Path(tmp) / f"{mode}{rep}.db"), mode=mode,
                       concurrency=concurrency, progress=False)  # fmt: skip
    assert not Path(config.db).exists()
    stub_cpu, cpu, start = _cpu_seconds(stub_pid), _runner_cpu(), time.perf_counter()
    summary = run_model(config)  # builds the backend, makes the store: the whole run
    wall = time.perf_counter() - start
    cpu = tuple(after - before for after, before in zip(_runner_cpu(), cpu, strict=True))
    stub_cpu = _cpu_seconds(stub_pid) - stub_cpu
    assert summary.failed == 0 and summary.asked == summary.total, summary.text()
    n = summary.asked
    ideal = math.ceil(n / concurrency) * DELAY
    floor = _floor(base_url, n, concurrency)
    print(f"{mode} mode: {n} requests at concurrency {concurrency}, {summary.answers} answers "
          f"stored, {wall:.3f} s wall")  # fmt: skip
    print(f"  floor (bare aiohttp loop, same requests in flight, no runner): {floor:.3f} s; "
          f"runner wall/floor: {wall / floor:.3f}")  # fmt: skip
    print(f"  ideal {ideal:.2f} s (ceil(requests / {concurrency}) x {DELAY * 1000:.0f} ms); "
          f"ratio wall/ideal: {wall / ideal:.3f} (target <= 1.15)")  # fmt: skip
    total = sum(cpu)
    print(f"  runner CPU {total:.3f} s = {total / n * 1000:.3f} ms per request: {cpu[0]:.3f} s "
          f"planning, parsing and storing, {cpu[1]:.3f} s in the request process; "
          f"stub CPU {stub_cpu / n * 1000:.3f} ms per request")  # fmt: skip
    return wall


def _floor(base_url: str, requests: int, concurrency: int) -> float:
    """The machine's floor: a bare aiohttp loop with the same requests in flight, no runner
    (no planning, parsing or store); what loopback and this machine's load allow."""
    body = orjson.dumps({"model": "stub", "messages": [{"role": "user", "content": "- A: x"}]})

    async def run() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            todo = iter(range(requests))

            async def worker() -> None:
                for _ in todo:
                    async with session.post(base_url + "/chat/completions", data=body) as r:
                        await r.read()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - start

    return asyncio.run(run())


def _clients(base_url: str, requests: int = 2240, concurrency: int = 64) -> None:
    """CPU per request of the bare clients the backend could be built on (no runner)."""
    import httpx

    body = orjson.dumps({"model": "stub", "messages": [{"role": "user", "content": "x"}]})
    url = base_url + "/chat/completions"

    async def with_httpx() -> None:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            todo = iter(range(requests))

            async def worker() -> None:
                for _ in todo:
                    (await client.post(url, content=body)).read()

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    for name, run in (("aiohttp", lambda: _floor(base_url, requests, concurrency)),
                      ("httpx async", lambda: asyncio.run(with_httpx()))):  # fmt: skip
        cpu, start = time.process_time(), time.perf_counter()
        run()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"client {name}: {requests} requests at concurrency {concurrency}, {wall:.2f} s, "
              f"{cpu / requests * 1000:.3f} ms CPU per request")  # fmt: skip


def _authors_design(base_url: str, prompts: int) -> float:
    """The authors' runner: 4 threads, each a blocking request then a 1 s sleep, per prompt."""
    config = RunConfig(model="openai:stub", mode="all", progress=False)
    backend = OpenAIBackend("stub", base_url=base_url)
    jobs, _ = plan(config, load_instrument(None), load_prompts(None, load_instrument()), backend)

    def ask(job: object) -> None:
        request = getattr(job, "request")  # noqa: B009
        body = orjson.dumps({"model": "stub", "messages": request.messages,
                             "temperature": request.temperature, "seed": request.seed})  # fmt: skip
        post = urllib.request.Request(base_url + "/chat/completions", data=body,
                                      headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(post, timeout=30) as resp:
            orjson.loads(resp.read())
        time.sleep(AUTHORS_SLEEP)

    start = time.perf_counter()
    with ThreadPoolExecutor(AUTHORS_THREADS) as pool:
        list(pool.map(ask, jobs[:prompts]))
    return time.perf_counter() - start


def _form(base_url: str, stub_pid: int, tmp: str, repeat: int, baseline_prompts: int) -> None:
    walls = [_run(base_url, stub_pid, "form", 32, tmp, k) for k in range(repeat)]
    ideal = math.ceil(224 / 32) * DELAY
    best, median = min(walls), statistics.median(walls)
    n = baseline_prompts
    authors = _authors_design(base_url, n) * 224 / n
    print("load average after the form rounds: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"form mode, {len(walls)} rounds: " + ", ".join(f"{w:.3f}" for w in walls) + " s")
    print(f"  authors' design (4 threads, 1 s sleep after each prompt): {authors:.1f} s for 224 "
          f"(measured on {n}, scaled)")  # fmt: skip
    for name, wall in (("best", best), ("median", median)):
        print(f"  {name} {wall:.3f} s: wall/ideal {wall / ideal:.3f} (target <= 1.15); "
              f"{authors / wall:.1f}x faster than the authors' design (target >= 75)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["item", "form", "clients"], default=None)
    parser.add_argument("--baseline-prompts", type=int, default=56)
    parser.add_argument("--repeat", type=int, default=5, help="form-mode rounds")
    args = parser.parse_args()
    stub = subprocess.Popen(
        [sys.executable, "-c", STUB, "--delay", str(DELAY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    print("load average at start: {:.2f} {:.2f} {:.2f} on {} CPUs".format(
        *os.getloadavg(), os.cpu_count()))  # fmt: skip
    try:
        assert stub.stdout is not None
        base_url = stub.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            if args.only in (None, "clients"):
                _clients(base_url)
            if args.only in (None, "item"):
                _run(base_url, stub.pid, "item", 64, tmp, 0)
            if args.only in (None, "form"):
                _form(base_url, stub.pid, tmp, args.repeat, args.baseline_prompts)
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
