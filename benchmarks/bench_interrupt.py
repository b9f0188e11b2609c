"""How long Ctrl-C takes to give the prompt back: SIGINT to exit, for runs and the survey.

Cases (each a fresh store in a temporary folder):

- the mock model over the whole item grid with 10 samples (125,440 prompts), SIGINT after
  1, 2, ..., 6 seconds;
- a synchronous backend that takes 5 s a call (``mock -M delay=5``), SIGINT after 2 s, while
  every worker is inside a call;
- the bundled local model, SIGINT once it has answered for a few seconds (``--local``: it
  needs the model built into the virtual environment);
- ``survey serve``, SIGINT once it listens.

The target is 1.5 s for the slowest of each case. The baseline, measured in the same run, is
how long the same program takes to start, plan one prompt and exit on its own: the part of
an exit that no stop can save. Usage: ``python benchmarks/bench_interrupt.py [--local]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.5
PROGRAM = [sys.executable, "-m", "valuecompass"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*PROGRAM, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_default_sigint,  # a benchmark started in the background ignores SIGINT
    )


def stop_after(args: list[str], seconds: float, ready: Path | None = None) -> float:
    """Seconds from SIGINT to exit of ``valuecompass ARGS``, interrupted SECONDS after start
    (after READY exists, where given, then SECONDS more)."""
    with tempfile.TemporaryDirectory() as folder:
        proc = _start(args, Path(folder))
        if ready is not None:
            while not ready.exists() and proc.poll() is None:
                time.sleep(0.05)
        time.sleep(seconds)
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(args)} ended before the interrupt; make the grid larger")
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        return time.perf_counter() - sent


def baseline() -> float:
    """Start, plan one prompt with the mock model, exit: the fixed cost of any exit."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        one = ["--countries", "India", "--scenarios", "healthcare", "--values", "ambitious"]
        subprocess.run(
            [*PROGRAM, "run", "--model", "mock", "--variants", "0", "--no-progress", *one],
            cwd=folder,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def survey_stop() -> float:
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = _start(["survey", "serve", "--port", str(port), "--db", "s.db"], Path(folder))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        return time.perf_counter() - sent


def _row(name: str, times: list[float], base: float) -> None:
    worst = max(times)
    shown = ", ".join(f"{t:.2f}" for t in times)
    print(
        f"{name:<34} slowest {worst:5.2f} s ({shown}); "
        f"{worst / TARGET:.2f}x the {TARGET} s target, {worst / base:.2f}x the baseline"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="also the bundled local model")
    local = parser.parse_args().local
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    base = baseline()
    print(f"baseline: start, plan one prompt and exit: {base:.2f} s")
    grid = ["run", "--model", "mock", "--samples", "10", "--no-progress", "--db", "s.db"]
    _row("mock, 125,440 prompts, 1-6 s", [stop_after(grid, s) for s in range(1, 7)], base)
    slow = ["run", "--model", "mock", "-M", "delay=5", "--no-progress", "--db", "s.db"]
    _row("5 s a call, after 2 s", [stop_after(slow, 2.0) for _ in range(3)], base)
    if local:
        bundled = ["run", "--no-progress", "--db", "s.db", "--countries", "India"]
        _row("bundled model, after 12 s", [stop_after(bundled, 12.0) for _ in range(3)], base)
    _row("survey serve", [survey_stop() for _ in range(3)], base)


if __name__ == "__main__":
    main()
