"""Report build time: the paper's five models against its people, in one HTML file.

Prints the wall time of ``build_report`` for the five released models (target: under 20 s on
2 cores), the CPU time it used (this process and its drawing workers), and, as a baseline
measured in the same run, the time to just read the six sources and align each model.
The released data is found as the tests find it (``$VALUECOMPASS_SHARED``, ``../shared`` or
``/work/shared``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from valuecompass import align, build_report, load_instrument, load_source

MODELS = (
    "deepseek-r1-distill-llama-70b",
    "openai_o3-mini",
    "gpt-4o-mini",
    "llama3-70b-8192",
    "gemma2-9b-it",
)
TARGET_S = 20.0


def _released() -> Path:
    here = Path(__file__).resolve().parents[2]
    roots = [Path(os.environ["VALUECOMPASS_SHARED"])] if "VALUECOMPASS_SHARED" in os.environ else []
    for root in [*roots, here / "shared", Path("/work/shared")]:
        folder = root / "datasets" / "valuecompass-2025"
        if folder.is_dir():
            return folder
    sys.exit("the released data was not found; set VALUECOMPASS_SHARED")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _align_only(data: Path) -> float:
    start = time.perf_counter()
    form = load_instrument()
    people, _ = load_source(data, form, "humans")
    for model in MODELS:
        answers, _ = load_source(data / "llm_outputs" / model, form, "llm")
        align(people, answers, form)
    return time.perf_counter() - start


def main() -> None:
    data = _released()
    baseline = _align_only(data)
    with tempfile.TemporaryDirectory() as folder:
        cpu = _cpu()
        start = time.perf_counter()
        result = build_report(
            data, [(m, data / "llm_outputs" / m) for m in MODELS], Path(folder) / "report.html"
        )
        wall = time.perf_counter() - start
        cpu = _cpu() - cpu
        figures, tables = len(result.figures) // 2, len(result.tables)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"five-model report ({figures} figures, {tables} tables): {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU, on {cores} cores (load average {load:.1f})")  # fmt: skip
    print(f"target 20 s: {wall / TARGET_S:.2f} of the target ({TARGET_S / wall:.1f}x under)")
    print(f"baseline, read and align the five models only: {baseline:.1f} s; "
          f"report / baseline: {wall / baseline:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
