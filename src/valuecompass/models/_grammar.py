"""Replies held to a JSON schema: a llama.cpp grammar per sequence, applied to our own sampler.

The schema becomes a GBNF grammar (llama-cpp-python's converter, once per schema); each
sequence being generated gets its own llama.cpp grammar sampler, which only masks: the token
is still chosen by :func:`valuecompass.models._sampling.next_token` from the request's own
generator. As llama.cpp's own sampling does, the token is first chosen from the unmasked
logits and checked alone against the grammar; only a refused token costs a mask of the whole
vocabulary and a second choice. At temperature 0 that is exactly the grammar's greedy token;
when sampling, a first draw kept is as likely as under the masked distribution it would have
been drawn from (rejection sampling), up to the top-k and top-p cut-offs taken before the mask.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import llama_cpp
import numpy as np

from valuecompass.models._base import BackendError
from valuecompass.models._sampling import next_token

#: llama_token_data as numpy sees it: the token id, its logit and a probability.
TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


@lru_cache(maxsize=64)
def _gbnf(schema_text: str, order: tuple[str, ...]) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return str(json_schema_to_gbnf(schema_text, prop_order=list(order)))
    except Exception as exc:  # the converter raises plain exceptions of several kinds
        raise BackendError(f"the JSON schema cannot be made into a grammar: {exc}") from exc


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """SCHEMA as a GBNF grammar, its object's properties in the order the schema lists them."""
    properties = schema.get("properties") or {}
    return _gbnf(json.dumps(schema, sort_keys=True), tuple(properties))


class Constraint:
    """One sequence's grammar: which tokens may come next, given those accepted so far."""

    def __init__(self, vocab: Any, n_vocab: int, grammar: str) -> None:
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        if not self._sampler:
            raise BackendError("llama.cpp refused the grammar made from the JSON schema")
        self._all = np.zeros(n_vocab, dtype=TOKEN_DATA)
        self._all["id"] = np.arange(n_vocab, dtype=np.int32)
        self._one = np.zeros(1, dtype=TOKEN_DATA)

    def _apply(self, data: np.ndarray) -> None:
        array = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(llama_cpp.llama_token_data_p),
            size=len(data),
            selected=-1,
            sorted=False,
        )
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(array))

    def allows(self, token: int) -> bool:
        """Whether TOKEN may come next."""
        self._one["id"], self._one["logit"] = token, 0.0
        self._apply(self._one)
        return bool(np.isfinite(self._one["logit"][0]))

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """LOGITS with every token the grammar refuses next at minus infinity (a copy)."""
        self._all["logit"] = logits
        self._apply(self._all)
        return np.asarray(self._all["logit"], dtype=np.float32).copy()

    def choose(self, logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
        """The next token under the grammar (see the module), accepted into its state."""
        token = next_token(logits, temperature, rng)
        if not self.allows(token):
            masked = self.mask(logits)
            if not np.isfinite(masked).any():
                raise BackendError("the grammar allows no token here")
            token = next_token(masked, temperature, rng)
        llama_cpp.llama_sampler_accept(self._sampler, token)
        return token

    def close(self) -> None:
        if self._sampler:
            llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None


def constraints(
    vocab: Any, n_vocab: int, schemas: Sequence[Mapping[str, Any] | None]
) -> list[Constraint | None]:
    """A fresh constraint for each schema given (``None`` where a request has none)."""
    return [None if s is None else Constraint(vocab, n_vocab, schema_grammar(s)) for s in schemas]


def complete_json(text: str) -> bool:
    """Whether TEXT is one whole JSON object already (so generating more adds only blanks)."""
    body = text.strip()
    if not body.endswith("}"):
        return False
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False
