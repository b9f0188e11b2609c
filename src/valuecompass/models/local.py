"""A GGUF model in this process through llama-cpp-python; the bundled SmolLM2 by default.

Prompts of one context and variant share everything before the value (the vignette, the
question, the options), so each prompt evaluates only the tokens after the longest prefix it
shares with the one before. Option probabilities are read from the logits of the first answer
token, renormalised over the option tokens.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from valuecompass.models._base import Completion, ConfigError, Request, renormalise
from valuecompass.models._bundled import bundled_model_path


@cache
def file_digest(path: Path) -> str:
    """SHA-256 of a model file (first 16 hex digits), so a changed file never hits the cache."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class LocalBackend:
    """A llama.cpp model; one request at a time (the model is not thread-safe)."""

    max_concurrency = 1

    def __init__(
        self, path: Path, n_ctx: int = 4096, threads: int | None = None, reuse_prefix: bool = True
    ) -> None:
        if not path.is_file():
            raise ConfigError(f"{path}: no such model file")
        self.path = path
        self.reuse_prefix = reuse_prefix
        self.identity = f"local:{path.name}@{file_digest(path)}"
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            # Prompt evaluation gets the same threads as generation; left unset it takes
            # every core, and two one-thread workers on two cores then oversubscribe them.
            n_threads=threads or os.cpu_count() or 1,
            n_threads_batch=threads or os.cpu_count() or 1,
            logits_all=False,
            verbose=False,
        )
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{path}: the model file carries no chat template")
        self._chat = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
            add_generation_prompt=True,
        )

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> LocalBackend:
        path = Path(arg).expanduser() if arg else bundled_model_path()
        return cls(path, **options)

    @property
    def llama(self) -> Llama:
        """The underlying model (for benchmarks and advanced use)."""
        return self._llm

    def _token_text(self, token: int) -> str:
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def tokens(self, request: Request) -> list[int]:
        prompt = self._chat(messages=[dict(m) for m in request.messages]).prompt  # type: ignore[misc]
        return list(self._llm.tokenize(prompt.encode("utf-8"), special=True))

    def _evaluate(self, tokens: list[int]) -> None:
        """Bring the context to TOKENS, evaluating only what differs from what it holds."""
        llm = self._llm
        keep = 0
        if self.reuse_prefix:
            held = llm.input_ids[: llm.n_tokens]
            limit = min(len(held), len(tokens) - 1)  # always evaluate the last token afresh
            while keep < limit and held[keep] == tokens[keep]:
                keep += 1
        llm.n_tokens = keep
        llm.eval(tokens[keep:])

    def _option_logprobs(self, options: tuple[str, ...]) -> dict[str, float]:
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits(self._llm.ctx), shape=(self._llm.n_vocab(),)
        ).astype(np.float64)
        top = logits.max()
        log_norm = top + np.log(np.exp(logits - top).sum())
        out: dict[str, float] = {}
        for code in options:
            ids = self._llm.tokenize(code.encode("utf-8"), add_bos=False, special=False)
            if len(ids) == 1:
                out[code] = float(logits[ids[0]] - log_norm)
        return out

    def complete(self, request: Request) -> Completion:
        tokens = self.tokens(request)
        if len(tokens) + request.max_tokens > self._llm.n_ctx():
            from valuecompass.models._base import BackendError

            raise BackendError(
                f"prompt of {len(tokens)} tokens plus {request.max_tokens} to generate "
                f"exceeds the context of {self._llm.n_ctx()}"
            )
        self._evaluate(tokens)
        probs: dict[str, float] | None = None
        mass: float | None = None
        if request.options:
            probs, mass = renormalise(self._option_logprobs(request.options))
        result: Any = self._llm.create_completion(
            tokens,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
        )
        usage = result.get("usage", {})
        return Completion(
            text=str(result["choices"][0]["text"]),
            option_probs=probs or None,
            option_mass=mass,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    def close(self) -> None:
        self._llm.close()
