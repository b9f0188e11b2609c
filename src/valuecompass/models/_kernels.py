"""Whether this llama.cpp build's AMX kernels may be used: checked once, in a child process.

llama.cpp built with ``-march=native`` on a CPU with AMX (Intel Sapphire Rapids and later) puts
the weights of the quantised types it has AMX kernels for (:data:`AMX_FTYPES`) in its AMX
buffer, where a batch of prompts is evaluated with the CPU's tile instructions: the bundled Q4_1
model runs about twice as fast as converted to BF16, with no conversion. Release builds fill the
kernels' tile configuration on the stack, where GCC drops the stores, so the first tile
instruction faults and the process dies (the project's own build carries the fix:
``patches/llama-cpp-python-amx-tile-config.patch``). So the backend uses them only once a child
process has loaded the model with them and evaluated a batch without dying; the answer is
remembered per llama.cpp library (its files' paths, sizes and modification times) in the model
cache folder, and per process. The child also checks that the kernels' next-token probabilities
match those computed from plain memory (:func:`check`).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path

import llama_cpp
import numpy as np

from valuecompass.models._base import ConfigError
from valuecompass.models._bundled import bundled_model_path
from valuecompass.models._llama_batch import BatchContext
from valuecompass.models._llama_model import GGUFModel

#: File types whose weights llama.cpp's AMX kernels take (their tensors: Q4_0, Q4_1, Q8_0,
#: Q4_K, Q5_K, Q6_K, IQ4_XS).
AMX_FTYPES = frozenset(
    getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}")
    for name in ("Q4_0", "Q4_1", "Q8_0", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_XS")
)

#: Seconds the child may take to load the model and evaluate its batch.
PROBE_TIMEOUT = 300.0

#: A child's exit statuses that say it was stopped rather than that the kernels failed.
STOPPED = frozenset({-signal.SIGINT, -signal.SIGTERM, -signal.SIGHUP, 128 + signal.SIGINT})

#: The record of checked builds in the model cache folder, and the format it says it has.
RECORD = "llama-kernels.json"
RECORD_FORMAT = "valuecompass llama-kernels 1"

#: What the child evaluates, and how far (total variation of the next-token distribution) the
#: AMX kernels' answer may be from plain memory's. Both quantise the activations to 8 bits, in
#: other blocks and orders, so they differ a little (measured for the bundled model: 0.067,
#: about what BF16 weights differ by, 0.076); broken kernels give noise, near 1.
PROBE_TEXT = "Values guide what people do when an assistant helps them write, learn and heal. " * 4
TOLERANCE = 0.15


@cache
def amx_compiled() -> bool:
    """Whether the loaded llama.cpp was compiled with AMX kernels (and so places weights of
    :data:`AMX_FTYPES` in its AMX buffer whenever extra buffer types are allowed)."""
    info = llama_cpp.llama_print_system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in text


def library_key() -> str:
    """Names the llama.cpp build in use: a digest of its version and its library files' paths,
    sizes and modification times (a rebuilt library gets a new key)."""
    folder = Path(llama_cpp.__file__).resolve().parent / "lib"
    parts = [str(llama_cpp.__version__)]
    for lib in sorted(folder.glob("lib*.so*")) if folder.is_dir() else []:
        if lib.is_file() and not lib.is_symlink():
            stat = lib.stat()
            parts.append(f"{lib}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return f"llama-cpp-python {llama_cpp.__version__} {digest}"


#: This process's answers, by :func:`library_key`.
_SEEN: dict[str, bool] = {}


def amx_usable(model: Path, cache_dir: Path) -> bool:
    """Whether the AMX kernels evaluate weights here, correctly and without crashing (``False``
    when the build has none). Checked in a child process the first time (with the bundled
    model, else MODEL), then read from CACHE_DIR's record."""
    if not amx_compiled():
        return False
    key = library_key()
    if key not in _SEEN:
        _SEEN[key] = _remembered(model, cache_dir, key)
    return _SEEN[key]


def _remembered(model: Path, cache_dir: Path, key: str) -> bool:
    record = cache_dir / RECORD
    known = _read(record)
    if known is not None and key in known:
        return known[key]
    ok = probe(model)
    if ok is None:  # stopped, not answered: not used now, and asked again next time
        return False
    if known is not None:  # a file of that name that is not our record is left as it is
        _write(record, {**known, key: ok})
    return ok


def probe(model: Path) -> bool | None:
    """Whether a child process evaluates one batch with the AMX kernels, and gets what plain
    memory gets (:func:`check`); a crash in the kernels kills only the child. ``None`` when
    the child was stopped (interrupted, terminated or out of time) before it could say. The
    child uses the bundled model when it is installed (small, and its Q4_1 weights take the
    AMX kernels), else MODEL."""
    try:
        subject = bundled_model_path()
    except ConfigError:
        subject = model
    try:
        done = subprocess.run(
            [sys.executable, "-m", "valuecompass.models._kernels", str(subject)],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError:
        return False
    if done.returncode in STOPPED:
        return None
    return done.returncode == 0


def _read(record: Path) -> dict[str, bool] | None:
    """The answers RECORD holds (none when it does not exist), or ``None`` when a file of
    that name is there but is not our record (not UTF-8, not JSON, or without our format)."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    builds = data.get("builds")
    if not isinstance(builds, dict):
        return None
    return {str(k): bool(v) for k, v in builds.items()}


def _write(record: Path, known: dict[str, bool]) -> None:
    """Remember the answers (atomically; a folder that cannot be written is left alone)."""
    partial = record.with_name(f"{record.name}.partial-{os.getpid()}")
    text = json.dumps({"format": RECORD_FORMAT, "builds": known}, indent=1, sort_keys=True)
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, record)
    except OSError:
        partial.unlink(missing_ok=True)


def _logits(path: Path, extra_buffers: bool) -> np.ndarray:
    """Log-probabilities after each of two prompts (64 and 60 tokens, one batch of 65), with
    or without the extra buffer types."""
    model = GGUFModel(path, extra_buffers=extra_buffers)
    context = BatchContext(model, n_ctx=256, n_seq=2, threads=os.cpu_count() or 1, n_ubatch=128)
    try:
        tokens = model.tokenize(PROBE_TEXT, special=False)
        rows = np.array(context.prefill([tokens[:64], tokens[:60]]), dtype=np.float64)
    finally:
        context.close()
        model.close()
    top = rows.max(axis=1, keepdims=True)
    logprobs: np.ndarray = rows - top - np.log(np.exp(rows - top).sum(axis=1, keepdims=True))
    return logprobs


def check(path: Path) -> float:
    """The larger total variation, over the two prompts' next-token distributions, between
    the extra buffer types (the AMX kernels) and plain CPU memory."""
    fast, plain = _logits(path, True), _logits(path, False)
    return float(0.5 * np.abs(np.exp(fast) - np.exp(plain)).sum(axis=1).max())


if __name__ == "__main__":
    difference = check(Path(sys.argv[1]))
    print(f"total variation from plain memory {difference:.4f}")
    sys.exit(0 if difference <= TOLERANCE else 3)
