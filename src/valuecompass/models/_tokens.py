"""What the in-process backends (llama.cpp in ``local.py``, ``transformers.py``) share about
token sequences: the prefix a batch of prompts has in common, and the completion made of a
prompt's generated tokens and its options' log-probabilities."""

from __future__ import annotations

from collections.abc import Sequence

from valuecompass.models._base import Completion, renormalise


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest prefix all SEQUENCES share (0 for none)."""
    first, n = sequences[0], min(len(s) for s in sequences)
    for i in range(n):
        if any(s[i] != first[i] for s in sequences[1:]):
            return i
    return n


def completion(
    text: str, prompt: Sequence[int], generated: Sequence[int], options: dict[str, float]
) -> Completion:
    """The answer to PROMPT: TEXT (GENERATED decoded), with the option probabilities
    renormalised over OPTIONS (code → log-probability; none when empty) and their mass."""
    probs: dict[str, float] | None = None
    mass: float | None = None
    if options:
        probs, mass = renormalise(options)
    return Completion(
        text=text,
        option_probs=probs or None,
        option_mass=mass,
        prompt_tokens=len(prompt),
        completion_tokens=len(generated),
    )
