"""``run --dry-run --show-prompts N`` (issue 22, defect 14): a run planned and its first
prompts printed as the model would get them; nothing asked, nothing stored."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.prompts import load_prompts, render_grid

DATA = Path(__file__).parent / "data"
WARD = DATA / "ward_instrument.yaml"
WARD_PROMPTS = DATA / "ward_prompts.yaml"


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_dry_run_prints_the_first_prompts_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    result = _invoke("run", "--instrument", WARD, "--prompts", WARD_PROMPTS, "--model",
                     "local", "--db", db, "--dry-run", "--show-prompts", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not db.exists() and result.stderr == ""
    # 2 personas x 2 domains x 4 variants x 4 items, every text its own call
    out = result.stdout
    assert out.startswith("dry run: 64 prompts, 64 distinct model calls (item mode, 1 sample(s))")
    ward = load_instrument(WARD)
    first = render_grid(ward, load_prompts(WARD_PROMPTS, ward),
                        [{"persona": "student", "domain": "housing"}], "item")[:2]  # fmt: skip
    for n, prompt in enumerate(first, 1):
        head = f"--- prompt {n} of 64: persona=student, domain=housing; variant 0; item "
        assert f"{head}{prompt.value}\n[user]\n{prompt.user}\n" in out + "\n"
    assert out.count("--- prompt ") == 2 and "You are a student." in out


def test_a_dry_run_names_an_axis_the_design_cannot_tell_apart(tmp_path: Path) -> None:
    tone = tmp_path / "tone.yaml"
    tone.write_text("format: 2\nbase: value_form\nid: tone\ntitle: Tone\nextend_axes:\n"
                    "  - {id: tone, name: Tone, levels: [{id: formal, name: Formal}, "
                    "{id: casual, name: Casual}]}\n")  # fmt: skip
    grid = ["--countries", "India", "--scenarios", "healthcare", "--mode", "all"]
    result = _invoke("run", "--instrument", tone, *grid, "--dry-run", "--db", tmp_path / "s.db")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dry run: 16 prompts, 8 distinct model calls (all mode")
    assert result.stderr.count("warning: ") == 1 and "axis 'tone'" in result.stderr
    refused = _invoke("run", "--show-prompts", "3", "--db", tmp_path / "s.db")
    assert refused.exit_code == 2 and "--show-prompts goes with --dry-run" in refused.stderr
    assert not (tmp_path / "s.db").exists()
