"""What the in-process backends (llama.cpp in ``local.py``, ``transformers.py``) share about
token sequences: the prefix a batch of prompts has in common, and the completions made of the
prompts' generated tokens and their options' log-probabilities."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from valuecompass.models._base import Completion, renormalise


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest prefix all SEQUENCES share (0 for none)."""
    first, n = sequences[0], min(len(s) for s in sequences)
    for i in range(n):
        if any(s[i] != first[i] for s in sequences[1:]):
            return i
    return n


def completions(
    decode: Callable[[list[int]], str],
    prompts: Sequence[Sequence[int]],
    generated: Sequence[list[int]],
    options: Sequence[dict[str, float]],
) -> list[Completion]:
    """Each prompt's answer: its GENERATED tokens as DECODE reads them, with the option
    probabilities renormalised over its OPTIONS (code → log-probability; none when empty) and
    their mass, and both token counts."""
    return [
        _completion(decode(tokens), len(prompt), len(tokens), logprobs)
        for prompt, tokens, logprobs in zip(prompts, generated, options, strict=True)
    ]


def _completion(text: str, prompt: int, generated: int, options: dict[str, float]) -> Completion:
    probs: dict[str, float] | None = None
    mass: float | None = None
    if options:
        probs, mass = renormalise(options)
    return Completion(
        text=text,
        option_probs=probs or None,
        option_mass=mass,
        prompt_tokens=prompt,
        completion_tokens=generated,
    )
