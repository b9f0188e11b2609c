"""A Hugging Face model in this process through transformers: batched, on CPU or GPU.

``transformers:DIR`` loads a model directory, ``transformers:FILE.gguf`` a GGUF file
(dequantised by transformers; needs the ``gguf`` package), and ``transformers:bundled`` the
bundled SmolLM2 GGUF. On a GPU the weights are bfloat16, on a CPU float32.

The semantics mirror the llama.cpp backend: option probabilities are read from the logits of
the first answer token, renormalised over the single-token option codes, with their mass kept.
A batch is evaluated as one shared prefix (the longest token prefix its prompts have in common:
the vignette, question and options of one context and variant), computed once and kept while
the next batches share it, followed by the left-padded suffixes. Decoding is a plain loop over
the key-value cache, so every request samples from its own generator seeded with its seed (the
answer does not depend on the batch it landed in) and temperature 0 is greedy.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from valuecompass.models._base import (
    BackendError,
    Completion,
    ConfigError,
    Request,
    option_token_ids,
)
from valuecompass.models._bundled import bundled_model_path
from valuecompass.models._sampling import MIN_P, TOP_K, TOP_P
from valuecompass.models._tokens import common_prefix, completions


def _locate(arg: str) -> tuple[Path, str | None]:
    """SPEC's argument → (model directory, GGUF file name in it or ``None``)."""
    if not arg:
        raise ConfigError("transformers needs a model: transformers:DIR, FILE.gguf or bundled")
    path = bundled_model_path() if arg == "bundled" else Path(arg).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if path.is_dir() and (path / "config.json").is_file():
        return path, None
    raise ConfigError(f"{path}: neither a GGUF file nor a model directory with a config.json")


def _digest(directory: Path, gguf: str | None) -> str:
    """Checksum of a GGUF file, or of a directory's config and its weight files' names and sizes
    (hashing many gigabytes of weights at every start would cost more than it protects)."""
    h = hashlib.sha256()
    if gguf is not None:
        with (directory / gguf).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    else:
        h.update((directory / "config.json").read_bytes())
        for weights in sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin")):
            h.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return h.hexdigest()[:16]


def _dtype_keyword() -> str:
    """``from_pretrained``'s name for the dtype: ``dtype`` from transformers 4.56 on."""
    major, minor = (int(p) for p in metadata.version("transformers").split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


@dataclass
class _Prefix:
    """A prompt prefix's key-value cache for a batch of one, kept while prompts share it."""

    tokens: list[int]
    cache: Any


class TransformersBackend:
    """A causal language model through transformers; batches of prompts in one forward pass."""

    max_concurrency = 1

    def __init__(
        self,
        directory: Path,
        gguf_file: str | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        reuse_prefix: bool = True,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: torch sees no CUDA device here")
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.max_batch = batch_size or (64 if self.device.type == "cuda" else 16)
        self.reuse_prefix = reuse_prefix
        name = gguf_file or directory.name
        precision = "bf16" if self.dtype == torch.bfloat16 else "fp32"
        self.identity = f"transformers:{name}@{_digest(directory, gguf_file)}/{precision}"
        where: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        self._tokenizer = AutoTokenizer.from_pretrained(directory, **where)
        if not self._tokenizer.chat_template:
            raise ConfigError(f"{directory / name}: the model carries no chat template")
        model: Any = AutoModelForCausalLM.from_pretrained(
            directory, **where, **{_dtype_keyword(): self.dtype}
        )
        self._model = model.to(self.device).eval()
        self._limit = int(getattr(model.config, "max_position_embeddings", 0) or 1 << 30)
        self._eos = self._stop_tokens()
        self._pad = self._tokenizer.pad_token_id
        if self._pad is None:
            self._pad = min(self._eos) if self._eos else 0
        # transformers 5.24 renamed the forward's past_key_values to cache
        forward = inspect.signature(self._model.forward).parameters
        self._cache_kw = "cache" if "cache" in forward else "past_key_values"
        self._prefix: _Prefix | None = None
        self._last: list[int] = []
        self._options: dict[tuple[str, ...], dict[str, int]] = {}

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> TransformersBackend:
        directory, gguf = _locate(arg)
        return cls(directory, gguf, **options)

    @property
    def model(self) -> Any:
        """The underlying transformers model (for benchmarks and advanced use)."""
        return self._model

    def _stop_tokens(self) -> set[int]:
        ids = self._model.generation_config.eos_token_id
        found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        if self._tokenizer.eos_token_id is not None:
            found.add(self._tokenizer.eos_token_id)
        return found

    def tokens(self, request: Request) -> list[int]:
        """The prompt's tokens after the model's chat template."""
        text = self._tokenizer.apply_chat_template(
            [dict(m) for m in request.messages], add_generation_prompt=True, tokenize=False
        )
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _option_ids(self, options: tuple[str, ...]) -> dict[str, int]:
        """The options that are one token each, with their token ids."""
        return option_token_ids(
            options,
            lambda code: self._tokenizer.encode(code, add_special_tokens=False),
            self._options,
        )

    def complete(self, request: Request) -> Completion:
        return self.complete_batch([request])[0]

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer REQUESTS in one batch; a prompt too long for the model fails the batch."""
        prompts = [self.tokens(r) for r in requests]
        for prompt, request in zip(prompts, requests, strict=True):
            if len(prompt) + request.max_tokens > self._limit:
                raise BackendError(
                    f"prompt of {len(prompt)} tokens plus {request.max_tokens} to generate "
                    f"exceeds the model's context of {self._limit}"
                )
        with torch.inference_mode():
            start, cache = self._shared_prefix(prompts)
            logits, cache, mask = self._prefill(prompts, start, cache)
            options = self._option_logprobs(requests, logits)
            generated = self._decode(requests, logits, cache, mask)
        self._last = prompts[-1]
        return completions(self._text, prompts, generated, options)

    def _option_logprobs(
        self, requests: Sequence[Request], logits: torch.Tensor
    ) -> list[dict[str, float]]:
        """Each request's single-token options with their log-probabilities at the first
        answer position (copied from the device once for the whole batch)."""
        wanted = [self._option_ids(r.options) for r in requests]
        columns = sorted({i for ids in wanted for i in ids.values()})
        if not columns:
            return [{} for _ in requests]
        table = torch.log_softmax(logits.float(), dim=-1)[:, columns].cpu().tolist()
        where = {token: k for k, token in enumerate(columns)}
        return [
            {code: table[row][where[i]] for code, i in ids.items()}
            for row, ids in enumerate(wanted)
        ]

    def _text(self, tokens: list[int]) -> str:
        return str(self._tokenizer.decode(tokens, skip_special_tokens=True))

    def _shared_prefix(self, prompts: list[list[int]]) -> tuple[int, Any]:
        """(length, cache) of the prefix the batch evaluates once; (0, None) for none.

        A lone prompt shares with the one before it, as the llama.cpp backend does. The kept
        prefix is reused while every prompt starts with it and it covers at least half of what
        they share; the last token of each prompt is always evaluated in the batch.
        """
        if not self.reuse_prefix:
            return 0, None
        group = prompts if len(prompts) > 1 or not self._last else [*prompts, self._last]
        shared = min(common_prefix(group), min(len(p) for p in prompts) - 1)
        kept = self._prefix
        if kept is not None and 2 * len(kept.tokens) >= shared:
            n = len(kept.tokens)
            if all(p[:n] == kept.tokens for p in prompts) and n < min(len(p) for p in prompts):
                return n, kept.cache
        if shared < 1:
            return 0, None
        cache = self._new_cache()
        ids = torch.tensor([prompts[0][:shared]], device=self.device)
        self._forward(ids, None, None, cache)
        self._prefix = _Prefix(prompts[0][:shared], cache)
        return shared, cache

    def _new_cache(self) -> Any:
        return DynamicCache(config=self._model.config)

    def _forward(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor | None,
        positions: torch.Tensor | None,
        cache: Any,
    ) -> torch.Tensor:
        """The last position's logits for IDS after CACHE, which grows by IDS in place."""
        out = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        )
        logits: torch.Tensor = out.logits[:, -1, :]
        return logits

    def _prefill(
        self, prompts: list[list[int]], start: int, prefix: Any
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Evaluate each prompt after the first START tokens, left-padded to one width.

        Returns the last position's logits, the cache, and the attention mask so far (the
        prefix, the padding as zeros, then the suffix).
        """
        n = len(prompts)
        width = max(len(p) - start for p in prompts)
        ids = torch.full((n, width), self._pad, dtype=torch.long)
        mask = torch.zeros((n, start + width), dtype=torch.long)
        mask[:, :start] = 1
        for i, prompt in enumerate(prompts):
            suffix = prompt[start:]
            ids[i, width - len(suffix) :] = torch.tensor(suffix)
            mask[i, start + width - len(suffix) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, start:]
        cache = self._new_cache() if prefix is None else copy.deepcopy(prefix)
        if prefix is not None and n > 1:
            cache.batch_repeat_interleave(n)
        return self._forward(ids, mask, positions, cache), cache, mask

    def _decode(
        self, requests: Sequence[Request], logits: torch.Tensor, cache: Any, mask: torch.Tensor
    ) -> list[list[int]]:
        """Generate each request's tokens (up to its max_tokens, stopping at end of text)."""
        generators = [self._generator(r) for r in requests]
        steps = max(r.max_tokens for r in requests)
        out: list[list[int]] = [[] for _ in requests]
        done = [False] * len(requests)
        position = mask.sum(-1, keepdim=True) - 1
        for step in range(steps):
            chosen = _next_tokens(logits, generators)
            for i, token in enumerate(chosen):
                if done[i] or step >= requests[i].max_tokens or token in self._eos:
                    done[i] = True
                    continue
                out[i].append(token)
            if all(done) or step + 1 == steps:
                break
            mask = torch.cat([mask, mask.new_ones((len(requests), 1))], dim=-1)
            position = position + 1
            ids = torch.tensor([[t] for t in chosen], device=self.device)
            logits = self._forward(ids, mask, position, cache)
        return out

    def _generator(self, request: Request) -> tuple[float, torch.Generator] | None:
        """The request's temperature and its own generator seeded with its seed; ``None``
        for greedy decoding."""
        if request.temperature <= 0:
            return None
        return request.temperature, torch.Generator(device=self.device).manual_seed(request.seed)

    def close(self) -> None:
        self._prefix = None
        del self._model
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _next_tokens(
    logits: torch.Tensor, draws: Sequence[tuple[float, torch.Generator] | None]
) -> list[int]:
    """Each row's next token: the most likely (one transfer for the batch) where its draw is
    ``None`` (temperature 0), else a draw at its temperature from its generator."""
    chosen: list[int] = torch.argmax(logits, dim=-1).tolist()
    for row, draw in enumerate(draws):
        if draw is not None:
            chosen[row] = _draw(logits[row], *draw)
    return chosen


def _draw(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> int:
    """A token drawn at TEMPERATURE after llama.cpp's default top-k, top-p and min-p cuts."""
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    top, ids = torch.topk(probs, min(TOP_K, probs.numel()))
    keep = (top.cumsum(0) - top) < TOP_P  # the smallest set reaching TOP_P
    keep &= top >= MIN_P * top[0]
    top = top * keep
    pick = torch.multinomial(top / top.sum(), 1, generator=generator)
    return int(ids[pick])
