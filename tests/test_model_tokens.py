"""What the llama.cpp and transformers backends share: a batch's common prefix and the
completions made of generated tokens and option log-probabilities."""

from __future__ import annotations

import math

import pytest

from valuecompass.models import Completion
from valuecompass.models._tokens import common_prefix, completions


def test_common_prefix() -> None:
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix([[7, 8], [7, 8]]) == 2  # the whole of equal sequences
    assert common_prefix([[5], [6]]) == 0
    assert common_prefix([[], [1]]) == 0


def test_completions_renormalise_over_each_prompts_options() -> None:
    words = {1: "one", 2: "two", 3: "three"}
    got = completions(
        lambda tokens: " ".join(words[t] for t in tokens),
        [[9, 9, 9], [9]],
        [[1, 2], [3]],
        [{"1": math.log(0.3), "2": math.log(0.1)}, {}],
    )
    # options 0.3 and 0.1: renormalised 0.3 / 0.4 = 0.75 and 0.1 / 0.4 = 0.25, mass 0.4
    first, second = got
    assert first.text == "one two" and (first.prompt_tokens, first.completion_tokens) == (3, 2)
    assert first.option_probs == pytest.approx({"1": 0.75, "2": 0.25})
    assert first.option_mass == pytest.approx(0.4)
    # no single-token option: no probabilities and no mass
    assert second == Completion(text="three", prompt_tokens=1, completion_tokens=1)
    # options the model gives no probability at all: none either, and mass 0
    [none] = completions(str, [[1]], [[]], [{"1": -math.inf}])
    assert none.option_probs is None and none.option_mass == 0.0 and none.text == "[]"
