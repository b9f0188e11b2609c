"""The transformers backend on a GPU: the paper's full grid in item mode, prompts per second.

28 contexts x 8 variants x 56 values (12,544 prompts) of the bundled SmolLM2, loaded through
transformers from its GGUF file, in bfloat16 batches on CUDA through the real runner and store;
against the same backend on this machine's CPU (float32) and the llama.cpp backend, each timed
on a slice of the grid (one context x one variant, 56 prompts) and scaled to the full grid.
Without a GPU it prints "no GPU: skipped" and exits 0; ``--device cpu`` runs the GPU part on
the CPU on a part of the grid (``--contexts``, ``--variants``), to try the benchmark itself on
a machine without one.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import torch

from valuecompass.instrument import load_instrument
from valuecompass.models import Backend, get_backend
from valuecompass.runner import RunConfig, run_model

SLICE = {"countries": ["India"], "topics": ["healthcare"], "variants": [0]}


def _rate(backend: Backend, db: Path, **grid: Any) -> tuple[int, float]:
    """(prompts, prompts per second) for GRID in item mode with BACKEND."""
    config = RunConfig(model="bench", db=str(db), mode="item", temperature=0.0, max_tokens=2,
                       progress=False, **grid)  # fmt: skip
    summary = run_model(config, backend=backend)
    assert summary.asked == summary.total and summary.failed == 0, summary.text()
    return summary.asked, summary.asked / summary.wall


def _grid(contexts: int | None, variants: int | None) -> dict[str, Any]:
    """The paper's grid, or its first CONTEXTS topics of the first country and its first
    VARIANTS variants."""
    form = load_instrument()
    countries = form.axis("country").level_ids
    topics = form.axis("scenario").level_ids
    grid: dict[str, Any] = {"countries": countries, "topics": topics}
    if contexts is not None:
        grid = {"countries": countries[:1], "topics": topics[:contexts]}
    if variants is not None:
        grid["variants"] = list(range(variants))
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to try it")
    parser.add_argument("--contexts", type=int, default=None, help="contexts (default: all)")
    parser.add_argument("--variants", type=int, default=None, help="variants (default: all)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: 64)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no GPU: skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fast = get_backend("transformers:bundled", device=args.device, batch_size=args.batch)
        _rate(fast, root / "warm.db", **SLICE)  # kernels and allocator warmed up
        n, rate = _rate(fast, root / "gpu.db", **_grid(args.contexts, args.variants))
        name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU (trial)"
        batch = getattr(fast, "max_batch", 1)
        fast.close()
        cpu = get_backend("transformers:bundled", device="cpu")
        _, cpu_rate = _rate(cpu, root / "cpu.db", **SLICE)
        cpu.close()
        llama = get_backend("local")
        _, llama_rate = _rate(llama, root / "llama.db", **SLICE)
        llama.close()
    print(f"{n} item prompts through transformers on {name} (bf16 on CUDA, batches of "
          f"{batch}): {rate:.1f} prompts/s, {n / rate:.0f} s")  # fmt: skip
    print(f"transformers on this CPU (fp32): {cpu_rate:.1f} prompts/s, "
          f"{n / cpu_rate:.0f} s for the same grid (scaled from 56 prompts)")  # fmt: skip
    print(f"llama.cpp on this CPU (Q4_1): {llama_rate:.1f} prompts/s, "
          f"{n / llama_rate:.0f} s for the same grid (scaled from 56 prompts)")  # fmt: skip
    print(f"GPU over CPU: {rate / cpu_rate:.1f}x against transformers, "
          f"{rate / llama_rate:.1f}x against llama.cpp")  # fmt: skip


if __name__ == "__main__":
    main()
