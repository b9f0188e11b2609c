"""Messages that say where (issue 22, defect 12): a design's missing wording names its file and
line; a ``roles.wordings`` entry no item has is one message at its line; a people's position off
the people scale is reported against that scale, whatever their ``source`` column says."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from valuecompass.cli import main

DATA = Path(__file__).parent / "data"
WARD = DATA / "ward_instrument.yaml"
WARD_PROMPTS = DATA / "ward_prompts.yaml"


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_design_naming_a_missing_wording_names_its_file_and_line(tmp_path: Path) -> None:
    design = tmp_path / "design.yaml"
    text = WARD_PROMPTS.read_text()
    assert "{wording: plain," in text
    design.write_text(text.replace("{wording: plain,", "{wording: plainer,"))
    line = 1 + text.splitlines().index(
        next(s for s in text.splitlines() if "{wording: plain," in s)
    )
    result = _invoke("run", "--instrument", WARD, "--prompts", design, "--model", "mock",
                     "--db", tmp_path / "s.db", "--no-progress")  # fmt: skip
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith(f"error: {design}: styles.plain.wording (line {line}): "), message
    assert "no wording 'plainer'; wordings: plain" in message and "\n" not in message
    assert not (tmp_path / "s.db").exists()


def test_a_placeholder_error_gives_its_line_too(tmp_path: Path) -> None:
    design = tmp_path / "design.yaml"
    text = WARD_PROMPTS.read_text().replace("{persona_who}. {domain_text}", "{planet}.")
    design.write_text(text)
    result = _invoke("run", "--instrument", WARD, "--prompts", design, "--model", "mock",
                     "--db", tmp_path / "s.db")  # fmt: skip
    assert result.exit_code == 2
    assert f"{design}: framings.near (line 6): unknown placeholder {{planet}}" in result.stderr


def test_a_roles_wording_no_item_has_is_one_message_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "i.yaml"
    text = WARD.read_text()
    old = "  wordings: {plain: letters}"
    assert old in text
    path.write_text(text.replace(old, "  wordings: {plain: letters, extra: letters}"))
    line = 1 + text.splitlines().index(old)
    result = _invoke("instrument", "show", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {path}: 1 problem(s)",
        f"  roles.wordings.extra (line {line}): wording 'extra' has a scale here but no item "
        "has it; the items' wordings: plain",
    ], lines


def test_an_item_lacking_a_wording_others_have_is_still_named(tmp_path: Path) -> None:
    path = tmp_path / "i.yaml"
    text = WARD.read_text()
    text = text.replace(
        "  wordings: {plain: letters}", "  wordings: {plain: letters, more: letters}"
    )
    kin = '{plain: "Families look after their own."}'
    text = text.replace(kin, kin[:-1] + ', more: "Kin first."}')
    path.write_text(text)
    result = _invoke("instrument", "show", path)
    assert result.exit_code == 2
    assert "3 problem(s)" in result.stderr and "roles.wordings" not in result.stderr
    assert "item 'fairness' lacks wording 'more'" in result.stderr


def test_a_people_position_off_the_people_scale_is_told_on_that_scale(tmp_path: Path) -> None:
    """A tidy file of people's answers whose ``source`` is not ``humans``, given as --humans,
    is read on the people scale (1..5, agree at 5), not the model's (A..E)."""
    db = tmp_path / "s.db"
    run = _invoke("run", "--instrument", WARD, "--prompts", WARD_PROMPTS, "--model", "mock",
                  "--db", db, "--run", "w", "--variants", "0", "--no-progress")  # fmt: skip
    assert run.exit_code == 0, run.output
    people = tmp_path / "people.csv"
    people.write_text(
        "source,persona,domain,value,respondent,position\n"
        "ward people,student,housing,fairness,r1,4\n"
        "ward people,student,housing,candour,r1,7\n"
    )
    result = _invoke("align", "--humans", people, "--llm", f"{db}#w", "--instrument", WARD)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {people} line 3, column 'position': '7' is off the scale "
        "(1 strongly disagree .. 5 strongly agree; scale 'agree5')"
    ), result.stderr


def test_an_import_summary_of_a_store_says_a_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run = _invoke("run", "--instrument", WARD, "--prompts", WARD_PROMPTS, "--model", "mock",
                  "--db", db, "--run", "w", "--variants", "0", "--no-progress")  # fmt: skip
    assert run.exit_code == 0, run.output
    people = tmp_path / "people.csv"
    people.write_text(
        "source,persona,domain,value,respondent,position\n"
        + "".join(f"humans,student,housing,{v},r1,4\n" for v in ("fairness", "candour"))
    )
    result = _invoke("align", "--humans", people, "--llm", f"{db}#w", "--format", "json")
    assert result.exit_code == 0, result.output
    said = result.stderr.strip().splitlines()
    assert said == [f"{people}: 1 file(s), 2 answers, 2 scored",
                    f"{db}#w: a store, 16 answers, 16 scored"], said  # fmt: skip
