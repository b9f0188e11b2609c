"""A GGUF file in the weight format llama.cpp's CPU code runs fastest, converted once and cached.

Some quantised types (Q4_1, Q5_0, Q5_1, the K-quants, ...) have neither llama.cpp's tinyBLAS
nor its repacked fast path on a CPU, so every matrix product takes the slowest kernel. Such a
file is converted once (``llama_model_quantize`` with ``allow_requantize``: dequantised and
written in the target type) into a cache folder, under a name that carries the source file's
SHA-256 digest and the target format; a changed source file gets a new conversion.

The converted file is written to a temporary name in the cache folder and renamed into place,
so an interrupted or killed conversion never leaves a half file under the final name; the
temporary files of conversions whose process is gone are removed by the next conversion.
"""

from __future__ import annotations

import os
from pathlib import Path

import llama_cpp

from valuecompass.models._base import ConfigError
from valuecompass.models._llama_model import GGUFModel

#: Formats a file can be converted to, by name (as they appear in backend identities).
TARGETS: dict[str, int] = {
    "bf16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
    "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
}

#: File types with a fast CPU path on any x86 or Arm CPU (tinyBLAS or the repacked kernels):
#: kept as they are. The AMX kernels add more (``_kernels.AMX_FTYPES``) where they work.
FAST: dict[int, str] = {
    llama_cpp.LLAMA_FTYPE_ALL_F32: "f32",
    llama_cpp.LLAMA_FTYPE_MOSTLY_F16: "f16",
    llama_cpp.LLAMA_FTYPE_MOSTLY_BF16: "bf16",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0: "q8_0",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0: "q4_0",
}

#: What ``weights="auto"`` converts a slow file to, where llama.cpp has no working AMX kernels
#: (measured fastest then: benchmarks/bench_local.py --formats).
DEFAULT_TARGET = "bf16"


def ftype_name(ftype: int) -> str:
    """A file type's short name (``q4_1``, ``bf16``), from llama.cpp's own enum names."""
    for name in dir(llama_cpp):
        if name.startswith("LLAMA_FTYPE_") and getattr(llama_cpp, name) == ftype:
            return name.removeprefix("LLAMA_FTYPE_").removeprefix("MOSTLY_").lower()
    return f"ftype{ftype}"


def read_ftype(path: Path) -> int:
    """The file type of the GGUF file at PATH (read from its header, no tensors loaded)."""
    model = GGUFModel(path, vocab_only=True)
    try:
        return model.ftype()
    finally:
        model.close()


def choose_format(ftype: int, weights: str, fast: frozenset[int] = frozenset()) -> str | None:
    """The format to convert a file of type FTYPE to under the WEIGHTS option, or ``None`` to
    keep the file as it is.

    ``auto`` converts only a type without a fast CPU path (:data:`FAST`, and the types in FAST
    that this machine adds: its working AMX kernels') to :data:`DEFAULT_TARGET`; ``keep``
    never converts; a target name converts unless the file already has that type.
    """
    if weights == "keep":
        return None
    if weights == "auto":
        return None if ftype in FAST or ftype in fast else DEFAULT_TARGET
    if weights not in TARGETS:
        known = ", ".join(["auto", "keep", *TARGETS])
        raise ConfigError(f"weights={weights!r}: not a weight format; known: {known}")
    return None if TARGETS[weights] == ftype else weights


def cached_path(source: Path, digest: str, target: str, cache_dir: Path) -> Path:
    """Where the conversion of SOURCE (whose digest is DIGEST) to TARGET lives in CACHE_DIR."""
    return cache_dir / f"{source.stem}.{digest}.{target}.gguf"


def convert(source: Path, out: Path, target: str, threads: int) -> Path:
    """OUT, written from SOURCE in format TARGET unless already there; returns OUT.

    Written atomically: a temporary file beside OUT, renamed into place once complete.
    """
    if out.is_file():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out.parent}: cannot create the model cache folder ({exc})") from exc
    _remove_stale(out)
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = TARGETS[target]
    params.allow_requantize = True
    params.nthread = threads
    try:
        code = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params)
        if code != 0 or not partial.is_file():
            raise ConfigError(f"{source}: llama.cpp could not convert it to {target} ({code})")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _remove_stale(out: Path) -> None:
    """Remove the temporary files of OUT's conversions whose process has gone."""
    for leftover in out.parent.glob(f"{out.name}.partial-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
