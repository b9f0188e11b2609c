"""The choice task against item prompts, with the bundled model, each a ratio measured in this
one run.

Both go through ``run_model`` whole (planning, the local backend's batches, parsing, the store):

- choice: ``run --task choice`` on a hand-written action set, India x Politics, every value,
  the default choice design (both orders: 112 prompts, the option's number);
- item: a rating run of the same context, item mode, variants 0 and 1 (112 prompts).

A choice prompt carries two actions, so it is longer than an item prompt, and less of it is
shared with the other prompts of its block (the local backend evaluates a batch's shared prefix
once); the cost that matters is per prompt at the same length. So every token llama.cpp decodes
is counted (prefill and generation, as ``llama_decode`` is given them), both runs are timed on
fresh stores ROUNDS times, interleaved, the fastest round counting (the machine is shared), and
compared per decoded token: the target is a choice prompt costing at most 1.1x an item prompt
of its length. The ratio per prompt, lengths as they are, is printed beside it.

    python benchmarks/bench_choice.py [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp

from valuecompass.instrument import load_instrument
from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.prompts import load_prompts
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._choice import ChoiceTask
from valuecompass.runner._plan import RatingTask
from valuecompass.store import actions as action_store
from valuecompass.store import open_store

GRID = {"countries": ["India"], "where": {"topic": ["Politics"]}, "temperature": 0.0,
        "progress": False, "instrument_path": Path("value_actions")}  # fmt: skip


def hand_set(db: str) -> None:
    """An action set written by hand: per value, one expressing and one opposing action."""
    instrument = load_instrument("value_actions")
    engine = open_store(db)
    try:
        found = action_store.create_set(engine, "hand", instrument.id, "bench",
                                        [a.id for a in instrument.axes])  # fmt: skip
        rows = []
        for item in instrument.items:
            for inclination, verb in (("expresses", "keep to"), ("opposes", "turn from")):
                rows.append({"context": [("country", "india"), ("topic", "politics")],
                             "item": item.id, "inclination": inclination,
                             "text": f"I {verb} {item.name.lower()} when I vote.",
                             "spans": [], "explanation": "", "source": "import",
                             "source_detail": {}, "missing": None})  # fmt: skip
        action_store.add_actions(engine, found.id, rows)
    finally:
        engine.dispose()


def prompt_tokens(backend: LocalBackend, config: RunConfig) -> int:
    """Prompt tokens over the run's requests, as the backend tokenises them."""
    instrument = load_instrument(config.instrument_path)
    task: ChoiceTask | RatingTask
    if config.task == "choice":
        task = ChoiceTask.load(config, instrument)
    else:
        task = RatingTask(config, instrument, load_prompts(config.prompts_path, instrument))
    return sum(len(backend.tokens(job.request)) for job in task.jobs(backend))


#: Tokens given to ``llama_decode`` since the counter was last read.
DECODED = [0]


def _counting(decode: Any) -> Any:
    def counted(ctx: Any, batch: Any) -> Any:
        DECODED[0] += int(batch.n_tokens)
        return decode(ctx, batch)

    return counted


def timed(backend: LocalBackend, config: RunConfig) -> tuple[float, int, int]:
    """Seconds, prompts and tokens decoded for CONFIG's run."""
    DECODED[0] = 0
    start = time.perf_counter()
    summary = run_model(config, backend)
    took = time.perf_counter() - start
    assert summary.asked == summary.total, summary.text()
    return took, summary.total, DECODED[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    llama_cpp.llama_decode = _counting(llama_cpp.llama_decode)
    backend = LocalBackend(bundled_model_path(), threads=args.threads)
    best: dict[str, tuple[float, int, int]] = {}
    tokens: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            for name in ("choice", "item"):
                db = str(Path(tmp) / f"{name}{k}.db")
                if name == "choice":
                    hand_set(db)
                    config = RunConfig(model="local", db=db, task="choice", actions="hand",
                                       **GRID)  # fmt: skip
                else:
                    config = RunConfig(model="local", db=db, variants=[0, 1],
                                       **GRID)  # fmt: skip
                if name not in tokens:
                    tokens[name] = prompt_tokens(backend, config)
                took, n, decoded = timed(backend, config)
                if name not in best or took < best[name][0]:
                    best[name] = (took, n, decoded)
    per_token = {}
    for name, (took, n, decoded) in best.items():
        per_token[name] = took / decoded
        print(f"{name:6s}: {n} prompts in {took:.2f} s ({took / n * 1000:.1f} ms a prompt); "
              f"{tokens[name] / n:.0f} prompt tokens a prompt, {decoded / n:.0f} decoded a "
              f"prompt; {per_token[name] * 1e6:.0f} us a decoded token")  # fmt: skip
    ratio = per_token["choice"] / per_token["item"]
    print(f"choice / item per decoded token: {ratio:.2f}x (target <= 1.10x)")
    raw = best["choice"][0] / best["choice"][1] / (best["item"][0] / best["item"][1])
    print(f"choice / item per prompt, lengths as they are: {raw:.2f}x")
    backend.close()


if __name__ == "__main__":
    main()
