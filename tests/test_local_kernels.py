"""llama.cpp's AMX kernels: used for the quantised types they take only where a child process
has run them, and got what plain memory gets; the answer is remembered per build."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import llama_cpp
import pytest

from valuecompass.models import ConfigError, _convert, _kernels
from valuecompass.models.local import LocalBackend, bundled_model_path, weights_file

Q4_1 = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1


def cpu_has_amx() -> bool:
    """Whether this CPU reports AMX's integer tile instructions (Linux's flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return "amx_int8" in flags.split() and "amx_tile" in flags.split()


def test_auto_keeps_the_types_working_amx_kernels_take() -> None:
    amx = _kernels.AMX_FTYPES
    assert _convert.choose_format(Q4_1, "auto") == "bf16"
    assert _convert.choose_format(Q4_1, "auto", amx) is None
    assert _convert.choose_format(llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1, "auto", amx) == "bf16"
    assert _convert.choose_format(Q4_1, "bf16", amx) == "bf16"  # asked for, still converted
    assert Q4_1 in amx and llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M in amx
    assert llama_cpp.LLAMA_FTYPE_MOSTLY_BF16 not in amx


@pytest.fixture
def refusing_probe(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A build with AMX kernels (``build-a``) whose check, counted, refuses them; a fresh
    process (nothing seen yet). The models checked, in order."""
    calls: list[Path] = []

    def probe(model: Path) -> bool:
        calls.append(model)
        return False

    monkeypatch.setattr(_kernels, "amx_compiled", lambda: True)
    monkeypatch.setattr(_kernels, "probe", probe)
    monkeypatch.setattr(_kernels, "_SEEN", {})
    monkeypatch.setattr(_kernels, "library_key", lambda: "build-a")
    return calls


def test_the_check_runs_once_per_build_and_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusing_probe: list[Path]
) -> None:
    calls = refusing_probe
    model = bundled_model_path()
    assert _kernels.amx_usable(model, tmp_path) is False
    assert _kernels.amx_usable(model, tmp_path) is False
    assert calls == [model]  # once in this process
    record = tmp_path / _kernels.RECORD

    def builds() -> object:
        data = json.loads(record.read_text(encoding="utf-8"))
        assert data["format"] == _kernels.RECORD_FORMAT
        return data["builds"]

    assert builds() == {"build-a": False}
    monkeypatch.setattr(_kernels, "_SEEN", {})  # another process: read from the record
    assert _kernels.amx_usable(model, tmp_path) is False and calls == [model]
    monkeypatch.setattr(_kernels, "library_key", lambda: "build-b")  # a rebuilt library
    assert _kernels.amx_usable(model, tmp_path) is False and len(calls) == 2
    assert builds() == {"build-a": False, "build-b": False}
    assert [p.name for p in tmp_path.iterdir()] == [_kernels.RECORD]  # no partial file left
    # A refused build keeps a quantised file it keeps out of the extra buffers.
    file, name, extra = weights_file(model, "keep", tmp_path, 1)
    assert (file, name, extra) == (model, "q4_1", False)


@pytest.mark.parametrize(
    "foreign", [b"not json", b"\xff\xfe not UTF-8", b'{"build-b": true}', b'["a", "list"]']
)
def test_a_file_of_the_records_name_that_is_not_ours_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusing_probe: list[Path], foreign: bytes
) -> None:
    calls = refusing_probe
    monkeypatch.setattr(_kernels, "library_key", lambda: "build-b")
    record = tmp_path / _kernels.RECORD
    record.write_bytes(foreign)
    # Its contents are not trusted (checked again) and it is never written to.
    assert _kernels.amx_usable(bundled_model_path(), tmp_path) is False and len(calls) == 1
    assert record.read_bytes() == foreign
    assert [p.name for p in tmp_path.iterdir()] == [_kernels.RECORD]


def test_a_stopped_check_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A child killed by Ctrl-C (or terminated) says nothing of the kernels: not used in this
    # process, nothing recorded, asked again by the next.
    child = tmp_path / "child"
    child.write_text(f"#!{sys.executable}\nimport os, signal\n"
                     "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
                     "os.kill(os.getpid(), signal.SIGINT)\n")  # fmt: skip
    child.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(child))
    assert _kernels.probe(bundled_model_path()) is None
    monkeypatch.setattr(_kernels, "amx_compiled", lambda: True)
    monkeypatch.setattr(_kernels, "_SEEN", {})
    monkeypatch.setattr(_kernels, "library_key", lambda: "build-c")
    cache = tmp_path / "cache"
    assert _kernels.amx_usable(bundled_model_path(), cache) is False
    assert not (cache / _kernels.RECORD).exists()


def test_the_child_fails_on_a_file_that_is_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF but not really")

    def no_bundled() -> Path:
        raise ConfigError("not installed")

    monkeypatch.setattr(_kernels, "bundled_model_path", no_bundled)
    assert _kernels.probe(junk) is False


@pytest.mark.slow
def test_this_machine_uses_amx_exactly_where_it_works(tmp_path: Path) -> None:
    """On a CPU with AMX, the project's build (Makefile: patched) runs the AMX kernels, and the
    bundled Q4_1 is evaluated by them as it is; elsewhere it is converted to BF16."""
    if cpu_has_amx() and _kernels.amx_compiled():
        assert _kernels.probe(bundled_model_path()) is True  # the real child, no record
        assert 0.0 <= _kernels.check(bundled_model_path()) <= _kernels.TOLERANCE
        expected = "q4_1-amx"
    else:
        assert not _kernels.amx_usable(bundled_model_path(), tmp_path)
        expected = "bf16"
    backend = LocalBackend(bundled_model_path(), cache_dir=tmp_path, batch_size=4)
    off = LocalBackend(bundled_model_path(), cache_dir=tmp_path, batch_size=4, amx="false")
    try:
        assert backend.format == expected and backend.identity.endswith(f"/{expected}+stop")
        assert off.format == "bf16" and off.identity.endswith("/bf16+stop")
    finally:
        backend.close()
        off.close()
