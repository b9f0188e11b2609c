"""A GGUF model in this process through llama-cpp-python; the bundled SmolLM2 by default.

On a CPU with AMX (Intel Sapphire Rapids and later) whose llama.cpp build runs its AMX kernels
(checked once in a child process: ``_kernels.py``), a file of a quantised type they take (the
bundled Q4_1 among them) is evaluated by them as it is: the fastest path there, about twice
BF16's speed. Elsewhere, a file whose weight type has no fast CPU path in llama.cpp (Q4_1
among them) is converted once to BF16 in the model cache folder (``weights``: ``auto``,
``keep``, ``bf16``, ``f16``, ``q8_0``; see ``_convert.py``; ``-M amx=false`` leaves the AMX
kernels out). The runner hands the backend blocks of prompts (a
context and variant); each block is one batched decode with the shared prefix stored once
(``_llama_batch.py``), and the one or two generated tokens are batched too. Option
probabilities are read from the logits of the first answer token, renormalised over the
single-token option codes. Every request samples from its own generator seeded with its seed.
A request with a JSON schema is generated under a llama.cpp grammar made from it, one per
sequence of the batch (``_grammar.py``), and stops once its reply is one whole JSON object.

The identity names the source file, its digest and the weight format evaluated, so answers of
different formats never share the cache. ``stop_at_option`` (on by default) stops generating
once the answer is exactly one option code, so an item answer "1" is not followed by the ":" or
"." the model would add: the stored text changes, the option probabilities (read at the first
token) and the parsed option do not; it saves about a tenth of the main job's time. Answers
stopped so carry ``+stop`` in the identity, so they never share a cache entry with two-token
ones (``-M stop_at_option=false``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from valuecompass.models import _convert, _kernels
from valuecompass.models._base import (
    Completion,
    ConfigError,
    Request,
    option_token_ids,
)
from valuecompass.models._bundled import bundled_model_path
from valuecompass.models._grammar import Constraint, complete_json, constraints
from valuecompass.models._llama_batch import BatchContext, chunks
from valuecompass.models._llama_model import GGUFModel
from valuecompass.models._sampling import generator, next_token
from valuecompass.models._tokens import completions
from valuecompass.settings import model_cache_dir


@cache
def file_digest(path: Path) -> str:
    """SHA-256 of a model file (first 16 hex digits), so a changed file never hits the cache."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _flag(name: str, value: bool | str) -> bool:
    """The boolean option NAME, given as a bool or as text (``-M stop_at_option=true``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r}: not a yes/no value (true or false)")


def weights_file(
    path: Path, weights: str, cache_dir: Path | None, threads: int, amx: bool = True
) -> tuple[Path, str, bool]:
    """(the file to evaluate, its format's name, whether llama.cpp may place its weights in the
    extra CPU buffer types) for the model at PATH under WEIGHTS.

    Where this build's AMX kernels work (checked once: ``_kernels.py``) and AMX is allowed,
    a file of a type they take is kept (``auto``) and evaluated by them; its format's name says
    so (``q4_1-amx``), since their answers differ slightly from the other kernels'.
    """
    folder = cache_dir or model_cache_dir()
    source_type = _convert.read_ftype(path)
    wanted = _convert.TARGETS.get(weights, source_type)
    tiles = amx and (source_type in _kernels.AMX_FTYPES or wanted in _kernels.AMX_FTYPES)
    tiles = tiles and _kernels.amx_usable(path, folder)
    fast = _kernels.AMX_FTYPES if tiles else frozenset()
    target = _convert.choose_format(source_type, weights, fast)
    evaluated = source_type if target is None else _convert.TARGETS[target]
    name = _convert.ftype_name(source_type) if target is None else target
    quantised = name not in ("bf16", "f16", "f32")
    # A build whose AMX kernels crash takes them for every quantised type once extra buffers
    # are allowed, so those types then stay in plain memory; float weights never take them.
    extra = not quantised or tiles or not _kernels.amx_compiled()
    if tiles and evaluated in _kernels.AMX_FTYPES:
        name += "-amx"
    if target is None:
        return path, name, extra
    out = _convert.cached_path(path, file_digest(path), target, folder)
    return _convert.convert(path, out, target, threads), name, extra


class LocalBackend:
    """A llama.cpp model answering batches of prompts; one batch at a time."""

    max_concurrency = 1

    def __init__(
        self,
        path: Path,
        n_ctx: int | str = 8192,
        threads: int | str | None = None,
        weights: str = "auto",
        cache_dir: Path | str | None = None,
        batch_size: int | str = 64,
        stop_at_option: bool | str = True,
        n_ubatch: int | str = 512,
        amx: bool | str = True,
    ) -> None:
        if not path.is_file():
            raise ConfigError(f"{path}: no such model file")
        self.threads = int(threads or os.cpu_count() or 1)
        folder = Path(cache_dir).expanduser() if cache_dir else None
        self.path = path
        self.file, self.format, extra = weights_file(
            path, str(weights).lower(), folder, self.threads, _flag("amx", amx)
        )
        self.max_batch = max(1, int(batch_size))
        self.stop_at_option = _flag("stop_at_option", stop_at_option)
        self.identity = f"local:{path.name}@{file_digest(path)}/{self.format}"
        if self.stop_at_option:
            self.identity += "+stop"
        self._model = GGUFModel(self.file, extra_buffers=extra)
        self._ctx = BatchContext(
            self._model, int(n_ctx), self.max_batch, self.threads, int(n_ubatch)
        )
        self._chat = self._formatter()
        self._options: dict[tuple[str, ...], dict[str, int]] = {}

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> LocalBackend:
        path = Path(arg).expanduser() if arg else bundled_model_path()
        return cls(path, **options)

    def _formatter(self) -> Jinja2ChatFormatter:
        template = self._model.meta("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{self.path}: the model file carries no chat template")
        vocab = self._model.vocab
        return Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(llama_cpp.llama_vocab_eos(vocab)),
            bos_token=self._token_text(llama_cpp.llama_vocab_bos(vocab)),
            add_generation_prompt=True,
        )

    @property
    def model(self) -> GGUFModel:
        """The model and its tokenizer (for benchmarks and advanced use)."""
        return self._model

    @property
    def context(self) -> BatchContext:
        """The batched context the backend evaluates in (for benchmarks)."""
        return self._ctx

    def _token_text(self, token: int) -> str:
        return self._model.piece(token, True).decode("utf-8", errors="ignore")

    def tokens(self, request: Request) -> list[int]:
        prompt = self._chat(messages=[dict(m) for m in request.messages]).prompt  # type: ignore[misc]
        return self._model.tokenize(prompt, special=True)

    def _option_ids(self, options: tuple[str, ...]) -> dict[str, int]:
        """The single-token option codes and their token ids."""
        return option_token_ids(
            options, lambda code: self._model.tokenize(code, special=False), self._options
        )

    def complete(self, request: Request) -> Completion:
        return self.complete_batch([request])[0]

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer REQUESTS, as few batched decodes as fit in the context (one for a block)."""
        prompts = [self.tokens(r) for r in requests]
        out: list[Completion] = []
        generate = max(r.max_tokens for r in requests)
        for start, end in chunks(prompts, generate, self._ctx.n_ctx, self.max_batch):
            out += self._answer(prompts[start:end], requests[start:end])
        return out

    def _answer(self, prompts: list[list[int]], requests: Sequence[Request]) -> list[Completion]:
        logits = self._ctx.prefill(prompts)
        options = self._option_logprobs(requests, logits)
        generated = self._generate(prompts, requests, logits)
        self._ctx.release()
        return completions(self._text, prompts, generated, options)

    def _option_logprobs(
        self, requests: Sequence[Request], logits: np.ndarray
    ) -> list[dict[str, float]]:
        """Each request's option codes with their log-probabilities at its row of LOGITS.

        The normaliser (log-sum-exp over the vocabulary) is computed for every row at once,
        summed in float64.
        """
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1, dtype=np.float64))
        out = []
        for k, request in enumerate(requests):
            ids = self._option_ids(request.options)
            row = logits[k]
            out.append({code: float(row[i]) - float(log_norm[k]) for code, i in ids.items()})
        return out

    def _generate(
        self, prompts: list[list[int]], requests: Sequence[Request], logits: np.ndarray
    ) -> list[list[int]]:
        """Each request's generated tokens (to its max_tokens or an end-of-generation token);
        each step one decode for the sequences still going."""
        rngs = [generator(r.seed) for r in requests]
        out: list[list[int]] = [[] for _ in requests]
        going = list(range(len(requests)))
        rows = logits
        held = constraints(self._model.vocab, self._model.n_vocab,
                           [r.json_schema for r in requests])  # fmt: skip
        try:
            while going:
                chosen = [self._choose(rows[k], requests[i], rngs[i], held[i])
                          for k, i in enumerate(going)]  # fmt: skip
                still = []
                for i, token in zip(going, chosen, strict=True):
                    if self._model.is_eog(token):
                        continue
                    out[i].append(token)
                    if self._going(out[i], requests[i], i, held):
                        still.append(i)
                going = still
                if going:
                    positions = [len(prompts[i]) + len(out[i]) - 1 for i in going]
                    rows = self._ctx.step([out[i][-1] for i in going], going, positions)
        finally:
            for constraint in held:
                if constraint is not None:
                    constraint.close()
        return out

    @staticmethod
    def _choose(
        row: np.ndarray, request: Request, rng: np.random.Generator, held: Constraint | None
    ) -> int:
        """The next token: under the request's JSON schema when it has one."""
        if held is None:
            return next_token(row, request.temperature, rng)
        return held.choose(row, request.temperature, rng)

    def _going(
        self, tokens: list[int], request: Request, i: int, held: Sequence[Constraint | None]
    ) -> bool:
        """Whether request I generates another token after TOKENS."""
        if len(tokens) >= request.max_tokens or self._done(tokens, i, held):
            return False
        return not self._decided(tokens, request)

    def _done(self, tokens: list[int], i: int, held: Sequence[Constraint | None]) -> bool:
        """A reply held to a schema is done once it is one whole JSON object."""
        if held[i] is None or b"}" not in self._model.piece(tokens[-1], False):
            return False
        return complete_json(self._text(tokens))

    def _decided(self, tokens: list[int], request: Request) -> bool:
        """With ``stop_at_option``: the answer so far is exactly an option code that no longer
        code extends (so more tokens could only add text the parser ignores or misreads)."""
        if not self.stop_at_option or not request.options:
            return False
        text = self._text(tokens).strip()
        return text in request.options and not any(
            o != text and o.startswith(text) for o in request.options
        )

    def _text(self, tokens: list[int]) -> str:
        return self._model.text(tokens)

    def close(self) -> None:
        self._ctx.close()
        self._model.close()
