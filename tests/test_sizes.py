"""Bounds on what a user's files and grids may make a command do (issue 22, defect 13): content
files over 10 MB are refused unread (a device that never ends included), and a grid over
``--max-prompts`` is refused by counting, before any of it is built."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from _store_support import cli
from valuecompass.cli import main
from valuecompass.common import MAX_FILE_BYTES
from valuecompass.instrument import load_instrument
from valuecompass.prompts import read_prompts
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._config import GridTooLarge, grid_contexts, grid_size


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _six_axes(root: Path) -> Path:
    """The Value Form with six more axes of ten levels each: a 1.5 kB file whose grid holds
    7 x 4 x 10^6 contexts x 8 variants x 56 items = 12,544,000,000 prompts."""
    axes = "".join(
        f"  - id: ax_{a}\n    name: Axis {a}\n    levels: ["
        + ", ".join(f"{{id: l{n}, name: L{n}}}" for n in range(10))
        + "]\n"
        for a in "abcdef"
    )
    path = root / "six.yaml"
    path.write_text(f"format: 2\nbase: value_form\nid: six\ntitle: Six\nextend_axes:\n{axes}")
    return path


def test_a_device_that_never_ends_is_refused_at_once() -> None:
    start = time.monotonic()
    done = cli("instrument", "show", "/dev/zero", timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: /dev/zero: the instrument file is larger than 10 MB, the most read; "
        "is it the file you meant?"
    )
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("what", ["instrument", "prompts"])
def test_a_file_over_the_bound_is_refused_by_its_size(tmp_path: Path, what: str) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:  # sparse: its size is what is checked, before any read
        fh.truncate(MAX_FILE_BYTES + 1)
    args = ["run", "--model", "mock", "--db", tmp_path / "s.db", f"--{what}", big]
    result = _invoke(*args)
    assert result.exit_code == 2
    noun = "instrument file" if what == "instrument" else "prompt file"
    assert f"{big}: the {noun} is larger than 10 MB" in result.stderr, result.stderr
    just = tmp_path / "just.yaml"  # at the bound it is read (and is then not valid YAML)
    just.write_bytes(b"x: [" + b" " * (MAX_FILE_BYTES - 4))
    result = _invoke("instrument", "show", just)
    assert result.exit_code == 2 and "larger than" not in result.stderr
    assert "is not valid YAML" in result.stderr


def test_a_grid_past_max_prompts_is_refused_by_counting(tmp_path: Path) -> None:
    six = _six_axes(tmp_path)
    instrument = load_instrument(six)
    config = RunConfig(model="mock", db=str(tmp_path / "s.db"), instrument_path=six)
    assert grid_size(instrument, config, read_prompts()) == 7 * 4 * 10**6 * 8 * 56
    tracemalloc.start()
    try:
        with pytest.raises(GridTooLarge) as caught:
            run_model(config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024  # nothing of the grid was built
    message = str(caught.value)
    assert "holds 12,544,000,000 prompts" in message and "--max-prompts 1,000,000" in message
    assert "10 ax_f contexts, 8 variants, 56 items, 1 sample(s)" in message
    assert not (tmp_path / "s.db").exists()
    result = _invoke("run", "--model", "mock", "--instrument", six, "--db", tmp_path / "s.db")
    assert result.exit_code == 2 and "holds 12,544,000,000 prompts" in result.stderr
    assert "\n" not in result.stderr.strip()


def test_the_grid_is_built_one_context_at_a_time(tmp_path: Path) -> None:
    six = _six_axes(tmp_path)
    config = RunConfig(model="mock", instrument_path=six)
    contexts = grid_contexts(load_instrument(six), config)
    first = list(itertools.islice(contexts, 3))
    assert first[0] == {"country": "united_states", "scenario": "collaborative_writing",
                        **{f"ax_{a}": "l0" for a in "abcdef"}}  # fmt: skip
    assert [c["ax_f"] for c in first] == ["l0", "l1", "l2"]


def test_max_prompts_allows_a_grid_up_to_it(tmp_path: Path) -> None:
    grid = ["--countries", "India", "--scenarios", "healthcare", "--no-progress"]
    db = tmp_path / "s.db"
    refused = _invoke("run", "--model", "mock", "--db", db, "--max-prompts", "447", *grid)
    assert refused.exit_code == 2 and "holds 448 prompts" in refused.stderr
    assert "more than --max-prompts 447" in refused.stderr
    ran = _invoke("run", "--model", "mock", "--db", db, "--max-prompts", "448", *grid)
    assert ran.exit_code == 0 and "448 prompts; 0 already stored" in ran.stdout, ran.output
    samples = _invoke("run", "--model", "mock", "--db", db, "--max-prompts", "448",
                      "--samples", "2", *grid)  # fmt: skip
    assert samples.exit_code == 2 and "holds 896 prompts" in samples.stderr
