"""`make run`'s main job (3,136 item prompts, bundled model, 2 threads) timed end to end.

Runs the main job's grid (item mode, variants 0 and 2, two tokens) through ``run_model`` into
a temporary store, as ``valuecompass run`` does, and prints its wall time, CPU time (user +
system of this process: llama.cpp's threads and the writer), prompts a second, and the ratio
to the 100 s target. The baseline is measured in the same run, on a sample of contexts (the
first ``--sample`` of them in the grid's order, both variants) and extrapolated to the whole
grid by prompt count, stated as such: by default the bundled Q4_1 file kept as it is on
llama.cpp's plain CPU kernels (``weights=keep amx=false``, batched), else the backend options
given with ``--baseline KEY=VALUE``.
``--candidate KEY=VALUE`` (repeatable) adds backend options to the measured path, e.g.
``--candidate stop_at_option=false --baseline stop_at_option=true`` on the same sample says
what stopping at the option saves.

Prints the load average before and after: on a shared machine every figure moves with it,
and CPU seconds move less than wall seconds.

    python benchmarks/bench_main_job.py [--sample 1] [--threads 2] [--candidate KEY=VALUE]
    python benchmarks/bench_main_job.py --sample 0        # the main job alone, no baseline
    python benchmarks/bench_main_job.py --no-full --baseline stop_at_option=false   # sample only
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from typing import Any

from valuecompass.instrument import load_instrument
from valuecompass.runner import RunConfig, run_model

#: The main job's size and the issue's target for it.
PROMPTS, TARGET_S = 3136, 100.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sample_countries(n: int) -> list[str]:
    """The first N countries of the bundled instrument (each with its 4 scenarios: 8 blocks)."""
    instrument = load_instrument()
    return [c.name for c in instrument.axis("country").levels][:n]


def timed(options: dict[str, Any], threads: int, countries: list[str] | None) -> dict[str, float]:
    """One run of the main job's grid (or COUNTRIES' part of it) with backend OPTIONS."""
    with tempfile.TemporaryDirectory() as folder:
        config = RunConfig(model="local", mode="item", variants=[0, 2], max_tokens=2,
                           run="bench", db=f"{folder}/bench.db", progress=False,
                           countries=countries or [],
                           backend_options={"threads": threads, **options})  # fmt: skip
        wall, cpu = time.perf_counter(), cpu_seconds()
        summary = run_model(config)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"wall": wall, "cpu": cpu, "prompts": float(summary.asked), "failed": summary.failed}


def show(label: str, r: dict[str, float], scale: float = 1.0) -> None:
    note = ""
    if scale != 1:
        note = f" (measured on {r['prompts']:.0f} prompts, ×{scale:.1f} extrapolated)"
    print(f"  {label:>28}: wall {r['wall'] * scale:7.1f} s, CPU {r['cpu'] * scale:7.1f} s, "
          f"{r['prompts'] / r['wall']:5.1f} prompts/s{note}")  # fmt: skip


def parse_options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--candidate {pair!r}: expected KEY=VALUE")
        out[key] = value
    return out


def full_job(options: dict[str, Any], threads: int) -> None:
    job = timed(options, threads, None)
    print(f"the main job ({PROMPTS} item prompts, {threads} threads"
          f"{', ' + str(options) if options else ''}):")  # fmt: skip
    show("measured", job)
    print(f"  ratio to the {TARGET_S:.0f} s target: {job['wall'] / TARGET_S:.2f} "
          f"(CPU / wall: {job['cpu'] / job['wall']:.2f})")  # fmt: skip


def sample(options: dict[str, Any], baseline: dict[str, Any] | None, threads: int, n: int) -> None:
    """The measured path (OPTIONS) and the BASELINE's on the first N countries, extrapolated."""
    countries = sample_countries(n)
    same = timed(options, threads, countries)
    scale = PROMPTS / same["prompts"]
    print(f"on a sample, {', '.join(countries)} ({same['prompts']:.0f} prompts), "
          f"extrapolated to {PROMPTS} by prompt count:")  # fmt: skip
    show(f"measured path {options or ''}", same, scale)
    if baseline is not None:
        base = timed(baseline, threads, countries)
        show(f"baseline {baseline}", base, scale)
        print(f"  measured path / baseline on the sample: wall {same['wall'] / base['wall']:.2f}, "
              f"CPU {same['cpu'] / base['cpu']:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=1, help="countries in the baseline")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidate", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--baseline",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="the baseline's backend options (default: weights=keep amx=false)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-full", action="store_true", help="the sample only, not the job")
    args = parser.parse_args()
    candidate = parse_options(args.candidate)
    print(f"load average before: {os.getloadavg()}")
    if not args.no_full:
        full_job(candidate, args.threads)
    if args.sample > 0:
        baseline = parse_options(
            ["weights=keep", "amx=false"] if args.baseline is None else args.baseline
        )
        sample(candidate, None if args.no_baseline else baseline, args.threads, args.sample)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
