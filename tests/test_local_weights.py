"""The local backend's weight format: a slow quantised file is converted once into the model
cache, keyed by its digest, written atomically; the identity names the format."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import llama_cpp
import pytest

from valuecompass.models import ConfigError, Request, _convert
from valuecompass.models._llama_model import GGUFModel
from valuecompass.models.local import LocalBackend, bundled_model_path, file_digest
from valuecompass.settings import model_cache_dir

BUNDLED_STEM = "SmolLM2-135M-Instruct.Q4_1"


def test_the_cache_folder_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VALUECOMPASS_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/cache")
    assert model_cache_dir() == Path("/x/cache/valuecompass/models")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert model_cache_dir() == Path.home() / ".cache" / "valuecompass" / "models"
    monkeypatch.setenv("VALUECOMPASS_MODEL_CACHE", "/y/models")
    assert model_cache_dir() == Path("/y/models")


def test_which_files_are_converted() -> None:
    q4_1, bf16 = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1, llama_cpp.LLAMA_FTYPE_MOSTLY_BF16
    assert _convert.choose_format(q4_1, "auto") == "bf16"  # no fast CPU path
    assert _convert.choose_format(llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "auto") is None
    assert _convert.choose_format(bf16, "auto") is None
    assert _convert.choose_format(q4_1, "keep") is None
    assert _convert.choose_format(q4_1, "f16") == "f16"
    assert _convert.choose_format(bf16, "bf16") is None  # already there
    with pytest.raises(ConfigError, match="weights='int3': not a weight format; known: auto"):
        _convert.choose_format(q4_1, "int3")
    assert _convert.ftype_name(q4_1) == "q4_1" and _convert.ftype_name(bf16) == "bf16"


def test_the_cache_is_keyed_by_the_source_files_digest(tmp_path: Path) -> None:
    source = bundled_model_path()
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with copy.open("ab") as fh:
        fh.write(b"\0")  # another file under the same name
    ours, theirs = file_digest(source), file_digest(copy)
    assert ours != theirs
    folder = tmp_path / "cache"
    assert _convert.cached_path(source, ours, "bf16", folder) == (
        folder / f"{BUNDLED_STEM}.{ours}.bf16.gguf"
    )
    assert _convert.cached_path(copy, theirs, "bf16", folder).name != (
        _convert.cached_path(source, ours, "bf16", folder).name
    )


@pytest.mark.slow
def test_a_slow_file_is_converted_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = file_digest(bundled_model_path())
    # Without the AMX kernels (amx=false, or a CPU without them) Q4_1 has no fast CPU path.
    first = LocalBackend(bundled_model_path(), cache_dir=tmp_path, batch_size=4, amx="false")
    first.close()
    converted = tmp_path / f"{BUNDLED_STEM}.{digest}.bf16.gguf"
    assert first.file == converted and sorted(tmp_path.iterdir()) == [converted]
    assert _convert.read_ftype(converted) == llama_cpp.LLAMA_FTYPE_MOSTLY_BF16
    stamp = converted.stat().st_mtime_ns

    def refuse(*args: object) -> int:
        raise AssertionError("converted again")

    monkeypatch.setattr(_convert.llama_cpp, "llama_model_quantize", refuse)
    second = LocalBackend(bundled_model_path(), cache_dir=tmp_path, batch_size=4, amx="false")
    try:
        assert second.file == converted and converted.stat().st_mtime_ns == stamp
        assert second.identity == first.identity
    finally:
        second.close()


@pytest.mark.slow
def test_identity_names_the_format_and_the_options_that_change_answers(tmp_path: Path) -> None:
    keep = LocalBackend(bundled_model_path(), cache_dir=tmp_path, weights="keep", batch_size=4,
                        stop_at_option="false", amx="false")  # fmt: skip
    stop = LocalBackend(bundled_model_path(), cache_dir=tmp_path, batch_size=4, amx="false")
    try:
        digest = file_digest(bundled_model_path())
        assert keep.identity == f"local:{BUNDLED_STEM}.gguf@{digest}/q4_1"
        assert keep.file == bundled_model_path() and list(tmp_path.iterdir()) == [
            tmp_path / f"{BUNDLED_STEM}.{digest}.bf16.gguf"  # the stop backend's conversion
        ]
        assert stop.identity == f"local:{BUNDLED_STEM}.gguf@{digest}/bf16+stop"
        # Stopping at an option: an answer that is a bare option code ends after that token.
        request = Request(messages=[{"role": "user", "content": "Reply with 1 or 2.\n1: yes\n"
                          "2: no\nAnswer with the number only."}], temperature=0.0,
                          max_tokens=3, seed=0, options=("1", "2"))  # fmt: skip
        full, short = keep.complete(request), stop.complete(request)
        assert full.text.startswith("1") and short.text == "1"
        assert short.completion_tokens == 1 and (full.completion_tokens or 0) > 1
    finally:
        keep.close()
        stop.close()
    with pytest.raises(ConfigError, match="stop_at_option='maybe': not a yes/no value"):
        LocalBackend(bundled_model_path(), cache_dir=tmp_path, stop_at_option="maybe")
    with pytest.raises(ConfigError, match="amx='perhaps': not a yes/no value"):
        LocalBackend(bundled_model_path(), cache_dir=tmp_path, amx="perhaps")


_CONVERT = """
import sys
from pathlib import Path
from valuecompass.models import _convert
_convert.convert(Path(sys.argv[1]), Path(sys.argv[2]), "f16", 1)
"""


@pytest.mark.slow
def test_a_killed_conversion_leaves_no_half_file(tmp_path: Path) -> None:
    out = tmp_path / "model.f16.gguf"
    child = subprocess.Popen(
        [sys.executable, "-c", _CONVERT, str(bundled_model_path()), str(out)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    partial = tmp_path / f"{out.name}.partial-{child.pid}"
    deadline = time.monotonic() + 120
    while not (partial.is_file() and partial.stat().st_size > 0):
        assert child.poll() is None, "the conversion ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not out.exists() and partial.is_file()  # only the temporary file, never OUT
    # The next conversion removes the dead one's leftovers and completes.
    assert _convert.convert(bundled_model_path(), out, "f16", 2) == out
    assert sorted(tmp_path.iterdir()) == [out]
    model = GGUFModel(out, vocab_only=True)
    try:
        assert model.ftype() == llama_cpp.LLAMA_FTYPE_MOSTLY_F16
    finally:
        model.close()
