"""The bundled model in item mode: one block (a context and variant, 56 prompts) three ways.

- ours: the local backend's ``complete_batch`` (one batched decode of the block, the shared
  prefix stored once, then one decode for the second token of every answer);
- llama-cpp-python's ``create_chat_completion`` per prompt, with its own prefix reuse (the
  way a user would write it), on the same weights file (target: ours >= 2.5x faster);
- the raw batched ``llama_decode`` of the same tokens (the prompt tokens laid out as ours,
  then the second token of the answers ours generates one for), with no tokenising, sampling
  or reading of probabilities (target: ours <= 1.15x its time).

Ours stops an answer at its option code (``stop_at_option``, the default), so most answers
take one token; ``create_chat_completion`` generates both, as the old path did.

Each is run ROUNDS times, interleaved, and the fastest round counts (the machine is shared).
``--formats`` instead times ours in each weight format (the bundled Q4_1 kept, BF16, F16, Q8_0),
with llama.cpp's AMX kernels where they work here (``-amx``) and without.
Prints the load average, since other work on the machine moves every figure.

    python benchmarks/bench_local.py [--rounds 3] [--threads 2]
    python benchmarks/bench_local.py --formats [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp
from llama_cpp import Llama

from valuecompass.instrument import load_instrument
from valuecompass.models import Request
from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.prompts import load_prompts
from valuecompass.runner import RunConfig
from valuecompass.runner._run import plan


def block(backend: LocalBackend, variant: int = 0) -> list[Request]:
    """The 56 item prompts of India x healthcare in VARIANT, as the main job asks them."""
    config = RunConfig(model="local", countries=["India"], scenarios=["healthcare"],
                       variants=[variant], mode="item", max_tokens=2)  # fmt: skip
    jobs, _ = plan(config, load_instrument(), load_prompts(None, load_instrument()), backend)
    return [j.request for j in jobs]


def ours(backend: LocalBackend, requests: Sequence[Request]) -> Callable[[], object]:
    def go() -> object:
        backend.context.clear_sequences(0)
        return backend.complete_batch(requests)

    return go


def chat_completions(llm: Llama, requests: Sequence[Request]) -> Callable[[], object]:
    def go() -> object:
        llm.reset()
        return [
            llm.create_chat_completion(
                messages=[dict(m) for m in r.messages],  # type: ignore[misc]
                max_tokens=r.max_tokens,
                temperature=r.temperature,
                seed=r.seed,
            )
            for r in requests
        ]

    return go


def raw_decode(backend: LocalBackend, requests: Sequence[Request]) -> Callable[[], object]:
    """The same tokens through bare ``llama_decode`` calls, the batches filled beforehand:
    the block (prefix once for every sequence, then each suffix), then the second tokens."""
    prompts = [backend.tokens(r) for r in requests]
    answers = backend.complete_batch(requests)
    # The second token of each answer ours continues (a stand-in token: the cost is the same).
    second = [backend.model.tokenize(a.text, special=False)[:1] or [0] for a in answers]
    going = [s for s, a in enumerate(answers) if (a.completion_tokens or 0) > 1]
    shared = min(len(p) for p in prompts) - 1
    while any(p[:shared] != prompts[0][:shared] for p in prompts):
        shared -= 1
    n = len(prompts)
    block = llama_cpp.llama_batch_init(shared + sum(len(p) - shared for p in prompts), 0, n)
    step = llama_cpp.llama_batch_init(n, 0, n)

    def put(b: Any, i: int, token: int, pos: int, seqs: Sequence[int], logits: bool) -> None:
        b.token[i], b.pos[i], b.n_seq_id[i] = token, pos, len(seqs)
        for j, s in enumerate(seqs):
            b.seq_id[i][j] = s
        b.logits[i] = logits

    k = 0
    for pos in range(shared):
        put(block, k, prompts[0][pos], pos, range(n), False)
        k += 1
    for s, p in enumerate(prompts):
        for pos in range(shared, len(p)):
            put(block, k, p[pos], pos, [s], pos == len(p) - 1)
            k += 1
    for j, s in enumerate(going):
        put(step, j, second[s][0], len(prompts[s]), [s], True)
    block.n_tokens, step.n_tokens = k, len(going)
    ctx = backend.context.ctx
    memory = llama_cpp.llama_get_memory(ctx)

    def go() -> object:
        llama_cpp.llama_memory_clear(memory, True)
        assert llama_cpp.llama_decode(ctx, block) == 0
        assert not going or llama_cpp.llama_decode(ctx, step) == 0
        return None

    return go


def fastest(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each run's best time over ROUNDS rounds, the runs interleaved within a round."""
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def formats(threads: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as cache:
        choices = [("keep", True), ("keep", False), ("bf16", False), ("f16", False),
                   ("q8_0", True), ("q8_0", False)]  # fmt: skip
        for weights, amx in choices:
            backend = LocalBackend(bundled_model_path(), threads=threads, weights=weights,
                                   cache_dir=cache, amx=amx)  # fmt: skip
            if amx and not backend.format.endswith("-amx"):
                backend.close()
                continue  # no working AMX kernels here
            requests = block(backend)
            ours(backend, requests)()  # warm
            t = fastest({"ours": ours(backend, requests)}, rounds)["ours"]
            print(f"  weights {backend.format:>8}: {t / len(requests) * 1000:6.1f} ms a prompt")
            backend.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--formats", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    if args.formats:
        formats(args.threads, args.rounds)
        print(f"load average after: {os.getloadavg()}")
        return
    backend = LocalBackend(bundled_model_path(), threads=args.threads)
    llm = Llama(model_path=str(backend.file), n_ctx=4096, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False)  # fmt: skip
    requests = block(backend)
    runs = {
        "ours": ours(backend, requests),
        "create_chat_completion": chat_completions(llm, requests),
        "raw llama_decode": raw_decode(backend, requests),
    }
    for run in runs.values():
        run()  # warm
    best = fastest(runs, args.rounds)
    n = len(requests)
    print(f"one block of {n} item prompts, weights {backend.format}, {args.threads} threads, "
          f"best of {args.rounds}:")  # fmt: skip
    for name, t in best.items():
        print(f"  {name:>24}: {t:6.2f} s  ({t / n * 1000:6.1f} ms a prompt)")
    speedup = best["create_chat_completion"] / best["ours"]
    overhead = best["ours"] / best["raw llama_decode"]
    print(f"ours vs create_chat_completion: {speedup:.2f}x faster (target >= 2.5)")
    print(f"ours / raw llama_decode: {overhead:.2f} (target <= 1.15)")
    print(f"load average after: {os.getloadavg()}")
    backend.close()
    llm.close()


if __name__ == "__main__":
    main()
