"""A GGUF model loaded through llama.cpp's C API: its weights, tokenizer and metadata.

Loaded directly rather than through ``llama_cpp.Llama`` so the backend chooses the model
parameters llama-cpp-python does not expose (``use_extra_bufts``) and creates its own batched
context, without the one ``Llama`` would allocate.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import llama_cpp

from valuecompass.models._base import ConfigError


class GGUFModel:
    """The model in the GGUF file at PATH (``vocab_only``: its tokenizer and metadata only).

    ``extra_buffers`` lets llama.cpp place weights in its extra CPU buffer types (repacked
    and AMX kernels); off, every weight stays in plain CPU memory.
    """

    def __init__(self, path: Path, vocab_only: bool = False, extra_buffers: bool = True) -> None:
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = vocab_only
        params.use_extra_bufts = extra_buffers
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not model:
            raise ConfigError(f"{path}: not a GGUF model llama.cpp can read")
        self.path = path
        self.model: Any = model
        self.vocab: Any = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))

    def meta(self, key: str) -> str | None:
        """The metadata value KEY as text, or ``None`` when the file has none."""
        size = 1 << 16
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, size)
        if n < 0:
            return None
        if n >= size:
            buf = ctypes.create_string_buffer(n + 1)
            llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, n + 1)
        return buf.value.decode("utf-8", errors="replace")

    def tokenize(self, text: str, special: bool) -> list[int]:
        """TEXT's tokens; SPECIAL: add the model's start token and parse special tokens."""
        data = text.encode("utf-8")
        room = len(data) + 8
        tokens = (llama_cpp.llama_token * room)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), tokens, room, special, special)
        if n < 0:  # never more tokens than bytes plus the start token, but be safe
            room = -n
            tokens = (llama_cpp.llama_token * room)()
            n = llama_cpp.llama_tokenize(
                self.vocab, data, len(data), tokens, room, special, special
            )
        return list(tokens[:n])

    def piece(self, token: int, special: bool) -> bytes:
        """The bytes of TOKEN (special tokens as their text when SPECIAL)."""
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, 64, 0, special)
        if n > 64:
            buf = ctypes.create_string_buffer(n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, n, 0, special)
        return buf.raw[: max(n, 0)]

    def text(self, tokens: list[int]) -> str:
        """Generated TOKENS as text (special tokens left out)."""
        return b"".join(self.piece(t, False) for t in tokens).decode("utf-8", errors="ignore")

    def is_eog(self, token: int) -> bool:
        """Whether TOKEN ends generation (end of text, end of turn)."""
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def ftype(self) -> int:
        """The file's weight type (``general.file_type``; llama.cpp's guess when absent)."""
        stated = self.meta("general.file_type")
        if stated is not None and stated.strip().isdigit():
            return int(stated)
        return int(llama_cpp.llama_model_ftype(self.model))

    def close(self) -> None:
        if self.model is not None:
            llama_cpp.llama_model_free(self.model)
            self.model = None
