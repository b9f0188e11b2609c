"""Mode ``all`` (every item in one prompt) was called ``form``: the code and new run records say
``all``; records written before the rename (``form``) open, resume and align, under the same
default run name."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.api import align_sources
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.prompts import MODES, PromptSet, load_prompts, read_prompts
from valuecompass.runner import RunConfig, prompts_digest

ONE = ["--countries", "India", "--scenarios", "healthcare", "--variants", "0,1", "--no-progress"]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _as_before(design: dict[str, object]) -> dict[str, object]:
    """A stored design as the code before the rename wrote it: mode all's keys named form."""
    text = json.dumps(design)
    for key in ('"requirements": {"all"', '"layout": {"all"'):
        text = text.replace(key, key.replace('"all"', '"form"'))
    return dict(json.loads(text))


def _v1_grid(grid: dict[str, object]) -> str:
    """A Value Form grid as record version 1 kept it."""
    axes = grid["axes"]
    assert isinstance(axes, dict)
    old = {"countries": axes["country"], "topics": axes["scenario"], "values": grid["items"]}
    return json.dumps({**old, "variants": grid["variants"]})


def test_a_store_written_with_mode_form_resumes_asks_nothing_and_aligns(
    tmp_path: Path, released: Path
) -> None:
    db = tmp_path / "old.db"
    code, out = _invoke("run", "--model", "mock", "--mode", "form", "--db", str(db), *ONE)
    assert code == 0 and "2 asked" in out, out
    with sqlite3.connect(db) as conn:  # today's record says all; the name is as it always was
        name, mode, version, grid, design = conn.execute(
            "select name, mode, record_version, grid, prompt_design from runs"
        ).fetchone()
        assert (mode, version) == ("all", 2) and name.startswith("mock-form-"), (name, mode)
        conn.execute(  # the record as the code before the rename wrote it
            "update runs set mode = 'form', record_version = 1, grid = ?, prompt_design = ?",
            (_v1_grid(json.loads(grid)), json.dumps(_as_before(json.loads(design)))),
        )
    conn.close()
    for given in ("all", "form"):  # the default run name is the same: the run resumes
        code, out = _invoke("run", "--model", "mock", "--mode", given, "--db", str(db), *ONE)
        assert code == 0, out
        assert f"run {name!r} (mock:answer=hash, all mode): 2 prompts; 2 already stored" in out, out
        assert "0 asked" in out, out
    code, out = _invoke("runs", "list", "--db", str(db))
    assert code == 0 and " all " in out and " form " not in out, out
    result = align_sources(released, db)
    assert len(result.alignment.by("country")) == 1  # India, healthcare: 56 values x 2 variants
    assert result.llm.manifest is not None and result.llm.manifest["mode"] == "all"


def test_designs_say_all_and_still_read_form() -> None:
    assert MODES == ("all", "item")
    design = read_prompts().model_dump(mode="json")
    assert set(design["requirements"]) == {"all", "item"}
    old = _as_before(design)
    assert set(old["requirements"]) == {"form", "item"}  # type: ignore[arg-type]
    assert PromptSet.model_validate(old) == read_prompts()  # a user's design with form: loads
    # The digest is what it was before the rename (test_paper_design pins its value).
    assert prompts_digest(PromptSet.model_validate(old)) == prompts_digest(read_prompts())
    assert load_prompts("paper", load_instrument()).layouts["values_first"].all.startswith("{")


@pytest.mark.parametrize(("given", "mode"), [("all", "all"), ("form", "all"), ("item", "item")])
def test_run_config_takes_the_old_name(given: str, mode: str) -> None:
    assert RunConfig(mode=given).mode == mode  # type: ignore[arg-type]
