"""Many prompts in one llama.cpp decode: a shared prefix stored once, one sequence per prompt.

The context's key-value cache is unified (one buffer for all sequences), so the prefix the
prompts share (the vignette, question and options of a context and variant) is evaluated once
and its cells belong to every sequence; each prompt's own suffix goes in the same decode under
its own sequence id, and logits are read only at each prompt's last token. Flash attention is
on: without it, a token's probabilities depend on where its cells sit in the cache.

The prefix of the last batch stays in the cache (sequence 0) and is reused by the next batch
that starts with it, so consecutive batches of one block, or single prompts one after another,
evaluate only what differs.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import llama_cpp
import numpy as np

from valuecompass.models._base import BackendError
from valuecompass.models._llama_model import GGUFModel
from valuecompass.models._tokens import common_prefix


def chunks(
    prompts: Sequence[Sequence[int]], generate: int, n_ctx: int, max_batch: int
) -> list[tuple[int, int]]:
    """PROMPTS cut into consecutive ranges of at most MAX_BATCH whose cache cells (the shared
    prefix once, each suffix, GENERATE tokens each) fit N_CTX; as long as they can be.

    A prompt that does not fit on its own raises :class:`BackendError`.
    """
    out, start, shared, tokens = [], 0, 0, 0
    for i, prompt in enumerate(prompts):
        if len(prompt) + generate > n_ctx:
            raise BackendError(
                f"prompt of {len(prompt)} tokens plus {generate} to generate exceeds the "
                f"context of {n_ctx}"
            )
        if i > start:
            n = i - start + 1
            together = min(shared, common_prefix([prompts[start], prompt]), len(prompt) - 1)
            need = together + (tokens + len(prompt) - n * together) + n * generate
            if n <= max_batch and need <= n_ctx:
                shared, tokens = together, tokens + len(prompt)
                continue
            out.append((start, i))
            start = i
        shared, tokens = len(prompt) - 1, len(prompt)
    out.append((start, len(prompts)))
    return out


class BatchContext:
    """A llama.cpp context over MODEL for up to N_SEQ sequences in N_CTX cache cells."""

    def __init__(
        self, model: GGUFModel, n_ctx: int, n_seq: int, threads: int, n_ubatch: int
    ) -> None:
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_ctx
        params.n_ubatch = min(n_ubatch, n_ctx)
        params.n_seq_max = n_seq
        params.kv_unified = True
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = False
        ctx = llama_cpp.llama_init_from_model(model.model, params)
        if not ctx:
            raise BackendError("llama.cpp could not create a context for the model")
        self.ctx = ctx
        self.n_ctx, self.n_seq = n_ctx, n_seq
        self.n_vocab = model.n_vocab
        self._mem = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(n_ctx, 0, n_seq)
        self._held: list[int] = []  # the tokens sequence 0 keeps in the cache

    def cells(self, prompts: Sequence[Sequence[int]], generate: int) -> int:
        """Cache cells PROMPTS take with GENERATE tokens each (the prefix counted once)."""
        shared = self._shared(prompts)
        return shared + sum(len(p) - shared + generate for p in prompts)

    @staticmethod
    def _shared(prompts: Sequence[Sequence[int]]) -> int:
        """The prefix evaluated once: what all share, leaving each at least its last token."""
        return min(common_prefix(prompts), min(len(p) for p in prompts) - 1)

    def prefill(self, prompts: Sequence[Sequence[int]]) -> np.ndarray:
        """Evaluate PROMPTS (sequences 0..n-1); the logits after each one's last token (a view
        of llama.cpp's buffer, valid until the next decode)."""
        n = len(prompts)
        shared = self._shared(prompts)
        prefix = list(prompts[0][:shared])
        keep = common_prefix([self._held, prefix]) if self._held else 0
        if shared - keep + sum(len(p) - shared for p in prompts) > self.n_ctx:
            raise BackendError(f"{n} prompts do not fit the context of {self.n_ctx} tokens")
        self.clear_sequences(keep)
        for seq in range(1, n):
            llama_cpp.llama_memory_seq_cp(self._mem, 0, seq, -1, -1)
        b = self._batch
        count = 0
        everyone = np.arange(n, dtype=np.int32)
        for pos in range(keep, shared):
            self._put(count, prefix[pos], pos, everyone, False)
            count += 1
        outputs = []
        for seq, prompt in enumerate(prompts):
            for pos in range(shared, len(prompt)):
                self._put(count, prompt[pos], pos, everyone[seq : seq + 1], pos == len(prompt) - 1)
                count += 1
            outputs.append(count - 1)
        b.n_tokens = count
        self._decode()
        self._held = prefix
        return self._logits(len(outputs))

    def step(self, tokens: Sequence[int], seqs: Sequence[int], positions: Sequence[int]) -> Any:
        """One more token for each of SEQS at its position; the logits after each."""
        ids = np.asarray(seqs, dtype=np.int32)
        for i, (token, pos) in enumerate(zip(tokens, positions, strict=True)):
            self._put(i, token, pos, ids[i : i + 1], True)
        self._batch.n_tokens = len(tokens)
        self._decode()
        return self._logits(len(tokens))

    def release(self) -> None:
        """Free every cell but the held prefix's, after a batch's answers are read."""
        self.clear_sequences(len(self._held))

    def clear_sequences(self, keep: int) -> None:
        """Drop every sequence but the first KEEP cells of sequence 0 (the held prefix)."""
        for seq in range(1, self.n_seq):
            llama_cpp.llama_memory_seq_rm(self._mem, seq, -1, -1)
        llama_cpp.llama_memory_seq_rm(self._mem, 0, keep, -1)
        self._held = self._held[:keep]

    def _put(self, i: int, token: int, pos: int, seqs: np.ndarray, logits: bool) -> None:
        b = self._batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = len(seqs)
        ctypes.memmove(b.seq_id[i], seqs.ctypes.data, seqs.nbytes)
        b.logits[i] = logits

    def _decode(self) -> None:
        code = llama_cpp.llama_decode(self.ctx, self._batch)
        if code != 0:
            self.clear_sequences(0)
            what = "no room in the context" if code == 1 else f"error {code}"
            raise BackendError(f"llama.cpp could not evaluate the batch ({what})")

    def _logits(self, n: int) -> np.ndarray:
        """The logits of the batch's N outputs, one row each, in batch order.

        A float32 view of llama.cpp's own buffer, not a copy: valid until the next decode.
        """
        data = llama_cpp.llama_get_logits(self.ctx)
        return np.ctypeslib.as_array(data, (n, self.n_vocab))

    def close(self) -> None:
        if self.ctx is not None:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
