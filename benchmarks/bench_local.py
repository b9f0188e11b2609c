"""The bundled model in item mode: time per prompt against llama.cpp's own evaluation time.

Runs one context x 2 variants x 56 values (112 prompts) through the real runner and store,
reading llama.cpp's performance counters (prompt evaluation plus generation) for the same
prompts. Prints the ratio wall/llama.cpp (target: at most 1.2), and the gain from reusing the
shared prefix (the vignette, question and options) against evaluating every prompt afresh.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import llama_cpp

from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.runner import RunConfig, run_model

GRID = {"countries": ["India"], "topics": ["healthcare"], "variants": [0, 3], "mode": "item"}


def _run(backend: LocalBackend, db: Path, name: str) -> tuple[float, float, int]:
    """(wall seconds, llama.cpp seconds, prompts) for one run of the grid."""
    ctx = backend.llama.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    start = time.perf_counter()
    summary = run_model(
        RunConfig(model="local", db=str(db), run=name, progress=False, **GRID), backend=backend
    )
    wall = time.perf_counter() - start
    perf = llama_cpp.llama_perf_context(ctx)
    engine_s = (perf.t_p_eval_ms + perf.t_eval_ms) / 1000
    assert summary.asked == summary.total, summary.text()
    return wall, engine_s, summary.asked


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        reuse = LocalBackend(bundled_model_path(), reuse_prefix=True)
        _run(reuse, Path(tmp) / "warm.db", "warm")  # load pages, warm caches
        wall, engine_s, n = _run(reuse, Path(tmp) / "a.db", "reuse")
        reuse.reuse_prefix = False
        wall_fresh, engine_fresh, _ = _run(reuse, Path(tmp) / "b.db", "fresh")
    print(f"{n} prompts with prefix reuse: {wall / n * 1000:.1f} ms each; "
          f"llama.cpp {engine_s / n * 1000:.1f} ms each")  # fmt: skip
    print(f"ratio wall/llama.cpp: {wall / engine_s:.2f} (target <= 1.2)")
    print(f"without reuse: {wall_fresh / n * 1000:.1f} ms each "
          f"(llama.cpp {engine_fresh / n * 1000:.1f} ms)")  # fmt: skip
    print(f"gain from prefix reuse: {wall_fresh / wall:.1f}x")


if __name__ == "__main__":
    main()
