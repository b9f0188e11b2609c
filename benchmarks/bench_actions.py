"""Generating actions with the bundled model: N requests of the default generation design
(India x Politics, the first values, both inclinations; greedy, held to the design's JSON
schema), three ways, each a ratio measured in this one run:

- ours: the local backend's ``complete_batch`` (one batched prefill, then one decode a step
  for the sequences still going, each masked by its own llama.cpp grammar);
- the raw batched ``llama_decode`` of as many tokens as ours generated (prefill laid out as
  ours, then each step's tokens fed back: ours' text retokenised), with no sampling, grammar
  or detokenising
  (target: ours >= 0.85x its tokens per second);
- llama-cpp-python's ``create_chat_completion`` one request at a time, with the same grammar
  (``LlamaGrammar`` from the same GBNF) on the same weights file (target: ours >= 3x faster
  per generated token).

Each is run ROUNDS times, interleaved, and the fastest round counts (the machine is shared).

    python benchmarks/bench_actions.py [--values 8] [--rounds 1] [--threads 2] [--max-tokens 160]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp
from llama_cpp import Llama, LlamaGrammar

from valuecompass.instrument import load_instrument
from valuecompass.models import Completion, Request
from valuecompass.models._grammar import schema_grammar
from valuecompass.models._llama_batch import chunks
from valuecompass.models.local import LocalBackend, bundled_model_path
from valuecompass.prompts import GENERATE_INCLINATIONS, load_design, render_action


def requests(values: int, max_tokens: int) -> list[Request]:
    """The default design's requests for the first VALUES values of India x Politics."""
    instrument = load_instrument("value_actions")
    design = load_design(None, instrument)
    variant = design.variant()
    schema = design.reply_schema(variant)
    context = {"country": "india", "topic": "politics"}
    out = []
    for item in instrument.item_ids[:values]:
        for inclination in GENERATE_INCLINATIONS:
            prompt = render_action(instrument, design, context, item, inclination, variant)
            out.append(Request(prompt.messages(), 0.0, max_tokens, 0, json_schema=schema))
    return out


def ours(backend: LocalBackend, reqs: Sequence[Request]) -> Callable[[], list[Completion]]:
    def go() -> list[Completion]:
        backend.context.clear_sequences(0)
        return backend.complete_batch(reqs)

    return go


def raw_decode(
    backend: LocalBackend, reqs: Sequence[Request], answers: Sequence[Completion]
) -> Callable[[], object]:
    """Bare ``llama_decode``: in the chunks ours cuts the requests into (what fits the context),
    the prompts (shared prefix once), then the generated tokens of the sequences still going,
    one batch a step, the batches filled beforehand."""
    prompts = [backend.tokens(r) for r in reqs]
    generated = []
    for a in answers:  # the text retokenised, cut or padded to the count ours generated
        count = a.completion_tokens or 0
        g = backend.model.tokenize(a.text, special=False)[:count]
        generated.append(g + [g[-1] if g else 0] * (count - len(g)))
    ctx = backend.context
    spans = chunks(prompts, max(r.max_tokens for r in reqs), ctx.n_ctx, backend.max_batch)
    plans = [_chunk(prompts[a:b], generated[a:b]) for a, b in spans]
    memory = llama_cpp.llama_get_memory(ctx.ctx)

    def go() -> object:
        for block, steps in plans:
            llama_cpp.llama_memory_clear(memory, True)
            assert llama_cpp.llama_decode(ctx.ctx, block) == 0
            for step in steps:
                assert llama_cpp.llama_decode(ctx.ctx, step) == 0
        ctx.clear_sequences(0)
        return None

    return go


def _put(b: Any, i: int, token: int, pos: int, seqs: Sequence[int], logits: bool) -> None:
    b.token[i], b.pos[i], b.n_seq_id[i] = token, pos, len(seqs)
    for j, s in enumerate(seqs):
        b.seq_id[i][j] = s
    b.logits[i] = logits


def _chunk(prompts: Sequence[list[int]], generated: Sequence[list[int]]) -> tuple[Any, list[Any]]:
    """One chunk's prefill batch and its step batches."""
    n = len(prompts)
    shared = min(len(p) for p in prompts) - 1
    while any(p[:shared] != prompts[0][:shared] for p in prompts):
        shared -= 1
    block = llama_cpp.llama_batch_init(shared + sum(len(p) - shared for p in prompts), 0, n)
    k = 0
    for pos in range(shared):
        _put(block, k, prompts[0][pos], pos, range(n), False)
        k += 1
    for s, p in enumerate(prompts):
        for pos in range(shared, len(p)):
            _put(block, k, p[pos], pos, [s], pos == len(p) - 1)
            k += 1
    block.n_tokens = k
    steps = []
    for t in range(max((len(g) for g in generated), default=0)):
        # ours decodes each generated token but the last (the first comes from the prefill)
        going = [s for s, g in enumerate(generated) if t < len(g) - 1]
        if not going:
            continue
        step = llama_cpp.llama_batch_init(len(going), 0, n)
        for j, s in enumerate(going):
            _put(step, j, generated[s][t], len(prompts[s]) + t, [s], True)
        step.n_tokens = len(going)
        steps.append(step)
    return block, steps


def chat_completions(llm: Llama, reqs: Sequence[Request]) -> Callable[[], int]:
    """One request at a time, the same grammar; returns the tokens generated."""
    grammar = LlamaGrammar.from_string(schema_grammar(reqs[0].json_schema or {}), verbose=False)

    def go() -> int:
        total = 0
        for r in reqs:
            llm.reset()
            out: Any = llm.create_chat_completion(
                messages=[dict(m) for m in r.messages],  # type: ignore[misc]
                max_tokens=r.max_tokens,
                temperature=0.0,
                seed=r.seed,
                grammar=grammar,
            )
            total += int(out["usage"]["completion_tokens"])
        return total

    return go


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=160)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    backend = LocalBackend(bundled_model_path(), threads=args.threads)
    llm = Llama(model_path=str(backend.file), n_ctx=4096, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False)  # fmt: skip
    reqs = requests(args.values, args.max_tokens)
    answers = ours(backend, reqs)()  # warm, and the tokens the raw decode replays
    tokens = sum(a.completion_tokens or 0 for a in answers)
    runs: dict[str, Callable[[], object]] = {
        "ours (batched, grammar)": ours(backend, reqs),
        "raw llama_decode": raw_decode(backend, reqs, answers),
        "create_chat_completion": chat_completions(llm, reqs),
    }
    best = {name: float("inf") for name in runs}
    chat_tokens = 0
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            got = run()
            best[name] = min(best[name], time.perf_counter() - start)
            if isinstance(got, int):
                chat_tokens = got
    print(f"{len(reqs)} actions ({args.values} values x 2 inclinations), weights "
          f"{backend.format}, {args.threads} threads, best of {args.rounds}; ours generated "
          f"{tokens} tokens, create_chat_completion {chat_tokens}:")  # fmt: skip
    rate = {}
    for name, t in best.items():
        n = chat_tokens if name == "create_chat_completion" else tokens
        rate[name] = n / t
        print(f"  {name:>24}: {t:7.2f} s  ({rate[name]:7.1f} generated tokens/s)")
    print(
        f"ours / raw llama_decode tokens/s: "
        f"{rate['ours (batched, grammar)'] / rate['raw llama_decode']:.2f} (target >= 0.85)"
    )
    print(f"ours vs create_chat_completion tokens/s: "
          f"{rate['ours (batched, grammar)'] / rate['create_chat_completion']:.2f}x "
          "(target >= 3)")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")
    backend.close()
    llm.close()


if __name__ == "__main__":
    main()
